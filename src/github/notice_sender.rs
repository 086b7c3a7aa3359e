//! Sends the owners' notifications and the summaries of finished jobs,
//! oldest first, beside the job worker (a review that takes ten minutes
//! does not hold back a comment's notice, and a Telegram outage does not
//! hold back the next review). A notice stays pending until Telegram took it, so an outage or
//! a restart delays it and never loses it; a `kill -9` between Telegram's
//! answer and the mark can send one twice, never zero times.
//!
//! Comments kai posted itself are not told: their author is the token's
//! account and their body starts with one of kai's markers. Both must
//! hold, so nobody silences a notice by starting a comment with a marker.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::client::Client;
use super::deliveries::{Deliveries, PendingNotice, Tell};
use super::event_notice;
use super::events::Happening;
use super::owner;
use crate::config::{Config, User};
use crate::telegram::api::{Outgoing, Place, Telegram};

/// How long the notifier waits after Telegram gave up on a notice.
const RETRY_AFTER: Duration = Duration::from_secs(15);

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
        loop {
            let deliveries = Arc::clone(&self.deliveries);
            let pending = tokio::task::spawn_blocking(move || deliveries.pending_notices())
                .await
                .unwrap_or_default();
            if pending.is_empty() {
                tokio::select! {
                    _ = self.wake.notified() => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
            for p in pending {
                let sent = tokio::select! {
                    s = self.tell(&p, &mut me) => s,
                    // Left pending: told after the restart.
                    _ = shutdown.cancelled() => return,
                };
                if !sent {
                    tokio::select! {
                        _ = tokio::time::sleep(RETRY_AFTER) => {}
                        _ = shutdown.cancelled() => return,
                    }
                    break;
                }
            }
        }
    }

    /// Tells one notice, or marks why not; `false` when Telegram could not
    /// take it (it stays pending).
    async fn tell(&self, p: &PendingNotice, me: &mut Option<String>) -> bool {
        let (repo, message) = match &p.tell {
            Tell::Summary { repo, text } => (repo, Outgoing::plain(text.clone())),
            Tell::Event(event) => {
                let wants = |u: &&User| u.github.as_ref().is_some_and(|g| g.notify);
                if owner(&self.cfg, &event.repo).filter(wants).is_none() {
                    self.mark(p, "nobody wants notices for this repository any more");
                    return true;
                }
                if let Happening::Comment {
                    by,
                    kai_marked: true,
                    ..
                } = &event.what
                {
                    if self.is_kai(by, me).await {
                        self.mark(p, "kai's own comment");
                        return true;
                    }
                }
                let Some(message) = event_notice::render(event) else {
                    self.mark(p, "nothing to tell");
                    return true;
                };
                (&event.repo, message)
            }
        };
        // A job's summary goes to the owner whether or not they want notices.
        let Some(user) = owner(&self.cfg, repo) else {
            self.mark(p, "the repository has no owner any more");
            return true;
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
                true
            }
            Err(e) => {
                tracing::warn!(repo = %repo, user = %user.name, chat = user.telegram_id,
                    "could not send a GitHub notice; it stays queued: {e}");
                false
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
