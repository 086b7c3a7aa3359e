//! Login status instead of stale hints: a codex home without credentials
//! makes the bot answer with the exact command for that OS account (asked
//! of the real codex through `account/read`), and `kai login-hints` lists
//! each OS account with codex users exactly once.

mod support;

use std::process::Command;

use support::kai::{Kai, Options, ALICE};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_logged_out_account_gets_the_login_command_not_a_failed_turn() {
    let kai = Kai::start(Options::default()).await;
    // The agent starts lazily on the first message, so removing the
    // credentials now is what that agent will see.
    std::fs::remove_file(kai.path("codex-home/auth.json")).expect("the harness logs codex in");
    kai.tg.send_text(ALICE, "hello?");
    let html = kai
        .wait_text(ALICE, 90, |t| t.contains("not logged in"))
        .await;
    let text = html.replace("<code>", "`").replace("</code>", "`");
    let me = kai::osuser::current().unwrap().name;
    assert!(
        text.contains(&format!("`{me}` is not logged in to Codex")),
        "{text}"
    );
    assert!(text.contains("codex login"), "{text}");
    assert!(
        kai.api.requests().is_empty(),
        "no turn may reach the model API"
    );

    // Logging in fixes it without a restart of kai.
    support::codex_home::write_codex_home(&kai.path("codex-home"), &kai.api.base_url(), true)
        .unwrap();
    kai.tg.send_text(ALICE, "now?");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: now?")).await;
}

#[test]
fn login_hints_name_each_os_account_once() {
    let dir = tempfile::tempdir().unwrap();
    let users = r#"{"users": [
        {"name": "alice", "telegram_id": 1, "os_user": "nobody"},
        {"name": "bob", "telegram_id": 2, "os_user": "nobody"},
        {"name": "carol", "telegram_id": 3, "os_user": "daemon"},
        {"name": "dave", "telegram_id": 4, "os_user": "daemon"},
        {"name": "erin", "telegram_id": 5, "os_user": "bin", "backend": "claude"}
    ]}"#;
    std::fs::write(dir.path().join("users.json"), users).unwrap();
    let codex = support::codex_home::codex_bin();
    std::fs::write(
        dir.path().join("env"),
        format!(
            "AGENT_BACKEND=\"codex\"\nCODEX_BIN=\"{}\"\nCLAUDE_BIN=\"/bin/true\"\nKAI_USERS_FILE=\"{}\"\n",
            codex.display(),
            dir.path().join("users.json").display()
        ),
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kai"))
        .args(["login-hints", "--env-file"])
        .arg(dir.path().join("env"))
        .env_clear()
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(
        lines.len(),
        2,
        "one line per OS account with codex users, none for claude-only `bin`:\n{text}"
    );
    let daemon = lines
        .iter()
        .find(|l| l.starts_with("daemon:"))
        .expect("daemon listed");
    assert!(
        daemon.contains(&format!("sudo -u daemon -H {} login", codex.display())),
        "{daemon}"
    );
    assert!(lines.iter().any(|l| l.starts_with("nobody:")), "{text}");
    assert!(!text.contains("bin:"), "{text}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_codex_version_other_than_the_recorded_one_is_flagged_in_status() {
    let kai = Kai::start(Options {
        extra_env: vec![("CODEX_VERSION".into(), "0.150.0".into())],
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "/status");
    let status = kai
        .wait_text(ALICE, 30, |t| t.starts_with("Backend:"))
        .await;
    assert!(
        status.contains("codex version drift: CODEX_VERSION is 0.150.0"),
        "{status}"
    );
    assert!(status.contains("codex-cli 0.169.0"), "{status}");
    assert!(kai.log().contains("codex version drift"), "{}", kai.log());
}
