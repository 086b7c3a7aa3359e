//! The files `nixos-module/lib.nix` renders (golden copies in
//! `tests/nix/cases/<case>/`) load in the real runtime: `kai check-config`
//! accepts every case, which proves the Rust parser reads back exactly what
//! the Nix renderer wrote. And the two agree on what is wrong: for every
//! input lib.nix refuses (`tests/nix/errors/<case>/`), check-config refuses
//! the files lib.nix would have written for it, for the reason the case
//! names, unless the case says why only Nix can tell (`nix-only`). The keys
//! lib.nix writes are the runtime's. The Nix side of each round trip is
//! `tests/nix/check.sh`, which compares lib.nix's output with the same files.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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

/// `kai check-config --build-time` on an env and a users file, in a clean
/// environment. The store paths of the binaries the env file names are
/// replaced (the environment wins over the file) by stand-ins; a binary the
/// file lacks stays missing.
fn check_config(env_file: &Path, users_file: &Path, bins: &FakeBins) -> Output {
    let env = fs::read_to_string(env_file).expect("read the env file");
    let names = |key: &str| env.lines().any(|l| l.starts_with(&format!("{key}=")));
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_kai"));
    cmd.arg("check-config")
        .arg("--env-file")
        .arg(env_file)
        .arg("--build-time")
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("KAI_USERS_FILE", users_file);
    if names("CODEX_BIN") {
        cmd.env("CODEX_BIN", &bins.codex);
    }
    if names("CLAUDE_BIN") {
        cmd.env("CLAUDE_BIN", &bins.claude);
    }
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

fn error_cases() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nix/errors");
    let mut cases: Vec<PathBuf> = fs::read_dir(dir)
        .expect("tests/nix/errors exists")
        .map(|e| e.expect("readable entry").path())
        .filter(|p| p.is_dir())
        .collect();
    cases.sort();
    cases
}

/// The lines a file holds, blank ones left out.
fn lines(path: &Path) -> Vec<String> {
    fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_string)
        .collect()
}

/// One meaning per rule: lib.nix and check-config refuse the same inputs.
/// tests/nix/check.sh proves that lib.nix refuses each case (`expected`)
/// and that `env` and `users.json` are what it would write for it.
#[test]
fn check_config_refuses_what_lib_nix_refuses() {
    let bins = fake_bins();
    let cases = error_cases();
    assert!(
        cases.len() >= 15,
        "expected the cases of tests/nix/errors, found {cases:?}"
    );
    let mut wrong = Vec::new();
    for case in &cases {
        let name = case.file_name().map(|n| n.to_string_lossy().into_owned());
        let name = name.unwrap_or_default();
        assert!(
            case.join("input.nix").is_file() && !lines(&case.join("expected")).is_empty(),
            "{name}: a case has input.nix and the messages lib.nix gives (expected)"
        );
        let nix_only = case.join("nix-only");
        if nix_only.exists() {
            assert!(
                !lines(&nix_only).is_empty(),
                "{name}/nix-only must say why check-config cannot see it"
            );
            assert!(
                !case.join("env").exists() && !case.join("check-config").exists(),
                "{name} is Nix-only but has files for check-config"
            );
            continue;
        }
        let reasons = lines(&case.join("check-config"));
        assert!(
            !reasons.is_empty(),
            "{name}/check-config lists what check-config's refusal says"
        );
        let out = check_config(&case.join("env"), &case.join("users.json"), &bins);
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        if out.status.success() {
            wrong.push(format!(
                "{name}: lib.nix refuses it, check-config accepts its files\n{}",
                describe(&out)
            ));
            continue;
        }
        for reason in reasons.iter().filter(|r| !text.contains(r.as_str())) {
            wrong.push(format!(
                "{name}: check-config refused, but not with `{reason}`\n{}",
                describe(&out)
            ));
        }
    }
    assert!(wrong.is_empty(), "{}", wrong.join("\n\n"));
}

/// The env keys lib.nix may write (golden `tests/nix/env-keys`, checked
/// against lib.nix by tests/nix/check.sh) are the runtime's `KEYS`, except
/// the files holding the secrets, which the modules hand over outside the
/// env file (systemd credentials; launchd's environment).
#[test]
fn lib_nix_writes_the_runtimes_env_keys() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/nix/env-keys");
    let mut nix = lines(&path);
    nix.sort();
    let secret_files: Vec<String> = kai::config::SECRETS
        .iter()
        .map(|(k, _)| format!("{k}_FILE"))
        .collect();
    let known = |k: &String| kai::config::KEYS.iter().any(|(key, _)| key == k);
    assert!(
        secret_files.iter().all(known),
        "each secret's file key is a key: {secret_files:?}"
    );
    let mut runtime: Vec<String> = kai::config::KEYS
        .iter()
        .map(|(k, _)| k.to_string())
        .filter(|k| !secret_files.contains(k))
        .collect();
    runtime.sort();
    assert_eq!(
        nix, runtime,
        "lib.nix's envKeys (left) against src/config/mod.rs KEYS without the secret files (right)"
    );
}
