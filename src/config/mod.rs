//! Environment, env file, users file and credentials, turned into one
//! validated [`Config`] — or into every [`Problem`] found on the way. Both
//! `kai run` and `kai check-config` go through [`load`], so what the check
//! accepts is exactly what the daemon will run with.

mod checker;
mod conversations;
pub mod envfile;
pub(crate) mod github;
mod keys;
pub(crate) mod problem;
mod sharing;
pub mod token;
pub mod users;
pub mod voice;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use crate::catalog::{self, Backend};
use crate::osuser;
pub use keys::{KEYS, SECRETS};
pub use problem::{Origin, Problem, Problems};
pub use token::Token;

use checker::Checker;
use keys::env_only;

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
    /// The group chats this user is served in (`chats` in the users file).
    pub chats: Vec<i64>,
    /// The most agents of this user that run at once.
    pub max_agents: usize,
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
    /// Inbox files older than this many days are removed; 0 = never.
    pub inbox_retention_days: u64,
    pub users: Vec<User>,
    pub service_user: String,
    /// `None` only when loaded without host checks.
    pub token: Option<Token>,
    /// `None` when GITHUB_WEBHOOK_LISTEN is unset: no GitHub work at all.
    pub github: Option<github::GithubConfig>,
    /// `None` when TRANSCRIBE_URL is unset: voice notes are answered "off".
    pub voice: Option<voice::VoiceConfig>,
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
    let inbox_retention_days = c.days("INBOX_RETENTION_DAYS", 30);
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
    let voice = voice::load(&mut c, &vars, opts.host_checks);

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
        inbox_retention_days,
    ) {
        (
            Some(backend),
            Some(default_model),
            Some(data_dir),
            Some(users_file),
            Some(telegram_api_url),
            Some(agent_timeout),
            Some(agent_idle),
            Some(inbox_retention_days),
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
            inbox_retention_days,
            users,
            service_user,
            token,
            github,
            voice,
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
        if known(key) || env_only(key) {
            vars.insert(key.clone(), (value.clone(), Origin::Environment));
        }
    }
    vars
}
