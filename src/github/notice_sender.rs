//! Sends the owners' notifications and the summaries of finished jobs,
//! oldest first within each owner's chat, beside the job worker (a review that takes ten minutes
//! does not hold back a comment's notice, and a Telegram outage does not
//! hold back the next review). A notice stays pending until Telegram took it, so an outage or
//! a restart delays it and never loses it; a `kill -9` between Telegram's
//! answer and the mark can send one twice, never zero times. A chat that
//! cannot take a notice (the owner blocked the bot, Telegram is refusing
//! that chat) waits on its own backoff: the other owners' notices go on.
//!
//! Comments kai posted itself are not told: their author is the token's
//! account and their body starts with one of kai's markers. Both must
//! hold, so nobody silences a notice by starting a comment with a marker.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::client::Client;
use super::deliveries::{Deliveries, PendingNotice, Tell};
use super::event_notice;
use super::events::Happening;
use super::owner;
use crate::config::{Config, User};
use crate::retry::Backoff;
use crate::telegram::api::{Outgoing, Place, Telegram};

/// How long a chat's notices wait after Telegram gave up on one of them
/// (doubling, to the shared cap).
const RETRY_AFTER: Duration = Duration::from_secs(15);

/// Chats whose last notice Telegram did not take: when to try each again.
#[derive(Default)]
struct Waiting(HashMap<i64, (Instant, Backoff)>);

impl Waiting {
    fn is_due(&self, chat: i64, now: Instant) -> bool {
        self.0.get(&chat).is_none_or(|(at, _)| *at <= now)
    }

    fn failed(&mut self, chat: i64, now: Instant) {
        let (at, backoff) = self
            .0
            .entry(chat)
            .or_insert_with(|| (now, Backoff::new(RETRY_AFTER)));
        *at = now + backoff.step();
    }

    fn sent(&mut self, chat: i64) {
        self.0.remove(&chat);
    }

    /// When the first waiting chat is due again.
    fn next_due(&self) -> Option<Instant> {
        self.0.values().map(|(at, _)| *at).min()
    }
}

/// What became of one notice.
enum Told {
    /// Sent, or marked done for a reason.
    Done,
    /// Telegram did not take it; it stays pending for this chat.
    Failed { chat: i64 },
}

pub struct Notifier {
    pub cfg: Arc<Config>,
    pub client: Client,
    pub deliveries: Arc<Deliveries>,
    pub tg: Telegram,
    pub wake: Arc<Notify>,
}

impl Notifier {
    pub async fn run(self, shutdown: CancellationToken) {
        // The token's login, asked once it is first needed.
        let mut me: Option<String> = None;
        let mut waiting = Waiting::default();
        loop {
            let deliveries = Arc::clone(&self.deliveries);
            let pending = tokio::task::spawn_blocking(move || deliveries.pending_notices())
                .await
                .unwrap_or_default();
            // Chats that failed in this pass: their later notices wait too,
            // so each chat's notices keep their order.
            let mut held = Vec::new();
            let mut untold = 0;
            for p in pending {
                let chat = self.chat_of(&p);
                if chat.is_some_and(|c| held.contains(&c) || !waiting.is_due(c, Instant::now())) {
                    untold += 1;
                    continue;
                }
                let told = tokio::select! {
                    t = self.tell(&p, &mut me) => t,
                    // Left pending: told after the restart.
                    _ = shutdown.cancelled() => return,
                };
                match told {
                    Told::Done => {
                        if let Some(c) = chat {
                            waiting.sent(c);
                        }
                    }
                    Told::Failed { chat } => {
                        waiting.failed(chat, Instant::now());
                        held.push(chat);
                        untold += 1;
                    }
                }
            }
            let due = if untold > 0 { waiting.next_due() } else { None };
            tokio::select! {
                _ = self.wake.notified() => {}
                _ = async {
                    match due {
                        Some(at) => tokio::time::sleep_until(at).await,
                        None => std::future::pending().await,
                    }
                } => {}
                _ = shutdown.cancelled() => return,
            }
        }
    }

    /// The chat a notice goes to: its repository's owner's.
    fn chat_of(&self, p: &PendingNotice) -> Option<i64> {
        let repo = match &p.tell {
            Tell::Summary { repo, .. } => repo,
            Tell::Event(event) => &event.repo,
        };
        owner(&self.cfg, repo).map(|u| u.telegram_id)
    }

    /// Tells one notice, or marks why not.
    async fn tell(&self, p: &PendingNotice, me: &mut Option<String>) -> Told {
        let (repo, message) = match &p.tell {
            Tell::Summary { repo, text } => (repo, Outgoing::plain(text.clone())),
            Tell::Event(event) => {
                let wants = |u: &&User| u.github.as_ref().is_some_and(|g| g.notify);
                if owner(&self.cfg, &event.repo).filter(wants).is_none() {
                    self.mark(p, "nobody wants notices for this repository any more");
                    return Told::Done;
                }
                if let Happening::Comment {
                    by,
                    kai_marked: true,
                    ..
                } = &event.what
                {
                    if self.is_kai(by, me).await {
                        self.mark(p, "kai's own comment");
                        return Told::Done;
                    }
                }
                let Some(message) = event_notice::render(event) else {
                    self.mark(p, "nothing to tell");
                    return Told::Done;
                };
                (&event.repo, message)
            }
        };
        // A job's summary goes to the owner whether or not they want notices.
        let Some(user) = owner(&self.cfg, repo) else {
            self.mark(p, "the repository has no owner any more");
            return Told::Done;
        };
        match self
            .tg
            .deliver(Place::chat(user.telegram_id), &message)
            .await
        {
            Ok(_) => {
                tracing::info!(repo = %repo, user = %user.name, chat = user.telegram_id,
                    delivery = %p.id, "GitHub notice sent");
                self.mark(p, "sent");
                Told::Done
            }
            Err(e) => {
                tracing::warn!(repo = %repo, user = %user.name, chat = user.telegram_id,
                    "could not send a GitHub notice; it stays queued: {e}");
                Told::Failed {
                    chat: user.telegram_id,
                }
            }
        }
    }

    /// Whether `login` is the token's account. When GitHub cannot say
    /// (an app token has no user), a marked comment counts as kai's: a
    /// missed notice of a marked comment costs less than kai telling its
    /// owner about every review it posts.
    async fn is_kai(&self, login: &str, me: &mut Option<String>) -> bool {
        if me.is_none() {
            match self.client.login().await {
                Ok(l) => *me = Some(l),
                Err(e) => {
                    tracing::warn!("cannot learn the GitHub token's account: {e}");
                    return true;
                }
            }
        }
        me.as_deref().is_some_and(|m| m.eq_ignore_ascii_case(login))
    }

    fn mark(&self, p: &PendingNotice, outcome: &str) {
        if let Err(e) = self.deliveries.told(&p.id, &p.tell, outcome) {
            tracing::error!(delivery = %p.id, "could not mark a notice done: {e}");
        }
    }
}
