//! The systemd contract, against a real datagram socket bound as
//! `NOTIFY_SOCKET`: READY=1 only once Telegram answered getMe (here after two
//! refused attempts), WATCHDOG=1 repeatedly from the polling loop, STATUS
//! lines a person can read, and STOPPING=1 on SIGTERM; and the pings go on
//! while Telegram holds a long poll open without ever answering.

mod support;

use std::os::unix::net::UnixDatagram;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use support::codex_home::codex_bin;
use support::fake_telegram::FakeTelegram;

/// A daemon under a watchdog of `watchdog`, notifying a datagram socket the
/// test reads, with `codex` as CODEX_BIN (and CODEX_VERSION 0.169.0, so the
/// start-up version check runs it).
struct Notified {
    _dir: tempfile::TempDir,
    socket: UnixDatagram,
    kai: std::process::Child,
}

fn start(tg: &FakeTelegram, watchdog: Duration, codex: &std::path::Path) -> Notified {
    let dir = tempfile::tempdir().unwrap();
    let socket_path = dir.path().join("notify.sock");
    let socket = UnixDatagram::bind(&socket_path).unwrap();
    socket
        .set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    std::fs::write(
        dir.path().join("users.json"),
        r#"{"users": [{"name": "alice", "telegram_id": 1001}]}"#,
    )
    .unwrap();
    let env = format!(
        "AGENT_BACKEND=\"codex\"\nCODEX_BIN=\"{}\"\nCODEX_VERSION=\"0.169.0\"\nKAI_DATA_DIR=\"{}\"\nKAI_USERS_FILE=\"{}\"\nTELEGRAM_API_URL=\"{}\"\n",
        codex.display(),
        dir.path().join("data").display(),
        dir.path().join("users.json").display(),
        tg.url()
    );
    std::fs::write(dir.path().join("env"), env).unwrap();
    let kai = Command::new(env!("CARGO_BIN_EXE_kai"))
        .args(["run", "--env-file"])
        .arg(dir.path().join("env"))
        .env_clear()
        .env("PATH", "/usr/bin:/bin")
        .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
        .env("NOTIFY_SOCKET", &socket_path)
        .env("WATCHDOG_USEC", watchdog.as_micros().to_string())
        .stdin(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    Notified {
        _dir: dir,
        socket,
        kai,
    }
}

impl Notified {
    /// The next notification, if one arrives within the read timeout.
    fn recv(&self) -> Option<String> {
        let mut buf = [0u8; 4096];
        let n = self.socket.recv(&mut buf).ok()?;
        Some(String::from_utf8_lossy(&buf[..n]).to_string())
    }

    fn stop(mut self) -> std::process::ExitStatus {
        unsafe { libc::kill(self.kai.id() as i32, libc::SIGTERM) };
        self.kai.wait().unwrap()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ready_after_get_me_then_watchdog_then_stopping() {
    let tg = FakeTelegram::start().await;
    tg.fail_next("getMe", 2, 400);
    let kai = start(&tg, Duration::from_secs(3), &codex_bin());

    let mut seen: Vec<(Instant, String)> = Vec::new();
    let started = Instant::now();
    let mut terminated = false;
    while started.elapsed() < Duration::from_secs(30) {
        if let Some(msg) = kai.recv() {
            seen.push((Instant::now(), msg));
        }
        let watchdogs = seen
            .iter()
            .filter(|(_, m)| m.contains("WATCHDOG=1"))
            .count();
        if !terminated && watchdogs >= 4 {
            unsafe { libc::kill(kai.kai.id() as i32, libc::SIGTERM) };
            terminated = true;
        }
        if terminated && seen.iter().any(|(_, m)| m.contains("STOPPING=1")) {
            break;
        }
    }
    let status = kai.stop();
    let all: Vec<&str> = seen.iter().map(|(_, m)| m.as_str()).collect();

    let ready_at = seen
        .iter()
        .find(|(_, m)| m.contains("READY=1"))
        .map(|(t, _)| *t)
        .expect("READY=1 sent");
    let get_me = tg.calls_of("getMe");
    assert!(
        get_me.len() >= 3,
        "two refused getMe then one answered: {get_me:?}"
    );
    assert_eq!(
        get_me.iter().filter(|c| c.status == 200).count(),
        1,
        "{get_me:?}"
    );
    let answered = get_me.iter().find(|c| c.status == 200).unwrap();
    assert!(
        answered.at < ready_at,
        "READY=1 must follow the answered getMe"
    );
    let ready_index = all.iter().position(|m| m.contains("READY=1")).unwrap();
    assert!(
        all[..ready_index]
            .iter()
            .any(|m| m.contains("STATUS=retrying Telegram")),
        "{all:?}"
    );

    let pings: Vec<Instant> = seen
        .iter()
        .filter(|(_, m)| m.contains("WATCHDOG=1"))
        .map(|(t, _)| *t)
        .collect();
    assert!(pings.len() >= 4, "{all:?}");
    let after_ready: Vec<&Instant> = pings.iter().filter(|t| **t > ready_at).collect();
    for pair in after_ready.windows(2) {
        let gap = pair[1].duration_since(*pair[0]);
        // The loop aims at a third of the period; a gap of a whole period
        // is what would make systemd kill the service.
        assert!(
            gap < Duration::from_secs(3),
            "pings must come within WATCHDOG_USEC (3 s); gap {gap:?}"
        );
    }
    assert!(all.iter().any(|m| m.contains("STATUS=ready")), "{all:?}");
    assert!(all.iter().any(|m| m.contains("STOPPING=1")), "{all:?}");
    assert!(status.success(), "{status:?}");
}

/// Proves: when the Bot API accepts getUpdates and never answers (twice in
/// a row), the watchdog is still pinged within its period: the poll is cut
/// off at half the period and retried, instead of waiting for the 30 s HTTP
/// timeout while systemd kills a healthy daemon. Then polling recovers.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_long_poll_does_not_starve_the_watchdog() {
    let tg = FakeTelegram::start().await;
    tg.hang_next("getUpdates", 2);
    let watchdog = Duration::from_secs(6);
    let kai = start(&tg, watchdog, &codex_bin());

    // Until both hung polls were given up and a third one answered, plus a
    // little: long enough that the old 30 s request would have shown.
    let mut pings: Vec<Instant> = Vec::new();
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(60) {
        if kai.recv().is_some_and(|m| m.contains("WATCHDOG=1")) {
            pings.push(Instant::now());
        }
        let answered = tg
            .calls_of("getUpdates")
            .iter()
            .filter(|c| c.status == 200)
            .count();
        if answered >= 2 {
            break;
        }
    }
    kai.stop();
    let polls = tg.calls_of("getUpdates");
    assert!(
        polls.iter().filter(|c| c.status == 200).count() >= 2,
        "polling must recover after the hung requests: {polls:?}"
    );
    assert!(pings.len() >= 3, "{pings:?}");
    for pair in pings.windows(2) {
        let gap = pair[1].duration_since(pair[0]);
        assert!(
            gap < watchdog,
            "a gap of {gap:?} between watchdog pings: systemd would have killed kai ({} polls: {polls:?})",
            polls.len()
        );
    }
}

/// Proves: a codex whose `--version` hangs (the drift check kai runs right
/// after READY=1) does not delay the first watchdog ping past the period:
/// the probe is bounded by a third of it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_version_probe_does_not_starve_the_watchdog() {
    let tg = FakeTelegram::start().await;
    let dir = tempfile::tempdir().unwrap();
    let codex = dir.path().join("codex");
    std::fs::write(&codex, "#!/bin/sh\nsleep 30\necho codex-cli 0.169.0\n").unwrap();
    std::fs::set_permissions(&codex, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let watchdog = Duration::from_secs(3);
    let kai = start(&tg, watchdog, &codex);
    let mut ready = None;
    let mut first_ping = None;
    let started = Instant::now();
    while started.elapsed() < Duration::from_secs(20) && first_ping.is_none() {
        if let Some(msg) = kai.recv() {
            if msg.contains("READY=1") {
                ready = Some(Instant::now());
            }
            if ready.is_some() && msg.contains("WATCHDOG=1") {
                first_ping = Some(Instant::now());
            }
        }
    }
    kai.stop();
    let ready = ready.expect("READY=1 sent");
    let first = first_ping.expect("a watchdog ping after READY=1");
    let gap = first.duration_since(ready);
    assert!(
        gap < watchdog,
        "the first watchdog ping came {gap:?} after READY=1: systemd would have killed kai"
    );
}
