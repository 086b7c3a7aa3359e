//! The one way an input reaches the chat, whether a turn runs or not:
//! text, files and transcribed recordings are queued (acknowledged when
//! they must wait), commands run (`commands.rs`), and what a command asks
//! of the running turn — stop, or end for a new conversation — is handed
//! back to it.

use super::{Chat, Input};
use crate::state::prompt::Prompt;

/// What a command asks of the turn in progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Ask {
    /// `/stop`: the agent was interrupted; give it a short grace to wind down.
    Stop,
    /// `/new`: the agent is gone and the conversation forgotten; end now.
    New,
}

impl Chat {
    /// Handles one input from the router, with the media group it may
    /// complete (see `gather`); returns what a command asks of the turn.
    pub(super) async fn take(&mut self, input: Input) -> Option<Ask> {
        let mut ask = None;
        for input in self.gather(input) {
            match input {
                Input::Text { text, reply_to } => self.enqueue(Prompt {
                    reply_to,
                    ..Prompt::text(text)
                }),
                Input::Upload(u) => {
                    if let Some(p) = self.receive(u).await {
                        self.enqueue(p);
                    }
                }
                Input::Voice(r) => {
                    if let Some(p) = self.voice(r).await {
                        self.enqueue(p);
                    }
                }
                Input::Command(c) => {
                    if let Some(a) = self.command(c).await {
                        ask = Some(a);
                    }
                }
            }
        }
        ask
    }

    /// The media group that stopped growing, stored and queued as one message.
    pub(super) async fn album_complete(&mut self) {
        if let Some(p) = self.finish_album().await {
            self.enqueue(p);
        }
    }
}
