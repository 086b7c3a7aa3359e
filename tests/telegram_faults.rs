//! Kai against a misbehaving Telegram Bot API: server errors, rate limits,
//! hung requests, a failing long poll, state it cannot write, and a SIGTERM
//! mid-reply. The real codex CLI answers through the loopback Responses API
//! fake; faults are injected in the loopback Bot API fake.
//!
//! teloxide itself sleeps 10 s after any HTTP 5xx before it returns the
//! error, and Kai's HTTP timeout is 30 s, so each injected 5xx costs about
//! 10 s and each hung request about 30 s: the timeouts below allow for that.

mod support;

use std::time::Duration;

use support::fake_responses::last_user_text;
use support::fake_telegram::Call;
use support::kai::{all_gone, Kai, Options, ALICE, BOB};

/// Bot messages in `chat` whose current text contains `needle`.
fn messages_with(kai: &Kai, chat: i64, needle: &str) -> usize {
    kai.tg
        .messages(chat)
        .iter()
        .filter(|m| m.text.contains(needle))
        .count()
}

/// Requests the model received for the user text `text`.
fn prompts_for(kai: &Kai, text: &str) -> usize {
    kai.api
        .requests()
        .iter()
        .filter(|r| last_user_text(r).as_deref() == Some(text))
        .count()
}

/// The first call of `method` answered with `status`, and the next call of
/// the same method after it.
fn failed_and_next(kai: &Kai, method: &str, status: u16) -> (Call, Call) {
    let calls = kai.tg.calls_of(method);
    let i = calls
        .iter()
        .position(|c| c.status == status)
        .unwrap_or_else(|| panic!("no {method} answered {status}: {calls:#?}"));
    let next = calls
        .get(i + 1)
        .unwrap_or_else(|| panic!("{method} was never tried again: {calls:#?}"));
    (calls[i].clone(), next.clone())
}

/// Waits until kai's long poll is in flight, so a fault injected now hits
/// the poll after it, not this one.
async fn poll_in_flight(kai: &Kai) {
    kai.tg
        .wait_call(Duration::from_secs(30), |c| c.method == "getUpdates")
        .await
        .expect("kai polls for updates");
    // The fake records a call just before it picks the call's fault.
    tokio::time::sleep(Duration::from_millis(200)).await;
}

/// Two HTTP 500s on sendMessage: the reply waits them out (teloxide's 10 s
/// plus Kai's backoff) and then appears exactly once, whole, for one model
/// request; the retries came after the failures and were few, not a loop.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn send_server_errors_delay_the_reply_which_then_arrives_once() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.fail_next("sendMessage", 2, 500);
    kai.tg.send_text(ALICE, "through the outage");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: through the outage"))
        .await;
    kai.wait_idle(ALICE).await;

    assert_eq!(
        messages_with(&kai, ALICE, "echo:"),
        1,
        "{:#?}",
        kai.tg.messages(ALICE)
    );
    assert_eq!(prompts_for(&kai, "through the outage"), 1);
    let sends: Vec<Call> = kai
        .tg
        .calls_of("sendMessage")
        .into_iter()
        .filter(|c| {
            !c.params["text"]
                .as_str()
                .unwrap_or("")
                .starts_with("Backend:")
        })
        .collect();
    let failed: Vec<&Call> = sends.iter().filter(|c| c.status == 500).collect();
    assert_eq!(failed.len(), 2, "{sends:#?}");
    let delivered: Vec<&Call> = sends.iter().filter(|c| c.status == 200).collect();
    assert_eq!(delivered.len(), 1, "one successful send: {sends:#?}");
    assert!(delivered[0].at > failed[1].at, "{sends:#?}");
    assert!(sends.len() <= 4, "retried in a loop: {sends:#?}");
}

/// Two HTTP 500s on editMessageText while a reply streams: the reply stays
/// one message (the one first sent, edited again once the API recovers) and
/// ends with the whole text; no second copy is sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn edit_server_errors_leave_one_message_with_the_whole_reply() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 3");
    kai.wait_text(ALICE, 90, |t| t.contains("slow part")).await;
    kai.tg.fail_next("editMessageText", 2, 500);
    let text = kai.wait_text(ALICE, 90, |t| t.contains("done.")).await;
    assert!(text.starts_with("slow part 1 of 12"), "{text}");
    kai.wait_idle(ALICE).await;

    assert_eq!(
        messages_with(&kai, ALICE, "slow part"),
        1,
        "{:#?}",
        kai.tg.messages(ALICE)
    );
    let edits = kai.tg.calls_of("editMessageText");
    assert_eq!(
        edits.iter().filter(|c| c.status == 500).count(),
        2,
        "{edits:#?}"
    );
    let last_failure = edits.iter().rposition(|c| c.status == 500).unwrap();
    assert!(
        edits[last_failure + 1..].iter().any(|c| c.status == 200
            && c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("done."))),
        "the final text was edited in after the failures: {edits:#?}"
    );
}

/// A 429 with `retry_after = 3` on sendMessage, then on editMessageText:
/// the next attempt of that method comes no sooner than 3 s after the
/// refusal (streaming included, not only the final delivery), and the reply
/// still appears exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rate_limited_call_waits_for_retry_after() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.rate_limit_next("sendMessage", 1, 3);
    kai.tg.send_text(ALICE, "limited send");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: limited send"))
        .await;
    let (limited, next) = failed_and_next(&kai, "sendMessage", 429);
    assert!(
        next.at.duration_since(limited.at) >= Duration::from_secs(3),
        "sendMessage retried {:?} after a 429 asking for 3 s",
        next.at.duration_since(limited.at)
    );
    kai.wait_idle(ALICE).await;
    assert_eq!(messages_with(&kai, ALICE, "echo: limited send"), 1);

    kai.tg.rate_limit_next("editMessageText", 1, 3);
    kai.tg.send_text(ALICE, "slow 4");
    kai.wait_text(ALICE, 90, |t| t.contains("done.")).await;
    let (limited, next) = failed_and_next(&kai, "editMessageText", 429);
    assert!(
        next.at.duration_since(limited.at) >= Duration::from_secs(3),
        "editMessageText retried {:?} after a 429 asking for 3 s",
        next.at.duration_since(limited.at)
    );
    kai.wait_idle(ALICE).await;
    assert_eq!(messages_with(&kai, ALICE, "slow part"), 1);
}

/// A sendMessage that Telegram accepts and never answers: Kai's HTTP
/// timeout ends it, the send is retried, and the reply appears exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_send_times_out_and_the_reply_arrives_once() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.hang_next("sendMessage", 1);
    kai.tg.send_text(ALICE, "hung send");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: hung send"))
        .await;
    kai.wait_idle(ALICE).await;

    let sends = kai.tg.calls_of("sendMessage");
    assert_eq!(sends[0].status, 0, "the first send hung: {sends:#?}");
    assert_eq!(
        messages_with(&kai, ALICE, "echo:"),
        1,
        "{:#?}",
        kai.tg.messages(ALICE)
    );
    assert_eq!(prompts_for(&kai, "hung send"), 1);
}

/// getUpdates answering HTTP 500 twice: the long poll backs off and
/// recovers, a message sent during the outage is answered exactly once, and
/// the update confirmed just before the outage is not handed out again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_long_polls_recover_without_handling_an_update_twice() {
    let kai = Kai::start(Options::default()).await;
    poll_in_flight(&kai).await;
    kai.tg.fail_next("getUpdates", 2, 500);
    kai.tg.send_text(ALICE, "/help");
    kai.tg
        .wait_call(Duration::from_secs(30), |c| {
            c.method == "getUpdates" && c.status == 500
        })
        .await
        .expect("the poll after /help fails");
    kai.tg.send_text(ALICE, "during outage");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: during outage"))
        .await;
    kai.wait_idle(ALICE).await;

    let polls = kai.tg.calls_of("getUpdates");
    assert_eq!(
        polls.iter().filter(|c| c.status == 500).count(),
        2,
        "{polls:#?}"
    );
    assert_eq!(messages_with(&kai, ALICE, "echo: during outage"), 1);
    assert_eq!(prompts_for(&kai, "during outage"), 1);
    assert_eq!(
        messages_with(&kai, ALICE, "/new — forget"),
        1,
        "/help answered once"
    );
}

/// A getUpdates that never answers: Kai's HTTP timeout ends it, polling
/// resumes, and a message sent meanwhile is answered exactly once, as is
/// the one confirmed before the hang.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_long_poll_times_out_and_polling_resumes() {
    let kai = Kai::start(Options::default()).await;
    poll_in_flight(&kai).await;
    kai.tg.hang_next("getUpdates", 1);
    let help = kai.tg.send_text(ALICE, "/help");
    kai.tg
        .wait_call(Duration::from_secs(30), |c| {
            c.method == "getUpdates" && c.params["offset"].as_i64() == Some(help + 1)
        })
        .await
        .expect("kai polls again after /help");
    kai.tg.send_text(ALICE, "during hang");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: during hang"))
        .await;
    kai.wait_idle(ALICE).await;

    // Every poll but the one in flight now was answered, except the hung one.
    let polls = kai.tg.calls_of("getUpdates");
    let (_, earlier) = polls.split_last().unwrap();
    let unanswered: Vec<&Call> = earlier.iter().filter(|c| c.status == 0).collect();
    assert_eq!(unanswered.len(), 1, "{polls:#?}");
    assert_eq!(unanswered[0].params["offset"].as_i64(), Some(help + 1));
    assert_eq!(messages_with(&kai, ALICE, "echo: during hang"), 1);
    assert_eq!(prompts_for(&kai, "during hang"), 1);
    assert_eq!(
        messages_with(&kai, ALICE, "/new — forget"),
        1,
        "/help answered once"
    );
}

/// Two users queue several messages each while the first sendMessage calls
/// fail with 502: every reply arrives, once, in the order its user wrote.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn queued_replies_of_two_users_survive_send_failures_in_order() {
    let kai = Kai::start(Options {
        users: vec![("alice", ALICE), ("bob", BOB)],
        ..Options::default()
    })
    .await;
    kai.tg.fail_next("sendMessage", 4, 502);
    let asked = [
        (ALICE, vec!["alpha one", "alpha two", "alpha three"]),
        (BOB, vec!["bravo one", "bravo two"]),
    ];
    for (chat, texts) in &asked {
        for t in texts {
            kai.tg.send_text(*chat, t);
        }
    }
    for (chat, texts) in &asked {
        let last = format!("echo: {}", texts.last().unwrap());
        kai.wait_any(*chat, 180, |t| t.contains(&last)).await;
    }
    for (chat, _) in &asked {
        kai.wait_idle(*chat).await;
    }

    assert!(kai
        .tg
        .calls_of("sendMessage")
        .iter()
        .any(|c| c.status == 502));
    for (chat, texts) in &asked {
        let shown: Vec<String> = kai.tg.messages(*chat).into_iter().map(|m| m.text).collect();
        let mut positions = Vec::new();
        for t in texts {
            let reply = format!("echo: {t}");
            let at: Vec<usize> = (0..shown.len())
                .filter(|&i| shown[i].contains(&reply))
                .collect();
            assert_eq!(at.len(), 1, "`{reply}` shown once: {shown:#?}");
            assert_eq!(prompts_for(&kai, t), 1, "`{t}` asked once");
            positions.push(at[0]);
        }
        assert!(
            positions.windows(2).all(|w| w[0] < w[1]),
            "in order: {shown:#?}"
        );
    }
}

/// `<data>/chats` is a regular file, so no chat state can be written. Tests
/// may run as root, which permission bits do not stop (and `chattr +i`
/// depends on the filesystem); a file where a directory must be stops
/// everyone. Kai still answers, keeps running, and logs which state file it
/// could not save.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unwritable_chat_state_is_logged_and_kai_keeps_answering() {
    let mut kai = Kai::start(Options::default()).await;
    std::fs::create_dir_all(kai.path("data")).unwrap();
    std::fs::write(kai.path("data/chats"), "not a directory").unwrap();

    kai.tg.send_text(ALICE, "state is gone");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: state is gone"))
        .await;
    kai.tg.send_text(ALICE, "/model gpt-6-luna");
    kai.wait_text(ALICE, 30, |t| t.contains("Model set to gpt-6-luna"))
        .await;
    kai.tg.send_text(ALICE, "still here");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: still here"))
        .await;

    assert_eq!(kai.exited(), None, "kai must not exit\n{}", kai.log());
    assert_eq!(
        kai.api.models_requested().last().map(String::as_str),
        Some("gpt-6-luna")
    );
    let want = format!(
        "cannot save chat state to {}",
        kai.state_path(ALICE, ALICE, None).display()
    );
    let log = kai.log();
    let line = log
        .lines()
        .find(|l| l.contains(&want))
        .unwrap_or_else(|| panic!("no `{want}` in the log:\n{log}"));
    assert!(line.contains("ERROR"), "{line}");
}

/// SIGTERM during a 20 s reply: Kai exits within 10 s leaving no codex
/// process, the user keeps the partial reply with a note that it was
/// interrupted; after the restart the user is told once that the reply was
/// cut off and can resend, and the chat works again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_turn_is_announced_and_the_restart_tells_the_user() {
    let mut kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 20");
    kai.wait_text(ALICE, 90, |t| t.contains("slow part")).await;
    let before: Vec<i32> = kai.descendants().into_iter().collect();
    assert!(!kai.codex_pids().is_empty());
    let took = kai
        .stop(libc::SIGTERM, Duration::from_secs(10))
        .expect("kai exits within 10 s of SIGTERM");
    eprintln!("kai exited {took:?} after SIGTERM mid-turn");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(all_gone(&before), "left behind: {before:?}\n{}", kai.log());

    let cut = kai.wait_any(ALICE, 5, |t| t.contains("restarting")).await;
    assert!(
        cut.contains("slow part") && cut.contains("interrupted") && !cut.contains("done."),
        "{cut}"
    );
    let state = kai.chat_state(ALICE).expect("chat state saved");
    assert_eq!(state["turn_in_flight"], true, "{state}");

    kai.spawn();
    let notice = "restarted while answering your last message";
    let told = kai.wait_any(ALICE, 30, |t| t.contains(notice)).await;
    assert!(told.contains("send it again"), "{told}");
    kai.tg.send_text(ALICE, "back again");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: back again"))
        .await;
    kai.wait_idle(ALICE).await;
    assert_eq!(kai.chat_state(ALICE).unwrap()["turn_in_flight"], false);

    // A restart with nothing running tells nobody anything.
    kai.stop(libc::SIGTERM, Duration::from_secs(10))
        .expect("kai exits when idle");
    kai.spawn();
    kai.tg.send_text(ALICE, "after a quiet restart");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: after a quiet restart"))
        .await;
    assert_eq!(
        messages_with(&kai, ALICE, notice),
        1,
        "{:#?}",
        kai.tg.messages(ALICE)
    );
}

/// Proves: a bot token the Bot API rejects (401) stops the daemon at once
/// with EX_CONFIG (78, which the unit does not restart) and a log line
/// naming the API and what to fix, instead of retrying forever; the token
/// itself is never logged.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_rejected_token_stops_the_daemon_with_a_clear_error() {
    let wrong = "999999:WRONG-TOKEN-VALUE";
    let mut kai = Kai::start(Options {
        extra_env: vec![("TELEGRAM_BOT_TOKEN".into(), wrong.into())],
        ..Options::default()
    })
    .await;
    let status = {
        let kai = std::cell::RefCell::new(&mut kai);
        support::poll_until(Duration::from_secs(15), || kai.borrow_mut().exited()).await
    };
    let log = kai.log();
    let status = status.unwrap_or_else(|| panic!("kai kept running on a rejected token:\n{log}"));
    assert_eq!(status.code(), Some(78), "{log}");
    assert!(
        log.contains("rejected the bot token") && log.contains(&kai.tg.url()),
        "{log}"
    );
    assert!(
        !log.contains("WRONG-TOKEN-VALUE"),
        "the token was logged:\n{log}"
    );
    assert_eq!(kai.tg.calls_of("getMe").len(), 1, "no retry");
}

/// Proves: answers that quote a user's 4,000-character input still arrive
/// (`/model` with a huge argument, an unknown command with a huge name),
/// each within Telegram's limit; and a reply of 3,000 emoji (6,000 UTF-16
/// units, 3,006 characters) arrives whole, split by Telegram's measure.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn long_input_and_emoji_replies_are_never_refused_as_too_long() {
    let kai = Kai::start(Options::default()).await;
    let units = |t: &str| t.encode_utf16().count();

    kai.tg
        .send_text(ALICE, &format!("/model {}", "m".repeat(4000)));
    let answer = kai
        .wait_text(ALICE, 30, |t| t.contains("is not a model name"))
        .await;
    assert!(units(&answer) < 4096, "{}", answer.len());
    kai.tg.send_text(ALICE, &format!("/{}", "x".repeat(4000)));
    let answer = kai
        .wait_text(ALICE, 30, |t| t.starts_with("Unknown command"))
        .await;
    assert!(units(&answer) < 4096, "{}", answer.len());

    let emoji = "😀".repeat(3000);
    kai.tg.send_text(ALICE, &emoji);
    kai.wait_idle(ALICE).await;
    let shown: String = kai
        .tg
        .messages(ALICE)
        .iter()
        .filter(|m| m.text.contains('😀'))
        .map(|m| m.text.clone())
        .collect();
    assert_eq!(
        shown.matches('😀').count(),
        3000,
        "every emoji of the reply arrives\n{}",
        kai.log()
    );
    assert!(
        kai.tg
            .messages(ALICE)
            .iter()
            .all(|m| units(&m.text) <= 4096),
        "every message fits"
    );
    assert!(!kai.log().contains("could not deliver"), "{}", kai.log());
}

/// Proves: a text Telegram refuses as too long is sent again in parts,
/// never dropped (kai's own count can disagree with Telegram's).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_refused_as_too_long_is_resent_in_parts() {
    let tg = support::fake_telegram::FakeTelegram::start().await;
    let api =
        kai::telegram::api::Telegram::new(support::fake_telegram::FakeTelegram::TOKEN, &tg.url())
            .unwrap();
    let text = (0..500)
        .map(|i| format!("line {i:03} "))
        .collect::<String>();
    assert!(text.len() > 4096);
    api.deliver(
        kai::telegram::api::Place::chat(ALICE),
        &kai::telegram::api::Outgoing::plain(text.clone()),
    )
    .await
    .expect("delivered in parts");
    let parts: Vec<String> = tg.messages(ALICE).into_iter().map(|m| m.text).collect();
    assert!(parts.len() >= 2, "{parts:?}");
    assert_eq!(
        parts.join(" ").split_whitespace().collect::<Vec<_>>(),
        text.split_whitespace().collect::<Vec<_>>()
    );
}

/// Proves: while Telegram hangs every sendMessage (each request waits out
/// the 30 s HTTP timeout), a chat still reads its agent and handles
/// `/stop` at once: the "Queued" notice for a message sent mid-reply waits
/// in the chat's outbox instead of blocking the turn, and the stopped reply
/// is shown through an edit, which Telegram still accepts.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_send_does_not_block_the_turn_or_stop() {
    let kai = Kai::start(Options {
        timeout_secs: 15,
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "slow 20");
    kai.wait_text(ALICE, 90, |t| t.contains("slow part")).await;

    kai.tg.hang_next("sendMessage", 2);
    kai.tg.send_text(ALICE, "second");
    // Give the chat the "second" message (and its notice) before /stop.
    kai.tg
        .wait_call(Duration::from_secs(30), |c| {
            c.method == "sendMessage" && c.status == 0
        })
        .await
        .expect("the Queued notice was attempted");
    kai.tg.send_text(ALICE, "/stop");
    let stopped = kai.wait_any(ALICE, 15, |t| t.contains("⏹ Stopped")).await;
    assert!(!stopped.contains("done."), "{stopped}");
    assert!(
        !kai.log().contains("no sign of life"),
        "the agent was killed as silent while the chat was blocked:\n{}",
        kai.log()
    );
}
