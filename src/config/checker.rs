//! The checks of single values (paths, URLs, seconds, binaries) and of the
//! users file against the rest of the configuration: each failure becomes a
//! [`Problem`] naming the key and where its value came from.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::problem::{Origin, Problem};
use super::{sharing, users, User, Vars};
use crate::catalog::{self, Backend};
use crate::osuser;

/// The longest retention in days (ten years): a larger number is more
/// likely a typo than a wish, and `validate.nix` refuses the same.
const MAX_DAYS: u64 = 3650;

/// Reads values from the gathered variables and collects every problem.
pub(super) struct Checker<'a> {
    pub(super) vars: &'a Vars,
    pub(super) problems: Vec<Problem>,
}

impl Checker<'_> {
    pub(super) fn get(&self, key: &str) -> Option<(String, Origin)> {
        self.vars.get(key).cloned()
    }

    pub(super) fn problem(&mut self, key: &str, origin: Origin, message: String) {
        self.problems.push(Problem {
            key: key.into(),
            origin,
            message,
        });
    }

    pub(super) fn ok<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        origin: Origin,
        r: Result<T, E>,
    ) -> Option<T> {
        r.map_err(|e| self.problem(key, origin, e.to_string())).ok()
    }

    pub(super) fn absolute_path(&mut self, key: &str, default: &str) -> Option<PathBuf> {
        let (v, o) = self.get(key).unwrap_or((default.into(), Origin::Default));
        let p = PathBuf::from(&v);
        if p.is_absolute() {
            Some(p)
        } else {
            self.problem(key, o, format!("`{v}` must be an absolute path"));
            None
        }
    }

    pub(super) fn url(&mut self, key: &str, default: &str) -> Option<String> {
        let (v, o) = self.get(key).unwrap_or((default.into(), Origin::Default));
        let rest = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"));
        match rest {
            // No whitespace: no URL holds one, and lib.nix refuses it too.
            Some(host)
                if !host.is_empty()
                    && !host.starts_with('/')
                    && !v.contains(char::is_whitespace) =>
            {
                Some(v.trim_end_matches('/').to_string())
            }
            _ => {
                self.problem(key, o, format!("`{v}` is not an http(s) URL"));
                None
            }
        }
    }

    pub(super) fn seconds(&mut self, key: &str, default: u64) -> Option<Duration> {
        let Some((v, o)) = self.get(key) else {
            return Some(Duration::from_secs(default));
        };
        match v.parse::<u64>() {
            Ok(n) if (1..=86_400).contains(&n) => Some(Duration::from_secs(n)),
            _ => {
                self.problem(
                    key,
                    o,
                    format!("`{v}` must be a whole number of seconds from 1 to 86400"),
                );
                None
            }
        }
    }

    /// A number of days from 0 to [`MAX_DAYS`] (0 means never, for a
    /// retention).
    pub(super) fn days(&mut self, key: &str, default: u64) -> Option<u64> {
        let Some((v, o)) = self.get(key) else {
            return Some(default);
        };
        match v.parse::<u64>() {
            Ok(n) if n <= MAX_DAYS => Some(n),
            _ => {
                self.problem(
                    key,
                    o,
                    format!("`{v}` must be a whole number of days from 0 (never) to {MAX_DAYS}"),
                );
                None
            }
        }
    }

    /// An agent binary: checked only when some user needs it, so a codex-only
    /// install never has to mention claude at all.
    pub(super) fn binary(
        &mut self,
        key: &str,
        needed_by: &[&str],
        check_if_set: bool,
    ) -> Option<PathBuf> {
        let needed = !needed_by.is_empty();
        let Some((v, o)) = self.get(key) else {
            if needed {
                let who: Vec<String> = needed_by.iter().map(|n| format!("`{n}`")).collect();
                self.problem(
                    key,
                    Origin::Default,
                    format!(
                        "required because {} {} on this backend; set it to the absolute path of the binary",
                        who.join(", "),
                        if who.len() == 1 { "is" } else { "are" }
                    ),
                );
            }
            return None;
        };
        let path = PathBuf::from(&v);
        if !needed && !check_if_set {
            return Some(path);
        }
        let meta = std::fs::metadata(&path);
        let message = if !path.is_absolute() {
            Some(format!(
                "`{v}` must be an absolute path (sudo and the sudoers rule need the exact binary)"
            ))
        } else {
            match meta {
                Err(e) => Some(format!("`{v}`: {e}")),
                Ok(m) if !m.is_file() => Some(format!("`{v}` is not a file")),
                Ok(m) if m.permissions().mode() & 0o111 == 0 => {
                    Some(format!("`{v}` is not executable"))
                }
                Ok(_) => None,
            }
        };
        match message {
            Some(m) => {
                self.problem(key, o, m);
                None
            }
            None => Some(path),
        }
    }

    /// The users, or `None` when the file cannot be read or parsed at all.
    /// `global` is `None` when AGENT_BACKEND is invalid (reported on its
    /// own): then the models of users who inherit it are not checked.
    pub(super) fn users(
        &mut self,
        path: &Path,
        global: Option<Backend>,
        global_model: &str,
        data_dir: &Path,
        service_user: &str,
        host_checks: bool,
    ) -> Option<Vec<User>> {
        let origin = Origin::File {
            path: path.to_path_buf(),
            line: None,
        };
        let text = match std::fs::read_to_string(path) {
            Ok(t) => t,
            Err(e) => {
                self.problem("KAI_USERS_FILE", origin, format!("cannot read: {e}"));
                return None;
            }
        };
        let entries = match users::parse(&text) {
            Ok(e) => e,
            Err(errs) => {
                for e in errs {
                    self.problem(&e.field, origin.clone(), e.message);
                }
                return None;
            }
        };
        let mut out = Vec::new();
        // Position in the file of each user kept, for the account rule below.
        let mut index = Vec::new();
        for (i, e) in entries.into_iter().enumerate() {
            let inherited = e.backend.is_none();
            let backend = match e.backend.as_deref().map(str::parse::<Backend>) {
                None => global.unwrap_or(Backend::Claude),
                Some(Ok(b)) => b,
                Some(Err(err)) => {
                    self.problem(
                        &format!("users[{i}].backend"),
                        origin.clone(),
                        format!("user `{}`: {err}", e.name),
                    );
                    continue;
                }
            };
            let model = match e.model {
                // Against an invalid global backend there is nothing to check.
                Some(m) if inherited && global.is_none() => m,
                Some(m) => match catalog::validate(backend, &m) {
                    Ok(()) => m,
                    Err(err) => {
                        self.problem(
                            &format!("users[{i}].model"),
                            origin.clone(),
                            format!("user `{}`: {err}", e.name),
                        );
                        continue;
                    }
                },
                None if Some(backend) == global => global_model.to_string(),
                None => catalog::default_model(backend).to_string(),
            };
            let os_user = e.os_user.unwrap_or_else(|| service_user.to_string());
            if host_checks && osuser::by_name(&os_user).is_none() {
                self.problem(
                    &format!("users[{i}].os_user"),
                    origin.clone(),
                    format!(
                        "user `{}`: there is no OS account `{os_user}` on this host",
                        e.name
                    ),
                );
            }
            index.push(i);
            out.push(User {
                workspace: e
                    .workspace
                    .unwrap_or_else(|| data_dir.join("home").join(&e.name)),
                is_service_user: os_user == service_user,
                name: e.name,
                telegram_id: e.telegram_id,
                os_user,
                backend,
                model,
                github: e.github,
                chats: e.chats,
                max_agents: e.max_agents.unwrap_or(users::DEFAULT_MAX_AGENTS),
            });
        }
        sharing::account_rule(self, &out, &index, &origin, service_user);
        sharing::workspace_rule(self, &out, &index, &origin);
        Some(out)
    }
}
