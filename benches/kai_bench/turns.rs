//! [3] Bridge overhead per turn, at the daemon's two boundaries, with the
//! instant fake agent so that nothing but kai sits in between:
//! (a) the update handed to kai's waiting getUpdates → `turn/start` read by
//!     the agent;
//! (b) the agent's first delta written → the fake Telegram receiving the
//!     reply's first sendMessage. Later deltas become edits that kai
//!     throttles to one a second on purpose, so only the first message
//!     measures the bridge; the agent pauses after its first delta so that
//!     this message carries the streamed text, not the finished reply.
//!
//! Measured in a chat's only conversation, and again in one topic of ten,
//! each holding a warm agent (conversations per topic must not tax a turn).

use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::clock::Anchor;
use crate::support::fake_telegram::{FakeTelegram, Where};
use crate::support::kai::{Kai, Options, ALICE};

/// How long the agent waits after its first delta.
const PAUSE_MS: u64 = 50;

pub struct Overhead {
    pub inbound: Vec<Duration>,
    pub outbound: Vec<Duration>,
    /// Turns whose record or first message could not be paired (reported).
    pub unpaired: usize,
    /// Pairs whose later end came first: a sign the clocks disagree.
    pub negative: usize,
    /// The daemon's memory after all the turns.
    pub memory_after: Option<crate::startup::Memory>,
}

/// Starts a daemon with one user and the fake agent, quietly logging (as in
/// production), and waits until it polls.
pub async fn daemon(agent: &Path, users: Vec<(&'static str, i64)>) -> Kai {
    daemon_with(agent, users, Vec::new()).await
}

/// [`daemon`] with more fields in the users' entries (`max_agents`).
async fn daemon_with(
    agent: &Path,
    users: Vec<(&'static str, i64)>,
    user_fields: Vec<(i64, &'static str, Value)>,
) -> Kai {
    let kai = Kai::start(Options {
        users,
        codex_bin: Some(agent.to_path_buf()),
        extra_env: vec![("KAI_LOG".into(), "info".into())],
        user_fields,
        ..Options::default()
    })
    .await;
    wait_polling(&kai.tg).await;
    kai
}

/// Waits until a getUpdates is in flight, so an update is delivered at
/// once instead of waiting for the next poll.
pub async fn wait_polling(tg: &FakeTelegram) {
    let deadline = Instant::now() + Duration::from_secs(20);
    while tg
        .calls_of("getUpdates")
        .last()
        .is_none_or(|c| c.status != 0)
    {
        assert!(Instant::now() < deadline, "kai never polled");
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

async fn one_turn(kai: &Kai, at: Where, text: &str) -> Instant {
    wait_polling(&kai.tg).await;
    let expected = format!("echo: {text}");
    let sent = Instant::now();
    kai.tg.send_text_in(ALICE, at, text);
    kai.tg
        .wait_messages(ALICE, Duration::from_secs(30), |m| {
            m.last().is_some_and(|m| m.text == expected)
        })
        .await
        .unwrap_or_else(|| panic!("no reply to `{text}`\n{}", kai.log()));
    // Let the chat save its state and the router poll again.
    tokio::time::sleep(Duration::from_millis(20)).await;
    sent
}

/// `turns` turns in ALICE's chat; with `conversations` > 1, in the first
/// of that many topics, each first warmed up (an agent each: `max_agents`
/// lets them all run).
pub async fn run(agent: &Path, turns: usize, anchor: &Anchor, conversations: usize) -> Overhead {
    let cap = serde_json::json!(conversations.max(1));
    let kai = daemon_with(
        agent,
        vec![("alice", ALICE)],
        vec![(ALICE, "max_agents", cap)],
    )
    .await;
    let topic = (conversations > 1).then_some(1);
    let at = match topic {
        Some(t) => Where::private_topic(ALICE, t),
        None => Where::private(ALICE),
    };
    for t in 2..=conversations as i64 {
        one_turn(
            &kai,
            Where::private_topic(ALICE, t),
            &format!("pause 5 warm-up in {t}"),
        )
        .await;
    }
    for i in 0..3 {
        one_turn(&kai, at, &format!("pause 5 warm-up {i}")).await;
    }
    let mut sent = Vec::new();
    for i in 0..turns {
        let text = format!("pause {PAUSE_MS} #{i}");
        sent.push((one_turn(&kai, at, &text).await, text));
    }
    let memory_after = crate::startup::Memory::of(kai.pid());

    let records = records(&kai);
    let first_messages: Vec<_> = kai
        .tg
        .calls_of("sendMessage")
        .into_iter()
        .filter(|c| c.params["chat_id"].as_i64() == Some(ALICE))
        .filter(|c| c.params["message_thread_id"].as_i64() == topic)
        .collect();
    let mut out = Overhead {
        inbound: Vec::new(),
        outbound: Vec::new(),
        unpaired: 0,
        negative: 0,
        memory_after,
    };
    for (at, text) in &sent {
        let record = records
            .iter()
            .find(|r| r["event"] == "turn" && r["text"] == text.as_str());
        let first_delta = record.and_then(|r| r["delta_ns"][0].as_u64());
        let read = record.and_then(|r| r["turn_start_ns"].as_u64());
        let message = first_messages.iter().find(|c| c.at >= *at);
        let echo = format!("echo: {text}");
        match (read, first_delta, message) {
            (Some(read), Some(delta), Some(m))
                if m.params["text"]
                    .as_str()
                    .is_some_and(|t| echo.starts_with(t) && t.len() < echo.len()) =>
            {
                let inbound = anchor.instant_of(read).checked_duration_since(*at);
                let outbound = m.at.checked_duration_since(anchor.instant_of(delta));
                match (inbound, outbound) {
                    (Some(i), Some(o)) => {
                        out.inbound.push(i);
                        out.outbound.push(o);
                    }
                    _ => out.negative += 1,
                }
            }
            _ => out.unpaired += 1,
        }
    }
    out
}

/// What the fake agents of this daemon recorded (see fake_app_server.rs).
pub fn records(kai: &Kai) -> Vec<Value> {
    let path = kai
        .path("codex-home")
        .join(crate::fake_app_server::RECORD_FILE);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
