//! What a restart must not lose, in one place. A conversation's state file keeps
//! the messages waiting in its queue and, while a turn runs, a mark and
//! the message being answered. On the next start the daemon tells each
//! user whose reply was cut off ([`tell_interrupted`]), the router starts
//! every chat that still has messages waiting ([`queued`]), and each chat
//! answers them first ([`waiting`]). What the router handed a chat that it
//! had not taken yet at shutdown, and a media group still arriving then,
//! are stored and queued, so they are answered then too.

use std::collections::VecDeque;

use tokio::sync::mpsc;

use super::{Chat, Input, Shared};
use crate::config::User;
use crate::state::key::ConvKey;
use crate::state::prompt::Prompt;
use crate::state::ChatState;
use crate::telegram::api::Outgoing;
use crate::telegram::split::quote;

impl Chat {
    /// Marks the turn as running before anything is sent, so a daemon
    /// stopped or killed from here on leaves the mark for the next start.
    pub(super) fn mark_answering(&mut self, prompt: &Prompt) {
        self.state.turn_in_flight = true;
        self.state.answering = Some(prompt.shown());
        self.save();
    }

    /// Clears the mark once the whole reply was delivered, so a daemon
    /// killed while delivering still tells the user. A turn cut off by the
    /// daemon stopping keeps it, and the next start tells them once.
    pub(super) fn mark_answered(&mut self) {
        self.state.turn_in_flight = false;
        self.state.answering = None;
        self.save();
    }

    /// At shutdown: whatever the router handed over that the chat has not
    /// taken yet (it was busy, or the stop won the race) goes into the
    /// durable queue, so the next start answers it; the router closes the
    /// channel once it stopped polling, which ends this. A command is not
    /// run this late (it may start an agent); its user is asked to resend.
    pub(super) async fn drain(&mut self, rx: &mut mpsc::UnboundedReceiver<Input>) {
        let mut kept = 0;
        while let Some(input) = rx.recv().await {
            if let Input::Command(c) = input {
                tracing::info!(command = ?c, "not running a command that arrived at shutdown");
                self.say("⚠️ Kai is restarting, so a command you sent just now was not run. Please send it again.");
                continue;
            }
            kept += 1;
            let _ = self.take(input).await;
        }
        if kept > 0 {
            tracing::info!(
                kept,
                "stopping with messages not yet taken; they are queued for the next start"
            );
        }
    }

    /// At shutdown: a media group still arriving is stored and queued as
    /// it is; the queue is durable, so the next start answers it.
    pub(super) async fn keep_arriving_album(&mut self) {
        if let Some(p) = self.finish_album().await {
            tracing::info!(
                "stopping while a media group was arriving; it is queued for the next start"
            );
            self.enqueue(p);
        }
    }
}

/// The messages that were waiting when the daemon last stopped, which a
/// chat answers before anything new.
pub(super) fn waiting(state: &ChatState) -> VecDeque<Prompt> {
    state.queued.iter().cloned().collect()
}

/// Users whose reply was cut off by a crash or restart learn about it,
/// once: the mark is cleared before they are told.
pub async fn tell_interrupted(shared: &Shared) {
    for key in shared.store.interrupted() {
        let mut state = shared.store.load(key);
        state.turn_in_flight = false;
        let what = state
            .answering
            .take()
            .map(|t| format!(" («{}»)", quote(&t, 200)))
            .unwrap_or_default();
        if let Err(e) = shared.store.save(key, &state) {
            tracing::error!("{e}");
        }
        let tg = shared.tg.clone();
        tokio::spawn(async move {
            let msg = Outgoing::plain(format!("⚠️ Kai restarted while answering your last message{what}, so that reply was cut off. Please send it again."));
            if let Err(e) = tg.deliver(key.into(), &msg).await {
                tracing::warn!(
                    chat = key.chat,
                    topic = key.topic,
                    "could not tell the user about an interrupted reply: {e}"
                );
            }
        });
    }
}

/// The conversations that had messages waiting when the daemon last
/// stopped, for the router to start at once, each with its user.
pub fn queued(shared: &Shared) -> Vec<(ConvKey, User)> {
    let mut found = Vec::new();
    for key in shared.store.with_queue() {
        match shared.cfg.user_by_telegram_id(key.user).cloned() {
            Some(user) => {
                tracing::info!(
                    chat = key.chat,
                    topic = key.topic,
                    "answering messages queued before the restart"
                );
                found.push((key, user));
            }
            None => tracing::warn!(
                chat = key.chat,
                "messages were queued for a user no longer in the users file; not answered"
            ),
        }
    }
    found
}
