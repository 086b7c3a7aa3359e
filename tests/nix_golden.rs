//! The files `nixos-module/lib.nix` renders (golden copies in
//! `tests/nix/cases/<case>/`) load in the real runtime: `kai check-config`
//! accepts every case, which proves the Rust parser reads back exactly what
//! the Nix renderer wrote. The Nix side of the round trip is
//! `tests/nix/check.sh`, which compares lib.nix's output with the same files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// Every key of the env-file contract: cleared from the test's environment so
/// that only the golden file (and the explicit overrides) count.
const ENV_KEYS: &[&str] = &[
    "AGENT_BACKEND",
    "AGENT_IDLE_SECONDS",
    "AGENT_TIMEOUT_SECONDS",
    "CLAUDE_BIN",
    "CODEX_BIN",
    "CODEX_VERSION",
    "DEFAULT_MODEL",
    "KAI_DATA_DIR",
    "KAI_ENV_FILE",
    "KAI_USERS_FILE",
    "TELEGRAM_API_URL",
    "TELEGRAM_BOT_TOKEN",
    "TELEGRAM_BOT_TOKEN_FILE",
    "CREDENTIALS_DIRECTORY",
];

fn cases_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nix/cases")
}

fn cases() -> Vec<PathBuf> {
    let mut cases: Vec<PathBuf> = fs::read_dir(cases_dir())
        .expect("tests/nix/cases exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.join("env").is_file() && p.join("users.json").is_file())
        .collect();
    cases.sort();
    assert!(
        cases.len() >= 5,
        "expected the golden cases of tests/nix/cases, found {cases:?}"
    );
    cases
}

/// Stand-ins for the store paths in the golden files: executables that exist
/// here and answer `--version` like the real CLIs.
struct FakeBins {
    _dir: tempfile::TempDir,
    codex: PathBuf,
    claude: PathBuf,
}

fn fake_bins() -> FakeBins {
    let dir = tempfile::tempdir().expect("tempdir");
    let write = |name: &str, version: &str| {
        let path = dir.path().join(name);
        fs::write(&path, format!("#!/bin/sh\necho '{version}'\n")).expect("write fake binary");
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).expect("chmod");
        path
    };
    let codex = write("codex", "codex-cli 0.169.0");
    let claude = write("claude", "2.1.328 (Claude Code)");
    FakeBins {
        _dir: dir,
        codex,
        claude,
    }
}

fn check_config(env_file: &Path, users_file: &Path, bins: &FakeBins) -> Output {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kai"));
    cmd.arg("check-config")
        .arg("--env-file")
        .arg(env_file)
        .arg("--build-time");
    for key in ENV_KEYS {
        cmd.env_remove(key);
    }
    // Variables in the environment win over the env file.
    cmd.env("KAI_USERS_FILE", users_file)
        .env("CODEX_BIN", &bins.codex)
        .env("CLAUDE_BIN", &bins.claude);
    cmd.output().expect("run kai check-config")
}

fn describe(out: &Output) -> String {
    format!(
        "exit {:?}\n--- stdout\n{}\n--- stderr\n{}",
        out.status.code(),
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn check_config_accepts_every_golden_case() {
    let bins = fake_bins();
    for case in cases() {
        let out = check_config(&case.join("env"), &case.join("users.json"), &bins);
        assert!(
            out.status.success(),
            "kai check-config refused the files lib.nix rendered for {}:\n{}",
            case.display(),
            describe(&out)
        );
    }
}

#[test]
fn check_config_refuses_a_claude_model_on_codex() {
    let bins = fake_bins();
    let case = cases_dir().join("codex-single");
    let golden = fs::read_to_string(case.join("env")).expect("golden env");
    assert!(golden.contains("AGENT_BACKEND=\"codex\"\n"), "{golden}");
    let edited: String = golden
        .lines()
        .map(|line| {
            if line.starts_with("DEFAULT_MODEL=") {
                "DEFAULT_MODEL=\"opus\"".to_string()
            } else {
                line.to_string()
            }
        })
        .map(|line| line + "\n")
        .collect();
    assert_ne!(edited, golden, "the golden env has a DEFAULT_MODEL line");

    let dir = tempfile::tempdir().expect("tempdir");
    let env_file = dir.path().join("env");
    fs::write(&env_file, edited).expect("write env");
    let out = check_config(&env_file, &case.join("users.json"), &bins);
    assert!(
        !out.status.success(),
        "check-config accepted opus on codex:\n{}",
        describe(&out)
    );
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("DEFAULT_MODEL"),
        "the error names the key:\n{}",
        describe(&out)
    );
    assert!(
        stderr.contains("gpt-6.1-sol"),
        "the error lists the valid codex models:\n{}",
        describe(&out)
    );
}
