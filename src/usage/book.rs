//! One chat's usage figures, as its agent reported them since kai started:
//! codex's latest rate-limit windows (merged: an update may carry one
//! window only, and a missing one does not clear what was seen) and its
//! threads' token counts; Claude Code's turns summed per conversation and
//! per UTC day. It also decides when a codex window passing 90 % is told,
//! once per window.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::{percent, resets, window_name, ClaudeTurn, RateLimits, ThreadTokens, Usage, Window};
use crate::utc::utc_date;

/// A window at or past this share of its limit is told to the user.
pub const WARN_PERCENT: f64 = 90.0;

/// Claude Code turns added up.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaudeSum {
    pub turns: u64,
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
    pub cost_usd: f64,
    /// Turns whose result carried no cost: the sum then leaves them out.
    pub turns_without_cost: u64,
}

impl ClaudeSum {
    fn add(&mut self, t: &ClaudeTurn) {
        self.turns += 1;
        self.input += t.input;
        self.output += t.output;
        self.cache_read += t.cache_read;
        self.cache_creation += t.cache_creation;
        match t.cost_usd {
            Some(c) => self.cost_usd += c,
            None => self.turns_without_cost += 1,
        }
    }
}

#[derive(Debug, Default)]
pub struct Book {
    /// `None` until codex reported a window.
    pub limits: Option<RateLimits>,
    /// Token usage per codex thread, the latest report of each.
    pub threads: HashMap<String, ThreadTokens>,
    /// Claude Code turns per session id.
    pub claude_conversations: HashMap<String, ClaudeSum>,
    /// Claude Code turns per UTC day (`YYYY-MM-DD`).
    pub claude_days: BTreeMap<String, ClaudeSum>,
    /// The windows already warned about, by which one and when it resets.
    warned: HashSet<(&'static str, Option<i64>, Option<i64>)>,
}

impl Book {
    /// Records a report (`conversation`: the agent's conversation id, when
    /// known; `now`: unix seconds). Returns the warning to show when a
    /// codex window just passed [`WARN_PERCENT`] for the first time.
    pub fn record(&mut self, usage: Usage, conversation: Option<&str>, now: i64) -> Option<String> {
        match usage {
            Usage::RateLimits(update) => {
                let limits = self.limits.get_or_insert_with(RateLimits::default);
                if update.primary.is_some() {
                    limits.primary = update.primary;
                }
                if update.secondary.is_some() {
                    limits.secondary = update.secondary;
                }
                let limits = limits.clone();
                let warnings: Vec<String> = [
                    ("primary", &limits.primary),
                    ("secondary", &limits.secondary),
                ]
                .into_iter()
                .filter_map(|(which, w)| self.warn(which, w.as_ref()?, now))
                .collect();
                (!warnings.is_empty()).then(|| warnings.join("\n"))
            }
            Usage::Thread(t) => {
                self.threads.insert(t.thread.clone(), t);
                None
            }
            Usage::Claude(turn) => {
                if let Some(c) = conversation {
                    self.claude_conversations
                        .entry(c.to_string())
                        .or_default()
                        .add(&turn);
                }
                self.claude_days
                    .entry(utc_date(now))
                    .or_default()
                    .add(&turn);
                None
            }
        }
    }

    fn warn(&mut self, which: &'static str, w: &Window, now: i64) -> Option<String> {
        if w.used_percent < WARN_PERCENT {
            return None;
        }
        // A new window resets at a new time: that is what "once per
        // window" keys on (the length too, in case no reset time came).
        if !self.warned.insert((which, w.resets_at, w.window_minutes)) {
            return None;
        }
        Some(format!(
            "⚠️ Your {} is {}% used{}. /usage shows the figures.",
            window_name(w.window_minutes),
            percent(w.used_percent),
            resets(w.resets_at, now)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(used: f64, resets: i64) -> Window {
        Window {
            used_percent: used,
            window_minutes: Some(300),
            resets_at: Some(resets),
        }
    }

    fn primary(w: Window) -> Usage {
        Usage::RateLimits(RateLimits {
            primary: Some(w),
            secondary: None,
        })
    }

    #[test]
    fn updates_merge_and_the_warning_comes_once_per_window() {
        let mut b = Book::default();
        let weekly = Window {
            used_percent: 20.0,
            window_minutes: Some(10_080),
            resets_at: Some(9_000),
        };
        let both = Usage::RateLimits(RateLimits {
            primary: Some(window(50.0, 1_000)),
            secondary: Some(weekly.clone()),
        });
        assert_eq!(b.record(both, None, 0), None);
        assert_eq!(b.record(primary(window(89.0, 1_000)), None, 0), None);
        assert_eq!(b.limits.as_ref().unwrap().secondary, Some(weekly), "kept");
        let w = b.record(primary(window(91.0, 1_000)), None, 0).unwrap();
        assert!(w.contains("5-hour window is 91% used"), "{w}");
        assert_eq!(b.record(primary(window(95.0, 1_000)), None, 0), None);
        // The next window warns again.
        assert!(b.record(primary(window(92.0, 19_000)), None, 0).is_some());
    }

    #[test]
    fn claude_turns_are_summed_per_conversation_and_day() {
        let mut b = Book::default();
        let turn = |cost| {
            Usage::Claude(ClaudeTurn {
                input: 10,
                output: 5,
                cache_read: 2,
                cache_creation: 1,
                cost_usd: cost,
            })
        };
        b.record(turn(Some(0.5)), Some("s1"), 86_400);
        b.record(turn(None), Some("s1"), 86_400 * 2);
        b.record(turn(Some(0.25)), Some("s2"), 86_400 * 2);
        let s1 = &b.claude_conversations["s1"];
        assert_eq!((s1.turns, s1.input, s1.output), (2, 20, 10));
        assert_eq!((s1.cost_usd, s1.turns_without_cost), (0.5, 1));
        assert_eq!(b.claude_days["1970-01-03"].turns, 2);
        assert_eq!(b.claude_days["1970-01-03"].cost_usd, 0.25);
    }
}
