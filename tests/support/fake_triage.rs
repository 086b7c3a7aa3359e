//! What the model fakes answer to kai's issue-triage prompt (both the
//! Responses and the Anthropic fake call [`reply`]), scripted by words in
//! the issue the test files:
//! - default: prose, then a fenced JSON triage asking for the labels
//!   [`LABELS`] (one the test repository has, one fixed label, one neither),
//!   the first candidate issue as the duplicate, every candidate plus
//!   issue 999 (never a candidate) as related;
//! - [`GARBAGE_ALWAYS`]: prose without JSON, every time;
//! - [`GARBAGE_ONCE`]: prose the first time, the triage on the retry (the
//!   retry prompt says the previous answer "could not be used").

use kai::github::triage::PROMPT_HEAD;

pub const GARBAGE_ALWAYS: &str = "triage-garbage-always";
pub const GARBAGE_ONCE: &str = "triage-garbage-once";
/// The labels the fake triage asks for.
pub const LABELS: [&str; 3] = ["area: parser", "bug", "made-up-by-the-model"];
pub const SUMMARY: &str = "The parser crashes on an empty config file.";

/// The fake model's answer when `prompt` is a triage prompt.
pub fn reply(prompt: &str) -> Option<String> {
    if !prompt.starts_with(PROMPT_HEAD) {
        return None;
    }
    let retry = prompt.contains("could not be used");
    if prompt.contains(GARBAGE_ALWAYS) || (prompt.contains(GARBAGE_ONCE) && !retry) {
        return Some("I looked at the issue and it seems important.".into());
    }
    // Candidates are listed as `#N [state] title`.
    let candidates: Vec<u64> = prompt
        .lines()
        .filter_map(|l| l.strip_prefix('#')?.split_whitespace().next()?.parse().ok())
        .collect();
    let mut related = candidates.clone();
    related.push(999);
    let triage = serde_json::json!({
        "labels": LABELS,
        "priority": "high",
        "duplicate_of": candidates.first(),
        "related": related,
        "summary": SUMMARY,
        "next_action": "Reproduce with an empty file and add a test.",
        "missing_info": ["the kai version"],
    });
    Some(format!("Here is my triage.\n```json\n{triage:#}\n```"))
}
