//! `kai check-config` names the key (and file) of every problem and exits
//! non-zero, for each mistake the old installer let through.

use std::process::Command;

struct Case {
    dir: tempfile::TempDir,
}

impl Case {
    fn new(users: &str) -> Case {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("users.json"), users).unwrap();
        let bin = dir.path().join("codex");
        std::fs::write(&bin, "#!/bin/sh\necho codex-cli 0.169.0\n").unwrap();
        std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .unwrap();
        Case { dir }
    }

    fn path(&self, name: &str) -> String {
        self.dir.path().join(name).display().to_string()
    }

    /// Writes an env file from `lines` (with `@USERS@`/`@CODEX@` filled in)
    /// and runs check-config with `env` added to a clean environment.
    fn check(&self, lines: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let text: String = lines
            .iter()
            .map(|l| {
                l.replace("@USERS@", &self.path("users.json"))
                    .replace("@CODEX@", &self.path("codex"))
                    + "\n"
            })
            .collect();
        let env_file = self.dir.path().join("env");
        std::fs::write(&env_file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kai"))
            .arg("check-config")
            .arg("--env-file")
            .arg(&env_file)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .envs(env.iter().copied())
            .output()
            .unwrap();
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.success(), text)
    }
}

const ONE_USER: &str = r#"{"users": [{"name": "alice", "telegram_id": 1001}]}"#;
const TOKEN: (&str, &str) = ("TELEGRAM_BOT_TOKEN", "123:abc");

fn base() -> Vec<&'static str> {
    vec![
        "AGENT_BACKEND=\"codex\"",
        "CODEX_BIN=\"@CODEX@\"",
        "KAI_USERS_FILE=\"@USERS@\"",
        "KAI_DATA_DIR=\"/tmp/kai-check\"",
    ]
}

#[test]
fn a_valid_codex_configuration_passes() {
    let c = Case::new(ONE_USER);
    let (ok, out) = c.check(&base(), &[TOKEN]);
    assert!(ok, "{out}");
    assert!(
        out.contains("backend codex, model gpt-6.1-sol, 1 user"),
        "{out}"
    );
}

#[test]
fn missing_token_is_named() {
    let c = Case::new(ONE_USER);
    let (ok, out) = c.check(&base(), &[]);
    assert!(!ok);
    assert!(out.contains("TELEGRAM_BOT_TOKEN_FILE"), "{out}");
    let (ok, out) = c.check(
        &base(),
        &[("TELEGRAM_BOT_TOKEN_FILE", "/nonexistent/token")],
    );
    assert!(!ok);
    assert!(
        out.contains(
            "TELEGRAM_BOT_TOKEN_FILE (environment): cannot read the token file /nonexistent/token"
        ),
        "{out}"
    );
}

#[test]
fn token_from_the_systemd_credential_and_build_time_check() {
    let c = Case::new(ONE_USER);
    let creds = c.dir.path().join("creds");
    std::fs::create_dir(&creds).unwrap();
    std::fs::write(creds.join("telegram-bot-token"), "42:secret\n").unwrap();
    let (ok, out) = c.check(
        &base(),
        &[("CREDENTIALS_DIRECTORY", creds.to_str().unwrap())],
    );
    assert!(ok, "{out}");
    let out = Command::new(env!("CARGO_BIN_EXE_kai"))
        .args(["check-config", "--build-time", "--env-file"])
        .arg(c.dir.path().join("env"))
        .env_clear()
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn unknown_backend_is_named_with_the_file_and_line() {
    let c = Case::new(ONE_USER);
    let mut lines = base();
    lines[0] = "AGENT_BACKEND=\"gpt\"";
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok);
    assert!(out.contains("AGENT_BACKEND ("), "{out}");
    assert!(
        out.contains("env line 1): unknown backend `gpt`; valid backends: claude, codex"),
        "{out}"
    );
}

#[test]
fn claude_model_on_codex_lists_the_codex_models() {
    let c = Case::new(ONE_USER);
    let mut lines = base();
    lines.push("DEFAULT_MODEL=\"opus\"");
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok);
    assert!(out.contains("DEFAULT_MODEL"), "{out}");
    assert!(out.contains("it is a claude model"), "{out}");
    assert!(
        out.contains("gpt-6.1-sol") && out.contains("gpt-5.5"),
        "{out}"
    );
}

#[test]
fn relative_or_missing_codex_bin_is_named() {
    let c = Case::new(ONE_USER);
    let mut lines = base();
    lines[1] = "CODEX_BIN=\"codex\"";
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok);
    assert!(
        out.contains("CODEX_BIN") && out.contains("must be an absolute path"),
        "{out}"
    );
    lines[1] = "CODEX_BIN=\"/nonexistent/bin/codex\"";
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok);
    assert!(
        out.contains("CODEX_BIN") && out.contains("/nonexistent/bin/codex"),
        "{out}"
    );
    lines.remove(1);
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok);
    assert!(out.contains("CODEX_BIN (default): required"), "{out}");
}

#[test]
fn duplicate_telegram_ids_are_named_with_the_users_file() {
    let c = Case::new(
        r#"{"users": [{"name": "a", "telegram_id": 5}, {"name": "b", "telegram_id": 5}]}"#,
    );
    let (ok, out) = c.check(&base(), &[TOKEN]);
    assert!(!ok);
    assert!(
        out.contains(&format!("users[1].telegram_id ({})", c.path("users.json"))),
        "{out}"
    );
    assert!(out.contains("duplicate Telegram id 5"), "{out}");
}

#[test]
fn every_problem_is_reported_at_once_and_the_environment_wins() {
    let c = Case::new(ONE_USER);
    let mut lines = base();
    lines.push("AGENT_TIMEOUT_SECONDS=\"soon\"");
    lines.push("TYPO_KEY=\"1\"");
    let (ok, out) = c.check(&lines, &[("KAI_DATA_DIR", "relative/dir")]);
    assert!(!ok);
    for key in [
        "AGENT_TIMEOUT_SECONDS",
        "TYPO_KEY",
        "KAI_DATA_DIR (environment)",
        "TELEGRAM_BOT_TOKEN_FILE",
    ] {
        assert!(out.contains(key), "{key} missing in:\n{out}");
    }
    assert!(out.contains("4 configuration problems"), "{out}");
}

#[test]
fn the_token_itself_is_refused_in_the_env_file() {
    let c = Case::new(ONE_USER);
    let mut lines = base();
    lines.push("TELEGRAM_BOT_TOKEN=\"1:x\"");
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok);
    assert!(
        out.contains("the token must not be in the env file"),
        "{out}"
    );
}

#[test]
fn help_explains_every_key() {
    let out = Command::new(env!("CARGO_BIN_EXE_kai"))
        .args(["run", "--help"])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    for key in [
        "AGENT_BACKEND",
        "CODEX_BIN",
        "KAI_DATA_DIR",
        "telegram-bot-token",
        "--env-file",
    ] {
        assert!(text.contains(key), "{key} not in help:\n{text}");
    }
}
