//! Everything that speaks the Bot API or shapes text for it.

pub(crate) mod address;
pub mod api;
pub(crate) mod commands;
pub(crate) mod files;
pub(crate) mod format;
pub(crate) mod outbox;
pub(crate) mod split;
pub(crate) mod stream;
