//! What the agents report about usage, as kai keeps it for `/usage`:
//! codex's rate-limit windows and a thread's token counts, and the tokens
//! and cost of each Claude Code turn. The backends parse their own
//! messages into these figures (`agent/codex/usage.rs`,
//! `agent/claude/result.rs`); the chat keeps them in a [`book::Book`] and
//! shows them (`render.rs`); how a window reads is here, for both. Nothing here is estimated: a figure the agent
//! did not report is absent, and the text says so.

pub mod book;
pub mod render;

/// One rate-limit window as codex reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Percent of the window used, 0–100.
    pub used_percent: f64,
    /// The window's length, when reported (300 = five hours).
    pub window_minutes: Option<i64>,
    /// When it resets, in unix seconds, when reported.
    pub resets_at: Option<i64>,
}

/// codex's plan windows: `primary` (the short one, five hours on ChatGPT
/// plans) and `secondary` (weekly). An update may carry only one of them.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RateLimits {
    pub primary: Option<Window>,
    pub secondary: Option<Window>,
}

/// Token counts of codex's `TokenUsageBreakdown`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Tokens {
    pub input: i64,
    pub cached_input: i64,
    pub output: i64,
    pub reasoning_output: i64,
    pub total: i64,
}

/// A codex thread's token usage: the whole thread and its last turn.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ThreadTokens {
    pub thread: String,
    pub total: Tokens,
    pub last: Tokens,
    pub context_window: Option<i64>,
}

/// What one Claude Code `result` reports: its `usage` and `total_cost_usd`.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ClaudeTurn {
    pub input: u64,
    pub output: u64,
    pub cache_read: u64,
    pub cache_creation: u64,
    /// `None` when the result carried no cost.
    pub cost_usd: Option<f64>,
}

/// One usage report from an agent, passed on as `AgentEvent::Usage`.
#[derive(Debug, Clone, PartialEq)]
pub enum Usage {
    RateLimits(RateLimits),
    Thread(ThreadTokens),
    Claude(ClaudeTurn),
}

/// A window's name from its length: "5-hour window", "weekly window".
pub fn window_name(minutes: Option<i64>) -> String {
    match minutes {
        Some(10_080) => "weekly window".into(),
        Some(1_440) => "daily window".into(),
        Some(m) if m > 0 && m % 60 == 0 => format!("{}-hour window", m / 60),
        Some(m) if m > 0 => format!("{m}-minute window"),
        _ => "window (length not reported)".into(),
    }
}

/// A percentage without a pointless `.0`.
pub fn percent(p: f64) -> String {
    if p.fract() == 0.0 {
        format!("{p:.0}")
    } else {
        format!("{p:.1}")
    }
}

/// ", resets 2026-12-05 14:05 UTC (in 2 h 10 min)", or nothing.
pub fn resets(at: Option<i64>, now: i64) -> String {
    let Some(at) = at else {
        return String::new();
    };
    let left = (at - now).max(0);
    let (h, m) = (left / 3600, left % 3600 / 60);
    let span = match h {
        0 => format!("{m} min"),
        h if h < 48 => format!("{h} h {m} min"),
        h => format!("{} days {} h", h / 24, h % 24),
    };
    format!(", resets {} (in {span})", crate::utc::utc_time(at))
}
