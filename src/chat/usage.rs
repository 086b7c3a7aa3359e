//! `/usage`: what the chat's agent reported about the plan's limits, its
//! tokens and its cost (kept in the chat's `usage::book::Book` as turns
//! report them), asking codex for its windows first when an agent runs.
//! Part of the chat's actor (`chat/mod.rs`).

use super::Chat;
use crate::agent::AgentError;
use crate::usage::{self, Usage};

impl Chat {
    pub(super) async fn show_usage(&mut self) {
        // codex answers `account/rateLimits/read` for ChatGPT logins only
        // (-32600 otherwise): then the figures of the last turns stand.
        if let Some(session) = self.session.as_mut() {
            match session.rate_limits().await {
                Some(Ok(Some(limits))) => {
                    let _ =
                        self.usage
                            .record(Usage::RateLimits(limits), None, crate::utc::now_unix());
                }
                Some(Err(AgentError::Refused { message, .. })) => {
                    tracing::debug!("codex gives no rate limits to this login: {message}");
                }
                Some(Err(e)) => tracing::warn!("could not ask codex for its rate limits: {e}"),
                Some(Ok(None)) | None => {}
            }
        }
        let conversation = self
            .session
            .as_ref()
            .and_then(|s| s.conversation_id())
            .or(self.state.conversation.as_deref());
        let text = usage::render::usage(
            &self.usage,
            self.user.backend,
            conversation,
            crate::utc::now_unix(),
        );
        self.say(text);
    }
}
