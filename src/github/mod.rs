//! GitHub automation inside `kai run` (DESIGN.md, "GitHub automation"):
//! a webhook server that checks, records and answers deliveries at once,
//! and one worker that turns them into pull request reviews by the owning
//! user's agent, posted as a comment and summed up in their Telegram chat.
//! Nothing here knows codex from claude: `agent::launch` does.

pub mod deliveries;
pub mod signature;
