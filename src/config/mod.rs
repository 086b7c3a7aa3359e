//! Environment, env file, users file and credentials, turned into one
//! validated [`Config`] — or into every [`Problem`] found on the way. Both
//! `kai run` and `kai check-config` go through [`load`], so what the check
//! accepts is exactly what the daemon will run with.

pub mod envfile;
pub(crate) mod github;
pub(crate) mod problem;
pub mod token;
pub mod users;

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::{self, Backend};
use crate::osuser;
pub use problem::{Origin, Problem, Problems};
pub use token::Token;

/// Keys the env file may hold, with what each means (shown by `--help`).
pub const KEYS: &[(&str, &str)] = &[
    (
        "AGENT_BACKEND",
        "`claude` or `codex`: the default backend [default: claude]",
    ),
    (
        "DEFAULT_MODEL",
        "model for the default backend [default: the backend's catalog default]",
    ),
    (
        "CODEX_BIN",
        "absolute path of the codex binary; required when any user is on codex",
    ),
    (
        "CODEX_VERSION",
        "codex CLI version the install was built against (drift warning)",
    ),
    (
        "CLAUDE_BIN",
        "absolute path of the claude binary; required when any user is on claude",
    ),
    (
        "TELEGRAM_API_URL",
        "Bot API base URL [default: https://api.telegram.org]",
    ),
    (
        "KAI_USERS_FILE",
        "path of the users file [default: /etc/kai/users.json]",
    ),
    (
        "KAI_DATA_DIR",
        "state, per-user workspaces and tmp [default: /var/lib/kai]",
    ),
    (
        "AGENT_TIMEOUT_SECONDS",
        "agent silence after which a turn fails [default: 120]",
    ),
    (
        "AGENT_IDLE_SECONDS",
        "an agent idle this long is stopped; its conversation resumes on the next message [default: 900]",
    ),
    (
        "TELEGRAM_BOT_TOKEN_FILE",
        "file holding the bot token (never put the token itself in the env file)",
    ),
    (
        "GITHUB_WEBHOOK_LISTEN",
        "host:port of the GitHub webhook server [default: unset = no server, no GitHub work]",
    ),
    (
        "GITHUB_API_URL",
        "GitHub REST API base URL [default: https://api.github.com]",
    ),
    (
        "GITHUB_JOB_TIMEOUT_SECONDS",
        "limit for one review or triage run [default: 900]",
    ),
    (
        "GITHUB_WEBHOOK_SECRET_FILE",
        "file holding the webhook secret (never the secret itself in the env file)",
    ),
    (
        "GITHUB_TOKEN_FILE",
        "file holding the GitHub token (never the token itself in the env file)",
    ),
];

/// Secrets that may come from the environment (development) but never from
/// the env file, which lives in the Nix store; with where they belong.
const SECRETS: &[(&str, &str)] = &[
    (
        "TELEGRAM_BOT_TOKEN",
        "use TELEGRAM_BOT_TOKEN_FILE or the `telegram-bot-token` credential",
    ),
    (
        "GITHUB_WEBHOOK_SECRET",
        "use GITHUB_WEBHOOK_SECRET_FILE or the `github-webhook-secret` credential",
    ),
    (
        "GITHUB_TOKEN",
        "use GITHUB_TOKEN_FILE or the `github-token` credential",
    ),
];

/// Variables in the environment but not the env file: secrets and systemd's.
const ENV_ONLY: &[&str] = &[
    "TELEGRAM_BOT_TOKEN",
    "GITHUB_WEBHOOK_SECRET",
    "GITHUB_TOKEN",
    "CREDENTIALS_DIRECTORY",
];

/// A value and where it came from.
pub(crate) type Vars = BTreeMap<String, (String, Origin)>;

/// One Telegram user, with everything inherited resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    pub name: String,
    pub telegram_id: i64,
    /// The account the agent runs as.
    pub os_user: String,
    /// True when that account is the daemon's own (no sudo needed).
    pub is_service_user: bool,
    pub backend: Backend,
    pub model: String,
    pub workspace: PathBuf,
    /// The repositories whose GitHub events run as this user.
    pub github: Option<users::GithubEntry>,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub backend: Backend,
    pub default_model: String,
    pub codex_bin: Option<PathBuf>,
    pub codex_version: Option<String>,
    pub claude_bin: Option<PathBuf>,
    pub telegram_api_url: String,
    pub users_file: PathBuf,
    pub data_dir: PathBuf,
    pub agent_timeout: Duration,
    /// An idle agent is stopped after this long (memory follows active chats).
    pub agent_idle: Duration,
    pub users: Vec<User>,
    pub service_user: String,
    /// `None` only when loaded without host checks.
    pub token: Option<Token>,
    /// `None` when GITHUB_WEBHOOK_LISTEN is unset: no GitHub work at all.
    pub github: Option<github::GithubConfig>,
}

impl Config {
    pub fn user_by_telegram_id(&self, id: i64) -> Option<&User> {
        self.users.iter().find(|u| u.telegram_id == id)
    }

    /// The binary a backend runs, if configured.
    pub fn agent_bin(&self, backend: Backend) -> Option<&Path> {
        match backend {
            Backend::Codex => self.codex_bin.as_deref(),
            Backend::Claude => self.claude_bin.as_deref(),
        }
    }

    /// Where an OS user's agent keeps temporary files.
    pub fn tmp_dir(&self, os_user: &str) -> PathBuf {
        self.data_dir.join("tmp").join(os_user)
    }
}

/// What to load and how strictly.
#[derive(Debug, Clone)]
pub struct LoadOptions {
    pub env_file: Option<PathBuf>,
    /// False for build-time checks, where neither the secret nor the OS
    /// accounts exist yet: the token and account lookups are skipped.
    pub host_checks: bool,
    /// The process environment (injected so tests need not mutate it).
    pub environment: BTreeMap<String, String>,
}

impl LoadOptions {
    pub fn from_process(env_file: Option<PathBuf>, host_checks: bool) -> Self {
        LoadOptions {
            env_file,
            host_checks,
            environment: std::env::vars().collect(),
        }
    }
}

/// Loads and validates everything; on failure returns every problem.
pub fn load(opts: &LoadOptions) -> Result<Config, Problems> {
    let mut problems = Vec::new();
    let vars = gather(opts, &mut problems);
    let mut c = Checker {
        vars: &vars,
        problems,
    };

    let backend = c
        .get("AGENT_BACKEND")
        .map(|(v, o)| (v.parse::<Backend>(), o))
        .map_or(Some(Backend::Claude), |(r, o)| c.ok("AGENT_BACKEND", o, r));
    let default_model = match (backend, c.get("DEFAULT_MODEL")) {
        (Some(b), Some((m, o))) => {
            let r = catalog::validate(b, &m).map(|()| m);
            c.ok("DEFAULT_MODEL", o, r)
        }
        (Some(b), None) => Some(catalog::default_model(b).to_string()),
        (None, _) => None,
    };
    let data_dir = c.absolute_path("KAI_DATA_DIR", "/var/lib/kai");
    let users_file = c.absolute_path("KAI_USERS_FILE", "/etc/kai/users.json");
    let telegram_api_url = c.url("TELEGRAM_API_URL", "https://api.telegram.org");
    let agent_timeout = c.seconds("AGENT_TIMEOUT_SECONDS", 120);
    let agent_idle = c.seconds("AGENT_IDLE_SECONDS", 900);
    let codex_version = c.get("CODEX_VERSION").map(|(v, _)| v);

    let service_user = match osuser::current() {
        Some(a) => a.name,
        None => {
            c.problem(
                "KAI_USERS_FILE",
                Origin::Default,
                "cannot look up the account this process runs as".into(),
            );
            String::new()
        }
    };
    // The users file is checked whatever else failed, so one run reports
    // every independent problem: an invalid global model or data dir is
    // reported on its own key and stood in for by its default here.
    let users = match &users_file {
        Some(path) => {
            let fallback_backend = backend.unwrap_or(Backend::Claude);
            let model = default_model
                .clone()
                .unwrap_or_else(|| catalog::default_model(fallback_backend).to_string());
            let dd = data_dir
                .clone()
                .unwrap_or_else(|| PathBuf::from("/var/lib/kai"));
            c.users(path, backend, &model, &dd, &service_user, opts.host_checks)
        }
        None => None,
    };
    // Without the users we cannot tell who needs which binary: then every
    // binary that is set is checked.
    let users_known = users.is_some();
    let users = users.unwrap_or_default();
    // Who needs each binary: a missing one is reported with their names.
    let on = |b: Backend| -> Vec<&str> {
        users
            .iter()
            .filter(|u| u.backend == b)
            .map(|u| u.name.as_str())
            .collect()
    };
    let codex_bin = c.binary("CODEX_BIN", &on(Backend::Codex), !users_known);
    let claude_bin = c.binary("CLAUDE_BIN", &on(Backend::Claude), !users_known);

    let github = github::load(&mut c, &vars, &users, opts.host_checks);

    let token = if opts.host_checks {
        match token::resolve(&vars) {
            Ok(t) => Some(t),
            Err(p) => {
                c.problems.push(p);
                None
            }
        }
    } else {
        None
    };

    if !c.problems.is_empty() {
        return Err(Problems(c.problems));
    }
    match (
        backend,
        default_model,
        data_dir,
        users_file,
        telegram_api_url,
        agent_timeout,
        agent_idle,
    ) {
        (
            Some(backend),
            Some(default_model),
            Some(data_dir),
            Some(users_file),
            Some(telegram_api_url),
            Some(agent_timeout),
            Some(agent_idle),
        ) => Ok(Config {
            backend,
            default_model,
            codex_bin,
            codex_version,
            claude_bin,
            telegram_api_url,
            users_file,
            data_dir,
            agent_timeout,
            agent_idle,
            users,
            service_user,
            token,
            github,
        }),
        // Every None above pushed a problem, so this arm is unreachable in
        // practice; answering with a problem keeps it honest anyway.
        _ => Err(Problems(vec![Problem {
            key: "AGENT_BACKEND".into(),
            origin: Origin::Default,
            message: "configuration incomplete".into(),
        }])),
    }
}

/// Env file first, then the process environment on top.
fn gather(opts: &LoadOptions, problems: &mut Vec<Problem>) -> Vars {
    let known = |k: &str| KEYS.iter().any(|(n, _)| *n == k);
    let mut vars = Vars::new();
    if let Some(path) = &opts.env_file {
        let file_origin = |line| Origin::File {
            path: path.clone(),
            line,
        };
        match std::fs::read_to_string(path) {
            Err(e) => problems.push(Problem {
                key: "--env-file".into(),
                origin: file_origin(None),
                message: format!("cannot read: {e}"),
            }),
            Ok(text) => match envfile::parse(&text) {
                Err(errs) => problems.extend(errs.into_iter().map(|e| Problem {
                    key: "syntax".into(),
                    origin: file_origin(Some(e.line)),
                    message: e.reason,
                })),
                Ok(entries) => {
                    for (line, key, value) in entries {
                        if let Some((_, instead)) = SECRETS.iter().find(|(k, _)| *k == key) {
                            let what = if key == "TELEGRAM_BOT_TOKEN" {
                                "token"
                            } else {
                                "secret"
                            };
                            problems.push(Problem {
                                key,
                                origin: file_origin(Some(line)),
                                message: format!("the {what} must not be in the env file (it may live in the Nix store); {instead}"),
                            });
                        } else if !known(&key) {
                            problems.push(Problem {
                                key,
                                origin: file_origin(Some(line)),
                                message: format!(
                                    "unknown key; known keys: {}",
                                    KEYS.iter().map(|(k, _)| *k).collect::<Vec<_>>().join(", ")
                                ),
                            });
                        } else {
                            vars.insert(key, (value, file_origin(Some(line))));
                        }
                    }
                }
            },
        }
    }
    for (key, value) in &opts.environment {
        if known(key) || ENV_ONLY.contains(&key.as_str()) {
            vars.insert(key.clone(), (value.clone(), Origin::Environment));
        }
    }
    vars
}

struct Checker<'a> {
    vars: &'a Vars,
    problems: Vec<Problem>,
}

impl Checker<'_> {
    fn get(&self, key: &str) -> Option<(String, Origin)> {
        self.vars.get(key).cloned()
    }

    fn problem(&mut self, key: &str, origin: Origin, message: String) {
        self.problems.push(Problem {
            key: key.into(),
            origin,
            message,
        });
    }

    fn ok<T, E: std::fmt::Display>(
        &mut self,
        key: &str,
        origin: Origin,
        r: Result<T, E>,
    ) -> Option<T> {
        r.map_err(|e| self.problem(key, origin, e.to_string())).ok()
    }

    fn absolute_path(&mut self, key: &str, default: &str) -> Option<PathBuf> {
        let (v, o) = self.get(key).unwrap_or((default.into(), Origin::Default));
        let p = PathBuf::from(&v);
        if p.is_absolute() {
            Some(p)
        } else {
            self.problem(key, o, format!("`{v}` must be an absolute path"));
            None
        }
    }

    fn url(&mut self, key: &str, default: &str) -> Option<String> {
        let (v, o) = self.get(key).unwrap_or((default.into(), Origin::Default));
        let rest = v
            .strip_prefix("https://")
            .or_else(|| v.strip_prefix("http://"));
        match rest {
            Some(host) if !host.is_empty() && !host.starts_with('/') => {
                Some(v.trim_end_matches('/').to_string())
            }
            _ => {
                self.problem(key, o, format!("`{v}` is not an http(s) URL"));
                None
            }
        }
    }

    fn seconds(&mut self, key: &str, default: u64) -> Option<Duration> {
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

    /// An agent binary: checked only when some user needs it, so a codex-only
    /// install never has to mention claude at all.
    fn binary(&mut self, key: &str, needed_by: &[&str], check_if_set: bool) -> Option<PathBuf> {
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
    fn users(
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
            });
        }
        self.account_rule(&out, &index, &origin, service_user);
        Some(out)
    }

    /// Agents never run as the service account while it can sudo: such an
    /// agent could read the bot token and use the service account's sudo
    /// rules to run agents as every other account. Either no user is on the
    /// service account, or all are (single-account mode, no sudo at all).
    fn account_rule(&mut self, users: &[User], index: &[usize], origin: &Origin, service: &str) {
        let others: Vec<String> = users
            .iter()
            .filter(|u| !u.is_service_user)
            .map(|u| format!("`{}` ({})", u.name, u.os_user))
            .collect();
        if others.is_empty() {
            return;
        }
        for (u, i) in users.iter().zip(index).filter(|(u, _)| u.is_service_user) {
            self.problem(
                &format!("users[{i}].os_user"),
                origin.clone(),
                format!(
                    "user `{}` would run their agent as the service account `{service}`, which holds \
                     the sudo rights to run the agents of {}; give `{}` an OS account of their own \
                     (an unprivileged one, not `{service}`), or run every agent as `{service}` \
                     (single-account mode: every os_user null)",
                    u.name,
                    others.join(", "),
                    u.name
                ),
            );
        }
    }
}
