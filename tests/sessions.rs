//! Conversations outlive processes: the codex thread a chat talks to is
//! persisted in `<data>/chats/<chat>.<user>.main.json` and resumed (`thread/resume`)
//! after a daemon restart, a dead codex, `/stop` or a silence timeout; only
//! `/new` starts a fresh one. The proof is what the real codex CLI sends to
//! the loopback Responses API: a resumed thread resends the earlier turns.

mod support;

use std::time::Duration;

use serde_json::Value;
use support::fake_responses::all_input_text;
use support::kai::{all_gone, Kai, Options, ALICE};

/// Sends `text`, waits for its echo and for the turn to end.
async fn ask(kai: &Kai, text: &str) {
    kai.tg.send_text(ALICE, text);
    let echo = format!("echo: {text}");
    kai.wait_text(ALICE, 90, |t| t.contains(&echo)).await;
    kai.wait_idle(ALICE).await;
}

/// Everything the model was sent with the request for the user text `text`.
fn context_of(kai: &Kai, text: &str) -> String {
    all_input_text(&kai.model_request(text))
}

/// The codex thread id persisted for ALICE.
fn thread(kai: &Kai) -> Option<String> {
    kai.chat_state(ALICE).and_then(|s| {
        s.get("conversation")
            .and_then(Value::as_str)
            .map(str::to_string)
    })
}

/// Two turns, a SIGTERM and a restart of the daemon on the same data dir:
/// the third turn's request carries both earlier turns, and the persisted
/// thread id is the same before and after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_survives_a_daemon_restart() {
    let mut kai = Kai::start(Options::default()).await;
    ask(&kai, "remember apple").await;
    ask(&kai, "remember banana").await;
    let before = thread(&kai).expect("thread id persisted");

    kai.stop(libc::SIGTERM, Duration::from_secs(10))
        .expect("kai exits on SIGTERM");
    kai.spawn();
    ask(&kai, "what did I ask you to remember").await;

    let context = context_of(&kai, "what did I ask you to remember");
    assert!(
        context.contains("remember apple") && context.contains("remember banana"),
        "{context}"
    );
    assert_eq!(thread(&kai), Some(before), "{}", kai.log());
}

/// The codex process alone dies between turns (SIGKILL): the next message
/// is answered, by a fresh codex that continues the same thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_conversation_survives_its_codex_dying_between_turns() {
    let kai = Kai::start(Options::default()).await;
    ask(&kai, "remember apple").await;
    let before = thread(&kai).expect("thread id persisted");
    let pids = kai.codex_pids();
    assert!(!pids.is_empty(), "codex runs between turns");
    for pid in &pids {
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    let gone = support::poll_until(Duration::from_secs(5), || all_gone(&pids).then_some(()));
    assert!(gone.await.is_some(), "codex outlived SIGKILL: {pids:?}");

    ask(&kai, "and now").await;
    assert!(context_of(&kai, "and now").contains("remember apple"));
    assert_eq!(thread(&kai), Some(before));
}

/// `/new` forgets: the persisted thread id is cleared, the next request
/// carries none of the earlier text, and a different thread is persisted.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn new_is_the_way_to_forget() {
    let kai = Kai::start(Options::default()).await;
    ask(&kai, "remember apple").await;
    let before = thread(&kai).expect("thread id persisted");

    kai.tg.send_text(ALICE, "/new");
    kai.wait_text(ALICE, 30, |t| t.contains("New conversation"))
        .await;
    assert_eq!(thread(&kai), None, "/new clears the persisted thread");
    ask(&kai, "fresh question").await;

    let context = context_of(&kai, "fresh question");
    assert!(!context.contains("apple"), "{context}");
    let after = thread(&kai).expect("the new thread is persisted");
    assert_ne!(after, before);
}

/// `/stop` in the middle of a reply ends that turn but not the thread: the
/// next request carries the turn before it, on the same persisted thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_mid_turn_keeps_the_thread() {
    let kai = Kai::start(Options::default()).await;
    ask(&kai, "remember apple").await;
    let before = thread(&kai).expect("thread id persisted");

    kai.tg.send_text(ALICE, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.contains("slow part")).await;
    kai.tg.send_text(ALICE, "/stop");
    kai.wait_any(ALICE, 20, |t| t.contains("Stopped")).await;
    kai.wait_idle(ALICE).await;
    ask(&kai, "after the stop").await;

    assert!(context_of(&kai, "after the stop").contains("remember apple"));
    assert_eq!(thread(&kai), Some(before));
}

/// A turn that goes silent past `AGENT_TIMEOUT_SECONDS` gets its codex
/// killed, but the thread survives: the next message starts a new codex
/// that resumes it, and its request carries the turn before the silence.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silence_timeout_keeps_the_thread() {
    let kai = Kai::start(Options {
        timeout_secs: 3,
        ..Options::default()
    })
    .await;
    ask(&kai, "remember apple").await;
    let before = thread(&kai).expect("thread id persisted");

    kai.tg.send_text(ALICE, "hang");
    kai.wait_any(ALICE, 90, |t| t.contains("no sign of life"))
        .await;
    kai.wait_idle(ALICE).await;
    ask(&kai, "after the silence").await;

    assert!(context_of(&kai, "after the silence").contains("remember apple"));
    assert_eq!(thread(&kai), Some(before));
}

/// kai is killed outright (SIGKILL: no shutdown path runs) in the middle of
/// a reply. Its codex must not live on as an orphan (it sees its stdin
/// close), and the restarted kai tells the user the reply was interrupted
/// and continues the same thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_daemon_leaves_no_orphan_and_the_restart_tells_the_user() {
    let mut kai = Kai::start(Options::default()).await;
    ask(&kai, "remember cherry").await;
    kai.tg.send_text(ALICE, "slow 20");
    kai.wait_any(ALICE, 60, |t| t.contains("slow part")).await;
    let agents = kai.codex_pids();
    assert!(!agents.is_empty());
    kai.stop(libc::SIGKILL, Duration::from_secs(5))
        .expect("kai dies on SIGKILL");
    let gone = support::poll_until(Duration::from_secs(15), || all_gone(&agents).then_some(()));
    assert!(
        gone.await.is_some(),
        "codex outlived a killed kai: {agents:?}"
    );

    let before = kai.tg.messages(ALICE).len();
    kai.spawn();
    kai.wait_text(ALICE, 30, |t| t.contains("reply was cut off"))
        .await;
    assert_eq!(kai.tg.messages(ALICE).len(), before + 1, "one notice");
    ask(&kai, "what did I ask you to remember").await;
    assert!(context_of(&kai, "what did I ask you to remember").contains("remember cherry"));
}

/// AGENT_IDLE_SECONDS: an agent idle that long is stopped (its whole tree
/// gone, `/status` says so), and the next message resumes its thread.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_agent_is_stopped_after_agent_idle_seconds_and_resumes() {
    let kai = Kai::start(Options {
        extra_env: vec![("AGENT_IDLE_SECONDS".into(), "2".into())],
        ..Options::default()
    })
    .await;
    ask(&kai, "remember cherry").await;
    let before = thread(&kai).expect("thread id persisted");
    let pid = kai.agent_pid(ALICE).await;

    let gone = support::poll_until(Duration::from_secs(15), || all_gone(&[pid]).then_some(()));
    assert!(
        gone.await.is_some(),
        "the idle agent {pid} is still running\n{}",
        kai.log()
    );
    let status = kai.status(ALICE).await;
    assert!(status.contains("Agent: stopped"), "{status}");

    ask(&kai, "what did I ask you to remember").await;
    let context = context_of(&kai, "what did I ask you to remember");
    assert!(context.contains("remember cherry"), "{context}");
    assert_eq!(thread(&kai), Some(before));
}

/// A message queued behind a running reply survives the daemon's death:
/// after `kill -9` (no shutdown path) or SIGTERM, the restarted kai answers
/// the queued message, and tells the user exactly once that the reply in
/// progress was cut off (quoting it), without answering that one too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_messages_survive_kill_and_sigterm() {
    for (signal, name) in [(libc::SIGKILL, "kill -9"), (libc::SIGTERM, "SIGTERM")] {
        let mut kai = Kai::start(Options::default()).await;
        kai.tg.send_text(ALICE, "slow 20");
        kai.wait_any(ALICE, 60, |t| t.contains("slow part")).await;
        let queued = format!("queued before {name}");
        kai.tg.send_text(ALICE, &queued);
        kai.wait_any(ALICE, 30, |t| t.contains("Queued (1 waiting)"))
            .await;
        kai.stop(signal, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("kai exits on {name}"));

        kai.spawn();
        let echo = format!("echo: {queued}");
        kai.wait_any(ALICE, 90, |t| t.contains(&echo)).await;
        kai.wait_idle(ALICE).await;
        let messages = kai.tg.messages(ALICE);
        let told: Vec<&str> = messages
            .iter()
            .map(|m| m.text.as_str())
            .filter(|t| t.contains("send it again"))
            .collect();
        assert_eq!(told.len(), 1, "{name}: told once to resend: {messages:#?}");
        assert!(told[0].contains("«slow 20»"), "{}", told[0]);
        assert!(
            !messages.iter().any(|m| m.text.contains("done.")),
            "{name}: the cut-off message is not answered after all: {messages:#?}"
        );
        assert_eq!(
            messages.iter().filter(|m| m.text.contains(&echo)).count(),
            1,
            "{name}: the queued message is answered once: {messages:#?}"
        );
        let state = kai.chat_state(ALICE).expect("state");
        assert_eq!(state["queued"], serde_json::json!([]), "{state}");
        assert_eq!(state["turn_in_flight"], false, "{state}");
    }
}

/// Telegram forgets a batch only when a later `getUpdates` confirms it. A
/// stop (SIGTERM or kill -9) after a batch was handled but before that
/// confirmation reached Telegram must not bring the batch back: the next
/// start polls from the offset saved with the state, and answers once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stop_right_after_a_batch_does_not_answer_it_twice() {
    for (signal, name) in [(libc::SIGTERM, "SIGTERM"), (libc::SIGKILL, "kill -9")] {
        let mut kai = Kai::start(Options::default()).await;
        // The poll now waiting brings the batch; the one after it, which
        // would confirm it, is taken by the fake and never answered.
        let polling = |c: &support::fake_telegram::Call| c.method == "getUpdates" && c.status == 0;
        kai.tg.wait_call(Duration::from_secs(30), polling).await;
        kai.tg.hang_next("getUpdates", 1);
        let text = format!("only once across {name}");
        kai.tg.send_text(ALICE, &text);
        let echo = format!("echo: {text}");
        kai.wait_any(ALICE, 90, |t| t.contains(&echo)).await;
        kai.stop(signal, Duration::from_secs(15))
            .unwrap_or_else(|| panic!("kai exits on {name}"));

        kai.spawn();
        ask(&kai, "after the restart").await;
        let messages = kai.tg.messages(ALICE);
        assert_eq!(
            messages.iter().filter(|m| m.text.contains(&echo)).count(),
            1,
            "{name}: the batch before the stop is answered once: {messages:#?}"
        );
    }
}

/// Messages the router handed a conversation that had not taken them yet
/// when SIGTERM came (it was starting the agent for a slow reply) go into
/// its durable queue, not away with the channel: after the restart each
/// is answered, exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_handed_over_at_sigterm_are_answered_after_the_restart() {
    let mut kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 20");
    let texts: Vec<String> = (1..=5).map(|i| format!("handed over {i}")).collect();
    let mut last = 0;
    for t in &texts {
        last = kai.tg.send_text(ALICE, t);
    }
    // Handed over: a later poll asks past the last of them.
    let past = |c: &support::fake_telegram::Call| {
        c.method == "getUpdates" && c.params["offset"].as_i64().unwrap_or(0) > last
    };
    kai.tg.wait_call(Duration::from_secs(30), past).await;
    kai.stop(libc::SIGTERM, Duration::from_secs(25))
        .expect("kai exits on SIGTERM");

    kai.spawn();
    let final_echo = format!("echo: {}", texts[texts.len() - 1]);
    kai.wait_any(ALICE, 120, |t| t.contains(&final_echo)).await;
    kai.wait_idle(ALICE).await;
    let messages = kai.tg.messages(ALICE);
    for t in &texts {
        let echo = format!("echo: {t}");
        assert_eq!(
            messages.iter().filter(|m| m.text.contains(&echo)).count(),
            1,
            "`{t}` is answered once: {messages:#?}\n{}",
            kai.log()
        );
    }
    let state = kai.chat_state(ALICE).expect("state");
    assert_eq!(state["queued"], serde_json::json!([]), "{state}");
}
