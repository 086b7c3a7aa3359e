//! `/usage` on the codex backend, end to end: the built `kai`, the real
//! codex CLI, and the fake Responses API sending the rate-limit headers
//! codex reads and token counts with every answer (`support/fake_responses.rs`).
//! The figures shown are the ones the fake sent, as codex passed them on;
//! the 90 % warning comes once per window. The Claude Code side is in
//! `tests/claude_e2e.rs` (it needs the accounts set up there).

mod support;

use support::fake_responses::{DEFAULT_PRIMARY_USED, LIMITS, USED_MARKER};
use support::kai::{Kai, Options, ALICE};

/// The reset times of [`LIMITS`], as `/usage` writes them (UTC).
const PRIMARY_RESET: &str = "2033-05-18 03:33 UTC";
const SECONDARY_RESET: &str = "2033-05-23 22:26 UTC";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn usage_shows_what_codex_reported_and_warns_once_at_90_percent() {
    assert_eq!(LIMITS.1, 2_000_000_000, "PRIMARY_RESET is written for this");
    assert_eq!(
        LIMITS.4, 2_000_500_000,
        "SECONDARY_RESET is written for this"
    );
    let kai = Kai::start(Options::default()).await;

    // Before any turn nothing is known, and nothing is made up.
    kai.tg.send_text(ALICE, "/usage");
    let before = kai.wait_any(ALICE, 60, |t| t.starts_with("📊 Usage")).await;
    assert!(
        before.contains("Plan windows: not available yet"),
        "{before}"
    );
    assert!(before.contains("token usage not available yet"), "{before}");

    kai.tg.send_text(ALICE, "hello");
    kai.wait_text(ALICE, 90, |t| t == "echo: hello").await;
    kai.wait_idle(ALICE).await;
    kai.tg.send_text(ALICE, "/usage");
    let after = kai
        .wait_any(ALICE, 60, |t| t.starts_with("📊 Usage") && t != before)
        .await;
    assert!(
        after.contains(&format!(
            "5-hour window: {DEFAULT_PRIMARY_USED}% used, resets {PRIMARY_RESET} ("
        )),
        "{after}"
    );
    assert!(
        after.contains(&format!(
            "Weekly window: 12% used, resets {SECONDARY_RESET} ("
        )),
        "{after}"
    );
    // One model request, answered with 10 input and 5 output tokens.
    assert_eq!(kai.api.requests().len(), 1);
    assert!(
        after.contains("This conversation: 15 tokens (input 10, of which cached 0; output 5, of which reasoning 0)"),
        "{after}"
    );
    assert!(!after.contains("⚠️"), "42 % is no reason to warn: {after}");

    // Past 90 % during a turn: told once, not again in the same window.
    for text in ["first", "second"] {
        kai.tg.send_text(ALICE, &format!("{text} {USED_MARKER}95]"));
        // The warning may come after the reply: wait for the reply anywhere.
        kai.wait_any(ALICE, 90, |t| t.starts_with(&format!("echo: {text}")))
            .await;
        kai.wait_idle(ALICE).await;
    }
    let warnings: Vec<String> = kai
        .tg
        .messages(ALICE)
        .into_iter()
        .map(|m| m.text)
        .filter(|t| t.starts_with("⚠️ Your"))
        .collect();
    assert_eq!(warnings.len(), 1, "exactly one warning: {warnings:?}");
    assert!(
        warnings[0].starts_with(&format!(
            "⚠️ Your 5-hour window is 95% used, resets {PRIMARY_RESET} (in "
        )),
        "{warnings:?}"
    );
    kai.tg.send_text(ALICE, "/usage");
    let last = kai
        .wait_any(ALICE, 60, |t| t.contains("5-hour window: 95% used"))
        .await;
    assert!(last.contains("This conversation: 45 tokens"), "{last}");
}
