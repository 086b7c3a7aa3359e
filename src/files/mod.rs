//! Files in both directions: what users send lands in their workspace's
//! inbox, and `/get` sends a workspace file back, each written or read as
//! the user's OS account (`access.rs`), inside the workspace
//! (`workspace.rs`), under the Bot API's size limits. Projects are named
//! folders of the workspace (`project.rs`). Old files leave the inboxes
//! after `INBOX_RETENTION_DAYS` (`inbox.rs`, scheduled by `cleaner.rs`).

pub(crate) mod access;
pub(crate) mod cleaner;
pub mod inbox;
pub(crate) mod name;
pub mod project;
pub mod workspace;

/// The Bot API serves bots files up to 20 MB (`getFile`).
pub const MAX_DOWNLOAD: u64 = 20 * 1024 * 1024;
/// The Bot API takes uploads from bots up to 50 MB.
pub const MAX_UPLOAD: u64 = 50 * 1024 * 1024;
/// Photos over 10 MB are refused by `sendPhoto`: they go as documents.
pub const MAX_PHOTO: u64 = 10 * 1024 * 1024;
/// The Messages API takes an image of up to 5 MB of base64 text.
const MAX_INLINE_BASE64: u64 = 5 * 1024 * 1024;
/// The largest image whose base64 fits that limit (3.75 MiB: base64 writes
/// 4 characters per 3 bytes); a larger one reaches Claude Code by its path
/// only.
pub const MAX_INLINE_IMAGE: u64 = MAX_INLINE_BASE64 / 4 * 3;

#[cfg(test)]
mod tests {
    use super::*;

    /// The limit is the API's on the encoded text, not on the raw bytes: an
    /// image of 5 MiB encodes to 6.7 MiB and was refused by the API.
    #[test]
    fn an_inline_image_fits_the_messages_api_once_encoded() {
        let encoded = |n: u64| base64::encoded_len(n as usize, true).map(|l| l as u64);
        assert!(encoded(MAX_INLINE_IMAGE) <= Some(MAX_INLINE_BASE64));
        assert!(encoded(MAX_INLINE_IMAGE + 1) > Some(MAX_INLINE_BASE64));
    }
}
