//! `kai check-config` names every GitHub configuration problem with its
//! key: the listener, the two secrets, secrets put in the env file, and a
//! repository owned twice or listed with nobody listening.

use std::process::Command;

struct Case {
    dir: tempfile::TempDir,
}

const OWNER: &str = r#"{"users": [{"name": "alice", "telegram_id": 1001, "github": {"repos": ["acme/app"], "review": true}}]}"#;

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

    /// Runs check-config on the base env file plus `extra` lines, with
    /// `env` in a clean environment (the bot token always there).
    fn check(&self, extra: &[&str], env: &[(&str, &str)]) -> (bool, String) {
        let mut text = format!(
            "AGENT_BACKEND=\"codex\"\nCODEX_BIN=\"{}\"\nKAI_USERS_FILE=\"{}\"\nKAI_DATA_DIR=\"/tmp/kai-check\"\n",
            self.path("codex"),
            self.path("users.json")
        );
        for l in extra {
            text.push_str(l);
            text.push('\n');
        }
        let env_file = self.dir.path().join("env");
        std::fs::write(&env_file, text).unwrap();
        let out = Command::new(env!("CARGO_BIN_EXE_kai"))
            .arg("check-config")
            .arg("--env-file")
            .arg(&env_file)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("TELEGRAM_BOT_TOKEN", "123:abc")
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

#[test]
fn a_complete_github_configuration_passes() {
    let c = Case::new(OWNER);
    std::fs::write(c.path("secret"), "s3cret\n").unwrap();
    let secret_line = format!("GITHUB_WEBHOOK_SECRET_FILE=\"{}\"", c.path("secret"));
    let (ok, out) = c.check(
        &[
            "GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:8787\"",
            "GITHUB_API_URL=\"http://127.0.0.1:9\"",
            "GITHUB_JOB_TIMEOUT_SECONDS=\"60\"",
            &secret_line,
        ],
        &[("GITHUB_TOKEN", "ghp_x")],
    );
    assert!(ok, "{out}");
    // Through the systemd credentials directory, too.
    std::fs::create_dir(c.path("creds")).unwrap();
    std::fs::write(c.path("creds/github-webhook-secret"), "a").unwrap();
    std::fs::write(c.path("creds/github-token"), "b").unwrap();
    let creds = c.path("creds");
    let (ok, out) = c.check(
        &["GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:8787\""],
        &[("CREDENTIALS_DIRECTORY", &creds)],
    );
    assert!(ok, "{out}");
}

#[test]
fn missing_secrets_and_bad_values_are_named() {
    let c = Case::new(OWNER);
    let (ok, out) = c.check(
        &[
            "GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:8787\"",
            "GITHUB_API_URL=\"ftp://x\"",
            "GITHUB_JOB_TIMEOUT_SECONDS=\"0\"",
        ],
        &[],
    );
    assert!(!ok);
    for key in [
        "GITHUB_WEBHOOK_SECRET_FILE (default)",
        "GITHUB_TOKEN_FILE (default)",
        "GITHUB_API_URL (",
        "GITHUB_JOB_TIMEOUT_SECONDS (",
    ] {
        assert!(out.contains(key), "{key}: {out}");
    }
    let (ok, out) = c.check(&["GITHUB_WEBHOOK_LISTEN=\"localhost\""], &[]);
    assert!(!ok && out.contains("GITHUB_WEBHOOK_LISTEN ("), "{out}");
    let missing = c.path("nope");
    let (ok, out) = c.check(
        &["GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:1\""],
        &[
            ("GITHUB_WEBHOOK_SECRET_FILE", &missing),
            ("GITHUB_TOKEN", "x"),
        ],
    );
    assert!(
        !ok && out.contains("GITHUB_WEBHOOK_SECRET_FILE (environment): cannot read"),
        "{out}"
    );
}

#[test]
fn secrets_in_the_env_file_are_refused_by_name() {
    let c = Case::new(OWNER);
    let (ok, out) = c.check(
        &[
            "GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:8787\"",
            "GITHUB_TOKEN=\"ghp_in_the_store\"",
            "GITHUB_WEBHOOK_SECRET=\"in_the_store\"",
        ],
        &[],
    );
    assert!(!ok);
    let env = c.path("env");
    assert!(out.contains(&format!("GITHUB_TOKEN ({env} line")), "{out}");
    assert!(
        out.contains(&format!("GITHUB_WEBHOOK_SECRET ({env} line")),
        "{out}"
    );
    assert!(
        !out.contains("ghp_in_the_store"),
        "a secret was printed: {out}"
    );
}

#[test]
fn users_file_github_problems_are_named() {
    let c = Case::new(
        r#"{"users": [
          {"name": "alice", "telegram_id": 1001, "github": {"repos": ["acme/app"], "review": true}},
          {"name": "bob", "telegram_id": 1002, "github": {"repos": ["Acme/App", "nonsense"], "review": true}}
        ]}"#,
    );
    let (ok, out) = c.check(&[], &[]);
    assert!(!ok);
    assert!(
        out.contains("users[1].github.repos[0]") && out.contains("`alice`"),
        "{out}"
    );
    assert!(out.contains("users[1].github.repos[1]"), "{out}");

    // Repos listed, but nothing listens: they would never be reviewed.
    let c = Case::new(OWNER);
    let (ok, out) = c.check(&[], &[]);
    assert!(
        !ok && out.contains("GITHUB_WEBHOOK_LISTEN (default)"),
        "{out}"
    );
    // No github anywhere: nothing to say about it.
    let c = Case::new(r#"{"users": [{"name": "alice", "telegram_id": 1001}]}"#);
    let (ok, out) = c.check(&[], &[]);
    assert!(ok, "{out}");
}
