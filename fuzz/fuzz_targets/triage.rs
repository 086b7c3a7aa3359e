//! The triage agent's answer (`kai::github::triage::parse`). The input is
//! the agent's text, which a stranger's issue may have shaped.
//!
//! Properties:
//! - nothing panics;
//! - an accepted triage has labels of 1-50 characters on one line and a
//!   summary;
//! - it is the same triage when written back as JSON, and when that JSON
//!   stands in a fenced block after some prose (what agents do).
#![no_main]

use kai::github::triage::{parse, MAX_LABEL};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let Ok(t) = parse(&text) else {
        return;
    };
    for l in &t.labels {
        let n = l.chars().count();
        assert!(n >= 1 && n <= MAX_LABEL && !l.contains('\n') && !l.trim().is_empty(), "{l:?}");
    }
    assert!(!t.summary.trim().is_empty());
    let json = serde_json::to_string(&t).expect("a triage serialises");
    assert_eq!(parse(&json).as_ref(), Ok(&t), "{json}");
    let fenced = format!("My triage:\n```json\n{json}\n```\n");
    assert_eq!(parse(&fenced).as_ref(), Ok(&t), "{fenced}");
});
