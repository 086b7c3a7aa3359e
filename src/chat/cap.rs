//! The actor's side of the cap on a user's agents (`slots.rs`): before a
//! turn needs an agent it takes a slot, waiting — its message still in the
//! durable queue, the user told once which conversations are busy — while
//! every slot is answering; an idle agent asked to make room stops.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::slots::Acquire;
use super::{Chat, Input};
use crate::state::key::ConvKey;

/// How often a waiting turn looks again even without a notice of a freed
/// slot (an evicted agent that turned busy frees none).
const RETRY: Duration = Duration::from_secs(1);

impl Chat {
    /// Takes a slot for this conversation's agent before a turn. False
    /// when the daemon stops meanwhile, or nothing waits any more (`/new`).
    pub(super) async fn take_slot(&mut self, rx: &mut mpsc::UnboundedReceiver<Input>) -> bool {
        let mut told = false;
        loop {
            if self.session.is_some() {
                return true;
            }
            let shared = Arc::clone(&self.shared);
            let freed = shared.slots.freed();
            tokio::pin!(freed);
            freed.as_mut().enable();
            match shared
                .slots
                .acquire(self.key, self.user.max_agents, &self.wake)
            {
                Acquire::Got => return true,
                Acquire::Evicting(other) => {
                    tracing::info!(evicting = %other, "at the cap of {} agents: stopping the least recently used idle one", self.user.max_agents);
                }
                Acquire::AllBusy(busy) => {
                    if !told {
                        told = true;
                        let list: Vec<String> = busy.iter().map(describe).collect();
                        self.say(format!(
                            "⏳ All {} of your agents are answering ({}); this message waits and runs as soon as one is free.",
                            self.user.max_agents,
                            list.join(", ")
                        ));
                    }
                }
            }
            tokio::select! {
                _ = &mut freed => {}
                _ = tokio::time::sleep(RETRY) => {}
                input = rx.recv() => {
                    let Some(input) = input else { return false };
                    let _ = self.take(input).await;
                    if self.queue.is_empty() {
                        return false;
                    }
                }
                _ = shared.shutdown.cancelled() => return false,
            }
        }
    }

    /// The idle actor was woken: it stops its agent if it was asked to
    /// make room (its conversation resumes on its next message).
    pub(super) async fn make_room(&mut self) {
        if self.shared.slots.asked_to_evict(self.key) {
            tracing::info!(
                "stopping this idle agent to make room for another conversation of the user"
            );
            self.close_session().await;
        }
    }
}

/// A conversation as the user knows it.
pub(super) fn describe(key: &ConvKey) -> String {
    match (key.chat == key.user, key.topic) {
        (true, None) => "your private chat".into(),
        (true, Some(t)) => format!("topic {t}"),
        (false, None) => format!("group {}", key.chat),
        (false, Some(t)) => format!("topic {t} of group {}", key.chat),
    }
}

/// How many of the user's other conversations `/status` lists.
const OTHERS_SHOWN: usize = 10;

impl Chat {
    /// `/status`'s short list of the user's other conversations: where,
    /// project, model, and whether an agent answers there, idles or is
    /// stopped (their state files, read on demand: never on a turn's path).
    pub(super) fn others(&self) -> Vec<String> {
        let running = self.shared.slots.of_user(self.key.user);
        let others: Vec<_> = self
            .shared
            .store
            .all()
            .into_iter()
            .filter(|(k, _)| k.user == self.key.user && *k != self.key)
            .collect();
        if others.is_empty() {
            return Vec::new();
        }
        let mut lines = vec![format!(
            "Your other conversations ({} agents at most at once):",
            self.user.max_agents
        )];
        for (key, state) in others.iter().take(OTHERS_SHOWN) {
            let agent = match running.iter().find(|(k, _)| k == key) {
                Some((_, true)) => "answering",
                Some((_, false)) => "idle",
                None => "no agent",
            };
            lines.push(format!(
                "• {}: project {}, model {}, {agent}",
                describe(key),
                state.project.as_deref().unwrap_or("none"),
                state.model.as_deref().unwrap_or(&self.user.model)
            ));
        }
        if others.len() > OTHERS_SHOWN {
            lines.push(format!("… and {} more", others.len() - OTHERS_SHOWN));
        }
        lines
    }
}
