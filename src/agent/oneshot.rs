//! One turn over text kai does not trust, start to finish: a read-only,
//! ephemeral agent (see `launch::launch_read_only`) gets one prompt, and its
//! final text is the answer. Reviews, triage and `kai eval` all ask this.

use std::time::Duration;

use super::launch::{launch_read_only, Launch};
use super::AgentEvent;
use crate::process::sudo::Host;

#[derive(Debug, thiserror::Error)]
pub enum OneShotError {
    #[error("could not start the agent: {0}")]
    Start(String),
    #[error("the agent failed: {0}")]
    Agent(String),
    #[error("the turn was interrupted")]
    Interrupted,
    #[error("the agent gave no answer")]
    Empty,
    #[error("no answer within {} s", .0.as_secs())]
    Timeout(Duration),
}

/// Runs `prompt` as one read-only turn and returns the final text; the
/// agent is stopped afterwards whatever happened.
pub async fn one_turn(
    host: &Host,
    l: &Launch,
    prompt: &str,
    limit: Duration,
) -> Result<String, OneShotError> {
    let mut session = launch_read_only(host, l)
        .await
        .map_err(|e| OneShotError::Start(e.to_string()))?;
    let turn = async {
        session
            .send(prompt, &l.model)
            .await
            .map_err(|e| OneShotError::Agent(e.to_string()))?;
        loop {
            match session
                .next_event()
                .await
                .map_err(|e| OneShotError::Agent(e.to_string()))?
            {
                AgentEvent::Done { error: Some(e), .. } => return Err(OneShotError::Agent(e)),
                AgentEvent::Done {
                    interrupted: true, ..
                } => return Err(OneShotError::Interrupted),
                AgentEvent::Done { text, .. } if text.trim().is_empty() => {
                    return Err(OneShotError::Empty)
                }
                AgentEvent::Done { text, .. } => return Ok(text),
                _ => {}
            }
        }
    };
    let result = tokio::time::timeout(limit, turn)
        .await
        .unwrap_or(Err(OneShotError::Timeout(limit)));
    session.close().await;
    result
}
