//! Runs the built `kai` binary as an operator would (env file + users file),
//! against the fakes, with a PATH that holds no `claude` — or a tripwire
//! `claude` that records any attempt to run it.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use kai::process::tree as proctree;

use super::codex_home;
use super::fake_anthropic::{self, FakeAnthropic};
use super::fake_responses::FakeResponses;
use super::fake_telegram::{BotMessage, FakeTelegram};

pub const ALICE: i64 = 1001;
pub const BOB: i64 = 1002;
pub const STRANGER: i64 = 666;

pub struct Options {
    /// (name, telegram id) of each allowed user, all on codex as the service user.
    pub users: Vec<(&'static str, i64)>,
    pub timeout_secs: u64,
    /// Put a `claude` on PATH that marks a file if anything runs it.
    pub claude_tripwire: bool,
    pub extra_env: Vec<(String, String)>,
    /// (telegram id, OS account) written as that user's `os_user`; users not
    /// listed run as the service account. Their workspace stays the default
    /// `<data>/home/<name>`.
    pub os_users: Vec<(i64, String)>,
    /// Run the daemon as this OS account instead of the test's own (the test
    /// must be root). The temporary directory and the data dir are laid out
    /// as the NixOS module does: owned by that account, mode 0711.
    pub run_as: Option<String>,
    /// `CODEX_BIN` to configure instead of the real codex (e.g. the fake
    /// app-server of examples/fake_app_server.rs).
    pub codex_bin: Option<PathBuf>,
    /// `AGENT_BACKEND` (default codex).
    pub backend: &'static str,
    /// (telegram id, backend, model) written as that user's own `backend`
    /// and `model`; users not listed take the global ones. When any user
    /// ends up on claude, `CLAUDE_BIN` is configured and the agent's home
    /// gets Claude settings pointing at the fake Messages API.
    pub user_backends: Vec<(i64, &'static str, Option<&'static str>)>,
    /// The daemon's umask (default: inherited from the test runner).
    pub umask: Option<u32>,
    /// (telegram id, value) written as that user's `github` field.
    pub users_github: Vec<(i64, serde_json::Value)>,
    /// The daemon's soft open-files limit (default: inherited), as a unit
    /// without `LimitNOFILE` gives it (systemd's default soft limit, 1024).
    pub nofile: Option<u64>,
    /// (telegram id, field, value): any other field of that user's entry
    /// (`chats`, `projects`, `max_agents`).
    pub user_fields: Vec<(i64, &'static str, serde_json::Value)>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            users: vec![("alice", ALICE)],
            timeout_secs: 60,
            claude_tripwire: false,
            extra_env: Vec::new(),
            os_users: Vec::new(),
            run_as: None,
            codex_bin: None,
            backend: "codex",
            user_backends: Vec::new(),
            umask: None,
            users_github: Vec::new(),
            nofile: None,
            user_fields: Vec::new(),
        }
    }
}

pub struct Kai {
    pub tg: FakeTelegram,
    pub api: FakeResponses,
    /// The fake Messages API every claude agent of this daemon talks to.
    pub claude_api: FakeAnthropic,
    pub dir: tempfile::TempDir,
    child: Option<Child>,
    opts_env: Vec<(String, String)>,
    /// (uid, gid) the daemon runs as, when not the test's own.
    run_as: Option<(u32, u32)>,
    umask: Option<u32>,
    nofile: Option<u64>,
    spawns: usize,
}

impl Kai {
    pub async fn start(opts: Options) -> Kai {
        let tg = FakeTelegram::start().await;
        let api = FakeResponses::start().await;
        let claude_api = FakeAnthropic::start().await;
        let dir = tempfile::tempdir().unwrap();
        let codex_dir = dir.path().join("codex-home");
        std::fs::create_dir_all(&codex_dir).unwrap();
        codex_home::write_codex_home(&codex_dir, &api.base_url(), true).unwrap();
        let mut kai = Kai {
            tg,
            api,
            claude_api,
            dir,
            child: None,
            opts_env: Vec::new(),
            run_as: None,
            umask: opts.umask,
            nofile: opts.nofile,
            spawns: 0,
        };
        kai.write_config(&opts);
        kai.opts_env = kai.environment(&opts, &codex_dir);
        if let Some(account) = &opts.run_as {
            kai.hand_over(account);
        }
        kai.spawn();
        kai
    }

    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    fn write_config(&self, opts: &Options) {
        let users: Vec<String> = opts
            .users
            .iter()
            .map(|(n, id)| {
                let mut entry = serde_json::json!({"name": n, "telegram_id": id});
                if let Some((_, os)) = opts.os_users.iter().find(|(uid, _)| uid == id) {
                    entry["os_user"] = serde_json::json!(os);
                }
                if let Some((_, backend, model)) = opts.user_backends.iter().find(|(u, ..)| u == id)
                {
                    entry["backend"] = serde_json::json!(backend);
                    entry["model"] = serde_json::json!(model);
                }
                if let Some((_, github)) = opts.users_github.iter().find(|(u, _)| u == id) {
                    entry["github"] = github.clone();
                }
                for (_, field, value) in opts.user_fields.iter().filter(|(u, ..)| u == id) {
                    entry[*field] = value.clone();
                }
                entry.to_string()
            })
            .collect();
        std::fs::write(
            self.path("users.json"),
            format!(r#"{{"users": [{}]}}"#, users.join(",")),
        )
        .unwrap();
        let mut env = format!(
            "AGENT_BACKEND=\"{}\"\nAGENT_TIMEOUT_SECONDS=\"{}\"\nCODEX_BIN=\"{}\"\nCODEX_VERSION=\"0.169.0\"\nKAI_DATA_DIR=\"{}\"\nKAI_USERS_FILE=\"{}\"\nTELEGRAM_API_URL=\"{}\"\n",
            opts.backend,
            opts.timeout_secs,
            opts.codex_bin
                .clone()
                .unwrap_or_else(codex_home::codex_bin)
                .display(),
            self.path("data").display(),
            self.path("users.json").display(),
            self.tg.url()
        );
        if !uses_backend(opts, "codex") {
            // A claude-only install names no codex binary at all.
            env = env
                .lines()
                .filter(|l| !l.starts_with("CODEX_BIN="))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        if uses_backend(opts, "claude") {
            env.push_str(&format!(
                "CLAUDE_BIN=\"{}\"\n",
                fake_anthropic::claude_bin().display()
            ));
        }
        std::fs::write(self.path("env"), env).unwrap();
    }

    fn environment(&self, opts: &Options, codex_dir: &Path) -> Vec<(String, String)> {
        let mut path: Vec<String> = Vec::new();
        if opts.claude_tripwire {
            let trip = self.path("tripwire");
            std::fs::create_dir_all(&trip).unwrap();
            let script = format!(
                "#!/bin/sh\necho \"$0 $*\" >> {}\nexit 97\n",
                self.path("claude-ran").display()
            );
            std::fs::write(trip.join("claude"), script).unwrap();
            std::fs::set_permissions(
                trip.join("claude"),
                std::os::unix::fs::PermissionsExt::from_mode(0o755),
            )
            .unwrap();
            path.push(trip.display().to_string());
        }
        // Only system directories, and none that holds a claude binary.
        for d in ["/usr/local/bin", "/usr/bin", "/bin"] {
            if !Path::new(d).join("claude").exists() {
                path.push(d.to_string());
            }
        }
        let home = self.path("home");
        std::fs::create_dir_all(&home).unwrap();
        if uses_backend(opts, "claude") {
            fake_anthropic::write_claude_settings(&home, &self.claude_api.base_url()).unwrap();
        }
        let mut env = vec![
            ("PATH".to_string(), path.join(":")),
            ("HOME".to_string(), home.display().to_string()),
            (
                "TELEGRAM_BOT_TOKEN".to_string(),
                FakeTelegram::TOKEN.to_string(),
            ),
            ("KAI_LOG".to_string(), "kai=debug,info".to_string()),
        ];
        env.extend(codex_home::codex_env(codex_dir));
        env.extend(opts.extra_env.iter().cloned());
        env
    }

    /// Gives the service account what it needs to run the daemon: the
    /// temporary directory (traversable, so agent accounts reach their
    /// directories below it) and everything in it, plus the data dir and its
    /// `home` and `tmp` (0711, as the NixOS module's tmpfiles rules).
    fn hand_over(&mut self, account: &str) {
        use std::os::unix::fs::PermissionsExt;
        let id = |flag: &str| -> u32 {
            let out = Command::new("id").args([flag, account]).output().unwrap();
            assert!(out.status.success(), "no OS account `{account}`");
            String::from_utf8_lossy(&out.stdout).trim().parse().unwrap()
        };
        let (uid, gid) = (id("-u"), id("-g"));
        for d in ["data", "data/home", "data/tmp"] {
            std::fs::create_dir_all(self.path(d)).unwrap();
        }
        let status = Command::new("chown")
            .arg("-R")
            .arg(format!("{uid}:{gid}"))
            .arg(self.dir.path())
            .status()
            .unwrap();
        assert!(status.success(), "chown -R {account} failed");
        for d in ["", "data", "data/home", "data/tmp"] {
            std::fs::set_permissions(self.path(d), std::fs::Permissions::from_mode(0o711)).unwrap();
        }
        self.run_as = Some((uid, gid));
    }

    /// How many times the daemon was started (its log has one start each).
    pub fn spawns(&self) -> usize {
        self.spawns
    }

    /// Starts (or restarts) the daemon with the same configuration.
    pub fn spawn(&mut self) {
        self.spawns += 1;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.path("kai.log"))
            .unwrap();
        let mut cmd = Command::new(daemon_binary());
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            // As root, std also drops the supplementary groups (setgroups 0).
            cmd.uid(uid).gid(gid);
        }
        if let Some(mask) = self.umask {
            use std::os::unix::process::CommandExt;
            // SAFETY: umask(2) is async-signal-safe and touches only the
            // child's own file-creation mask.
            unsafe {
                cmd.pre_exec(move || {
                    libc::umask(mask as libc::mode_t);
                    Ok(())
                });
            }
        }
        if let Some(soft) = self.nofile {
            use std::os::unix::process::CommandExt;
            // SAFETY: getrlimit(2) and setrlimit(2) are async-signal-safe
            // and change only the child's own limit.
            unsafe {
                cmd.pre_exec(move || {
                    let mut lim = libc::rlimit {
                        rlim_cur: 0,
                        rlim_max: 0,
                    };
                    if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    lim.rlim_cur = soft.min(lim.rlim_max);
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                        return Err(std::io::Error::last_os_error());
                    }
                    Ok(())
                });
            }
        }
        let child = cmd
            .args(["run", "--env-file"])
            .arg(self.path("env"))
            .env_clear()
            .envs(self.opts_env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        self.child = Some(child);
    }

    /// Runs another `kai` command (e.g. `eval`) with the daemon's
    /// configuration and environment, as its account, from the test
    /// directory; `--env-file` is added.
    pub fn cli(&self, args: &[&str]) -> std::process::Output {
        self.cli_command(args)
            .stdin(Stdio::null())
            .output()
            .unwrap()
    }

    /// The command `cli` runs, to spawn and signal it.
    pub fn cli_command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_kai"));
        if let Some((uid, gid)) = self.run_as {
            use std::os::unix::process::CommandExt;
            cmd.uid(uid).gid(gid);
        }
        cmd.args(args)
            .arg("--env-file")
            .arg(self.path("env"))
            .current_dir(self.dir.path())
            .env_clear()
            .envs(self.opts_env.iter().map(|(k, v)| (k, v)));
        cmd
    }

    pub fn pid(&self) -> i32 {
        self.child.as_ref().map(|c| c.id() as i32).unwrap_or(0)
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.path("kai.log")).unwrap_or_default()
    }

    /// Every process below the daemon right now (the agents and their helpers).
    pub fn descendants(&self) -> BTreeSet<i32> {
        let procs = proctree::snapshot();
        let mut t = proctree::tree(&procs, self.pid());
        t.remove(&self.pid());
        t
    }

    /// Pids of processes running the codex CLI under the daemon.
    pub fn codex_pids(&self) -> Vec<i32> {
        self.descendants()
            .into_iter()
            .filter(|pid| {
                std::fs::read(format!("/proc/{pid}/cmdline"))
                    .map(|c| String::from_utf8_lossy(&c).contains("codex"))
                    .unwrap_or(false)
            })
            .collect()
    }

    /// Sends a signal and waits for the daemon to exit; returns how long it took.
    pub fn stop(&mut self, signal: i32, within: Duration) -> Option<Duration> {
        let child = self.child.as_mut()?;
        unsafe { libc::kill(child.id() as i32, signal) };
        let started = Instant::now();
        while started.elapsed() < within {
            if let Ok(Some(_)) = child.try_wait() {
                self.child = None;
                return Some(started.elapsed());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    pub fn claude_ran(&self) -> Option<String> {
        std::fs::read_to_string(self.path("claude-ran")).ok()
    }

    /// The pid `/status` reports for the chat's running agent (the sudo
    /// process when it runs as another account).
    pub async fn agent_pid(&self, chat: i64) -> i32 {
        let status = self.status(chat).await;
        status
            .split("(pid ")
            .nth(1)
            .and_then(|r| r.split(')').next())
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("no agent pid in /status: {status}"))
    }

    /// Asks `/status` and returns the answer. It is looked for among the
    /// messages sent after the question, not as the last one: an earlier
    /// answer may still be last, and the last chunks of a split reply may
    /// land after the new one.
    pub async fn status(&self, chat: i64) -> String {
        let asked = self.tg.messages(chat).len();
        self.tg.send_text(chat, "/status");
        let is_status = |m: &BotMessage| m.text.starts_with("Backend:");
        let found = self
            .tg
            .wait_messages(chat, Duration::from_secs(30), |msgs| {
                msgs.iter().skip(asked).any(is_status)
            })
            .await;
        match found
            .as_deref()
            .and_then(|msgs| msgs.iter().skip(asked).find(|m| is_status(m)))
        {
            Some(m) => m.text.clone(),
            None => panic!(
                "no /status answer in chat {chat}: {:#?}\n--- kai log ---\n{}",
                self.tg.messages(chat),
                self.log()
            ),
        }
    }

    /// The private chat's main conversation's persisted state, if it parses.
    pub fn chat_state(&self, chat: i64) -> Option<serde_json::Value> {
        self.conv_state(chat, chat, None)
    }

    /// The state file of `user`'s conversation in `chat`, in `topic` (None:
    /// outside topics): `<data>/chats/<chat>.<user>.<topic or main>.json`.
    pub fn state_path(&self, user: i64, chat: i64, topic: Option<i64>) -> PathBuf {
        let topic = topic.map_or_else(|| "main".to_string(), |t| t.to_string());
        self.path(&format!("data/chats/{chat}.{user}.{topic}.json"))
    }

    /// That conversation's persisted state, if it parses.
    pub fn conv_state(
        &self,
        user: i64,
        chat: i64,
        topic: Option<i64>,
    ) -> Option<serde_json::Value> {
        let bytes = std::fs::read(self.state_path(user, chat, topic)).ok()?;
        serde_json::from_slice(&bytes).ok()
    }

    /// The daemon's exit status once it has exited; None while it runs.
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.as_mut()?.try_wait().ok().flatten()
    }

    /// Waits until the last bot message in `chat` satisfies `pred`; panics
    /// with the daemon's log otherwise.
    pub async fn wait_text(&self, chat: i64, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let found = self
            .tg
            .wait_messages(chat, Duration::from_secs(secs), |msgs| {
                msgs.last().is_some_and(|m| pred(&m.text))
            })
            .await;
        match found {
            Some(msgs) => msgs.last().map(|m| m.text.clone()).unwrap_or_default(),
            None => panic!(
                "timed out; messages in chat {chat}: {:#?}\n--- kai log ---\n{}",
                self.tg.messages(chat),
                self.log()
            ),
        }
    }

    /// Waits until the chat's turn is over (not only its text shown), by
    /// asking `/status` until the agent is no longer answering. The answer
    /// is looked for among the messages sent after the question, not as the
    /// last one: the last chunks of a split reply may land after it.
    pub async fn wait_idle(&self, chat: i64) {
        for _ in 0..100 {
            if !self.status(chat).await.contains("Agent: answering") {
                return;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("chat {chat} never became idle\n{}", self.log());
    }

    /// The newest request the model got whose last user text is `text`.
    pub fn model_request(&self, text: &str) -> serde_json::Value {
        let requests = self.api.requests();
        requests
            .into_iter()
            .rev()
            .find(|r| super::fake_responses::last_user_text(r).as_deref() == Some(text))
            .unwrap_or_else(|| panic!("no model request for `{text}`\n{}", self.log()))
    }

    /// Waits for the `n`th (from 0) bot message in `chat`'s `topic`
    /// containing `needle`; panics with the log after `secs`.
    pub async fn wait_nth_in(
        &self,
        chat: i64,
        topic: Option<i64>,
        needle: &str,
        n: usize,
        secs: u64,
    ) -> String {
        let found = super::poll_until(Duration::from_secs(secs), || {
            let msgs: Vec<_> = self
                .tg
                .messages_in(chat, topic)
                .into_iter()
                .filter(|m| m.text.contains(needle))
                .collect();
            msgs.get(n).map(|m| m.text.clone())
        })
        .await;
        found.unwrap_or_else(|| {
            panic!(
                "no `{needle}` #{n} in chat {chat} topic {topic:?}: {:#?}\n{}",
                self.tg.messages(chat),
                self.log()
            )
        })
    }

    /// Waits for a bot message in `chat` (any, not only the last) satisfying `pred`.
    pub async fn wait_any(&self, chat: i64, secs: u64, pred: impl Fn(&str) -> bool) -> String {
        let found = self
            .tg
            .wait_messages(chat, Duration::from_secs(secs), |msgs| {
                msgs.iter().any(|m| pred(&m.text))
            })
            .await;
        match found {
            Some(msgs) => msgs
                .iter()
                .find(|m| pred(&m.text))
                .map(|m| m.text.clone())
                .unwrap_or_default(),
            None => panic!(
                "timed out; messages in chat {chat}: {:#?}\n--- kai log ---\n{}",
                self.tg.messages(chat),
                self.log()
            ),
        }
    }
}

impl Drop for Kai {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// The kai the daemon runs as: the one cargo built for the tests, or
/// `KAI_TEST_BIN` (a release build, to measure what operators run).
pub fn daemon_binary() -> PathBuf {
    std::env::var_os("KAI_TEST_BIN")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(env!("CARGO_BIN_EXE_kai")))
}

/// True when no process in `pids` is alive any more (zombies count as gone).
pub fn all_gone(pids: &[i32]) -> bool {
    let procs = proctree::snapshot();
    !pids.iter().any(|p| procs.iter().any(|q| q.pid == *p))
}

/// Whether any configured user ends up on `backend`.
pub fn uses_backend(opts: &Options, backend: &str) -> bool {
    opts.users.iter().any(
        |(_, id)| match opts.user_backends.iter().find(|(u, ..)| u == id) {
            Some((_, b, _)) => *b == backend,
            None => opts.backend == backend,
        },
    )
}
