//! Starting the chat's agent when it has none (or its last one died), and
//! what the user reads when it cannot start: a typed [`LaunchError`] turned
//! into advice (`hints.rs` for logging in and the sudoers rule).

use std::path::Path;
use std::sync::atomic::Ordering;

use super::hints::{login_hint, sudo_refused};
use super::turn::short;
use super::Chat;
use crate::agent::launch::{launch, Launch, LaunchError};
use crate::agent::{AgentError, Session};
use crate::models::{self, Models};

impl Chat {
    /// Starts the agent if needed; on failure, the text to show the user.
    pub(super) async fn ensure_session(&mut self) -> Result<(), String> {
        if self.session.as_mut().is_some_and(Session::has_exited) {
            // It died between turns: start a new one that resumes the
            // conversation rather than fail this message on a dead pipe.
            tracing::warn!("the idle agent had exited; starting a new one");
            self.close_session().await;
        }
        if self.session.is_some() {
            return Ok(());
        }
        let Some(spec) = self.launch_spec() else {
            return Err(format!(
                "⚠️ No {} binary is configured on this host; ask the operator to set it.",
                self.user.backend
            ));
        };
        let bin = spec.bin.clone();
        match launch(&self.shared.host, &spec).await {
            Ok(s) => {
                tracing::info!(pid = s.pid(), "agent started");
                self.state.conversation = s.conversation_id().map(str::to_string);
                self.session = Some(s);
                self.shared.active_sessions.fetch_add(1, Ordering::Relaxed);
                self.shared
                    .slots
                    .hold(self.key, &self.wake, self.work != super::Work::Idle);
                Ok(())
            }
            Err(e) => Err(self.start_failure(e, &bin)),
        }
    }

    /// How this chat's agent is started; `None` when its backend has no
    /// binary configured.
    fn launch_spec(&self) -> Option<Launch> {
        let cfg = &self.shared.cfg;
        Some(Launch {
            backend: self.user.backend,
            bin: cfg.agent_bin(self.user.backend)?.to_path_buf(),
            model: self.model(),
            os_user: self.user.os_user.clone(),
            own_account: self.user.is_service_user,
            dir: self.dir(),
            tmp: cfg.tmp_dir(&self.user.os_user),
            resume: self.state.conversation.clone(),
        })
    }

    /// The models the user can pick now (see `models`).
    pub(super) async fn models(&mut self) -> Models {
        let spec = self.launch_spec();
        models::current(
            self.user.backend,
            self.session.as_mut(),
            &self.shared.host,
            spec.as_ref(),
        )
        .await
    }

    /// Turns a start failure into what the user reads (and the operator
    /// finds in the log).
    fn start_failure(&self, e: LaunchError, bin: &Path) -> String {
        let os_user = &self.user.os_user;
        match e {
            LaunchError::Agent(AgentError::NotLoggedIn { os_user }) => {
                login_hint(self.user.backend, &os_user, bin, self.user.is_service_user)
            }
            LaunchError::Agent(AgentError::SudoRefused { .. }) => {
                sudo_refused(self.user.backend, os_user, bin, &self.shared)
            }
            LaunchError::NoAccount(_)
            | LaunchError::ClaudeAsRoot(_)
            | LaunchError::MissingDir { .. }
            | LaunchError::CreateDir { .. } => {
                tracing::error!("could not start the agent: {e}");
                format!("⚠️ {e}. Ask the operator to fix this.")
            }
            LaunchError::Agent(e) => {
                tracing::error!("could not start the agent: {e}");
                format!("⚠️ Could not start the agent: {}", short(&e))
            }
        }
    }
}
