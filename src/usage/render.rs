//! `/usage` as the user reads it: the figures of a [`Book`] for one
//! backend, each as reported, and "not available yet" where none was.

use super::book::{Book, ClaudeSum};
use super::{percent, resets, window_name, Tokens};
use crate::catalog::Backend;
use crate::utc::utc_date;

/// The `/usage` answer. `conversation`: the chat's current conversation id.
pub fn usage(book: &Book, backend: Backend, conversation: Option<&str>, now: i64) -> String {
    match backend {
        Backend::Codex => codex(book, conversation, now),
        Backend::Claude => claude(book, conversation, now),
    }
}

fn codex(book: &Book, conversation: Option<&str>, now: i64) -> String {
    let mut lines = vec!["📊 Usage, as codex reported it since kai started:".to_string()];
    match &book.limits {
        None => lines.push(
            "Plan windows: not available yet (codex reports them with the answer to a message)."
                .into(),
        ),
        Some(l) => {
            for w in [&l.primary, &l.secondary].into_iter().flatten() {
                lines.push(format!(
                    "{}: {}% used{}",
                    capitalised(&window_name(w.window_minutes)),
                    percent(w.used_percent),
                    resets(w.resets_at, now)
                ));
            }
            if l.primary.is_none() && l.secondary.is_none() {
                lines.push(
                    "Plan windows: none reported (this login may have no plan limits).".into(),
                );
            }
        }
    }
    match conversation.and_then(|c| book.threads.get(c)) {
        None => lines.push("This conversation: token usage not available yet.".into()),
        Some(t) => {
            lines.push(format!("This conversation: {}", tokens(&t.total)));
            lines.push(format!("Last turn: {}", tokens(&t.last)));
            if let Some(w) = t.context_window {
                lines.push(format!("Context window: {} tokens", w));
            }
        }
    }
    lines.join("\n")
}

fn tokens(t: &Tokens) -> String {
    format!(
        "{} tokens (input {}, of which cached {}; output {}, of which reasoning {})",
        t.total, t.input, t.cached_input, t.output, t.reasoning_output
    )
}

fn claude(book: &Book, conversation: Option<&str>, now: i64) -> String {
    let mut lines = vec!["📊 Usage, as Claude Code reported it since kai started:".to_string()];
    match conversation.and_then(|c| book.claude_conversations.get(c)) {
        Some(s) => lines.push(format!("This conversation: {}", sum(s))),
        None => lines.push(
            "This conversation: not available yet (Claude Code reports usage when a reply ends)."
                .into(),
        ),
    }
    let today = utc_date(now);
    match book.claude_days.get(&today) {
        Some(s) => lines.push(format!("Today ({today} UTC): {}", sum(s))),
        None => lines.push(format!("Today ({today} UTC): no turns reported yet.")),
    }
    lines.join("\n")
}

fn sum(s: &ClaudeSum) -> String {
    let cost = match (s.turns_without_cost, s.turns) {
        (0, _) => format!("cost ${}", dollars(s.cost_usd)),
        (n, t) if n == t => "cost not reported".to_string(),
        (n, _) => format!(
            "cost ${} ({n} turn(s) reported no cost)",
            dollars(s.cost_usd)
        ),
    };
    format!(
        "{} turn(s); input {} tokens, output {}, cache read {}, cache write {}; {cost}",
        s.turns, s.input, s.output, s.cache_read, s.cache_creation
    )
}

/// Dollars to the millionth, without trailing zeros: small turns cost
/// fractions of a cent, and `$0.0001` would hide them.
fn dollars(d: f64) -> String {
    let s = format!("{d:.6}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s.is_empty() {
        "0".into()
    } else {
        s.to_string()
    }
}

fn capitalised(s: &str) -> String {
    let mut c = s.chars();
    match c.next() {
        Some(f) => f.to_uppercase().chain(c).collect(),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::usage::{ClaudeTurn, RateLimits, ThreadTokens, Usage, Window};

    #[test]
    fn nothing_reported_is_said_so() {
        let b = Book::default();
        let t = usage(&b, Backend::Codex, None, 0);
        assert!(t.contains("Plan windows: not available yet"), "{t}");
        assert!(t.contains("token usage not available yet"), "{t}");
        let t = usage(&b, Backend::Claude, Some("s"), 0);
        assert!(t.contains("This conversation: not available yet"), "{t}");
    }

    #[test]
    fn figures_are_shown_as_reported() {
        let mut b = Book::default();
        b.record(
            Usage::RateLimits(RateLimits {
                primary: Some(Window {
                    used_percent: 42.0,
                    window_minutes: Some(300),
                    resets_at: Some(7_800),
                }),
                secondary: Some(Window {
                    used_percent: 12.5,
                    window_minutes: Some(10_080),
                    resets_at: None,
                }),
            }),
            None,
            0,
        );
        let total = Tokens {
            input: 100,
            cached_input: 20,
            output: 30,
            reasoning_output: 4,
            total: 130,
        };
        b.record(
            Usage::Thread(ThreadTokens {
                thread: "t".into(),
                total: total.clone(),
                last: total,
                context_window: Some(1000),
            }),
            None,
            0,
        );
        let t = usage(&b, Backend::Codex, Some("t"), 0);
        assert!(
            t.contains("5-hour window: 42% used, resets 1970-01-01 02:10 UTC (in 2 h 10 min)"),
            "{t}"
        );
        assert!(t.contains("Weekly window: 12.5% used\n"), "{t}");
        assert!(t.contains("This conversation: 130 tokens (input 100, of which cached 20; output 30, of which reasoning 4)"), "{t}");
        b.record(
            Usage::Claude(ClaudeTurn {
                input: 3,
                output: 4,
                cache_read: 5,
                cache_creation: 6,
                cost_usd: Some(0.0125),
            }),
            Some("s"),
            0,
        );
        let t = usage(&b, Backend::Claude, Some("s"), 0);
        assert!(t.contains("This conversation: 1 turn(s); input 3 tokens, output 4, cache read 5, cache write 6; cost $0.0125"), "{t}");
        assert!(t.contains("Today (1970-01-01 UTC): 1 turn(s)"), "{t}");
    }
}
