//! `kai check-config` names the key (and file) of every problem and exits
//! non-zero, for each mistake the old installer let through.

mod support;

use std::process::Command;

use support::check_case::Case;

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

/// A URL holds no whitespace; lib.nix refuses one too.
#[test]
fn a_url_with_whitespace_is_refused() {
    let c = Case::new(ONE_USER);
    let mut lines = base();
    lines.push("TELEGRAM_API_URL=\"https://api.telegram.org x\"");
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("TELEGRAM_API_URL") && out.contains("is not an http(s) URL"),
        "{out}"
    );
}

/// `INBOX_RETENTION_DAYS`: 0 (never) to 3650 days; anything else is named
/// with the rule (`validate.nix` refuses the same, tests/nix/errors).
#[test]
fn inbox_retention_is_0_to_3650_days() {
    let c = Case::new(ONE_USER);
    for (value, valid) in [
        ("0", true),
        ("3650", true),
        ("3651", false),
        ("-1", false),
        ("7d", false),
    ] {
        let mut lines: Vec<&str> = base();
        let line = format!("INBOX_RETENTION_DAYS=\"{value}\"");
        lines.push(&line);
        let (ok, out) = c.check(&lines, &[TOKEN]);
        assert_eq!(ok, valid, "{value}: {out}");
        assert!(valid || out.contains("from 0 (never) to 3650"), "{out}");
    }
}

/// Every key of the runtime's list (`config::KEYS`, the one the env file is
/// read by) is in the help of `kai`, `kai run` and `kai check-config`, with
/// what it means. Whitespace is compared loosely: clap wraps long lines.
#[test]
fn help_explains_every_key() {
    let words = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["check-config", "--help"],
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_kai"))
            .args(args)
            .output()
            .unwrap();
        assert!(out.status.success(), "kai {args:?}");
        let text = words(&String::from_utf8_lossy(&out.stdout));
        for (key, meaning) in kai::config::KEYS {
            let line = words(&format!("{key} {meaning}"));
            assert!(text.contains(&line), "kai {args:?} lacks `{line}`:\n{text}");
        }
        for word in ["telegram-bot-token", "--env-file"] {
            assert!(text.contains(word), "kai {args:?} lacks {word}:\n{text}");
        }
    }
}

/// alice on codex, bob on claude (each with a model that may be overridden).
fn mixed_users(alice_model: &str, bob_model: &str) -> String {
    format!(
        r#"{{"users": [
            {{"name": "alice", "telegram_id": 1001, "backend": "codex", "model": {alice_model}}},
            {{"name": "bob", "telegram_id": 1002, "backend": "claude", "model": {bob_model}}}
        ]}}"#
    )
}

/// A stand-in claude binary next to the stand-in codex one.
fn with_claude(c: &Case) -> String {
    let bin = c.path("claude");
    std::fs::write(&bin, "#!/bin/sh\nexit 0\n").unwrap();
    std::fs::set_permissions(&bin, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    format!("CLAUDE_BIN=\"{bin}\"")
}

#[test]
fn a_mixed_configuration_passes_with_both_binaries() {
    let c = Case::new(&mixed_users("\"gpt-5.5\"", "\"haiku\""));
    let mut lines = base();
    let claude = with_claude(&c);
    lines.push(&claude);
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(ok, "{out}");
}

#[test]
fn a_claude_model_on_a_codex_user_names_the_user_and_key() {
    let c = Case::new(&mixed_users("\"opus\"", "null"));
    let mut lines = base();
    let claude = with_claude(&c);
    lines.push(&claude);
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(out.contains("users[0].model"), "{out}");
    assert!(out.contains("user `alice`"), "{out}");
    assert!(
        out.contains("it is a claude model") && out.contains("gpt-5.5"),
        "{out}"
    );
    assert!(
        out.contains(&c.path("users.json")),
        "the users file is named: {out}"
    );
}

#[test]
fn a_codex_model_on_a_claude_user_names_the_user_and_key() {
    let c = Case::new(&mixed_users("null", "\"gpt-5.5\""));
    let mut lines = base();
    let claude = with_claude(&c);
    lines.push(&claude);
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(out.contains("users[1].model"), "{out}");
    assert!(out.contains("user `bob`"), "{out}");
    assert!(
        out.contains("sonnet") && out.contains("opus"),
        "valid claude models listed: {out}"
    );
}

#[test]
fn claude_bin_is_required_only_when_a_user_is_on_claude() {
    // bob is on claude and no CLAUDE_BIN is set: named, with who needs it.
    let c = Case::new(&mixed_users("null", "null"));
    let (ok, out) = c.check(&base(), &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("CLAUDE_BIN (default): required because `bob` is on this backend"),
        "{out}"
    );

    // Codex-only: no CLAUDE_BIN needed (a_valid_codex_configuration_passes).
    // Claude-only: no CODEX_BIN needed.
    let c = Case::new(r#"{"users": [{"name": "bob", "telegram_id": 1002}]}"#);
    let claude = with_claude(&c);
    let lines = vec![
        "AGENT_BACKEND=\"claude\"",
        claude.as_str(),
        "KAI_USERS_FILE=\"@USERS@\"",
        "KAI_DATA_DIR=\"/tmp/kai-check\"",
    ];
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(ok, "a claude-only install needs no CODEX_BIN: {out}");
    assert!(!out.contains("CODEX_BIN"), "{out}");
}

/// alice and carol without an account of their own, bob on `nobody`: their
/// agents would share the service account, which may sudo to bob's.
const SHARED_SERVICE_ACCOUNT: &str = r#"{"users": [
    {"name": "alice", "telegram_id": 1001},
    {"name": "bob", "telegram_id": 1002, "os_user": "nobody"},
    {"name": "carol", "telegram_id": 1003, "os_user": null}
]}"#;

#[test]
fn agents_on_the_service_account_beside_sudo_users_are_refused() {
    let c = Case::new(SHARED_SERVICE_ACCOUNT);
    let (ok, out) = c.check(&base(), &[TOKEN]);
    assert!(!ok, "{out}");
    for (key, name) in [("users[0].os_user", "alice"), ("users[2].os_user", "carol")] {
        let line = out
            .lines()
            .find(|l| l.contains(key))
            .unwrap_or_else(|| panic!("no problem for {key}: {out}"));
        assert!(
            line.contains(&format!(
                "user `{name}` would run their agent as the service account"
            )) && line.contains("`bob` (nobody)"),
            "{line}"
        );
    }
    assert!(out.contains(&c.path("users.json")), "{out}");
    assert!(!out.contains("users[1]"), "bob has his own account: {out}");

    // `kai run` loads the same way and refuses to start, naming them too.
    let out = Command::new(env!("CARGO_BIN_EXE_kai"))
        .args(["run", "--env-file"])
        .arg(c.dir.path().join("env"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(TOKEN.0, TOKEN.1)
        .env("TELEGRAM_API_URL", "http://127.0.0.1:9")
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{err}");
    assert!(
        err.contains("refusing to start") && err.contains("users[0].os_user"),
        "{err}"
    );

    // Single-account mode (nobody has an account of their own) stays valid.
    let c = Case::new(ONE_USER);
    let (ok, out) = c.check(&base(), &[TOKEN]);
    assert!(ok, "{out}");
}

/// The README's own example: a wrong global model must not hide a users-file
/// problem; a missing users file must not hide a relative CODEX_BIN; an
/// invalid backend must not hide either.
#[test]
fn independent_problems_are_all_reported() {
    let dup = r#"{"users": [{"name": "alice", "telegram_id": 1001}, {"name": "bob", "telegram_id": 1001}]}"#;
    let c = Case::new(dup);
    let mut lines = base();
    lines.push("DEFAULT_MODEL=\"opus\"");
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("2 configuration problems")
            && out.contains("DEFAULT_MODEL")
            && out.contains("it is a claude model")
            && out.contains("users[1].telegram_id")
            && out.contains("duplicate Telegram id 1001"),
        "{out}"
    );

    let c = Case::new(ONE_USER);
    let lines = vec![
        "AGENT_BACKEND=\"codex\"",
        "CODEX_BIN=\"relative/codex\"",
        "KAI_USERS_FILE=\"/nonexistent/users.json\"",
    ];
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("KAI_USERS_FILE") && out.contains("CODEX_BIN") && out.contains("absolute"),
        "{out}"
    );

    let c = Case::new(dup);
    let mut lines = base();
    lines[0] = "AGENT_BACKEND=\"gemini\"";
    let (ok, out) = c.check(&lines, &[TOKEN]);
    assert!(!ok, "{out}");
    assert!(
        out.contains("AGENT_BACKEND") && out.contains("users[1].telegram_id"),
        "{out}"
    );
}

/// The README's first command runs `examples/kai.env` (with @REPO@ filled
/// in) and `examples/users.json`: they must pass the check as shipped.
#[test]
fn the_readme_example_configuration_is_valid() {
    let repo = env!("CARGO_MANIFEST_DIR");
    let text = std::fs::read_to_string(format!("{repo}/examples/kai.env"))
        .unwrap()
        .replace("@REPO@", repo);
    let dir = tempfile::tempdir().unwrap();
    let env_file = dir.path().join("kai.env");
    std::fs::write(&env_file, text).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kai"))
        .args(["check-config", "--env-file"])
        .arg(&env_file)
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env(TOKEN.0, TOKEN.1)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{text}");
    assert!(text.contains("backend codex"), "{text}");
}
