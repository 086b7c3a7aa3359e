//! The long-polling loop: fetches updates, drops anyone not in the users
//! file and groups they do not list (logged once; `telegram/address.rs`
//! decides), and hands each allowed user's messages to the actor of their
//! conversation — (user, chat, topic), `state/key.rs` —
//! creating it on first use. It also drives the systemd
//! watchdog, so a wedged poller stops the pings and systemd restarts us.

use std::collections::{HashMap, HashSet};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::retry::Backoff;
use crate::telegram::api::{retry_after, POLL_SECONDS};
use teloxide::types::{Message, UpdateKind};
use tokio::sync::mpsc;
use tokio::task::JoinSet;
use tracing::Instrument;

use crate::chat::{Chat, Input, Recording, Shared, Upload};
use crate::config::User;
use crate::state::key::ConvKey;
use crate::systemd;
use crate::telegram::address::{self, Admission};
use crate::telegram::api::Place;
use crate::telegram::commands;
use crate::telegram::files::{self, Media};
use crate::utc::now_unix;

pub struct Router {
    shared: Arc<Shared>,
    chats: HashMap<ConvKey, mpsc::UnboundedSender<Input>>,
    tasks: JoinSet<()>,
    /// Senders not in the users file, logged once.
    ignored_users: HashSet<i64>,
    /// (group, sender) pairs the sender does not list, logged once.
    ignored_chats: HashSet<(i64, i64)>,
}

impl Router {
    pub fn new(shared: Arc<Shared>) -> Self {
        Router {
            shared,
            chats: HashMap::new(),
            tasks: JoinSet::new(),
            ignored_users: HashSet::new(),
            ignored_chats: HashSet::new(),
        }
    }

    /// Polls until shutdown, from the offset saved at the last stop, then
    /// closes every chat's channel (each queues what it had not taken yet)
    /// and waits (bounded) for every chat to stop its agent and tell its user.
    pub async fn run(mut self, watchdog: Option<Duration>) {
        let bot = self.shared.me.id;
        let mut offset = self.shared.store.poll_offset(bot, now_unix());
        let mut backoff = Backoff::new(Duration::from_secs(2));
        let mut last_status = String::new();
        loop {
            if watchdog.is_some() {
                systemd::ping();
            }
            let status = format!(
                "ready; {} active agent session(s)",
                self.shared.active_sessions.load(Ordering::Relaxed)
            );
            if status != last_status {
                systemd::status(&status);
                last_status = status;
            }
            // The loop pings the watchdog once per poll, so a poll must end
            // well within the watchdog period even when Telegram accepts the
            // connection and never answers: the long-poll hint is a quarter
            // of the period, and the whole request is cut off at a third of
            // it (teloxide does not bound the request by the hint itself).
            let (wait, limit) = poll_bounds(watchdog);
            let poll = tokio::time::timeout(limit, self.shared.tg.get_updates(offset, wait));
            let result = tokio::select! {
                r = poll => r.map_err(|_| PollError::NoAnswer(limit)).and_then(|r| r.map_err(PollError::Telegram)),
                _ = self.shared.shutdown.cancelled() => break,
            };
            match result {
                Ok(updates) => {
                    backoff.reset();
                    let before = offset;
                    for u in updates {
                        offset = offset.max(u.id.0 as i32 + 1);
                        if let UpdateKind::Message(m) = u.kind {
                            self.route(m);
                        }
                    }
                    // Saved before the next poll confirms the batch to
                    // Telegram, so no stop brings it back (`state/offset.rs`).
                    if offset != before {
                        if let Err(e) = self.shared.store.save_poll_offset(bot, offset, now_unix())
                        {
                            tracing::error!("{e}");
                        }
                    }
                }
                Err(e) => {
                    let wait = match &e {
                        PollError::Telegram(e) => backoff.after(retry_after(e)),
                        PollError::NoAnswer(_) => backoff.step(),
                    };
                    tracing::warn!("getUpdates failed ({e}); retrying in {wait:?}");
                    systemd::status(&format!("retrying Telegram in {}s: {e}", wait.as_secs()));
                    last_status.clear();
                    // Keep the watchdog fed while we wait: waiting is the
                    // right thing to do, not a hang. The first ping right
                    // away, since the failed poll may have used a third of
                    // the period already.
                    if watchdog.is_some() {
                        systemd::ping();
                    }
                    let step = watchdog
                        .map(|w| w / 3)
                        .unwrap_or(wait)
                        .min(wait)
                        .max(Duration::from_millis(100));
                    let until = tokio::time::Instant::now() + wait;
                    while tokio::time::Instant::now() < until {
                        tokio::select! {
                            _ = tokio::time::sleep(step.min(until - tokio::time::Instant::now())) => {}
                            _ = self.shared.shutdown.cancelled() => break,
                        }
                        if watchdog.is_some() {
                            systemd::ping();
                        }
                    }
                }
            }
        }
        self.chats.clear();
        let n = self.tasks.len();
        tracing::info!("stopping {n} chat(s)");
        let drain = async { while self.tasks.join_next().await.is_some() {} };
        if tokio::time::timeout(Duration::from_secs(20), drain)
            .await
            .is_err()
        {
            tracing::warn!("some chats did not stop in time; their agents are killed on exit");
        }
    }

    fn route(&mut self, m: Message) {
        let (key, user, reply_to, text) =
            match address::admit(&self.shared.cfg, &self.shared.me, &m) {
                Admission::Serve {
                    key,
                    user,
                    reply_to,
                    text,
                } => (key, user.clone(), reply_to, text),
                Admission::UnknownUser(uid) => {
                    if self.ignored_users.insert(uid) {
                        let from = m.from.as_ref();
                        tracing::warn!(
                            telegram_id = uid,
                            username = from.and_then(|f| f.username.as_deref()).unwrap_or(""),
                            "ignoring messages from a Telegram user who is not in the users file"
                        );
                    }
                    return;
                }
                Admission::UnlistedChat { chat, user } => {
                    if self.ignored_chats.insert((chat, user)) {
                        tracing::warn!(
                            chat,
                            telegram_id = user,
                            "ignoring a group chat this user does not list in `chats`"
                        );
                    }
                    return;
                }
                Admission::NotAddressed => return,
            };
        let chat = key.chat;
        let input = match (m.text(), text) {
            (Some(_), Some(t)) => commands::parse(&t)
                .map(Input::Command)
                .unwrap_or(Input::Text { text: t, reply_to }),
            _ => match files::media(&m) {
                Media::Files(list) => {
                    // Parts of a media group are gathered by the chat.
                    Input::Upload(Upload {
                        caption: m.caption().unwrap_or_default().to_string(),
                        files: list,
                        group: m.media_group_id().map(|g| g.0.clone()),
                        reply_to,
                    })
                }
                Media::Recording(file, mime) => Input::Voice(Recording {
                    caption: m.caption().unwrap_or_default().to_string(),
                    file,
                    mime,
                    reply_to,
                }),
                Media::Unsupported(kind) => {
                    tracing::info!(
                        chat,
                        topic = key.topic,
                        "{kind} are not supported; told the user"
                    );
                    let text = format!(
                        "🚫 {kind} are not supported yet, so this one did not reach the agent. \
                         I take text, photos, files (documents) and voice notes."
                    );
                    let tg = self.shared.tg.clone();
                    tokio::spawn(async move {
                        let msg = crate::telegram::api::Outgoing::plain(text);
                        if let Err(e) = tg.deliver(Place::from(key), &msg).await {
                            tracing::error!(chat, "could not send a message: {e}");
                        }
                    });
                    return;
                }
            },
        };
        let tx = self.actor(key, user);
        if tx.send(input).is_err() {
            tracing::error!(
                chat,
                topic = key.topic,
                "chat actor is gone; dropping a message"
            );
            self.chats.remove(&key);
        }
    }

    /// The conversation's actor, started on first use.
    fn actor(&mut self, key: ConvKey, user: User) -> &mpsc::UnboundedSender<Input> {
        self.chats.entry(key).or_insert_with(|| {
            let (tx, rx) = mpsc::unbounded_channel();
            let span = tracing::info_span!("chat", chat = key.chat, topic = key.topic,
                user = %user.name, os_user = %user.os_user);
            let actor = Chat::new(Arc::clone(&self.shared), key, user);
            self.tasks.spawn(actor.run(rx).instrument(span));
            tx
        })
    }

    /// Starts the conversation's actor now, without waiting for a message:
    /// for those with messages queued before a restart (`chat/recovery.rs`).
    pub fn open(&mut self, key: ConvKey, user: User) {
        self.actor(key, user);
    }
}

/// Why one long poll brought no updates.
#[derive(Debug, thiserror::Error)]
enum PollError {
    #[error(transparent)]
    Telegram(#[from] teloxide::RequestError),
    #[error("no answer within {0:?}")]
    NoAnswer(Duration),
}

/// The long-poll hint and the bound on the whole request: without a
/// watchdog, the longest poll Telegram allows us and the HTTP timeout;
/// under one, a quarter and a third of its period, so a hung request still
/// leaves time to ping.
fn poll_bounds(watchdog: Option<Duration>) -> (Duration, Duration) {
    match watchdog {
        None => (
            Duration::from_secs(POLL_SECONDS.into()),
            Duration::from_secs(u64::from(POLL_SECONDS) + 10),
        ),
        Some(w) => (
            (w / 4).max(Duration::from_secs(1)),
            (w / 3).max(Duration::from_millis(1500)),
        ),
    }
}
