//! [4] Many chats on one daemon, one of them held by a slow agent: the
//! others' replies must not wait for it. Each round sends one message to
//! every other chat at once and times each chat's complete reply (the first
//! sendMessage or edit carrying the whole text), first with no slow chat,
//! then while the slow chat's agent streams.

use std::path::Path;
use std::time::{Duration, Instant};

use crate::support::kai::Kai;
use crate::turns::{daemon, wait_polling};

pub struct Concurrency {
    pub baseline: Vec<Duration>,
    pub with_slow: Vec<Duration>,
    /// The slow reply was still streaming when the last round ended.
    pub slow_overlapped: bool,
    pub memory_after: Option<crate::startup::Memory>,
}

pub async fn run(agent: &Path, chats: usize, rounds: usize, slow_secs: u64) -> Concurrency {
    let users: Vec<(&'static str, i64)> = (0..chats)
        .map(|i| {
            let name: &'static str = Box::leak(format!("user{i}").into_boxed_str());
            (name, 3000 + i as i64)
        })
        .collect();
    let mut kai = daemon(agent, users.clone()).await;
    let ids: Vec<i64> = users.iter().map(|(_, id)| *id).collect();
    let (slow, others) = ids.split_last().expect("at least two chats");
    // Every agent started first: both phases time turns, not agent starts.
    burst(&kai, &ids, "warm up").await;

    let mut baseline = Vec::new();
    for r in 0..rounds {
        baseline.extend(burst(&kai, others, &format!("alone {r}")).await);
    }
    wait_polling(&kai.tg).await;
    kai.tg.send_text(*slow, &format!("slow {slow_secs}"));
    kai.tg
        .wait_messages(*slow, Duration::from_secs(30), |m| {
            m.last().is_some_and(|m| m.text.contains("slow part"))
        })
        .await
        .expect("the slow reply starts streaming");
    let mut with_slow = Vec::new();
    for r in 0..rounds {
        with_slow.extend(burst(&kai, others, &format!("beside the slow one {r}")).await);
    }
    let slow_overlapped = kai
        .tg
        .last_text(*slow)
        .is_some_and(|t| t.contains("slow part") && !t.contains("done."));
    let memory_after = crate::startup::Memory::of(kai.pid());
    kai.stop(libc::SIGTERM, Duration::from_secs(30));
    Concurrency {
        baseline,
        with_slow,
        slow_overlapped,
        memory_after,
    }
}

/// One message to each chat at once; each chat's time to its complete reply.
async fn burst(kai: &Kai, chats: &[i64], label: &str) -> Vec<Duration> {
    wait_polling(&kai.tg).await;
    let texts: Vec<(i64, String)> = chats
        .iter()
        .map(|c| (*c, format!("echo: {label} from {c}")))
        .collect();
    let started = Instant::now();
    for (chat, echo) in &texts {
        kai.tg.send_text(*chat, &echo["echo: ".len()..]);
    }
    let deadline = Instant::now() + Duration::from_secs(60);
    while !texts
        .iter()
        .all(|(c, echo)| kai.tg.last_text(*c).as_ref() == Some(echo))
    {
        assert!(
            Instant::now() < deadline,
            "not every chat was answered\n{}",
            kai.log()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    // Let the chats finish their turns before the next round.
    tokio::time::sleep(Duration::from_millis(50)).await;
    let calls = kai.tg.calls();
    texts
        .iter()
        .filter_map(|(chat, echo)| {
            calls
                .iter()
                .find(|c| {
                    c.at >= started
                        && c.params["chat_id"].as_i64() == Some(*chat)
                        && c.params["text"].as_str() == Some(echo.as_str())
                })
                .map(|c| c.at.duration_since(started))
        })
        .collect()
}
