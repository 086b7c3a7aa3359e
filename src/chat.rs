//! One chat's actor: it owns the chat's agent session, runs one turn at a
//! time, queues messages that arrive meanwhile, and handles commands even
//! while a turn runs (so `/stop` works). Every failure ends in a message
//! to the user and a session that is either healthy or gone. What it does
//! with files is in `chat/files.rs`.

mod files;

use std::collections::VecDeque;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, watch};
use tokio_util::sync::CancellationToken;

use crate::agent::codex::version::CodexVersion;
use crate::agent::input::TurnInput;
use crate::agent::launch::{launch, Launch, LaunchError};
use crate::agent::{AgentError, AgentEvent, Session};
use crate::catalog::{self, Backend};
use crate::config::{Config, User};
use crate::files::access::UserFiles;
use crate::files::workspace::mb;
use crate::files::MAX_UPLOAD;
use crate::models::{self, Models};
use crate::process::sudo::Host;
use crate::state::prompt::Prompt;
use crate::state::{ChatState, StateStore};
use crate::telegram::api::Telegram;
use crate::telegram::commands::Command;
use crate::telegram::files::Remote;
use crate::telegram::outbox::Outbox;
use crate::telegram::split::quote;
use crate::telegram::stream::{render, View};

/// How long `/stop` waits for the agent to wind down before killing it.
const STOP_GRACE: Duration = Duration::from_secs(5);

/// How much of a user's input a message quotes back: enough to recognise
/// it, never enough to push the answer over Telegram's limit.
const MAX_QUOTED: usize = 64;

/// Shown when the daemon stops mid-reply (the router closing the chat and
/// the shutdown signal both mean this).
const RESTARTING: &str = "⚠️ Kai is restarting, so this reply was interrupted.";

/// How a turn ended, for the user and for the restart notice.
enum Answer {
    /// Shown in full (a reply, an error, a stop).
    Shown(String),
    /// Cut off because the daemon is stopping.
    CutOff(String),
}

/// What the router hands a chat.
#[derive(Debug)]
pub enum Input {
    Text(String),
    Command(Command),
    /// Files (a photo, a document, or a media group's parts), with the caption.
    Upload(Upload),
}

/// Files a user sent in one message (one part of a media group, when
/// `group` is set: the chat gathers the parts into one turn).
#[derive(Debug, Default)]
pub struct Upload {
    pub caption: String,
    pub files: Vec<Remote>,
    /// Telegram's `media_group_id`.
    pub group: Option<String>,
}

/// What every chat shares.
pub struct Shared {
    pub cfg: Arc<Config>,
    pub tg: Telegram,
    pub store: StateStore,
    pub shutdown: CancellationToken,
    pub active_sessions: AtomicUsize,
    /// What the start-up check found about the installed codex.
    pub codex: Option<CodexVersion>,
    /// sudo and the reaper, for starting and stopping agents.
    pub host: Host,
}

pub struct Chat {
    shared: Arc<Shared>,
    chat: i64,
    user: User,
    state: ChatState,
    session: Option<Session>,
    queue: VecDeque<Prompt>,
    /// The workspace, reached as the user's account.
    files: UserFiles,
    /// The media group being gathered, and when it is complete.
    album: Option<(Upload, tokio::time::Instant)>,
    /// True while a turn runs (commands are also handled mid-turn).
    busy: bool,
    outbox: Outbox,
}

impl Chat {
    pub fn new(shared: Arc<Shared>, chat: i64, user: User) -> Self {
        let mut state = shared.store.load(chat);
        // A remembered model or conversation from another backend (the
        // operator moved this user) must not leak into this one. A model
        // the catalog lacks stays: the installed CLI offered it (`/models`).
        let fits = state.backend.as_deref() == Some(user.backend.as_str())
            && state
                .model
                .as_deref()
                .is_none_or(|m| catalog::other_owner(user.backend, m).is_none());
        if !fits && (state.model.is_some() || state.conversation.is_some()) {
            tracing::info!("dropping remembered model/conversation from another backend");
            state.model = None;
            state.conversation = None;
        }
        let queue: VecDeque<Prompt> = state.queued.iter().cloned().collect();
        Chat {
            files: UserFiles::new(&shared.host, &user),
            outbox: Outbox::start(shared.tg.clone(), chat),
            shared,
            chat,
            user,
            state,
            session: None,
            // Messages that were waiting when the daemon last stopped.
            queue,
            album: None,
            busy: false,
        }
    }

    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        loop {
            // First what is waiting (after a restart, what was queued then).
            while let Some(prompt) = self.queue.pop_front() {
                if self.shared.shutdown.is_cancelled() {
                    self.queue.push_front(prompt);
                    break;
                }
                self.turn(prompt, &mut rx).await;
            }
            if self.shared.shutdown.is_cancelled() {
                break;
            }
            // An idle agent is stopped (AGENT_IDLE_SECONDS); its conversation
            // resumes on the next message. Memory follows active chats.
            let idle = tokio::time::sleep(self.shared.cfg.agent_idle);
            let album_due = self.album_due();
            tokio::select! {
                input = rx.recv() => {
                    let Some(input) = input else { break };
                    for input in self.gather(input) {
                        match input {
                            Input::Text(t) => self.enqueue(Prompt::text(t)),
                            Input::Upload(u) => {
                                if let Some(p) = self.receive(u).await {
                                    self.enqueue(p);
                                }
                            }
                            Input::Command(c) => self.command(c).await,
                        }
                    }
                }
                _ = tokio::time::sleep_until(album_due), if self.album.is_some() => {
                    if let Some(p) = self.finish_album().await {
                        self.enqueue(p);
                    }
                }
                _ = idle, if self.session.is_some() => {
                    tracing::info!("stopping idle agent; its conversation resumes on the next message");
                    self.close_session().await;
                }
                _ = self.shared.shutdown.cancelled() => break,
            }
        }
        // A media group still arriving is stored and queued as it is: the
        // queue is durable, so the next start answers it.
        if let Some(p) = self.finish_album().await {
            tracing::info!(
                "stopping while a media group was arriving; it is queued for the next start"
            );
            self.enqueue(p);
        }
        self.close_session().await;
        self.outbox.close().await;
    }

    fn model(&self) -> String {
        self.state
            .model
            .clone()
            .unwrap_or_else(|| self.user.model.clone())
    }

    /// Sends a plain message (in parts if it is over the limit) without
    /// waiting for Telegram: see [`Outbox`].
    fn say(&self, text: impl Into<String>) {
        self.outbox.say(text);
    }

    /// Queues a message, durably: a restart answers it.
    fn enqueue(&mut self, prompt: Prompt) {
        self.queue.push_back(prompt);
        self.save();
    }

    /// Queues a message that arrived during a turn, and says so.
    fn enqueue_busy(&mut self, prompt: Prompt) {
        self.enqueue(prompt);
        let n = self.queue.len();
        self.say(format!("⏳ Queued ({n} waiting): I'll answer once the current reply is finished. /stop cancels it."));
    }

    fn save(&mut self) {
        self.state.queued = self.queue.iter().cloned().collect();
        self.state.backend = Some(self.user.backend.to_string());
        if let Err(e) = self.shared.store.save(self.chat, &self.state) {
            tracing::error!("{e}");
        }
    }

    async fn close_session(&mut self) {
        if let Some(s) = self.session.take() {
            // A claude session learns its id during its first turn: keep it
            // even when that turn ends by a crash, timeout or shutdown.
            if let Some(id) = s.conversation_id() {
                self.state.conversation = Some(id.to_string());
            }
            s.close().await;
            self.shared.active_sessions.fetch_sub(1, Ordering::Relaxed);
        }
    }

    async fn turn(&mut self, prompt: Prompt, rx: &mut mpsc::UnboundedReceiver<Input>) {
        let (views, view_rx) = watch::channel(View::default());
        let renderer = tokio::spawn(render(self.shared.tg.clone(), self.chat, view_rx));
        self.state.turn_in_flight = true;
        self.state.answering = Some(prompt.shown());
        self.save();
        self.busy = true;
        let input = self.turn_input(&prompt).await;
        let (final_text, cut_off) = self.drive(&input, &views, rx).await;
        self.busy = false;
        self.save();
        views.send_modify(|v| v.done = Some(final_text));
        if let Err(e) = renderer.await {
            tracing::error!("reply renderer failed: {e}");
        }
        // The flag is cleared once the whole reply was delivered, so a
        // daemon killed while delivering still tells the user. Cut off by
        // the daemon stopping, it stays, and the next start tells them once.
        if !cut_off {
            self.state.turn_in_flight = false;
            self.state.answering = None;
            self.save();
        }
    }

    /// Runs one turn; returns the final text to show, whatever happened,
    /// and whether the daemon's stopping cut it off.
    async fn drive(
        &mut self,
        text: &TurnInput,
        views: &watch::Sender<View>,
        rx: &mut mpsc::UnboundedReceiver<Input>,
    ) -> (String, bool) {
        match self.answer(text, views, rx).await {
            Answer::Shown(t) => (t, false),
            Answer::CutOff(t) => (t, true),
        }
    }

    async fn answer(
        &mut self,
        text: &TurnInput,
        views: &watch::Sender<View>,
        rx: &mut mpsc::UnboundedReceiver<Input>,
    ) -> Answer {
        if let Err(message) = self.ensure_session().await {
            return Answer::Shown(message);
        }
        let model = self.model();
        let sent = match self.session.as_mut() {
            Some(s) => s.send_input(text, &model).await,
            None => return Answer::Shown("⚠️ No agent session.".into()),
        };
        let sent = match sent {
            // It may have died just as the message went out: one more try
            // on a new agent, which resumes the conversation.
            Err(AgentError::Exited { .. }) => {
                tracing::warn!("the agent exited as the message was sent; retrying on a new one");
                self.close_session().await;
                if let Err(message) = self.ensure_session().await {
                    return Answer::Shown(message);
                }
                match self.session.as_mut() {
                    Some(s) => s.send_input(text, &model).await,
                    None => return Answer::Shown("⚠️ No agent session.".into()),
                }
            }
            other => other,
        };
        if let Err(e) = sent {
            self.close_session().await;
            tracing::warn!("the agent could not take the message: {e}");
            return Answer::Shown(format!("⚠️ The agent could not take the message ({}). Send it again to retry with a fresh session.", for_user(&e)));
        }

        let silence = self.shared.cfg.agent_timeout;
        let mut deadline = tokio::time::Instant::now() + silence;
        let mut reply = String::new();
        let mut stopping = false;
        let mut warnings: Vec<String> = Vec::new();
        loop {
            let album_due = self.album_due();
            let Some(session) = self.session.as_mut() else {
                return Answer::Shown(with_note(&reply, "⚠️ The agent session ended."));
            };
            tokio::select! {
                event = session.next_event() => {
                    deadline = tokio::time::Instant::now() + if stopping { STOP_GRACE } else { silence };
                    match event {
                        Ok(AgentEvent::Text(t)) => {
                            reply = t;
                            views.send_modify(|v| v.live = reply.clone());
                        }
                        Ok(AgentEvent::Alive) => {}
                        Ok(AgentEvent::Warning(w)) => {
                            tracing::warn!("{w}");
                            warnings.push(w);
                        }
                        Ok(AgentEvent::Activity(a)) => {
                            if reply.is_empty() {
                                views.send_modify(|v| v.live = format!("⚙️ {a}…"));
                            }
                        }
                        Ok(AgentEvent::Done { text, error, interrupted }) => {
                            // None when the agent refused the conversation it
                            // was asked to resume: then it is forgotten.
                            self.state.conversation = session.conversation_id().map(str::to_string);
                            let text = warnings.iter().fold(text, |t, w| with_note(&t, &format!("⚠️ {w}")));
                            return Answer::Shown(match (error, interrupted || stopping) {
                                (Some(e), _) => with_note(&text, &format!("⚠️ The agent reported an error: {e}")),
                                (None, true) => with_note(&text, "⏹ Stopped."),
                                (None, false) if text.trim().is_empty() => "✅ Done (the agent sent no text).".into(),
                                (None, false) => text,
                            });
                        }
                        Err(e) => {
                            tracing::warn!("agent failed mid-turn: {e}");
                            self.close_session().await;
                            let what = for_user(&e);
                            return Answer::Shown(with_note(&reply, &format!("⚠️ The agent stopped unexpectedly ({what}). Your next message starts a fresh agent that continues this conversation.")));
                        }
                    }
                }
                _ = tokio::time::sleep_until(deadline) => {
                    self.close_session().await;
                    if stopping {
                        return Answer::Shown(with_note(&reply, "⏹ Stopped."));
                    }
                    tracing::warn!("agent silent for {silence:?}; stopped it");
                    return Answer::Shown(with_note(&reply, &format!("⚠️ The agent gave no sign of life for {} s, so I stopped it. Send your message again to retry.", silence.as_secs())));
                }
                input = rx.recv() => {
                    let Some(input) = input else {
                        self.close_session().await;
                        return Answer::CutOff(with_note(&reply, RESTARTING));
                    };
                    for input in self.gather(input) {
                        match input {
                            Input::Text(t) => self.enqueue_busy(Prompt::text(t)),
                            Input::Upload(u) => {
                                if let Some(p) = self.receive(u).await {
                                    self.enqueue_busy(p);
                                }
                            }
                            Input::Command(Command::Stop) => {
                                if !stopping {
                                    stopping = true;
                                    let dropped = std::mem::take(&mut self.queue).len();
                                    if let Some(s) = self.session.as_mut() {
                                        if tokio::time::timeout(STOP_GRACE, s.interrupt()).await.map_or(true, |r| r.is_err()) {
                                            tracing::warn!("interrupt was not acknowledged; the agent will be stopped");
                                        }
                                    }
                                    deadline = tokio::time::Instant::now() + STOP_GRACE;
                                    if dropped > 0 {
                                        self.say(format!("Dropped {dropped} queued message(s)."));
                                    }
                                }
                            }
                            Input::Command(Command::New) => {
                                self.close_session().await;
                                self.queue.clear();
                                self.state.conversation = None;
                                return Answer::Shown(with_note(&reply, "⏹ Stopped. 🆕 The next message starts a new conversation."));
                            }
                            Input::Command(c) => self.command(c).await,
                        }
                    }
                }
                _ = tokio::time::sleep_until(album_due), if self.album.is_some() => {
                    if let Some(p) = self.finish_album().await {
                        self.enqueue_busy(p);
                    }
                }
                _ = self.shared.shutdown.cancelled() => {
                    if let Some(s) = self.session.as_mut() {
                        let _ = tokio::time::timeout(Duration::from_secs(2), s.interrupt()).await;
                    }
                    self.close_session().await;
                    return Answer::CutOff(with_note(&reply, RESTARTING));
                }
            }
        }
    }

    /// Starts the agent if needed; on failure, the text to show the user.
    async fn ensure_session(&mut self) -> Result<(), String> {
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
            dir: self.user.workspace.clone(),
            tmp: cfg.tmp_dir(&self.user.os_user),
            resume: self.state.conversation.clone(),
        })
    }

    /// The models the user can pick now (see `models`).
    async fn models(&mut self) -> Models {
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

    async fn command(&mut self, c: Command) {
        let backend = self.user.backend;
        match c {
            Command::Start | Command::Help => {
                self.say(format!(
                    "Hi {}! I pass your messages to {} (model {}) running as `{}` on this host, in {}.\n\n\
                     Just write. While I work you see the reply grow; messages sent meanwhile wait their turn.\n\n\
                     /new — forget this conversation and start fresh\n/stop — stop the reply in progress\n\
                     /model [name] — show or change the model\n/models — the models you can use\n/status — what is running\n\n\
                     Photos and files you send land in {}/inbox/ and reach the agent with your caption (up to {} each); \
                     /get <path> sends a file of your workspace back (up to {}), /ls [folder] lists one.",
                    self.user.name, backend, self.model(), self.user.os_user, self.user.workspace.display(),
                    self.user.workspace.display(), mb(crate::files::MAX_DOWNLOAD), mb(MAX_UPLOAD)
                ))
            }
            Command::New => {
                self.close_session().await;
                self.state.conversation = None;
                self.save();
                self.say("🆕 New conversation: the next message starts fresh.");
            }
            Command::Stop => self.say("Nothing is running."),
            Command::Model(None) => {
                self.say(format!("Model: {} ({backend}). Change it with /model <name>; /models lists them.", self.model()))
            }
            Command::Model(Some(m)) if m.chars().count() > MAX_QUOTED => {
                self.say(format!("❌ `{}` is not a model name. /models lists them.", quote(&m, MAX_QUOTED)))
            }
            Command::Model(Some(m)) => match self.models().await.check(&m) {
                Ok(()) => {
                    self.state.model = Some(m.clone());
                    self.save();
                    self.say(format!("Model set to {m}; it applies from your next message."));
                }
                Err(e) => self.say(format!("❌ {e}")),
            },
            Command::Models => {
                let text = self.models().await.render(&self.model());
                self.say(text);
            }
            Command::Status => {
                let cfg = &self.shared.cfg;
                let session = match &self.session {
                    Some(s) if self.busy => format!("answering (pid {})", s.pid()),
                    Some(s) => format!("idle (pid {})", s.pid()),
                    None if self.state.conversation.is_some() => "stopped; the conversation resumes on your next message".into(),
                    None => "none yet".into(),
                };
                let mut lines = vec![
                    format!("Backend: {backend}"),
                    format!("Model: {}", self.model()),
                    format!("OS user: {}", self.user.os_user),
                    format!("Workspace: {}", self.user.workspace.display()),
                    format!("Agent: {session}"),
                    format!("Queued messages: {}", self.queue.len()),
                ];
                if backend == Backend::Codex {
                    let version = match &self.shared.codex {
                        Some(v) => v.status.clone(),
                        None => format!("Codex version: {} (recorded, not checked)", cfg.codex_version.as_deref().unwrap_or("not recorded")),
                    };
                    lines.insert(2, version);
                    for w in self.shared.codex.iter().flat_map(|v| &v.warnings) {
                        lines.push(format!("⚠️ {w}"));
                    }
                }
                self.say(lines.join("\n"));
            }
            Command::Get(None) => self.say("Usage: /get <path> — sends a file of your workspace (a path relative to it, or absolute inside it). /ls lists a folder."),
            Command::Get(Some(path)) => self.get(&path).await,
            Command::Ls(dir) => self.ls(dir.as_deref()).await,
            Command::Unknown(name) => self.say(format!("Unknown command /{}. /help lists what I understand.", quote(&name, MAX_QUOTED))),
        }
    }
}

fn with_note(reply: &str, note: &str) -> String {
    if reply.trim().is_empty() {
        note.to_string()
    } else {
        format!("{reply}\n\n{note}")
    }
}

/// What went wrong, for the user: an agent's stderr is for the log (it is
/// often an unrelated warning); they need what happened and what now.
fn for_user(e: &AgentError) -> String {
    match e {
        AgentError::Exited { .. } => "its process exited".to_string(),
        other => short(other),
    }
}

fn short(e: &AgentError) -> String {
    let s = e.to_string();
    let first = s.lines().next().unwrap_or_default();
    first.chars().take(300).collect()
}

pub fn login_hint(backend: Backend, os_user: &str, bin: &Path, own_account: bool) -> String {
    if backend == Backend::Claude {
        let how = format!(
            "`{}`",
            crate::hints::as_account(os_user, own_account, &bin.display().to_string())
        );
        return format!(
            "🔑 `{os_user}` is not logged in to Claude Code on this host, so I cannot run your request.\n\n\
             Claude credentials belong to each account: someone with a shell as `{os_user}` on the host starts \
             Claude Code (for example {how}) and runs /login, or gives that account an API key \
             (`ANTHROPIC_API_KEY` in the `env` of its ~/.claude/settings.json); then send your message again."
        );
    }
    let how = format!(
        "`{}`",
        crate::hints::login_command(os_user, bin, own_account)
    );
    format!(
        "🔑 `{os_user}` is not logged in to Codex on this host, so I cannot run your request.\n\n\
         Codex credentials belong to each account: someone with a shell as `{os_user}` on the host runs\n\n\
         codex login\n\n(for example {how}), then send your message again."
    )
}

/// The advice for a sudo refusal: the whole contract rule, the kai
/// subcommands included (granting only the agent binary would let it start
/// but not be stopped, nor files reach it).
fn sudo_refused(backend: Backend, os_user: &str, bin: &Path, shared: &Shared) -> String {
    let svc = &shared.cfg.service_user;
    let kai = crate::process::sudo::sudo_kai_commands(&shared.host.reaper).join(", ");
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
