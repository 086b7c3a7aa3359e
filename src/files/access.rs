//! Runs the workspace operations (`workspace.rs`) as the user's account:
//! through `sudo -n -u <os_user> <kai> inbox-put|workspace-read|workspace-ls|
//! project-dir|inbox-clean -- …` when the agent has an account of its own, in-process in
//! single-account mode. Bytes go in on the helper's stdin and come out on
//! its stdout; a refusal comes back as the helper's last stderr line, which
//! is already worded for the user.

use std::path::PathBuf;
use std::process::Stdio;
use std::time::{Duration, SystemTime};

use tokio::io::AsyncWriteExt;
use tokio::process::Command;

use super::workspace::{self, WorkspaceError};
use super::{inbox, project};
use crate::config::User;
use crate::process::sudo::{is_sudo_refusal, sudo_kai, Host};

/// The longest a helper may take (a 50 MB file read from a local disk
/// takes well under a second; this only bounds a hung one).
const HELPER_TIMEOUT: Duration = Duration::from_secs(60);

#[derive(Debug, thiserror::Error)]
pub enum FileError {
    #[error(transparent)]
    Workspace(#[from] WorkspaceError),
    /// The helper refused or failed; its message, meant for the user.
    #[error("{0}")]
    Refused(String),
    /// sudo would not run the helper: the sudoers rule lacks it.
    #[error("sudo refused to run `{command}` as `{os_user}`: {detail}")]
    Sudo {
        command: String,
        os_user: String,
        detail: String,
    },
    #[error("cannot run the file helper: {0}")]
    Spawn(std::io::Error),
    #[error("the file helper took longer than {} s", HELPER_TIMEOUT.as_secs())]
    Timeout,
}

/// How the operations reach the workspace.
#[derive(Debug, Clone)]
enum Runner {
    /// Single-account mode: the daemon's own account owns the workspace.
    Own,
    /// Through sudo as the agent's account; `kai` is this binary.
    Sudo {
        sudo: PathBuf,
        kai: PathBuf,
        os_user: String,
    },
}

/// One user's workspace, reached as their account.
#[derive(Debug, Clone)]
pub struct UserFiles {
    runner: Runner,
    workspace: PathBuf,
}

/// Creates the workspace when it is the daemon's own account's (as at an
/// agent's start, `agent/launch.rs`): a file or a project may come before
/// the first agent does.
fn own_workspace(ws: &std::path::Path) -> Result<(), WorkspaceError> {
    crate::state::make_dir(ws, 0o700).map_err(|source| WorkspaceError::Io {
        what: format!("cannot create {}", ws.display()),
        source,
    })
}

impl UserFiles {
    pub fn new(host: &Host, user: &User) -> Self {
        let runner = if user.is_service_user {
            Runner::Own
        } else {
            Runner::Sudo {
                sudo: host.sudo.clone(),
                kai: host.reaper.clone(),
                os_user: user.os_user.clone(),
            }
        };
        UserFiles {
            runner,
            workspace: user.workspace.clone(),
        }
    }

    /// Stores `data` as `<workspace>/inbox/<name>` (or a numbered variant);
    /// returns the path it got.
    pub async fn put(&self, name: &str, data: Vec<u8>) -> Result<PathBuf, FileError> {
        match &self.runner {
            Runner::Own => {
                let (ws, name) = (self.workspace.clone(), name.to_string());
                blocking(move || {
                    own_workspace(&ws)?;
                    workspace::inbox_put(&ws, &name, &mut data.as_slice())
                })
                .await
            }
            Runner::Sudo { .. } => {
                let out = self.helper("inbox-put", &[], &[name], Some(data)).await?;
                let path = String::from_utf8_lossy(&out);
                Ok(PathBuf::from(path.trim_end_matches('\n')))
            }
        }
    }

    /// A workspace file, whole, if it is at most `max` bytes.
    pub async fn read(&self, path: &str, max: u64) -> Result<Vec<u8>, FileError> {
        match &self.runner {
            Runner::Own => {
                let (ws, path) = (self.workspace.clone(), path.to_string());
                blocking(move || workspace::read(&ws, &path, max)).await
            }
            Runner::Sudo { .. } => {
                let max = max.to_string();
                self.helper("workspace-read", &["--max-bytes", &max], &[path], None)
                    .await
            }
        }
    }

    /// A workspace directory's listing, as text for the user.
    pub async fn list(&self, dir: &str) -> Result<String, FileError> {
        match &self.runner {
            Runner::Own => {
                let (ws, dir) = (self.workspace.clone(), dir.to_string());
                blocking(move || workspace::list(&ws, &dir)).await
            }
            Runner::Sudo { .. } => {
                let out = self.helper("workspace-ls", &[], &[dir], None).await?;
                Ok(String::from_utf8_lossy(&out).into_owned())
            }
        }
    }

    /// The same account's files, rooted at `dir` (a project folder): the
    /// inbox, `/get` and `/ls` then work there.
    pub fn at(&self, dir: PathBuf) -> Self {
        UserFiles {
            runner: self.runner.clone(),
            workspace: dir,
        }
    }

    /// Creates the project `name` in this workspace when missing; its path.
    pub async fn make_project(&self, name: &str) -> Result<PathBuf, FileError> {
        match &self.runner {
            Runner::Own => {
                let (ws, name) = (self.workspace.clone(), name.to_string());
                blocking(move || {
                    own_workspace(&ws)?;
                    project::make(&ws, &name)
                })
                .await
            }
            Runner::Sudo { .. } => {
                let out = self.helper("project-dir", &[], &[name], None).await?;
                let path = String::from_utf8_lossy(&out);
                Ok(PathBuf::from(path.trim_end_matches('\n')))
            }
        }
    }

    /// The projects of this workspace.
    pub async fn projects(&self) -> Result<Vec<String>, FileError> {
        match &self.runner {
            Runner::Own => {
                let ws = self.workspace.clone();
                blocking(move || match project::list(&ws) {
                    // No workspace yet: no projects yet.
                    Err(WorkspaceError::Io { source, .. })
                        if source.kind() == std::io::ErrorKind::NotFound =>
                    {
                        Ok(Vec::new())
                    }
                    other => other,
                })
                .await
            }
            Runner::Sudo { .. } => {
                let out = self.helper("project-dir", &[], &[], None).await?;
                Ok(String::from_utf8_lossy(&out)
                    .lines()
                    .map(str::to_string)
                    .collect())
            }
        }
    }

    /// Removes the files of the workspace's inboxes (its own and each
    /// project's) older than `days` days (`inbox.rs`); how many went.
    pub async fn clean_inboxes(&self, days: u64) -> Result<usize, FileError> {
        match &self.runner {
            Runner::Own => {
                let ws = self.workspace.clone();
                let cleaned =
                    blocking(move || inbox::clean(&ws, inbox::days(days), SystemTime::now()))
                        .await?;
                cleaned.count().map_err(FileError::Refused)
            }
            Runner::Sudo { .. } => {
                let days = days.to_string();
                let out = self
                    .helper("inbox-clean", &["--days", &days], &[], None)
                    .await?;
                String::from_utf8_lossy(&out)
                    .trim()
                    .parse()
                    .map_err(|_| FileError::Refused("kai inbox-clean printed no count".into()))
            }
        }
    }

    /// `sudo -n -u <os_user> <kai> <sub> [options] -- <workspace> <args>`:
    /// `--` so a path the user typed can never be read as an option.
    async fn helper(
        &self,
        sub: &str,
        options: &[&str],
        args: &[&str],
        input: Option<Vec<u8>>,
    ) -> Result<Vec<u8>, FileError> {
        let Runner::Sudo { sudo, kai, os_user } = &self.runner else {
            return Err(FileError::Refused(
                "no helper in single-account mode".into(),
            ));
        };
        let mut c = Command::from(sudo_kai(sudo, os_user, kai, sub));
        c.args(options)
            .arg("--")
            .arg(&self.workspace)
            .args(args)
            // The workspace is the agent account's; `/` is where both can stand.
            .current_dir("/")
            .stdin(if input.is_some() {
                Stdio::piped()
            } else {
                Stdio::null()
            })
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        let mut child = c.spawn().map_err(FileError::Spawn)?;
        let stdin = child.stdin.take();
        let run = async move {
            if let (Some(data), Some(mut stdin)) = (input, stdin) {
                // A helper that refuses early closes its end: its stderr
                // says why. Dropping stdin here is the helper's end of input.
                let _ = stdin.write_all(&data).await;
            }
            child.wait_with_output().await
        };
        let out = tokio::time::timeout(HELPER_TIMEOUT, run)
            .await
            .map_err(|_| FileError::Timeout)?
            .map_err(FileError::Spawn)?;
        if out.status.success() {
            return Ok(out.stdout);
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        if is_sudo_refusal(&stderr) {
            return Err(FileError::Sudo {
                command: format!("{} {sub}", kai.display()),
                os_user: os_user.clone(),
                detail: stderr.trim().to_string(),
            });
        }
        let last = stderr
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("it failed without a message");
        let prefix = format!("kai {sub}: ");
        Err(FileError::Refused(
            last.strip_prefix(&prefix).unwrap_or(last).to_string(),
        ))
    }
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> Result<T, WorkspaceError> + Send + 'static,
) -> Result<T, FileError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| FileError::Refused(format!("the file operation failed: {e}")))?
        .map_err(FileError::from)
}
