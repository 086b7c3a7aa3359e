//! `max_agents`: a user's running agents are capped. With a cap of 2, a
//! third topic's message stops the least recently used idle agent (whose
//! thread resumes later, losslessly); with both agents answering, the
//! third message waits in its queue (durably), the user is told which
//! conversations are busy, and it is answered once one is free. On the
//! real codex CLI.

mod support;

use std::time::Duration;

use serde_json::json;
use support::fake_responses::{all_input_text, last_user_text};
use support::fake_telegram::Where;
use support::kai::{Kai, Options, ALICE};

async fn start() -> Kai {
    Kai::start(Options {
        user_fields: vec![(ALICE, "max_agents", json!(2))],
        ..Options::default()
    })
    .await
}

fn say(kai: &Kai, topic: i64, text: &str) {
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, topic), text);
}

/// Waits for the `n`th (from 0) bot message in `topic` containing `needle`.
async fn nth_in(kai: &Kai, topic: i64, needle: &str, n: usize) -> String {
    kai.wait_nth_in(ALICE, Some(topic), needle, n, 90).await
}

/// Asks and waits until the turn is over (its thread saved).
async fn ask(kai: &Kai, topic: i64, text: &str) {
    say(kai, topic, text);
    nth_in(kai, topic, &format!("echo: {text}"), 0).await;
    let ended = support::poll_until(Duration::from_secs(30), || {
        kai.conv_state(ALICE, ALICE, Some(topic))
            .filter(|s| s["conversation"].is_string() && s["turn_in_flight"] == false)
    });
    assert!(ended.await.is_some(), "{}", kai.log());
}

/// `/status` in a topic; returns its answer.
async fn status(kai: &Kai, topic: i64) -> String {
    let n = kai
        .tg
        .messages_in(ALICE, Some(topic))
        .iter()
        .filter(|m| m.text.starts_with("Backend:"))
        .count();
    say(kai, topic, "/status");
    nth_in(kai, topic, "Backend:", n).await
}

/// Two topics hold the two agents; a third topic's message stops the
/// least recently used (topic 1), as many codex processes run as for two,
/// and topic 1's next message resumes its thread, stopping topic 2's.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_third_topic_evicts_the_least_recently_used_idle_agent() {
    let kai = start().await;
    ask(&kai, 1, "remember one").await;
    ask(&kai, 2, "remember two").await;
    // Each agent is codex's node wrapper and its native binary.
    let two_agents = kai.codex_pids().len();
    assert!(two_agents >= 2, "{}", kai.log());
    ask(&kai, 3, "third topic").await;
    let one = status(&kai, 1).await;
    assert!(one.contains("Agent: stopped"), "{one}");
    assert!(status(&kai, 2).await.contains("Agent: idle"));
    let three = status(&kai, 3).await;
    assert!(three.contains("Agent: idle"), "{three}");
    assert!(
        three.contains("• topic 1: project none, model") && three.contains("no agent"),
        "/status lists the others: {three}"
    );
    let agents = support::poll_until(Duration::from_secs(10), || {
        (kai.codex_pids().len() == two_agents).then_some(())
    });
    assert!(agents.await.is_some(), "{:?}", kai.codex_pids());

    ask(&kai, 1, "what was it").await;
    let requests = kai.api.requests();
    let request = requests
        .iter()
        .rev()
        .find(|r| last_user_text(r).as_deref() == Some("what was it"))
        .expect("request");
    assert!(all_input_text(request).contains("remember one"));
    assert!(status(&kai, 2).await.contains("Agent: stopped"));
}

/// Both agents answer slow replies: the third topic's message waits in
/// its queue (in its state file), its user is told which conversations are
/// busy, and it is answered once one of them is done.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_every_agent_busy_the_next_message_waits_and_is_told() {
    let kai = start().await;
    say(&kai, 1, "slow 8");
    say(&kai, 2, "slow 8");
    nth_in(&kai, 1, "slow part", 0).await;
    nth_in(&kai, 2, "slow part", 0).await;
    say(&kai, 3, "waiting for a slot");
    let told = nth_in(&kai, 3, "are answering", 0).await;
    assert!(
        told.contains("All 2 of your agents")
            && told.contains("topic 1")
            && told.contains("topic 2"),
        "{told}"
    );
    let state = kai.conv_state(ALICE, ALICE, Some(3)).expect("state");
    assert_eq!(
        state["queued"],
        json!([{"text": "waiting for a slot", "files": []}]),
        "{state}"
    );
    nth_in(&kai, 3, "echo: waiting for a slot", 0).await;
    let done = |t: i64| {
        kai.tg
            .messages_in(ALICE, Some(t))
            .iter()
            .any(|m| m.text.contains("done."))
    };
    assert!(done(1) || done(2), "answered only after a slot freed");
    assert_eq!(
        kai.tg
            .messages_in(ALICE, Some(3))
            .iter()
            .filter(|m| m.text.contains("are answering"))
            .count(),
        1,
        "told once"
    );
}
