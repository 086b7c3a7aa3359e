//! `kai check-config` names every GitHub configuration problem with its
//! key: the listener, the two secrets, secrets put in the env file, and a
//! repository owned twice or listed with nobody listening.

mod support;

use support::check_case::Case;

const OWNER: &str = r#"{"users": [{"name": "alice", "telegram_id": 1001, "github": {"repos": ["acme/app"], "review": true}}]}"#;

/// check-config on a codex install plus `extra` lines, with `env` and the
/// bot token in a clean environment.
fn check(c: &Case, extra: &[&str], env: &[(&str, &str)]) -> (bool, String) {
    let mut lines = vec![
        "AGENT_BACKEND=\"codex\"",
        "CODEX_BIN=\"@CODEX@\"",
        "KAI_USERS_FILE=\"@USERS@\"",
        "KAI_DATA_DIR=\"/tmp/kai-check\"",
    ];
    lines.extend_from_slice(extra);
    let mut env = env.to_vec();
    env.push(("TELEGRAM_BOT_TOKEN", "123:abc"));
    c.check(&lines, &env)
}

#[test]
fn a_complete_github_configuration_passes() {
    let c = Case::new(OWNER);
    std::fs::write(c.path("secret"), "s3cret\n").unwrap();
    let secret_line = format!("GITHUB_WEBHOOK_SECRET_FILE=\"{}\"", c.path("secret"));
    let (ok, out) = check(
        &c,
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
    let (ok, out) = check(
        &c,
        &["GITHUB_WEBHOOK_LISTEN=\"127.0.0.1:8787\""],
        &[("CREDENTIALS_DIRECTORY", &creds)],
    );
    assert!(ok, "{out}");
}

#[test]
fn missing_secrets_and_bad_values_are_named() {
    let c = Case::new(OWNER);
    let (ok, out) = check(
        &c,
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
    let (ok, out) = check(&c, &["GITHUB_WEBHOOK_LISTEN=\"localhost\""], &[]);
    assert!(!ok && out.contains("GITHUB_WEBHOOK_LISTEN ("), "{out}");
    let missing = c.path("nope");
    let (ok, out) = check(
        &c,
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
    let (ok, out) = check(
        &c,
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
    let (ok, out) = check(&c, &[], &[]);
    assert!(!ok);
    assert!(
        out.contains("users[1].github.repos[0]") && out.contains("`alice`"),
        "{out}"
    );
    assert!(out.contains("users[1].github.repos[1]"), "{out}");

    // Repos listed, but nothing listens: they would never be reviewed.
    let c = Case::new(OWNER);
    let (ok, out) = check(&c, &[], &[]);
    assert!(
        !ok && out.contains("GITHUB_WEBHOOK_LISTEN (default)"),
        "{out}"
    );
    // No github anywhere: nothing to say about it.
    let c = Case::new(r#"{"users": [{"name": "alice", "telegram_id": 1001}]}"#);
    let (ok, out) = check(&c, &[], &[]);
    assert!(ok, "{out}");
}
