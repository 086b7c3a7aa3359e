//! Everything that speaks the Bot API or shapes text for it.

pub mod api;
pub mod commands;
pub mod files;
pub mod format;
pub mod outbox;
pub mod split;
pub mod stream;
