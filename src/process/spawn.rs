//! Starting an agent CLI as the right OS account and making sure every
//! process it started is gone when we are done with it.
//!
//! Under another account the agent runs as
//! `sudo -n -H -u <os_user> --preserve-env=NAMES TMPDIR=… <exact binary> <args>`:
//! the binary is the exact path the sudoers rule names, `-n` makes a missing
//! rule an immediate error instead of a password prompt, and the variables
//! the agent inherits travel in sudo's environment, named but never valued
//! on its command line (which every local account can read in
//! `/proc/*/cmdline`; a proxy URL may carry a password). Only the paths kai
//! chooses itself (TMPDIR) are on the command line: the C library strips
//! TMPDIR from a setuid program's environment, so sudo would never see it.
//! Both ways need the sudoers `SETENV` tag. An agent is stopped with
//! `sudo -n -u <os_user> <this kai binary> reap <pid>`, because the service
//! account may not signal another account's processes.
//!
//! Every process kai starts gets an allow-listed environment (`env.rs`):
//! never the bot token or anything else of the daemon's.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, ChildStdin, ChildStdout, Command};

use super::env::child_env;
use super::sudo::reap_command;
use super::tree::{self, current_uid};

const STDERR_TAIL_LINES: usize = 20;

#[derive(Debug, thiserror::Error)]
pub enum ProcessError {
    #[error("cannot start {program}: {source}")]
    Spawn {
        program: String,
        source: std::io::Error,
    },
    #[error("the agent process has no {0} pipe")]
    Pipe(&'static str),
}

/// Whose account the agent runs under.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RunAs {
    /// The daemon's own account: started directly.
    Service,
    /// Another account, through sudo; `reaper` is this kai binary.
    Account {
        name: String,
        uid: u32,
        sudo: PathBuf,
        reaper: PathBuf,
    },
}

#[derive(Debug, Clone)]
pub struct SpawnSpec {
    pub program: PathBuf,
    pub args: Vec<String>,
    pub run_as: RunAs,
    /// Set explicitly (e.g. TMPDIR), on top of the pass-through lists. Under
    /// sudo these are on its command line, readable by every local account:
    /// only paths kai chooses, never a secret.
    pub env: Vec<(String, String)>,
    /// Working directory. The service account cannot enter another
    /// account's workspace, so under sudo it is used only with
    /// `cwd_via_sudo`; otherwise the agent is told it in the protocol.
    pub cwd: PathBuf,
    /// Under sudo, have sudo enter `cwd` as the agent's account (`-D`; the
    /// sudoers rule must carry `CWD=*`): for agents that, like claude, take
    /// their workspace from the process.
    pub cwd_via_sudo: bool,
}

/// A running agent process; dropping it kills its whole tree.
pub struct AgentProcess {
    child: Child,
    pid: i32,
    run_as: RunAs,
    stderr_tail: Arc<Mutex<VecDeque<String>>>,
    reaped: bool,
}

impl AgentProcess {
    pub fn spawn(spec: &SpawnSpec) -> Result<(Self, ChildStdin, ChildStdout), ProcessError> {
        let mut cmd = match &spec.run_as {
            RunAs::Service => {
                let mut c = Command::new(&spec.program);
                c.env_clear();
                c.envs(child_env(true));
                c.envs(spec.env.iter().map(|(k, v)| (k, v)));
                c.args(&spec.args);
                c.current_dir(&spec.cwd);
                c
            }
            RunAs::Account { name, sudo, .. } => {
                let mut c = Command::new(sudo);
                let inherited = child_env(false);
                c.env_clear();
                if let Ok(path) = std::env::var("PATH") {
                    c.env("PATH", path);
                }
                c.envs(inherited.iter().map(|(k, v)| (k, v)));
                // No `--` here: sudo reads `VAR=value` words only before
                // it, and after `--` takes `TMPDIR=…` for the command (which
                // no rule allows). The binary is an absolute path, so it
                // cannot be mistaken for an option.
                c.args(["-n", "-H", "-u", name]);
                if spec.cwd_via_sudo {
                    c.arg("-D").arg(&spec.cwd);
                }
                if !inherited.is_empty() {
                    let names: Vec<&str> = inherited.iter().map(|(k, _)| k.as_str()).collect();
                    c.arg(format!("--preserve-env={}", names.join(",")));
                }
                c.args(spec.env.iter().map(|(k, v)| format!("{k}={v}")));
                c.arg(&spec.program);
                c.args(&spec.args);
                // The workspace belongs to the agent's account; `/` is the
                // one directory both accounts can stand in.
                c.current_dir("/");
                c
            }
        };
        cmd.stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // Its own process group, so helpers that leave the tree can
            // still be found (see `tree.rs`).
            .process_group(0)
            .kill_on_drop(true);
        let shown = match &spec.run_as {
            RunAs::Service => spec.program.display().to_string(),
            RunAs::Account { name, .. } => format!("{} as {name}", spec.program.display()),
        };
        let mut child = cmd.spawn().map_err(|source| ProcessError::Spawn {
            program: shown,
            source,
        })?;
        let pid = child.id().map(|p| p as i32).unwrap_or(0);
        let stdin = child.stdin.take().ok_or(ProcessError::Pipe("stdin"))?;
        let stdout = child.stdout.take().ok_or(ProcessError::Pipe("stdout"))?;
        let stderr_tail = Arc::new(Mutex::new(VecDeque::new()));
        if let Some(stderr) = child.stderr.take() {
            let tail = Arc::clone(&stderr_tail);
            tokio::spawn(async move {
                let mut lines = BufReader::new(stderr).lines();
                while let Ok(Some(raw)) = lines.next_line().await {
                    let line = strip_ansi(&raw);
                    tracing::debug!(target: "kai::agent::stderr", "{line}");
                    if let Ok(mut t) = tail.lock() {
                        if t.len() == STDERR_TAIL_LINES {
                            t.pop_front();
                        }
                        t.push_back(line);
                    }
                }
            });
        }
        tracing::debug!(pid, agent = %spec.program.display(), "agent process started");
        Ok((
            AgentProcess {
                child,
                pid,
                run_as: spec.run_as.clone(),
                stderr_tail,
                reaped: false,
            },
            stdin,
            stdout,
        ))
    }

    pub fn pid(&self) -> i32 {
        self.pid
    }

    /// The account the agent was started as through sudo, if it was.
    pub fn sudo_account(&self) -> Option<&str> {
        match &self.run_as {
            RunAs::Service => None,
            RunAs::Account { name, .. } => Some(name),
        }
    }

    /// The last lines the agent (or sudo) wrote to stderr: the best clue
    /// when it dies before saying anything on the protocol.
    pub fn stderr_tail(&self) -> String {
        self.stderr_tail
            .lock()
            .map(|t| t.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// Waits briefly for the process to finish exiting, so that what it (or
    /// sudo) wrote to stderr last — the reason it died at start-up — is in
    /// the tail before anyone reads it.
    pub async fn settle(&mut self) {
        for _ in 0..25 {
            if self.has_exited() {
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    /// Whether the direct child has exited, without waiting.
    pub fn has_exited(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(Some(_)))
    }

    /// Kills the whole tree and waits for the direct child.
    pub async fn terminate(&mut self) {
        if self.reaped {
            return;
        }
        self.reaped = true;
        match &self.run_as {
            RunAs::Service => {
                let uid = current_uid();
                tree::kill_tree(self.pid, uid);
                if !tree::wait_gone(self.pid, uid, Duration::from_secs(2)).await {
                    tree::kill_tree(self.pid, uid);
                }
            }
            RunAs::Account {
                name,
                uid,
                sudo,
                reaper,
            } => {
                let status = Command::from(reap_command(sudo, name, reaper, self.pid))
                    .output()
                    .await;
                match status {
                    Ok(out) if out.status.success() => {}
                    Ok(out) => tracing::error!(
                        os_user = %name,
                        "could not stop the agent's processes: `sudo -n -u {name} {} reap` failed: {}; \
                         the sudoers rule for the service user must allow running {} as {name}",
                        reaper.display(),
                        String::from_utf8_lossy(&out.stderr).trim(),
                        reaper.display()
                    ),
                    Err(e) => {
                        tracing::error!(os_user = %name, "could not run sudo to stop the agent: {e}")
                    }
                }
                tree::wait_gone(self.pid, *uid, Duration::from_secs(2)).await;
            }
        }
        let _ = self.child.start_kill();
        let _ = tokio::time::timeout(Duration::from_secs(2), self.child.wait()).await;
        tracing::debug!(pid = self.pid, "agent process tree stopped");
    }
}

impl Drop for AgentProcess {
    fn drop(&mut self) {
        if self.reaped {
            return;
        }
        // A session dropped without `terminate` (a panic, runtime shutdown):
        // still leave nothing behind, synchronously.
        match &self.run_as {
            RunAs::Service => {
                tree::kill_tree(self.pid, current_uid());
            }
            RunAs::Account {
                name, sudo, reaper, ..
            } => {
                let _ = reap_command(sudo, name, reaper, self.pid).status();
            }
        }
    }
}

/// Removes terminal colour codes: codex colours its log lines even into a
/// pipe, and they would garble logs and messages to users.
fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            // CSI: ESC [ parameters… final byte in @..~
            if chars.next() == Some('[') {
                for c in chars.by_ref() {
                    if ('@'..='~').contains(&c) {
                        break;
                    }
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::strip_ansi;

    #[test]
    fn strips_colour_codes_only() {
        assert_eq!(
            strip_ansi("\u{1b}[2mtime\u{1b}[0m \u{1b}[31mERROR\u{1b}[0m x [y]"),
            "time ERROR x [y]"
        );
        assert_eq!(
            strip_ansi("sudo: a password is required"),
            "sudo: a password is required"
        );
    }
}
