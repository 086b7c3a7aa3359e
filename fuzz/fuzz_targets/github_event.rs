//! A signed webhook delivery (`kai::github::events::parse`) and the
//! Telegram notice made of it (`kai::github::event_notice::render`). The payload
//! is GitHub's, but its text is anyone's: titles, comments, commit messages.
//!
//! The first byte picks the `X-GitHub-Event`; the rest is the body.
//!
//! Properties:
//! - nothing panics;
//! - a kept comment or review body is at most `BODY_CAP` characters, a push
//!   lists at most `PUSH_LIST_CAP` commits and never more than it counts;
//! - the notice's HTML holds no markup but kai's own tags: every piece of
//!   GitHub text is escaped.
#![no_main]

use kai::github::events::{parse, Happening, BODY_CAP, PUSH_LIST_CAP};
use kai::github::event_notice::render;
use libfuzzer_sys::fuzz_target;

const EVENTS: [&str; 6] = [
    "pull_request",
    "issues",
    "issue_comment",
    "pull_request_review",
    "push",
    "star",
];

/// The tags a notice may contain; `<a href="…">` is checked apart.
const OWN_TAGS: [&str; 7] = [
    "<b>",
    "</b>",
    "</a>",
    "<code>",
    "</code>",
    "<blockquote>",
    "</blockquote>",
];

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let event = EVENTS[pick as usize % EVENTS.len()];
    let Ok(Some(e)) = parse(event, body) else {
        return;
    };
    match &e.what {
        Happening::Comment { body, .. } | Happening::Review { body, .. } => {
            assert!(body.chars().count() <= BODY_CAP);
        }
        Happening::Push { commits, total, .. } => {
            assert!(commits.len() <= PUSH_LIST_CAP && commits.len() <= *total);
        }
        _ => {}
    }
    let Some(m) = render(&e) else {
        return;
    };
    let mut html = m.html.unwrap_or_default();
    for tag in OWN_TAGS {
        html = html.replace(tag, "");
    }
    // A link is `<a href="https://…">` with the address escaped: no `"`
    // or `<` can end it early.
    while let Some(start) = html.find("<a href=\"https://") {
        let rest = &html[start + 9..];
        let end = rest.find("\">").expect("a link's tag is closed");
        let href = &rest[..end];
        assert!(!href.contains('"') && !href.contains('<'), "{href}");
        html.replace_range(start..start + 9 + end + 2, "");
    }
    assert!(!html.contains('<'), "unescaped markup in {html}");
});
