//! An agent that misbehaves on the protocol: a line over kai's 16 MiB cap,
//! garbage between messages, a crash in the middle of a reply. Driven by
//! the fake app-server (examples/fake_app_server.rs) as `CODEX_BIN`, so each
//! fault happens exactly when the test asks for it. What must hold in every
//! case: the chat never hangs, the user learns what happened, no process
//! the agent started outlives it, and the next message is answered.

mod support;

#[path = "../examples/fake_app_server.rs"]
#[allow(dead_code)]
mod fake_app_server;

use std::path::PathBuf;
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use serde_json::Value;
use support::kai::{all_gone, Kai, Options, ALICE};

/// The fake app-server binary, built on first use. `cargo test` builds
/// examples, but `cargo test --test agent_faults` does not, so build it
/// here with the cargo that built this test, into the same target directory
/// and profile (a no-op when it is up to date). The variables cargo sets for
/// running this test are removed first: some build scripts (ring's) rerun
/// when `CARGO_PKG_NAME` changes, and would rebuild half the tree twice.
fn fake_agent() -> PathBuf {
    static BIN: OnceLock<PathBuf> = OnceLock::new();
    BIN.get_or_init(|| {
        let exe = std::env::current_exe().unwrap();
        // <target>/<profile>/deps/agent_faults-<hash>
        let profile_dir = exe.parent().unwrap().parent().unwrap().to_path_buf();
        let target_dir = profile_dir.parent().unwrap();
        let mut cargo = Command::new(env!("CARGO"));
        cargo
            .args([
                "build",
                "--quiet",
                "--example",
                "fake_app_server",
                "--target-dir",
            ])
            .arg(target_dir)
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        for (key, _) in std::env::vars_os() {
            let k = key.to_string_lossy();
            let set_for_tests = [
                "CARGO_PKG_",
                "CARGO_MANIFEST_",
                "CARGO_BIN_EXE_",
                "CARGO_CRATE_",
            ]
            .iter()
            .any(|p| k.starts_with(p))
                || k == "CARGO_PRIMARY_PACKAGE";
            if set_for_tests {
                cargo.env_remove(&key);
            }
        }
        if profile_dir.ends_with("release") {
            cargo.arg("--release");
        }
        let status = cargo.status().unwrap();
        assert!(status.success(), "building the fake app-server failed");
        let bin = profile_dir.join("examples/fake_app_server");
        assert!(bin.exists(), "{} was not built", bin.display());
        bin
    })
    .clone()
}

async fn start(timeout_secs: u64) -> Kai {
    Kai::start(Options {
        codex_bin: Some(fake_agent()),
        timeout_secs,
        ..Options::default()
    })
    .await
}

/// What the fake agents of this daemon recorded (see fake_app_server.rs).
fn records(kai: &Kai) -> Vec<Value> {
    let path = kai.path("codex-home").join(fake_app_server::RECORD_FILE);
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

fn events<'a>(records: &'a [Value], event: &str) -> Vec<&'a Value> {
    records.iter().filter(|r| r["event"] == event).collect()
}

/// Stops the daemon and checks that it left no process behind.
async fn stop_leaving_nothing(mut kai: Kai) {
    let before: Vec<i32> = kai.descendants().into_iter().collect();
    assert!(!before.is_empty(), "an agent should be running");
    kai.stop(libc::SIGTERM, Duration::from_secs(10))
        .expect("kai exits within 10 s of SIGTERM");
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(all_gone(&before), "left behind: {before:?}\n{}", kai.log());
}

/// A 17 MiB line (over the 16 MiB cap) in the middle of a reply is dropped
/// whole: it never reaches Telegram, the reply around it still completes,
/// the same agent process keeps serving the chat, and nothing outlives kai.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_over_the_cap_is_dropped_and_the_chat_goes_on() {
    let kai = start(30).await;
    kai.tg.send_text(ALICE, "huge 17");
    let text = kai
        .wait_text(ALICE, 60, |t| t.contains("After the big line."))
        .await;
    assert!(
        text.contains("echo: huge 17: before the big line."),
        "{text}"
    );
    assert!(
        kai.tg
            .calls()
            .iter()
            .all(|c| !c.params["text"].as_str().unwrap_or("").contains("xxxx")),
        "the oversized delta must not reach Telegram"
    );
    assert!(
        kai.log().contains("over the line limit")
            && kai.log().contains(&(17 * 1024 * 1024).to_string()),
        "the skipped line is logged with its size:\n{}",
        kai.log()
    );
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "still there?");
    kai.wait_text(ALICE, 30, |t| t == "echo: still there?")
        .await;
    let recs = records(&kai);
    assert_eq!(
        events(&recs, "start").len(),
        1,
        "one agent served both turns: {recs:#?}"
    );
    stop_leaving_nothing(kai).await;
}

/// The user is told when part of a reply was dropped for being over the
/// cap, instead of receiving a silently truncated answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_over_the_cap_is_reported_to_the_user() {
    let kai = start(30).await;
    kai.tg.send_text(ALICE, "huge 17");
    let text = kai
        .wait_text(ALICE, 60, |t| t.contains("After the big line."))
        .await;
    kai.wait_idle(ALICE).await;
    let shown: Vec<String> = kai.tg.messages(ALICE).into_iter().map(|m| m.text).collect();
    assert!(
        shown
            .iter()
            .any(|t| t.contains("⚠️") && t.contains("16 MiB")),
        "nothing tells the user part of the reply is missing; reply: {text}\nall: {shown:#?}"
    );
}

/// Non-JSON lines, binary junk, JSON that is not JSON-RPC and an answer to
/// no request are skipped: the reply arrives exactly as sent, and the same
/// agent answers the next message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn garbage_between_messages_is_skipped_and_the_reply_is_intact() {
    let kai = start(30).await;
    kai.tg.send_text(ALICE, "garbage now");
    kai.wait_text(ALICE, 60, |t| t == "echo: garbage now").await;
    kai.wait_idle(ALICE).await;
    let log = kai.log();
    assert!(
        log.matches("skipped a malformed agent line").count() >= 5,
        "each junk line is logged and skipped:\n{log}"
    );
    assert!(
        log.contains("answer to no pending request"),
        "the stray answer is noticed:\n{log}"
    );
    for m in kai.tg.messages(ALICE) {
        assert!(
            !m.text.contains("binary") && !m.text.contains("####"),
            "junk reached the user: {m:?}"
        );
    }
    kai.tg.send_text(ALICE, "and again");
    kai.wait_text(ALICE, 30, |t| t == "echo: and again").await;
    let recs = records(&kai);
    assert_eq!(events(&recs, "start").len(), 1, "{recs:#?}");
    stop_leaving_nothing(kai).await;
}

/// An agent that dies mid-reply: the user sees the partial text and a clear
/// notice (well before the silence timeout), the helper process the agent
/// left running is killed with it, and the next message starts a fresh
/// agent that resumes the same conversation.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_agent_exiting_mid_reply_is_reported_and_leaves_nothing_behind() {
    // A silence timeout far above the waits below: the notice must come
    // from noticing the exit, not from the timeout.
    let kai = start(120).await;
    kai.tg.send_text(ALICE, "warm up");
    kai.wait_text(ALICE, 30, |t| t == "echo: warm up").await;
    kai.wait_idle(ALICE).await;

    kai.tg.send_text(ALICE, "exit");
    let text = kai
        .wait_any(ALICE, 20, |t| t.contains("stopped unexpectedly"))
        .await;
    assert!(
        text.contains("the agent is about to crash") && text.contains("fresh agent"),
        "{text}"
    );
    let recs = records(&kai);
    let helper = events(&recs, "helper")[0]["helper_pid"].as_i64().unwrap() as i32;
    assert!(helper > 0, "{recs:#?}");
    let gone = support::poll_until(Duration::from_secs(5), || {
        (all_gone(&[helper]) && kai.descendants().is_empty()).then_some(())
    });
    assert!(
        gone.await.is_some(),
        "the crashed agent's helper {helper} or other processes outlived it: {:?}\n{}",
        kai.descendants(),
        kai.log()
    );

    kai.tg.send_text(ALICE, "are you back");
    kai.wait_text(ALICE, 30, |t| t == "echo: are you back")
        .await;
    let recs = records(&kai);
    let threads = events(&recs, "thread");
    assert_eq!(events(&recs, "start").len(), 2, "{recs:#?}");
    assert_eq!(threads.len(), 2, "{recs:#?}");
    assert_eq!(threads[1]["resumed"], true, "{recs:#?}");
    assert_eq!(threads[1]["thread"], threads[0]["thread"], "{recs:#?}");
    stop_leaving_nothing(kai).await;
}
