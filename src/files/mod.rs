//! Files in both directions: what users send lands in their workspace's
//! inbox, and `/get` sends a workspace file back, each written or read as
//! the user's OS account (`access.rs`), inside the workspace
//! (`workspace.rs`), under the Bot API's size limits. Projects are named
//! folders of the workspace (`project.rs`).

pub(crate) mod access;
pub(crate) mod name;
pub mod project;
pub mod workspace;

/// The Bot API serves bots files up to 20 MB (`getFile`).
pub const MAX_DOWNLOAD: u64 = 20 * 1024 * 1024;
/// The Bot API takes uploads from bots up to 50 MB.
pub const MAX_UPLOAD: u64 = 50 * 1024 * 1024;
/// Photos over 10 MB are refused by `sendPhoto`: they go as documents.
pub const MAX_PHOTO: u64 = 10 * 1024 * 1024;
/// The Messages API takes images up to 5 MB; a larger one reaches Claude
/// Code by its path only.
pub const MAX_INLINE_IMAGE: u64 = 5 * 1024 * 1024;
