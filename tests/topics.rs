//! Conversations per Telegram topic, on the real codex CLI: each topic of
//! a private chat is a conversation of its own — its own codex thread,
//! queue and state file — answered in its own thread, in parallel with the
//! others, and resumed after a restart or `kill -9`. State files written
//! before topics existed migrate on the first start.

mod support;

use std::time::{Duration, Instant};

use serde_json::Value;
use support::fake_responses::all_input_text;
use support::fake_telegram::{BotMessage, Where};
use support::kai::{Kai, Options, ALICE};

const T1: i64 = 11;
const T2: i64 = 22;

/// Waits until a bot message in ALICE's topic `topic` satisfies `pred`; returns its text.
async fn wait_in(kai: &Kai, topic: Option<i64>, secs: u64, pred: impl Fn(&str) -> bool) -> String {
    let found = support::poll_until(Duration::from_secs(secs), || {
        kai.tg
            .messages_in(ALICE, topic)
            .into_iter()
            .find(|m| pred(&m.text))
    })
    .await;
    match found {
        Some(m) => m.text,
        None => panic!(
            "timed out in topic {topic:?}: {:#?}\n--- kai log ---\n{}",
            kai.tg.messages(ALICE),
            kai.log()
        ),
    }
}

fn say(kai: &Kai, topic: i64, text: &str) {
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, topic), text);
}

/// Sends `text` in `topic`, waits for its echo there and for the turn to
/// end (its thread is saved just after the text shows).
async fn ask(kai: &Kai, topic: i64, text: &str) {
    say(kai, topic, text);
    let echo = format!("echo: {text}");
    wait_in(kai, Some(topic), 90, |t| t.contains(&echo)).await;
    ended(kai, topic).await;
}

/// Waits until the topic's turn has ended and its thread is saved.
async fn ended(kai: &Kai, topic: i64) {
    let saved = support::poll_until(Duration::from_secs(30), || {
        kai.conv_state(ALICE, ALICE, Some(topic))
            .filter(|s| s["conversation"].is_string() && s["turn_in_flight"] == false)
    });
    let log = kai.log();
    assert!(
        saved.await.is_some(),
        "the turn in topic {topic} ended\n{log}"
    );
}

/// The codex thread persisted for ALICE's topic.
fn thread(kai: &Kai, topic: Option<i64>) -> Option<String> {
    kai.conv_state(ALICE, ALICE, topic).and_then(|s| {
        s.get("conversation")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Everything the model was sent with the request for the user text `text`.
fn context_of(kai: &Kai, text: &str) -> String {
    all_input_text(&kai.model_request(text))
}

/// Every message, chat action and upload the bot sent ALICE went to a
/// topic (`message_thread_id` set), none outside them.
fn all_in_topics(kai: &Kai, topics: &[i64]) {
    for m in kai.tg.messages(ALICE) {
        assert!(
            m.thread_id.is_some_and(|t| topics.contains(&t)),
            "a message outside its topic: {m:#?}"
        );
    }
    for c in kai.tg.calls_of("sendChatAction") {
        let t = c.params["message_thread_id"].as_i64();
        assert!(
            t.is_some_and(|t| topics.contains(&t)),
            "typing outside a topic: {c:?}"
        );
    }
}

/// A slow reply in topic 1 does not delay topic 2: its answer arrives
/// while topic 1 is still streaming, each reply (and each edit of it) in
/// its own topic, and the two topics talk to two codex threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_topics_answer_in_parallel_each_in_its_own_thread() {
    let kai = Kai::start(Options::default()).await;
    say(&kai, T1, "slow 20");
    wait_in(&kai, Some(T1), 90, |t| t.contains("slow part")).await;
    let asked = Instant::now();
    ask(&kai, T2, "quick one").await;
    let took = asked.elapsed();
    let t1: Vec<BotMessage> = kai.tg.messages_in(ALICE, Some(T1));
    assert!(
        !t1.iter().any(|m| m.text.contains("done.")),
        "topic 2 waited for topic 1 ({took:?}): {t1:#?}"
    );
    assert!(took < Duration::from_secs(15), "topic 2 took {took:?}");
    wait_in(&kai, Some(T1), 90, |t| t.contains("done.")).await;
    ended(&kai, T1).await;
    assert!(
        kai.tg
            .messages_in(ALICE, Some(T1))
            .iter()
            .any(|m| m.edits > 0),
        "topic 1's reply streamed by edits"
    );
    assert!(!kai
        .tg
        .messages_in(ALICE, Some(T2))
        .iter()
        .any(|m| m.text.contains("slow part")));
    all_in_topics(&kai, &[T1, T2]);
    let (a, b) = (thread(&kai, Some(T1)), thread(&kai, Some(T2)));
    assert!(a.is_some() && b.is_some() && a != b, "{a:?} {b:?}");
    assert!(!context_of(&kai, "quick one").contains("slow 20"));
}

/// `/stop` in topic 1 stops topic 1 only; `/new` and `/model` too act on
/// the topic they are sent in.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn commands_act_on_their_own_topic() {
    let kai = Kai::start(Options::default()).await;
    say(&kai, T1, "slow 8");
    say(&kai, T2, "slow 8");
    wait_in(&kai, Some(T1), 90, |t| t.contains("slow part")).await;
    wait_in(&kai, Some(T2), 90, |t| t.contains("slow part")).await;
    say(&kai, T1, "/stop");
    wait_in(&kai, Some(T1), 30, |t| t.contains("Stopped")).await;
    wait_in(&kai, Some(T2), 90, |t| t.contains("done.")).await;
    ended(&kai, T2).await;
    assert!(!kai
        .tg
        .messages_in(ALICE, Some(T2))
        .iter()
        .any(|m| m.text.contains("Stopped")));

    let before = thread(&kai, Some(T2)).expect("topic 2's thread");
    say(&kai, T1, "/new");
    wait_in(&kai, Some(T1), 30, |t| t.contains("New conversation")).await;
    assert_eq!(thread(&kai, Some(T1)), None);
    assert_eq!(thread(&kai, Some(T2)), Some(before));

    say(&kai, T1, "/model gpt-6-luna");
    wait_in(&kai, Some(T1), 30, |t| {
        t.contains("Model set to gpt-6-luna")
    })
    .await;
    ask(&kai, T2, "which model here").await;
    assert_ne!(
        kai.api.models_requested().last().map(String::as_str),
        Some("gpt-6-luna")
    );
    ask(&kai, T1, "which model there").await;
    assert_eq!(
        kai.api.models_requested().last().map(String::as_str),
        Some("gpt-6-luna")
    );
    all_in_topics(&kai, &[T1, T2]);
}

/// A reply running and a message queued in each of two topics, then
/// SIGTERM or `kill -9`: after the restart each topic answers its queued
/// message exactly once, in its own thread, on its own codex thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn both_topics_resume_after_sigterm_and_kill() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGKILL, "kill -9")] {
        let mut kai = Kai::start(Options::default()).await;
        ask(&kai, T1, "remember apple").await;
        ask(&kai, T2, "remember banana").await;
        let threads = (thread(&kai, Some(T1)), thread(&kai, Some(T2)));
        for t in [T1, T2] {
            say(&kai, t, "slow 20");
            wait_in(&kai, Some(t), 60, |x| x.contains("slow part")).await;
            say(&kai, t, &format!("queued in {t} before {name}"));
            wait_in(&kai, Some(t), 30, |x| x.contains("Queued (1 waiting)")).await;
        }
        kai.stop(signal, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("kai exits on {name}"));
        kai.spawn();
        for (t, fruit) in [(T1, "apple"), (T2, "banana")] {
            let queued = format!("queued in {t} before {name}");
            let echo = format!("echo: {queued}");
            wait_in(&kai, Some(t), 90, |x| x.contains(&echo)).await;
            assert!(
                context_of(&kai, &queued).contains(fruit),
                "{name}: topic {t}"
            );
        }
        // A conversation handles its inputs in order: once a later message
        // is answered, anything the queue still held has been too.
        for t in [T1, T2] {
            let barrier = format!("barrier in {t} after {name}");
            say(&kai, t, &barrier);
            let echo = format!("echo: {barrier}");
            wait_in(&kai, Some(t), 90, |x| x.contains(&echo)).await;
        }
        for t in [T1, T2] {
            let echo = format!("echo: queued in {t} before {name}");
            let msgs = kai.tg.messages_in(ALICE, Some(t));
            assert_eq!(
                msgs.iter().filter(|m| m.text.contains(&echo)).count(),
                1,
                "{name}: {msgs:#?}"
            );
            let other = if t == T1 { T2 } else { T1 };
            assert!(!msgs
                .iter()
                .any(|m| m.text.contains(&format!("queued in {other}"))));
            let state = kai.conv_state(ALICE, ALICE, Some(t)).expect("state");
            assert_eq!(state["queued"], serde_json::json!([]), "{state}");
        }
        assert_eq!(
            (thread(&kai, Some(T1)), thread(&kai, Some(T2))),
            threads,
            "{name}"
        );
        all_in_topics(&kai, &[T1, T2]);
    }
}

/// A state file as today's main writes it (`<chat>.json`, a private chat's
/// one conversation, with a message queued) is, after the upgrade, that
/// chat's main conversation: its queued message is answered and its codex
/// thread resumed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_old_state_file_migrates() {
    let mut kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "remember cherry");
    kai.wait_any(ALICE, 90, |t| t.contains("echo: remember cherry"))
        .await;
    kai.wait_idle(ALICE).await;
    kai.stop(libc::SIGTERM, Duration::from_secs(15))
        .expect("kai exits");
    let mut old = kai.chat_state(ALICE).expect("state");
    let thread_id = old["conversation"].clone();
    assert!(thread_id.is_string(), "{old}");
    old["queued"] = serde_json::json!(["waiting since the upgrade"]);
    std::fs::remove_file(kai.state_path(ALICE, ALICE, None)).unwrap();
    let legacy = kai.path(&format!("data/chats/{ALICE}.json"));
    std::fs::write(&legacy, serde_json::to_vec_pretty(&old).unwrap()).unwrap();

    kai.spawn();
    kai.wait_any(ALICE, 90, |t| t.contains("echo: waiting since the upgrade"))
        .await;
    assert!(context_of(&kai, "waiting since the upgrade").contains("remember cherry"));
    assert!(!legacy.exists(), "the old file was renamed");
    kai.wait_idle(ALICE).await;
    let state = kai.chat_state(ALICE).expect("migrated state");
    assert_eq!(state["conversation"], thread_id);
    assert_eq!(state["queued"], serde_json::json!([]));
}
