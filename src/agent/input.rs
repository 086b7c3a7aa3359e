//! What one turn sends the agent: [`TurnInput`], the text and images the
//! backend receives. Codex reads an image from its path (`localImage`),
//! Claude Code takes its bytes in the message (the chat reads them as the
//! user's account). What a chat queues before that is
//! `state/prompt.rs`'s `Prompt`.

use std::path::PathBuf;

/// An image as the backend receives it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TurnImage {
    pub path: PathBuf,
    pub media_type: String,
    /// The bytes, for backends that take them inline (Claude Code); `None`
    /// when only the path is passed.
    pub data: Option<Vec<u8>>,
}

/// What one `turn/start` (codex) or user message (claude) carries.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TurnInput {
    pub text: String,
    pub images: Vec<TurnImage>,
}

impl TurnInput {
    pub fn text(text: &str) -> Self {
        TurnInput {
            text: text.to_string(),
            images: Vec::new(),
        }
    }
}
