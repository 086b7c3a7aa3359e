//! `kai login-hints`: which OS accounts must run `codex login` themselves.
//! Codex credentials live in each account's own `~/.codex/auth.json`, so no
//! one can log in on another account's behalf.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use crate::catalog::Backend;
use crate::config::Config;
use crate::osuser;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Hint {
    pub os_user: String,
    pub auth_file: Option<PathBuf>,
    pub logged_in: bool,
    pub command: String,
}

/// One hint per distinct OS account with users on codex, sorted.
pub fn hints(cfg: &Config) -> Vec<Hint> {
    let accounts: BTreeSet<&str> = cfg
        .users
        .iter()
        .filter(|u| u.backend == Backend::Codex)
        .map(|u| u.os_user.as_str())
        .collect();
    let bin = cfg.codex_bin.as_deref().unwrap_or(Path::new("codex"));
    accounts
        .into_iter()
        .map(|name| {
            let auth = osuser::by_name(name).map(|a| a.home.join(".codex").join("auth.json"));
            let logged_in = auth.as_ref().is_some_and(|p| p.exists());
            let command = login_command(name, bin, name == cfg.service_user);
            Hint {
                os_user: name.to_string(),
                auth_file: auth,
                logged_in,
                command,
            }
        })
        .collect()
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

pub fn render(hints: &[Hint]) -> String {
    if hints.is_empty() {
        return "No Telegram user is on the codex backend: nobody needs `codex login`.\n".into();
    }
    let mut out = String::new();
    for h in hints {
        let file = h
            .auth_file
            .as_ref()
            .map_or("(account not found)".to_string(), |p| {
                p.display().to_string()
            });
        if h.logged_in {
            out.push_str(&format!("{}: logged in ({file} exists)\n", h.os_user));
        } else {
            out.push_str(&format!(
                "{}: NOT logged in ({file} missing); as {} run: {}\n",
                h.os_user, h.os_user, h.command
            ));
        }
    }
    out
}
