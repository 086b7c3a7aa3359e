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

/// Runs `kai login-hints` on `users` with `env` added to a clean
/// environment; returns success and stdout.
fn login_hints(users: &str, env: &[(&str, String)]) -> (bool, String) {
    let dir = tempfile::tempdir().unwrap();
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
        .envs(env.iter().map(|(k, v)| (k, v)))
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout).to_string();
    assert!(
        out.stderr.is_empty(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// One line per OS account and agent in use, claude accounts included;
/// exit 1 when some account must log in.
#[test]
fn login_hints_name_each_os_account_once() {
    let users = r#"{"users": [
        {"name": "alice", "telegram_id": 1, "os_user": "nobody"},
        {"name": "bob", "telegram_id": 2, "os_user": "nobody"},
        {"name": "carol", "telegram_id": 3, "os_user": "daemon"},
        {"name": "dave", "telegram_id": 4, "os_user": "daemon"},
        {"name": "erin", "telegram_id": 5, "os_user": "bin", "backend": "claude"}
    ]}"#;
    let (ok, text) = login_hints(users, &[]);
    assert!(
        !ok,
        "nobody is logged in, so the exit status says so:\n{text}"
    );
    let codex = support::codex_home::codex_bin();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 3, "one line per account and backend:\n{text}");
    let daemon = lines
        .iter()
        .find(|l| l.starts_with("daemon (codex): NOT logged in"))
        .expect("daemon listed");
    assert!(
        daemon.contains(&format!("sudo -u daemon -H {} login", codex.display())),
        "{daemon}"
    );
    assert!(
        lines.iter().any(|l| l.starts_with("nobody (codex):")),
        "{text}"
    );
    let bin = lines
        .iter()
        .find(|l| l.starts_with("bin (claude): NOT logged in"))
        .expect("the claude account is covered too");
    assert!(
        bin.contains("sudo -u bin -H /bin/true and type /login"),
        "{bin}"
    );
}

/// The daemon's own account is checked where its agents really look: its
/// `CODEX_HOME` (not `~/.codex`) and its `ANTHROPIC_API_KEY`.
#[test]
fn login_hints_look_where_the_agent_looks() {
    let me = kai::osuser::current().unwrap();
    let users = r#"{"users": [
        {"name": "alice", "telegram_id": 1},
        {"name": "erin", "telegram_id": 5, "backend": "claude"}
    ]}"#;
    let home = tempfile::tempdir().unwrap();
    let codex_home = home.path().join("elsewhere");
    std::fs::create_dir_all(&codex_home).unwrap();
    let env = vec![
        ("HOME", home.path().display().to_string()),
        ("CODEX_HOME", codex_home.display().to_string()),
        ("ANTHROPIC_API_KEY", "sk-x".to_string()),
    ];
    std::fs::write(codex_home.join("auth.json"), "{}").unwrap();
    let (ok, text) = login_hints(users, &env);
    assert!(ok, "{text}");
    assert!(
        text.contains(&format!(
            "{} (codex): logged in ({} exists)",
            me.name,
            codex_home.join("auth.json").display()
        )),
        "{text}"
    );
    assert!(
        text.contains("(claude): logged in (ANTHROPIC_API_KEY in the environment)"),
        "{text}"
    );

    std::fs::remove_file(codex_home.join("auth.json")).unwrap();
    let (ok, text) = login_hints(users, &env);
    assert!(!ok, "{text}");
    assert!(text.contains("(codex): NOT logged in"), "{text}");
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
    // The installed version itself is one the tests run (catalog.json).
    assert!(
        status.contains("Codex version: 0.169.0 (tested)"),
        "{status}"
    );
    assert!(kai.log().contains("codex version drift"), "{}", kai.log());
}
