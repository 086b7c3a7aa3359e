//! [1] Resident memory of the idle daemon and [2] spawn → `READY=1`, with
//! the daemon started the way systemd starts it: an env file, a users file
//! (10 users), and `NOTIFY_SOCKET` naming a datagram socket bound here.

use std::os::unix::net::UnixDatagram;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::support::fake_telegram::FakeTelegram;

/// Fields of `/proc/<pid>/status`, in KiB (threads: a count).
#[derive(Debug, Clone, Copy)]
pub struct Memory {
    pub rss: u64,
    pub hwm: u64,
    pub anon: u64,
    pub file: u64,
    pub threads: u64,
}

impl Memory {
    pub fn of(pid: i32) -> Option<Memory> {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
        let field = |name: &str| -> Option<u64> {
            let line = status.lines().find(|l| l.starts_with(name))?;
            line[name.len()..].split_whitespace().next()?.parse().ok()
        };
        Some(Memory {
            rss: field("VmRSS:")?,
            hwm: field("VmHWM:")?,
            anon: field("RssAnon:")?,
            file: field("RssFile:")?,
            threads: field("Threads:")?,
        })
    }
}

impl std::fmt::Display for Memory {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mib = |kib: u64| kib as f64 / 1024.0;
        write!(
            f,
            "VmRSS {:.1} MiB (anon {:.1}, file {:.1}), VmHWM {:.1} MiB, {} threads",
            mib(self.rss),
            mib(self.anon),
            mib(self.file),
            mib(self.hwm),
            self.threads
        )
    }
}

pub struct Startup {
    /// Spawn → READY=1 received, per run.
    pub ready: Vec<Duration>,
    /// Spawn → the fake Telegram received getMe, per run.
    pub get_me: Vec<Duration>,
}

/// A daemon configured with 10 codex users, `agent` as its codex binary.
pub struct Daemon {
    dir: tempfile::TempDir,
    socket: UnixDatagram,
    pub child: Child,
}

impl Daemon {
    /// Spawns it and waits for READY=1; returns it, when it was spawned and
    /// how long READY=1 took from there.
    pub fn spawn_until_ready(
        tg: &FakeTelegram,
        agent: &Path,
        env: &[(&str, &str)],
    ) -> (Daemon, Instant, Duration) {
        let dir = tempfile::tempdir().unwrap();
        let users: Vec<String> = (0..10)
            .map(|i| format!(r#"{{"name": "user{i}", "telegram_id": {}}}"#, 2000 + i))
            .collect();
        let users_file = dir.path().join("users.json");
        std::fs::write(
            &users_file,
            format!(r#"{{"users": [{}]}}"#, users.join(",")),
        )
        .unwrap();
        let env_file = dir.path().join("env");
        std::fs::write(
            &env_file,
            format!(
                "AGENT_BACKEND=\"codex\"\nCODEX_BIN=\"{}\"\nCODEX_VERSION=\"{}\"\nKAI_DATA_DIR=\"{}\"\nKAI_USERS_FILE=\"{}\"\nTELEGRAM_API_URL=\"{}\"\n",
                agent.display(),
                crate::fake_app_server::VERSION,
                dir.path().join("data").display(),
                users_file.display(),
                tg.url()
            ),
        )
        .unwrap();
        let socket_path = dir.path().join("notify.sock");
        let socket = UnixDatagram::bind(&socket_path).unwrap();
        socket
            .set_read_timeout(Some(Duration::from_secs(10)))
            .unwrap();
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kai"));
        cmd.args(["run", "--env-file"])
            .arg(&env_file)
            .env_clear()
            .env("PATH", "/usr/bin:/bin")
            .env("HOME", dir.path())
            .env("TELEGRAM_BOT_TOKEN", FakeTelegram::TOKEN)
            .env("NOTIFY_SOCKET", &socket_path)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        let started = Instant::now();
        let child = cmd.spawn().unwrap();
        let mut buf = [0u8; 4096];
        loop {
            let n = socket
                .recv(&mut buf)
                .expect("READY=1 within 10 s of spawning kai");
            if String::from_utf8_lossy(&buf[..n]).contains("READY=1") {
                break;
            }
        }
        let took = started.elapsed();
        (Daemon { dir, socket, child }, started, took)
    }

    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// SIGTERM, then waits for the exit (a daemon with no agents stops at once).
    pub fn stop(mut self) {
        // SAFETY: plain kill(2) on our own child's pid.
        unsafe { libc::kill(self.pid(), libc::SIGTERM) };
        let _ = self.child.wait();
        drop(self.socket);
        drop(self.dir);
    }
}

/// `runs` cold starts against one fake Telegram.
pub async fn ready_times(agent: &Path, runs: usize) -> Startup {
    let tg = FakeTelegram::start().await;
    let mut out = Startup {
        ready: Vec::new(),
        get_me: Vec::new(),
    };
    for _ in 0..runs {
        let (daemon, spawned, took) = Daemon::spawn_until_ready(&tg, agent, &[]);
        if let Some(call) = tg.calls_of("getMe").last() {
            out.get_me.push(call.at.saturating_duration_since(spawned));
        }
        out.ready.push(took);
        daemon.stop();
    }
    out
}

/// The idle daemon's memory `settle` after READY=1 (its command menu and
/// codex version check are done by then).
pub async fn idle_memory(agent: &Path, env: &[(&str, &str)], settle: Duration) -> Memory {
    let tg = FakeTelegram::start().await;
    let (daemon, _, _) = Daemon::spawn_until_ready(&tg, agent, env);
    tokio::time::sleep(settle).await;
    let m = Memory::of(daemon.pid()).expect("the daemon's /proc status");
    daemon.stop();
    m
}
