//! The one way to start an agent: chats, and the jobs that come after them
//! (reviews, triage, eval), describe what to run in a [`Launch`] and get a
//! [`Session`] or a [`LaunchError`] that says, typed, what stood in the way
//! — a missing account or directory, sudo's refusal, a logged-out account.
//! Nothing here knows codex from claude; `Session::start` does.

use std::path::{Path, PathBuf};

use super::{Access, AgentError, Session, StartSpec};
use crate::catalog::Backend;
use crate::config::{Config, User};
use crate::osuser;
use crate::process::spawn::{RunAs, SpawnSpec};
use crate::process::sudo::Host;

/// One agent to start.
#[derive(Debug, Clone)]
pub struct Launch {
    pub backend: Backend,
    /// The backend's binary: exactly the path the sudoers rule names.
    pub bin: PathBuf,
    pub model: String,
    /// The OS account the agent runs as.
    pub os_user: String,
    /// True when that account is the daemon's own (no sudo).
    pub own_account: bool,
    /// The agent's working directory.
    pub dir: PathBuf,
    /// The agent's TMPDIR.
    pub tmp: PathBuf,
    /// A conversation to continue (codex thread id, claude session id).
    pub resume: Option<String>,
}

impl Launch {
    /// A fresh agent for `user` in their scratch (tmp) directory, never
    /// their workspace: what one-turn runs (reviews, triage, eval) read
    /// must not depend on, or touch, the user's files.
    pub fn scratch(cfg: &Config, user: &User, backend: Backend, bin: &Path, model: &str) -> Launch {
        let scratch = cfg.tmp_dir(&user.os_user);
        Launch {
            backend,
            bin: bin.to_path_buf(),
            model: model.to_string(),
            os_user: user.os_user.clone(),
            own_account: user.is_service_user,
            dir: scratch.clone(),
            tmp: scratch,
            resume: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum LaunchError {
    #[error("the OS account `{0}` does not exist on this host")]
    NoAccount(String),
    #[error("the directory {} is missing; it must exist and belong to `{os_user}` (mode 0700)", .dir.display())]
    MissingDir { dir: PathBuf, os_user: String },
    #[error("cannot create {}: {source}", .dir.display())]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error(
        "Claude Code refuses to hold a conversation as root (the OS account `{0}`): it will not \
         run with bypassPermissions under root or sudo. Give this user an unprivileged OS \
         account (os_user), or run kai as an unprivileged account"
    )]
    ClaudeAsRoot(String),
    #[error(transparent)]
    Agent(#[from] AgentError),
}

/// Checks the account and directories, then starts a chat's agent: it acts
/// as its OS account may, and its conversation persists for `resume`.
pub async fn launch(host: &Host, l: &Launch) -> Result<Session, LaunchError> {
    if l.backend == Backend::Claude && runs_as_root(l.own_account, &l.os_user) {
        // Said plainly, instead of the CLI's own refusal read as a crash.
        return Err(LaunchError::ClaudeAsRoot(l.os_user.clone()));
    }
    start(host, l, Access::Full).await
}

/// Whether an agent would run as root: on kai's own account (`own`) when
/// kai is root, else when `os_user` is root. Read-only jobs never ask
/// Claude Code for bypassPermissions, so only conversations care.
pub fn runs_as_root(own: bool, os_user: &str) -> bool {
    if own {
        nix::unistd::geteuid().is_root()
    } else {
        osuser::by_name(os_user).is_some_and(|a| a.uid == 0)
    }
}

/// Starts an agent for one turn over untrusted text (a pull request, an
/// issue): it can neither write files nor run commands, nothing of its
/// conversation is kept, and `l.resume` is ignored — a job never continues
/// anything.
pub async fn launch_read_only(host: &Host, l: &Launch) -> Result<Session, LaunchError> {
    let fresh = Launch {
        resume: None,
        ..l.clone()
    };
    start(host, &fresh, Access::ReadOnlyEphemeral).await
}

/// The models the user's CLI offers, asked of a short-lived process under
/// their account (no conversation is started); `None` for backends without
/// such a call.
pub async fn list_models(host: &Host, l: &Launch) -> Result<Option<Vec<String>>, LaunchError> {
    let spawn = spawn_spec(host, l)?;
    Ok(super::list_models(l.backend, &spawn).await.transpose()?)
}

async fn start(host: &Host, l: &Launch, access: Access) -> Result<Session, LaunchError> {
    let spec = StartSpec {
        backend: l.backend,
        model: l.model.clone(),
        workspace: l.dir.clone(),
        os_user: l.os_user.clone(),
        resume: l.resume.clone(),
        access,
        spawn: spawn_spec(host, l)?,
    };
    Ok(Session::start(&spec).await?)
}

/// The account, the directories and the process to start, checked.
fn spawn_spec(host: &Host, l: &Launch) -> Result<SpawnSpec, LaunchError> {
    let run_as = if l.own_account {
        RunAs::Service
    } else {
        let a =
            osuser::by_name(&l.os_user).ok_or_else(|| LaunchError::NoAccount(l.os_user.clone()))?;
        RunAs::Account {
            name: a.name,
            uid: a.uid,
            sudo: host.sudo.clone(),
            reaper: host.reaper.clone(),
        }
    };
    for dir in [&l.dir, &l.tmp] {
        prepare_dir(dir, l.own_account, &l.os_user)?;
    }
    Ok(SpawnSpec {
        program: l.bin.clone(),
        args: Vec::new(),
        run_as,
        env: vec![("TMPDIR".into(), l.tmp.display().to_string())],
        cwd: l.dir.clone(),
        cwd_via_sudo: false,
    })
}

/// Creates a directory the agent needs when we may (our own account);
/// otherwise only checks it exists: the service account cannot create a
/// directory that belongs to another account (the module's tmpfiles do).
fn prepare_dir(dir: &Path, own: bool, os_user: &str) -> Result<(), LaunchError> {
    if own {
        return crate::state::make_dir(dir, 0o700).map_err(|source| LaunchError::CreateDir {
            dir: dir.to_path_buf(),
            source,
        });
    }
    match std::fs::metadata(dir) {
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(LaunchError::MissingDir {
            dir: dir.to_path_buf(),
            os_user: os_user.to_string(),
        }),
        _ => Ok(()),
    }
}
