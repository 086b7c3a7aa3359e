//! `kai run` exits with EX_CONFIG (78) when its configuration is invalid,
//! and the systemd unit lists 78 in `RestartPreventExitStatus=`: a broken
//! configuration fails the unit once instead of restarting it every few
//! seconds forever. tests/systemd/ checks the unit side under real systemd.

use std::process::{Command, Output};
use std::time::Duration;

/// EX_CONFIG from sysexits.h; the same number as in nixos-module/lib.nix.
const EX_CONFIG: i32 = 78;

/// Runs `kai run` on an env file made of `lines` in a clean environment.
/// A valid configuration would make the daemon poll Telegram forever, so the
/// run is bounded and a still-running daemon is a test failure.
fn run(lines: &[&str], env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let users = dir.path().join("users.json");
    std::fs::write(
        &users,
        r#"{"users": [{"name": "alice", "telegram_id": 1001}]}"#,
    )
    .unwrap();
    let text: String = lines
        .iter()
        .map(|l| l.replace("@USERS@", &users.display().to_string()) + "\n")
        .collect();
    let env_file = dir.path().join("env");
    std::fs::write(&env_file, text).unwrap();
    let mut child = Command::new(env!("CARGO_BIN_EXE_kai"))
        .arg("run")
        .arg("--env-file")
        .arg(&env_file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("KAI_DATA_DIR", dir.path().join("data"))
        .envs(env.iter().copied())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if std::time::Instant::now() > deadline {
            let _ = child.kill();
            let out = child.wait_with_output().unwrap();
            panic!(
                "kai run did not exit within 30 s on an invalid configuration; stderr:\n{}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    child.wait_with_output().unwrap()
}

fn assert_config_exit(out: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        out.status.code(),
        Some(EX_CONFIG),
        "kai run on an invalid configuration must exit {EX_CONFIG} (EX_CONFIG); stderr:\n{stderr}"
    );
    assert!(
        stderr.contains("refusing to start") && stderr.contains(needle),
        "the message names the problem ({needle}):\n{stderr}"
    );
}

#[test]
fn an_unknown_backend_exits_with_ex_config() {
    let out = run(
        &["AGENT_BACKEND=\"gemini\"", "KAI_USERS_FILE=\"@USERS@\""],
        &[("TELEGRAM_BOT_TOKEN", "123:abc")],
    );
    assert_config_exit(&out, "AGENT_BACKEND");
}

#[test]
fn a_missing_token_exits_with_ex_config() {
    let out = run(
        &[
            "AGENT_BACKEND=\"codex\"",
            "CODEX_BIN=\"/bin/true\"",
            "KAI_USERS_FILE=\"@USERS@\"",
        ],
        &[],
    );
    assert_config_exit(&out, "TELEGRAM_BOT_TOKEN");
}

/// The unit lib.nix renders (golden copy) lists the same status, so the two
/// sides cannot drift apart.
#[test]
fn the_unit_does_not_restart_on_ex_config() {
    let unit = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/nix/cases/systemd/kai.service");
    let text = std::fs::read_to_string(&unit).expect("the golden unit file");
    assert!(
        text.lines()
            .any(|l| l == format!("RestartPreventExitStatus={EX_CONFIG}")),
        "{} must list RestartPreventExitStatus={EX_CONFIG}:\n{text}",
        unit.display()
    );
}
