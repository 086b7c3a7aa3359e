//! One conversation's actor (a user, in a chat, in a topic of it: see
//! `state/key.rs`): it owns the conversation's agent session, runs one turn at a
//! time, queues messages that arrive meanwhile, and handles commands even
//! while a turn runs (so `/stop` works). Every failure ends in a message
//! to the user and a session that is either healthy or gone.
//!
//! The actor's loop is here; the rest is one concern a file:
//! - `input.rs`: every input, idle or mid-turn, goes through one handler;
//! - `commands.rs`: one function per command;
//! - `turn.rs`: one turn, from sending the message to the final reply;
//! - `session.rs`: starting the agent, and what a failed start tells the user;
//! - `hints.rs`: the operator's advice (logging in, the sudoers rule), also
//!   `kai login-hints`;
//! - `files.rs`: what the user sends and fetches (uploads, `/get`, `/ls`);
//! - `voice.rs`: voice notes and audio files, transcribed;
//! - `usage.rs`: `/usage`, the figures the agent reported;
//! - `projects.rs`: the project folder the conversation works in;
//! - `recovery.rs`: what survives a restart (the queue, the interrupted turn);
//! - `slots.rs`, `cap.rs`: the cap on a user's running agents.

mod cap;
mod commands;
mod files;
pub mod hints;
mod input;
mod projects;
pub(crate) mod recovery;
mod session;
pub(crate) mod slots;
mod turn;
mod usage;
mod voice;

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use self::slots::Slots;
use crate::agent::codex::version::CodexVersion;
use crate::agent::Session;
use crate::catalog;
use crate::config::{Config, User};
use crate::files::access::UserFiles;
use crate::files::project;
use crate::process::sudo::Host;
use crate::state::key::ConvKey;
use crate::state::prompt::Prompt;
use crate::state::{ChatState, StateStore};
use crate::telegram::address::BotIdentity;
use crate::telegram::api::Telegram;
use crate::telegram::commands::Command;
use crate::telegram::files::Remote;
use crate::telegram::outbox::Outbox;
use crate::transcribe::Transcriber;

/// What the router hands a chat.
#[derive(Debug)]
pub enum Input {
    /// Text, and in a group the message the answer replies to.
    Text {
        text: String,
        reply_to: Option<i32>,
    },
    Command(Command),
    /// Files (a photo, a document, or a media group's parts), with the caption.
    Upload(Upload),
    /// A voice note or audio file, to be transcribed (`voice.rs`).
    Voice(Recording),
}

/// Files a user sent in one message (one part of a media group, when
/// `group` is set: the chat gathers the parts into one turn).
#[derive(Debug, Default)]
pub struct Upload {
    pub caption: String,
    pub files: Vec<Remote>,
    /// Telegram's `media_group_id`.
    pub group: Option<String>,
    /// In a group, the message the answer replies to.
    pub reply_to: Option<i32>,
}

/// A voice note or audio file a user sent, not yet downloaded.
#[derive(Debug)]
pub struct Recording {
    pub caption: String,
    pub file: Remote,
    /// Its media type as Telegram reports it (`audio/ogg` for voice notes).
    pub mime: String,
    /// In a group, the message the answer replies to.
    pub reply_to: Option<i32>,
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
    /// The transcription endpoint; `None` when voice is off.
    pub transcriber: Option<Transcriber>,
    /// The bot itself (`getMe`), which group messages address.
    pub me: BotIdentity,
    /// Which conversations hold an agent, for each user's cap.
    pub slots: Slots,
}

/// Whether a turn runs, and whether the user asked it to stop: what
/// `/stop`, `/new`, `/status` and a queued message answer depends on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Work {
    Idle,
    Answering,
    /// `/stop` interrupted the turn; it ends as soon as the agent winds down.
    Stopping,
}

pub struct Chat {
    shared: Arc<Shared>,
    /// Which conversation this is; its state file and where it answers.
    key: ConvKey,
    user: User,
    state: ChatState,
    session: Option<Session>,
    queue: VecDeque<Prompt>,
    /// The workspace, reached as the user's account.
    files: UserFiles,
    /// The media group being gathered, and when it is complete.
    album: Option<(Upload, tokio::time::Instant)>,
    work: Work,
    outbox: Outbox,
    /// What the agent reported about usage since kai started (`/usage`).
    usage: crate::usage::book::Book,
    /// Woken when another conversation of the user needs this one's idle
    /// agent's slot (`slots.rs`).
    wake: Arc<tokio::sync::Notify>,
}

impl Chat {
    pub fn new(shared: Arc<Shared>, key: ConvKey, user: User) -> Self {
        let mut state = shared.store.load(key);
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
        if state
            .project
            .as_deref()
            .is_some_and(|p| !project::is_valid(p))
        {
            tracing::warn!("dropping a remembered project whose name breaks the rule");
            state.project = None;
        }
        let queue = recovery::waiting(&state);
        let dir = match &state.project {
            Some(p) => user.workspace.join(p),
            None => user.workspace.clone(),
        };
        Chat {
            files: UserFiles::new(&shared.host, &user).at(dir),
            outbox: Outbox::start(shared.tg.clone(), key.into()),
            shared,
            key,
            user,
            state,
            session: None,
            queue,
            album: None,
            work: Work::Idle,
            usage: Default::default(),
            wake: Arc::new(tokio::sync::Notify::new()),
        }
    }

    pub async fn run(mut self, mut rx: mpsc::UnboundedReceiver<Input>) {
        loop {
            // First what is waiting (after a restart, what was queued then),
            // each once an agent slot is free (the user's cap).
            while !self.queue.is_empty() && !self.shared.shutdown.is_cancelled() {
                if !self.take_slot(&mut rx).await {
                    break;
                }
                let Some(prompt) = self.queue.pop_front() else {
                    break;
                };
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
                    // Nothing runs, so no command can end a turn.
                    let _ = self.take(input).await;
                }
                _ = tokio::time::sleep_until(album_due), if self.album.is_some() => {
                    self.album_complete().await;
                }
                _ = idle, if self.session.is_some() => {
                    tracing::info!("stopping idle agent; its conversation resumes on the next message");
                    self.close_session().await;
                }
                _ = self.wake.notified(), if self.session.is_some() => self.make_room().await,
                _ = self.shared.shutdown.cancelled() => break,
            }
        }
        self.drain(&mut rx).await;
        self.keep_arriving_album().await;
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

    /// Queues a message, durably: a restart answers it. One that arrives
    /// during a turn is acknowledged, so the user knows it waits.
    fn enqueue(&mut self, prompt: Prompt) {
        self.queue.push_back(prompt);
        self.save();
        if self.work != Work::Idle {
            let n = self.queue.len();
            self.say(format!("⏳ Queued ({n} waiting): I'll answer once the current reply is finished. /stop cancels it."));
        }
    }

    fn save(&mut self) {
        self.state.queued = self.queue.iter().cloned().collect();
        self.state.backend = Some(self.user.backend.to_string());
        if let Err(e) = self.shared.store.save(self.key, &self.state) {
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
            self.shared.slots.release(self.key);
        }
    }
}
