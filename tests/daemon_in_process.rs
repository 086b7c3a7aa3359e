//! The daemon driven in-process: `daemon::run` takes its shutdown token
//! from the caller (`main` cancels it on SIGTERM/SIGINT), so a test can
//! serve against the fake Bot API and stop the daemon by cancelling, with
//! no child process and no signal.

mod support;

use std::collections::BTreeMap;
use std::time::Duration;

use kai::config::{self, LoadOptions};
use kai::daemon;
use support::codex_home;
use support::fake_telegram::FakeTelegram;
use tokio_util::sync::CancellationToken;

#[tokio::test]
async fn cancelling_the_token_stops_a_serving_daemon() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(
        &users,
        r#"{"users": [{"name": "alice", "telegram_id": 1001}]}"#,
    )
    .unwrap();
    let environment: BTreeMap<String, String> = [
        ("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN.to_string()),
        ("TELEGRAM_API_URL", tg.url()),
        ("KAI_USERS_FILE", users.display().to_string()),
        (
            "KAI_DATA_DIR",
            dir.path().join("data").display().to_string(),
        ),
        ("AGENT_BACKEND", "codex".to_string()),
        ("CODEX_BIN", codex_home::codex_bin().display().to_string()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect();
    let cfg = config::load(&LoadOptions {
        env_file: None,
        host_checks: true,
        environment,
    })
    .expect("a valid configuration");

    let shutdown = CancellationToken::new();
    let served = tokio::spawn(daemon::run(cfg, shutdown.clone()));
    // Serving means polling: the daemon got past getMe and the start-up checks.
    tg.wait_call(Duration::from_secs(30), |c| c.method == "getUpdates")
        .await
        .expect("the daemon polls for updates");
    assert!(!served.is_finished(), "the daemon stopped on its own");

    shutdown.cancel();
    let result = tokio::time::timeout(Duration::from_secs(20), served)
        .await
        .expect("the daemon stops once its token is cancelled")
        .expect("the daemon task did not panic");
    assert!(result.is_ok(), "{result:?}");
}
