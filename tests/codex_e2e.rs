//! The runtime end to end: the built `kai` binary, the real codex CLI
//! (npm @openai/codex, pinned) answering through a loopback fake of the
//! Responses API, and a loopback fake of the Telegram Bot API. No `claude`
//! is on PATH; one case puts a tripwire `claude` there instead.

mod support;

use std::time::Duration;

use support::fake_responses::last_user_text;
use support::kai::{all_gone, Kai, Options, ALICE, STRANGER};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_messages_are_answered_and_a_slow_reply_streams() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "hello one");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: hello one"))
        .await;
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "slow 4");
    let text = kai.wait_text(ALICE, 60, |t| t.contains("done.")).await;
    assert!(!text.contains("⚠️"), "{text}");
    let msgs = kai.tg.messages(ALICE);
    let reply = msgs.last().unwrap();
    assert!(
        reply.edits >= 2,
        "a 4 s reply should be edited while it streams: {msgs:#?}"
    );
    assert!(kai
        .tg
        .calls_of("sendChatAction")
        .iter()
        .any(|c| c.params["action"] == "typing"));
    // Both turns went to the same persistent thread: the second request
    // carries the first exchange.
    let last = kai.api.requests().last().cloned().unwrap();
    assert!(support::fake_responses::all_input_text(&last).contains("hello one"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_stranger_never_reaches_the_model_and_gets_no_reply() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(STRANGER, "let me in");
    kai.tg.send_text(ALICE, "after the stranger");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: after the stranger"))
        .await;
    assert!(
        kai.tg.messages(STRANGER).is_empty(),
        "{:#?}",
        kai.tg.messages(STRANGER)
    );
    assert!(kai
        .api
        .requests()
        .iter()
        .all(|r| !support::fake_responses::all_input_text(r).contains("let me in")));
    assert_eq!(
        kai.log().matches("not in the users file").count(),
        1,
        "{}",
        kai.log()
    );
    kai.tg.send_text(STRANGER, "again");
    kai.tg.send_text(ALICE, "ping");
    kai.wait_text(ALICE, 60, |t| t.contains("echo: ping")).await;
    assert_eq!(
        kai.log().matches("not in the users file").count(),
        1,
        "logged once per id"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_model_is_refused_and_never_requested() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "/model opus");
    let text = kai.wait_text(ALICE, 30, |t| t.contains("opus")).await;
    assert!(
        text.contains("not a codex model")
            && text.contains("gpt-6.1-sol")
            && text.contains("gpt-5.5"),
        "{text}"
    );
    kai.tg.send_text(ALICE, "/model gpt-6-luna");
    kai.wait_text(ALICE, 30, |t| t.contains("Model set to gpt-6-luna"))
        .await;
    kai.tg.send_text(ALICE, "which model");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: which model"))
        .await;
    let models = kai.api.models_requested();
    assert!(!models.is_empty());
    assert!(models.iter().all(|m| m != "opus"), "{models:?}");
    assert_eq!(models.last().map(String::as_str), Some("gpt-6-luna"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_ends_a_slow_reply_and_the_next_message_works() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.len() > 10 && !t.contains("done."))
        .await;
    kai.tg.send_text(ALICE, "/stop");
    let text = kai.wait_any(ALICE, 20, |t| t.contains("Stopped")).await;
    assert!(
        !text.contains("done."),
        "the reply must not have run to its end: {text}"
    );
    kai.tg.send_text(ALICE, "after stop");
    kai.wait_text(ALICE, 60, |t| t.contains("echo: after stop"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_message_during_a_turn_is_queued_and_answered_after() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 3");
    kai.wait_text(ALICE, 90, |t| t.len() > 5).await;
    kai.tg.send_text(ALICE, "queued one");
    kai.wait_any(ALICE, 10, |t| t.contains("Queued")).await;
    kai.wait_text(ALICE, 60, |t| t.contains("echo: queued one"))
        .await;
    let texts: Vec<String> = kai.tg.messages(ALICE).into_iter().map(|m| m.text).collect();
    let slow = texts
        .iter()
        .position(|t| t.contains("done."))
        .expect("slow reply finished");
    let queued = texts
        .iter()
        .position(|t| t.contains("echo: queued one"))
        .unwrap();
    assert!(slow < queued, "{texts:#?}");
    let prompts: Vec<String> = kai
        .api
        .requests()
        .iter()
        .filter_map(last_user_text)
        .collect();
    assert!(prompts.iter().any(|p| p == "queued one"), "{prompts:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killing_codex_mid_turn_is_reported_and_the_next_message_is_answered() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.len() > 10).await;
    let pids = kai.codex_pids();
    assert!(!pids.is_empty(), "codex should be running under kai");
    for pid in &pids {
        unsafe { libc::kill(*pid, libc::SIGKILL) };
    }
    let text = kai
        .wait_any(ALICE, 30, |t| t.contains("stopped unexpectedly"))
        .await;
    assert!(text.contains("fresh agent"), "{text}");
    kai.tg.send_text(ALICE, "are you back");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: are you back"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_mid_turn_tells_the_user_and_leaves_no_codex_behind() {
    let mut kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 30");
    kai.wait_text(ALICE, 90, |t| t.len() > 10).await;
    let before: Vec<i32> = kai.descendants().into_iter().collect();
    assert!(!kai.codex_pids().is_empty());
    // `stop` gives up after 10 s: exiting at all is the assertion.
    kai.stop(libc::SIGTERM, Duration::from_secs(10))
        .expect("kai exits within 10 s of SIGTERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(all_gone(&before), "left behind: {before:?}\n{}", kai.log());
    kai.wait_any(ALICE, 5, |t| t.contains("restarting")).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claude_tripwire_on_path_is_never_run() {
    let kai = Kai::start(Options {
        claude_tripwire: true,
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "/status");
    let status = kai.wait_text(ALICE, 30, |t| t.contains("Backend:")).await;
    assert!(
        status.contains("Backend: codex") && status.contains("Codex version: 0.169.0"),
        "{status}"
    );
    assert!(
        !status.contains("drift"),
        "the installed codex is the recorded one: {status}"
    );
    kai.tg.send_text(ALICE, "/models");
    kai.wait_text(ALICE, 30, |t| t.contains("codex models"))
        .await;
    kai.tg.send_text(ALICE, "hi codex");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: hi codex"))
        .await;
    kai.wait_idle(ALICE).await;
    kai.tg.send_text(ALICE, "/new");
    kai.wait_text(ALICE, 30, |t| t.contains("New conversation"))
        .await;
    kai.tg.send_text(ALICE, "fresh start");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: fresh start"))
        .await;
    assert_eq!(
        kai.claude_ran(),
        None,
        "claude must never run on a codex install"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_agent_times_out_with_a_clear_error() {
    let kai = Kai::start(Options {
        timeout_secs: 3,
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "hang");
    let text = kai
        .wait_any(ALICE, 90, |t| t.contains("no sign of life"))
        .await;
    assert!(text.contains("3 s"), "{text}");
    kai.tg.send_text(ALICE, "after the hang");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: after the hang"))
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_formatting_falls_back_to_plain_text() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.reject_formatting(true);
    kai.tg.send_text(ALICE, "make it **bold** and `code`");
    kai.wait_text(ALICE, 90, |t| {
        t.contains("echo: make it **bold** and `code`")
    })
    .await;
    kai.wait_idle(ALICE).await;
    // The formatted final version was refused, and the same call was then
    // made again as plain text (the streamed text alone would not show it).
    let calls = kai.tg.calls();
    let refused = calls
        .iter()
        .position(|c| c.params.get("parse_mode").is_some() && c.status == 400)
        .expect("the final version is sent formatted first");
    let method = calls[refused].method.clone();
    let retried = calls[refused + 1..].iter().any(|c| {
        c.method == method
            && c.params.get("parse_mode").is_none()
            && c.params["text"]
                .as_str()
                .is_some_and(|t| t.contains("**bold**"))
    });
    assert!(
        retried,
        "no plain-text retry after the refusal: {:#?}",
        &calls[refused..]
    );
    let reply = kai
        .tg
        .messages(ALICE)
        .into_iter()
        .find(|m| m.text.contains("echo: make it"))
        .unwrap();
    assert_eq!(reply.parse_mode, None);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_long_reply_is_split_under_the_limit_at_paragraphs() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "long 9000");
    kai.wait_idle(ALICE).await;
    let msgs: Vec<String> = kai
        .tg
        .messages(ALICE)
        .into_iter()
        .map(|m| m.text)
        .filter(|t| !t.starts_with("Backend:"))
        .collect();
    assert!(
        msgs.len() >= 3,
        "9000 characters need three messages: {:?}",
        msgs.iter().map(|m| m.len()).collect::<Vec<_>>()
    );
    assert!(msgs.iter().all(|m| m.encode_utf16().count() <= 4096));
    let total: usize = msgs.iter().map(|m| m.chars().count()).sum();
    assert!(total >= 8900, "nothing lost: {total}");
    assert!(
        kai.tg
            .calls()
            .iter()
            .all(|c| c.status != 400 || c.params.get("parse_mode").is_some()),
        "no message was refused as too long"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failing_typing_indicators_never_break_a_turn() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.fail_next("sendChatAction", 1000, 403);
    kai.tg.send_text(ALICE, "slow 2");
    kai.wait_text(ALICE, 60, |t| t.contains("done.")).await;
    assert!(kai
        .tg
        .calls_of("sendChatAction")
        .iter()
        .any(|c| c.status == 403));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failed_turn_shows_the_error_and_the_chat_goes_on() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "fail please");
    let text = kai
        .wait_text(ALICE, 90, |t| t.contains("reported an error"))
        .await;
    assert!(text.contains("fake failure"), "{text}");
    kai.wait_idle(ALICE).await;
    kai.tg.send_text(ALICE, "better now");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: better now"))
        .await;
}

/// The codex matrix's newest version (installed by scripts/setup.sh).
fn newest_codex() -> std::path::PathBuf {
    let bin = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join(".tools/codex-0.171.0/node_modules/.bin/codex");
    assert!(
        bin.exists(),
        "{} is missing: run bash scripts/setup.sh",
        bin.display()
    );
    bin
}

/// Proves: `/models` and `/model` follow what the installed codex offers
/// (`model/list`), not the catalog: codex 0.171.0 offers gpt-6.2-sol, which
/// catalog.json lacks. It is listed (asked of a short-lived app-server
/// before any agent runs, and of the running agent after), chosen, and sent
/// to the model API.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_are_the_ones_the_installed_codex_offers() {
    let kai = Kai::start(Options {
        codex_bin: Some(newest_codex()),
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "/models");
    let listed = kai
        .wait_text(ALICE, 60, |t| t.starts_with("codex models"))
        .await;
    assert!(
        listed.contains("offered by the installed codex") && listed.contains("• gpt-6.2-sol"),
        "{listed}"
    );
    kai.tg.send_text(ALICE, "/model gpt-6.2-sol");
    kai.wait_text(ALICE, 60, |t| t.contains("Model set to gpt-6.2-sol"))
        .await;
    kai.tg.send_text(ALICE, "on the new model");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: on the new model"))
        .await;
    assert_eq!(
        kai.api.models_requested().last().map(String::as_str),
        Some("gpt-6.2-sol")
    );
    // Now asked of the running agent.
    kai.wait_idle(ALICE).await;
    kai.tg.send_text(ALICE, "/models");
    let listed = kai
        .wait_any(ALICE, 60, |t| t.contains("• gpt-6.2-sol ← current"))
        .await;
    assert!(
        listed.contains("offered by the installed codex"),
        "{listed}"
    );
}

/// Proves: when the installed codex cannot be asked (here it exits at
/// once), `/models` answers from the catalog and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn models_fall_back_to_the_catalog() {
    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("codex");
    std::fs::write(
        &broken,
        "#!/bin/sh\necho 'this codex is broken' >&2\nexit 3\n",
    )
    .unwrap();
    std::fs::set_permissions(&broken, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let kai = Kai::start(Options {
        codex_bin: Some(broken),
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "/models");
    let listed = kai
        .wait_text(ALICE, 60, |t| t.starts_with("codex models"))
        .await;
    assert!(
        listed.contains("from kai's catalog, since the installed codex could not be asked")
            && listed.contains("• gpt-6.1-sol"),
        "{listed}"
    );
}
