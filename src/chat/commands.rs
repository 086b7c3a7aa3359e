//! The chat's commands, one function each. `/stop` and `/new` act on the
//! turn in progress too: they say so by returning an [`Ask`] that the turn
//! (`turn.rs`) follows. `/get` and `/ls` are in `files.rs`, `/usage` in
//! `usage.rs`.

use super::cap::describe;
use super::input::Ask;
use super::turn::STOP_GRACE;
use super::{Chat, Work};
use crate::catalog::Backend;
use crate::files::workspace::mb;
use crate::files::{MAX_DOWNLOAD, MAX_UPLOAD};
use crate::telegram::commands::Command;
use crate::telegram::split::quote;

/// How much of a user's input a message quotes back: enough to recognise
/// it, never enough to push the answer over Telegram's limit.
pub(super) const MAX_QUOTED: usize = 64;

impl Chat {
    pub(super) async fn command(&mut self, c: Command) -> Option<Ask> {
        match c {
            Command::Start | Command::Help => self.help(),
            Command::New => return self.new_conversation().await,
            Command::Stop => return self.stop().await,
            Command::Model(None) => self.show_model(),
            Command::Model(Some(m)) => self.set_model(m).await,
            Command::Models => self.list_models().await,
            Command::Status => self.status(),
            Command::Usage => self.show_usage().await,
            Command::Get(None) => self.say("Usage: /get <path> — sends a file of your workspace (a path relative to it, or absolute inside it). /ls lists a folder."),
            Command::Get(Some(path)) => self.get(&path).await,
            Command::Ls(dir) => self.ls(dir.as_deref()).await,
            Command::Project(None) => self.show_project(),
            Command::Project(Some(name)) => self.set_project(&name).await,
            Command::Projects => self.list_projects().await,
            Command::Unknown(name) => self.say(format!("Unknown command /{}. /help lists what I understand.", quote(&name, MAX_QUOTED))),
        }
        None
    }

    /// `/start`, `/help`.
    fn help(&self) {
        self.say(format!(
            "Hi {}! I pass your messages to {} (model {}) running as `{}` on this host, in {}.\n\n\
             Just write. While I work you see the reply grow; messages sent meanwhile wait their turn.\n\n\
             /new — forget this conversation and start fresh\n/stop — stop the reply in progress\n\
             /model [name] — show or change the model\n/models — the models you can use\n/status — what is running\n\
             /project [name] — work in a project folder of your workspace\n/projects — list them\n\
             /usage — plan limits, tokens and cost as the agent reports them\n\n\
             Photos and files you send land in {}/inbox/ and reach the agent with your caption (up to {} each); \
             voice notes are transcribed first, when the operator turned voice on; \
             /get <path> sends a file of your workspace back (up to {}), /ls [folder] lists one.",
            self.user.name, self.user.backend, self.model(), self.user.os_user, self.dir().display(),
            self.dir().display(), mb(MAX_DOWNLOAD), mb(MAX_UPLOAD)
        ))
    }

    /// `/new`: forgets the conversation. Mid-turn it also stops the agent
    /// and drops what waited, and the turn ends at once.
    async fn new_conversation(&mut self) -> Option<Ask> {
        self.close_session().await;
        self.state.conversation = None;
        if self.work == Work::Idle {
            self.save();
            self.say("🆕 New conversation: the next message starts fresh.");
            return None;
        }
        self.queue.clear();
        Some(Ask::New)
    }

    /// `/stop`: interrupts the agent (once) and drops what waited; the
    /// turn gives the agent [`STOP_GRACE`] to wind down.
    async fn stop(&mut self) -> Option<Ask> {
        match self.work {
            Work::Idle => {
                self.say("Nothing is running.");
                None
            }
            Work::Stopping => None,
            Work::Answering => {
                self.work = Work::Stopping;
                let dropped = std::mem::take(&mut self.queue).len();
                if let Some(s) = self.session.as_mut() {
                    if tokio::time::timeout(STOP_GRACE, s.interrupt())
                        .await
                        .map_or(true, |r| r.is_err())
                    {
                        tracing::warn!("interrupt was not acknowledged; the agent will be stopped");
                    }
                }
                if dropped > 0 {
                    self.say(format!("Dropped {dropped} queued message(s)."));
                }
                Some(Ask::Stop)
            }
        }
    }

    /// `/model`.
    fn show_model(&self) {
        self.say(format!(
            "Model: {} ({}). Change it with /model <name>; /models lists them.",
            self.model(),
            self.user.backend
        ))
    }

    /// `/model NAME`: checked against the models the user can pick now.
    async fn set_model(&mut self, m: String) {
        if m.chars().count() > MAX_QUOTED {
            return self.say(format!(
                "❌ `{}` is not a model name. /models lists them.",
                quote(&m, MAX_QUOTED)
            ));
        }
        match self.models().await.check(&m) {
            Ok(()) => {
                self.state.model = Some(m.clone());
                self.save();
                self.say(format!(
                    "Model set to {m}; it applies from your next message."
                ));
            }
            Err(e) => self.say(format!("❌ {e}")),
        }
    }

    /// `/models`.
    async fn list_models(&mut self) {
        let text = self.models().await.render(&self.model());
        self.say(text);
    }

    /// `/status`.
    fn status(&self) {
        let cfg = &self.shared.cfg;
        let backend = self.user.backend;
        let session = match &self.session {
            Some(s) if self.work != Work::Idle => format!("answering (pid {})", s.pid()),
            Some(s) => format!("idle (pid {})", s.pid()),
            None if self.state.conversation.is_some() => {
                "stopped; the conversation resumes on your next message".into()
            }
            None => "none yet".into(),
        };
        let mut lines = vec![
            format!("Backend: {backend}"),
            format!("Model: {}", self.model()),
            format!("OS user: {}", self.user.os_user),
            format!("Workspace: {}", self.dir().display()),
            format!("Agent: {session}"),
            format!("Queued messages: {}", self.queue.len()),
            format!(
                "Conversation: {}, project {}",
                describe(&self.key),
                self.state.project.as_deref().unwrap_or("none")
            ),
        ];
        if backend == Backend::Codex {
            let version = match &self.shared.codex {
                Some(v) => v.status.clone(),
                None => format!(
                    "Codex version: {} (recorded, not checked)",
                    cfg.codex_version.as_deref().unwrap_or("not recorded")
                ),
            };
            lines.insert(2, version);
            for w in self.shared.codex.iter().flat_map(|v| &v.warnings) {
                lines.push(format!("⚠️ {w}"));
            }
        }
        lines.extend(self.others());
        self.say(lines.join("\n"));
    }
}
