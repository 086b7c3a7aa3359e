//! Shared test support: loopback fakes of the Telegram Bot API and the
//! OpenAI Responses API, a codex home pointing at the latter, and a harness
//! that runs the real `kai` binary against them.
#![allow(dead_code)]

pub mod accounts;
pub mod check_case;
pub mod codex_home;
pub mod fake_anthropic;
pub mod fake_github;
pub mod fake_responses;
pub mod fake_telegram;
pub mod fake_transcribe;
pub mod fake_triage;
pub mod github_kai;
pub mod kai;
pub mod loopback;

use std::time::{Duration, Instant};

/// Re-evaluates `f` every 20 ms until it yields something or `timeout` passes.
pub async fn poll_until<T>(timeout: Duration, f: impl Fn() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + timeout;
    loop {
        match f() {
            Some(v) => return Some(v),
            None if Instant::now() >= deadline => return None,
            None => tokio::time::sleep(Duration::from_millis(20)).await,
        }
    }
}
