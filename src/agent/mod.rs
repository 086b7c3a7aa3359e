//! Agent CLIs behind one small interface: start a session, send a message,
//! read events until the turn is done, interrupt, close. Each backend speaks
//! its own protocol in its own folder (`codex/`, `claude/`); nothing
//! vendor-specific leaks out. Starting processes as another account is
//! `process/`'s job.

pub(crate) mod claude;
pub mod codex;
pub(crate) mod input;
pub mod launch;
pub mod ndjson;
pub(crate) mod oneshot;
pub(crate) mod reply;

/// What the user is told when the agent sent a line over the NDJSON cap.
pub fn line_too_long(bytes: u64) -> String {
    format!(
        "Part of this reply ({:.1} MiB) was over kai's {} MiB limit for one agent message and was left out.",
        bytes as f64 / (1024.0 * 1024.0),
        ndjson::MAX_LINE / (1024 * 1024)
    )
}
use std::path::PathBuf;

use crate::catalog::Backend;
use crate::process::spawn::{AgentProcess, ProcessError, SpawnSpec};
use crate::process::sudo::is_sudo_refusal;

/// What a running turn reports.
#[derive(Debug, Clone, PartialEq)]
pub enum AgentEvent {
    /// The reply so far (the whole text, not a delta).
    Text(String),
    /// What the agent is doing, for a progress line (e.g. a command it runs).
    Activity(String),
    /// Something happened that has nothing to show (e.g. command output):
    /// the agent is alive, which is what the silence timeout measures.
    Alive,
    /// Something the user must know about this reply, shown with it at the
    /// end (e.g. a part of it was too big to pass on).
    Warning(String),
    /// Figures about the plan's limits, tokens or cost (`usage/`).
    Usage(crate::usage::Usage),
    /// The turn ended; `error` is set when it failed, `interrupted` after a stop.
    Done {
        text: String,
        error: Option<String>,
        interrupted: bool,
    },
}

#[derive(Debug, thiserror::Error)]
pub enum AgentError {
    #[error(transparent)]
    Process(#[from] ProcessError),
    #[error("the agent exited{}", detail_suffix(.detail))]
    Exited { detail: String },
    #[error("the agent did not answer `{0}` in time")]
    Unresponsive(String),
    #[error("the agent refused `{method}`: {message}")]
    Refused { method: String, message: String },
    #[error("the agent sent an unexpected answer to `{0}`")]
    Protocol(String),
    #[error("{os_user} is not logged in to the agent")]
    NotLoggedIn { os_user: String },
    /// A read-only job was not confirmed read-only by the agent: it is not
    /// run at all rather than run with more rights than it was given.
    #[error("refusing to run a read-only job: {detail}")]
    NotReadOnly { detail: String },
    /// sudo would not start the agent as its account: the sudoers rule the
    /// contract asks for is missing or different.
    #[error("sudo refused to start the agent as `{os_user}`: {detail}")]
    SudoRefused { os_user: String, detail: String },
}

impl AgentError {
    /// The process ended: its last stderr lines are the best clue why, and
    /// when sudo wrote them, the refusal is told apart from an agent crash.
    pub fn exited(process: &AgentProcess) -> Self {
        let detail = process.stderr_tail();
        match process.sudo_account() {
            Some(os_user) if is_sudo_refusal(&detail) => AgentError::SudoRefused {
                os_user: os_user.to_string(),
                detail,
            },
            _ => AgentError::Exited { detail },
        }
    }
}

fn detail_suffix(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

/// What an agent may do, and whether its conversation outlives it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Access {
    /// A chat: the agent acts as its OS account may (that account is the
    /// boundary), and its conversation is kept so it can be resumed.
    Full,
    /// A one-turn job over text strangers wrote: no file writes, no
    /// commands, every approval request declined, nothing persisted.
    ReadOnlyEphemeral,
}

/// Everything needed to start a session for one chat or job.
#[derive(Debug, Clone)]
pub struct StartSpec {
    pub backend: Backend,
    pub model: String,
    pub workspace: PathBuf,
    pub spawn: SpawnSpec,
    pub os_user: String,
    /// A conversation to continue (codex thread id, claude session id).
    pub resume: Option<String>,
    pub access: Access,
}

/// The models a backend's CLI offers, asked of a short-lived process
/// started as `spawn` says; `None` for backends without such a call.
pub async fn list_models(
    backend: Backend,
    spawn: &SpawnSpec,
) -> Option<Result<Vec<String>, AgentError>> {
    match backend {
        Backend::Codex => Some(codex::list_models(spawn).await),
        Backend::Claude => None,
    }
}

/// A live agent session. An enum rather than a trait object: the set of
/// backends is closed and this keeps every call static.
pub enum Session {
    Codex(codex::CodexSession),
    Claude(claude::ClaudeSession),
}

impl Session {
    pub async fn start(spec: &StartSpec) -> Result<Session, AgentError> {
        match spec.backend {
            Backend::Codex => Ok(Session::Codex(codex::CodexSession::start(spec).await?)),
            Backend::Claude => Ok(Session::Claude(claude::ClaudeSession::start(spec).await?)),
        }
    }

    pub async fn send(&mut self, text: &str, model: &str) -> Result<(), AgentError> {
        self.send_input(&input::TurnInput::text(text), model).await
    }

    /// Starts a turn with text and images.
    pub async fn send_input(
        &mut self,
        input: &input::TurnInput,
        model: &str,
    ) -> Result<(), AgentError> {
        match self {
            Session::Codex(s) => s.send(input, model).await,
            Session::Claude(s) => s.send(input, model).await,
        }
    }

    /// The next event of the running turn. Cancel-safe.
    pub async fn next_event(&mut self) -> Result<AgentEvent, AgentError> {
        match self {
            Session::Codex(s) => s.next_event().await,
            Session::Claude(s) => s.next_event().await,
        }
    }

    pub async fn interrupt(&mut self) -> Result<(), AgentError> {
        match self {
            Session::Codex(s) => s.interrupt().await,
            Session::Claude(s) => s.interrupt().await,
        }
    }

    /// The models the running agent offers, asked of it; `None` for
    /// backends whose CLI has no such call (the catalog answers for them).
    pub async fn models(&mut self) -> Option<Result<Vec<String>, AgentError>> {
        match self {
            Session::Codex(s) => Some(s.models().await),
            Session::Claude(_) => None,
        }
    }

    /// The plan's rate-limit windows, asked of the agent; `None` for
    /// backends without such a call. Bounded: `/usage` must not hang.
    pub async fn rate_limits(
        &mut self,
    ) -> Option<Result<Option<crate::usage::RateLimits>, AgentError>> {
        match self {
            Session::Codex(s) => Some(
                tokio::time::timeout(std::time::Duration::from_secs(5), s.rate_limits())
                    .await
                    .unwrap_or_else(|_| {
                        Err(AgentError::Unresponsive("account/rateLimits/read".into()))
                    }),
            ),
            Session::Claude(_) => None,
        }
    }

    /// The id that lets a later session continue this conversation.
    pub fn conversation_id(&self) -> Option<&str> {
        match self {
            Session::Codex(s) => Some(s.thread_id()),
            Session::Claude(s) => s.session_id(),
        }
    }

    /// Whether the agent process is gone (it died while idle, say).
    pub fn has_exited(&mut self) -> bool {
        match self {
            Session::Codex(s) => s.process.has_exited(),
            Session::Claude(s) => s.process.has_exited(),
        }
    }

    pub fn pid(&self) -> i32 {
        match self {
            Session::Codex(s) => s.process.pid(),
            Session::Claude(s) => s.process.pid(),
        }
    }

    /// Stops the agent and every process it started.
    pub async fn close(self) {
        match self {
            Session::Codex(mut s) => s.process.terminate().await,
            Session::Claude(mut s) => s.process.terminate().await,
        }
    }
}
