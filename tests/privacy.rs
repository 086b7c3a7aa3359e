//! What the daemon leaves readable and what its children inherit, with the
//! real codex CLI against the loopback fakes (no root needed):
//! - the state under the data dir is private even when kai runs under a
//!   0022 umask (launchd sets none; `cargo run` from a shell has 0022);
//! - the codex version probe, like every child, gets an allow-listed
//!   environment: never the bot token.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::time::Duration;

use support::codex_home;
use support::fake_telegram::FakeTelegram;
use support::kai::{Kai, Options, ALICE};

/// Every path below `root` whose mode lets group or others read or write it.
fn exposed_below(root: &Path) -> Vec<String> {
    let mut out = Vec::new();
    let mut stack = vec![root.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap().flatten() {
            let meta = std::fs::symlink_metadata(e.path()).unwrap();
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o066 != 0 {
                out.push(format!("{:o} {}", mode, e.path().display()));
            }
            if meta.is_dir() {
                stack.push(e.path());
            }
        }
    }
    out
}

/// Proves: under umask 0022, after a conversation, a model change and a
/// restart, nothing under the data dir is group- or world-readable or
/// writable (the data dir itself is 0711: traversable, not listable).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn state_is_private_under_a_0022_umask() {
    let mut kai = Kai::start(Options {
        umask: Some(0o022),
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "hello");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: hello"))
        .await;
    kai.tg.send_text(ALICE, "/model gpt-6-luna");
    kai.wait_text(ALICE, 30, |t| t.contains("Model set to"))
        .await;
    kai.wait_idle(ALICE).await;
    kai.stop(libc::SIGTERM, Duration::from_secs(15))
        .expect("kai exits after SIGTERM");

    let data = kai.path("data");
    let state = kai.state_path(ALICE, ALICE, None);
    assert!(state.is_file(), "the chat state was written\n{}", kai.log());
    let mode = std::fs::metadata(&data).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o711, "data dir mode {mode:o}");
    let exposed = exposed_below(&data);
    assert!(
        exposed.is_empty(),
        "readable by others under {}:\n{}",
        data.display(),
        exposed.join("\n")
    );
}

/// Proves: the `codex --version` probe the daemon runs at start sees no
/// `TELEGRAM_*` variable (the development token lives in the daemon's
/// environment) and nothing outside the allow-list, while an allow-listed
/// variable does arrive; and the daemon still answers through that codex.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_version_probe_gets_no_token() {
    let dir = tempfile::tempdir().unwrap();
    let dump = dir.path().join("probe-env");
    let wrapper = dir.path().join("codex");
    std::fs::write(
        &wrapper,
        format!(
            "#!/bin/sh\nif [ \"$1\" = --version ]; then env > '{}.tmp' && mv '{0}.tmp' '{0}'; fi\nexec '{}' \"$@\"\n",
            dump.display(),
            codex_home::codex_bin().display()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();

    let kai = Kai::start(Options {
        codex_bin: Some(wrapper),
        extra_env: vec![
            ("TZ".into(), "Europe/Berlin".into()),
            ("KAI_NOT_ALLOWED".into(), "daemon-only".into()),
        ],
        ..Options::default()
    })
    .await;
    kai.tg.send_text(ALICE, "hello");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: hello"))
        .await;

    let env = support::poll_until(Duration::from_secs(10), || {
        std::fs::read_to_string(&dump).ok()
    })
    .await;
    let env = env.unwrap_or_else(|| panic!("the version probe never ran\n{}", kai.log()));
    assert!(!env.contains("TELEGRAM"), "{env}");
    assert!(!env.contains(FakeTelegram::TOKEN), "{env}");
    assert!(!env.contains("KAI_NOT_ALLOWED"), "{env}");
    assert!(env.contains("TZ=Europe/Berlin"), "allow-listed: {env}");
}
