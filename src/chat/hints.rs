//! `kai login-hints`: which OS accounts must log in to their agent CLI
//! themselves. Credentials live in each account's own home, so no one can
//! log in on another account's behalf. The check looks where the agent
//! will look: an agent under the daemon's own account inherits its
//! `CODEX_HOME` / `CLAUDE_CONFIG_DIR` / `ANTHROPIC_API_KEY`; one under
//! another account runs with that account's home (`sudo -H`) and nothing
//! of those.
//!
//! The chat gives the same advice when an agent cannot start: the login
//! an account lacks ([`login_hint`]), the sudoers rule the operator must
//! add ([`sudo_refused`]).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use super::Shared;
use crate::catalog::Backend;
use crate::config::Config;
use crate::osuser;
use crate::process::sudo::sudo_kai_commands;

/// What was found for one account and backend.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    /// Credentials found: where.
    LoggedIn(String),
    /// Nothing found: where we looked.
    LoggedOut(String),
    /// The check itself failed (an account that does not exist, a home we
    /// may not read).
    Unknown(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub os_user: String,
    pub backend: Backend,
    pub status: Status,
    /// What the operator runs to log the account in.
    pub command: String,
}

impl Hint {
    pub fn ok(&self) -> bool {
        matches!(self.status, Status::LoggedIn(_))
    }
}

/// The environment the agents of the daemon's own account inherit (the
/// variables of `process/env.rs::child_env` that decide where credentials are).
pub type Env = BTreeMap<String, String>;

/// One hint per distinct OS account and backend in use, sorted.
pub fn hints(cfg: &Config, env: &Env) -> Vec<Hint> {
    let pairs: BTreeSet<(&str, Backend)> = cfg
        .users
        .iter()
        .map(|u| (u.os_user.as_str(), u.backend))
        .collect();
    pairs
        .into_iter()
        .map(|(name, backend)| {
            let own = name == cfg.service_user;
            let home = osuser::by_name(name).map(|a| a.home);
            let bin = cfg.agent_bin(backend).unwrap_or(Path::new(backend.as_str()));
            let (status, command) = match backend {
                Backend::Codex => (
                    codex_status(home.as_deref(), own, env),
                    login_command(name, bin, own),
                ),
                Backend::Claude => (
                    claude_status(home.as_deref(), own, env),
                    format!(
                        "{} and type /login (or set ANTHROPIC_API_KEY in the `env` of ~/.claude/settings.json)",
                        as_account(name, own, &bin.display().to_string())
                    ),
                ),
            };
            Hint {
                os_user: name.to_string(),
                backend,
                status,
                command,
            }
        })
        .collect()
}

/// Codex keeps its login in `$CODEX_HOME/auth.json`, `~/.codex` by default.
fn codex_status(home: Option<&Path>, own: bool, env: &Env) -> Status {
    let dir = match (own, env.get("CODEX_HOME")) {
        (true, Some(dir)) => PathBuf::from(dir),
        _ => match home {
            Some(h) => h.join(".codex"),
            None => return Status::Unknown("the account does not exist".into()),
        },
    };
    first_present(&[dir.join("auth.json")])
}

/// Claude Code is logged in with `.credentials.json` in its config dir
/// (`$CLAUDE_CONFIG_DIR`, `~/.claude` by default), or has an API key: in
/// the environment, or in the `env` of its `settings.json`.
fn claude_status(home: Option<&Path>, own: bool, env: &Env) -> Status {
    if own && env.get("ANTHROPIC_API_KEY").is_some_and(|k| !k.is_empty()) {
        return Status::LoggedIn("ANTHROPIC_API_KEY in the environment".into());
    }
    let dir = match (own, env.get("CLAUDE_CONFIG_DIR")) {
        (true, Some(dir)) => PathBuf::from(dir),
        _ => match home {
            Some(h) => h.join(".claude"),
            None => return Status::Unknown("the account does not exist".into()),
        },
    };
    let settings = dir.join("settings.json");
    match std::fs::read_to_string(&settings) {
        Ok(text) => {
            let key = serde_json::from_str::<serde_json::Value>(&text)
                .ok()
                .and_then(|v| v.pointer("/env/ANTHROPIC_API_KEY").cloned())
                .is_some_and(|k| k.as_str().is_some_and(|k| !k.is_empty()));
            if key {
                return Status::LoggedIn(format!("ANTHROPIC_API_KEY in {}", settings.display()));
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Status::Unknown(format!("cannot read {}: {e}", settings.display()))
        }
        Err(_) => {}
    }
    first_present(&[dir.join(".credentials.json")])
}

/// Logged in when one of `files` exists; unknown when we may not look.
fn first_present(files: &[PathBuf]) -> Status {
    for f in files {
        match std::fs::metadata(f) {
            Ok(_) => return Status::LoggedIn(format!("{} exists", f.display())),
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
                return Status::Unknown(format!(
                    "cannot check {}: {e}; run this as root",
                    f.display()
                ))
            }
            Err(_) => {}
        }
    }
    let shown: Vec<String> = files.iter().map(|f| f.display().to_string()).collect();
    Status::LoggedOut(format!("{} missing", shown.join(", ")))
}

/// What an operator types to log `os_user` in: the account's own codex,
/// as that account (codex keeps credentials in that account's home).
pub fn login_command(os_user: &str, codex_bin: &Path, own_account: bool) -> String {
    as_account(
        os_user,
        own_account,
        &format!("{} login", codex_bin.display()),
    )
}

/// `command` as an operator runs it for `os_user`: directly on their own
/// account, else through sudo with that account's home.
pub fn as_account(os_user: &str, own_account: bool, command: &str) -> String {
    if own_account {
        command.to_string()
    } else {
        format!("sudo -u {os_user} -H {command}")
    }
}

/// What a user whose account is not logged in to its agent CLI reads: who
/// must log in, and how.
pub(super) fn login_hint(backend: Backend, os_user: &str, bin: &Path, own_account: bool) -> String {
    if backend == Backend::Claude {
        let how = format!(
            "`{}`",
            as_account(os_user, own_account, &bin.display().to_string())
        );
        return format!(
            "🔑 `{os_user}` is not logged in to Claude Code on this host, so I cannot run your request.\n\n\
             Claude credentials belong to each account: someone with a shell as `{os_user}` on the host starts \
             Claude Code (for example {how}) and runs /login, or gives that account an API key \
             (`ANTHROPIC_API_KEY` in the `env` of its ~/.claude/settings.json); then send your message again."
        );
    }
    let how = format!("`{}`", login_command(os_user, bin, own_account));
    format!(
        "🔑 `{os_user}` is not logged in to Codex on this host, so I cannot run your request.\n\n\
         Codex credentials belong to each account: someone with a shell as `{os_user}` on the host runs\n\n\
         codex login\n\n(for example {how}), then send your message again."
    )
}

/// The advice for a sudo refusal: the whole contract rule, the kai
/// subcommands included (granting only the agent binary would let it start
/// but not be stopped, nor files reach it).
pub(super) fn sudo_refused(backend: Backend, os_user: &str, bin: &Path, shared: &Shared) -> String {
    let svc = &shared.cfg.service_user;
    let kai = sudo_kai_commands(&shared.host.reaper).join(", ");
    let rule = match backend {
        Backend::Codex => format!("`{svc} ALL=({os_user}) NOPASSWD:SETENV: {}, {kai}`", bin.display()),
        Backend::Claude => format!(
            "`{svc} ALL=({os_user}) NOPASSWD:SETENV: {kai}` and `{svc} ALL=({os_user}) CWD=* NOPASSWD:SETENV: {}`",
            bin.display()
        ),
    };
    tracing::error!(
        os_user,
        "sudo refused to start the agent; the sudoers contract rule for {os_user} is missing: {rule}"
    );
    format!(
        "⚠️ I am not allowed to start the agent as `{os_user}`: the sudoers rule is missing.\n\
         The operator must allow the service user to run {} as {os_user} (NOPASSWD, SETENV{}) — `{} -l` shows the current rules.",
        bin.display(),
        if backend == Backend::Claude { ", and CWD=* so Claude Code can start in your workspace" } else { "" },
        shared.host.sudo.display()
    )
}

pub fn render(hints: &[Hint]) -> String {
    if hints.is_empty() {
        return "No Telegram user is configured: nobody needs to log in.\n".into();
    }
    let mut out = String::new();
    for h in hints {
        let who = format!("{} ({})", h.os_user, h.backend);
        match &h.status {
            Status::LoggedIn(how) => out.push_str(&format!("{who}: logged in ({how})\n")),
            Status::LoggedOut(why) => out.push_str(&format!(
                "{who}: NOT logged in ({why}); as {} run: {}\n",
                h.os_user, h.command
            )),
            Status::Unknown(why) => out.push_str(&format!("{who}: cannot tell ({why})\n")),
        }
    }
    out
}
