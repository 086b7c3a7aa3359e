//! The cap on a user's running agents (`max_agents`): a registry, shared
//! by every conversation's actor, of which conversations hold an agent,
//! which of them are answering, and when each was last used. A
//! conversation takes a slot before a turn starts its agent; past the cap
//! the least recently used idle agent is asked to stop (its thread resumes
//! later), and when every agent is answering the turn waits, its message
//! kept in the durable queue, until a slot is freed. Only memory: nothing
//! here touches the disk, so a turn costs two lock round-trips.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use tokio::sync::Notify;
use tokio::time::Instant;

use crate::state::key::ConvKey;

/// One conversation holding an agent.
struct Holder {
    key: ConvKey,
    busy: bool,
    used: Instant,
    /// Asked to stop its idle agent to make room; cleared when it turns busy.
    evict: bool,
    /// Wakes its actor to look at `evict`.
    wake: Arc<Notify>,
}

/// What [`Slots::acquire`] found.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Acquire {
    /// The conversation holds a slot now.
    Got,
    /// The least recently used idle agent was asked to stop; try again
    /// once a slot is freed.
    Evicting(ConvKey),
    /// Every agent of the user is answering, in these conversations.
    AllBusy(Vec<ConvKey>),
}

/// Every user's agents, by Telegram user id.
#[derive(Default)]
pub struct Slots {
    users: Mutex<HashMap<i64, Vec<Holder>>>,
    /// Notified whenever a slot is freed.
    freed: Notify,
}

impl Slots {
    fn with<T>(&self, f: impl FnOnce(&mut HashMap<i64, Vec<Holder>>) -> T) -> T {
        // A poisoned lock only means another actor panicked mid-update of
        // plain flags: the data is still usable.
        let mut users = self.users.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut users)
    }

    /// Takes a slot for `key` when the user has one free (or holds one
    /// already); else asks the least recently used idle agent to stop, or
    /// says that all are busy.
    pub(super) fn acquire(&self, key: ConvKey, max: usize, wake: &Arc<Notify>) -> Acquire {
        self.with(|users| {
            let held = users.entry(key.user).or_default();
            if held.iter().any(|h| h.key == key) {
                return Acquire::Got;
            }
            if held.len() < max {
                held.push(Holder {
                    key,
                    busy: false,
                    used: Instant::now(),
                    evict: false,
                    wake: Arc::clone(wake),
                });
                return Acquire::Got;
            }
            match held.iter_mut().filter(|h| !h.busy).min_by_key(|h| h.used) {
                Some(lru) => {
                    lru.evict = true;
                    lru.wake.notify_one();
                    Acquire::Evicting(lru.key)
                }
                None => Acquire::AllBusy(held.iter().map(|h| h.key).collect()),
            }
        })
    }

    /// Records that `key`'s agent started without [`acquire`](Self::acquire)
    /// (a retry on a fresh agent mid-turn): the cap is enforced when turns
    /// start, so this only keeps the count true.
    pub(super) fn hold(&self, key: ConvKey, wake: &Arc<Notify>, busy: bool) {
        self.with(|users| {
            let held = users.entry(key.user).or_default();
            if !held.iter().any(|h| h.key == key) {
                held.push(Holder {
                    key,
                    busy,
                    used: Instant::now(),
                    evict: false,
                    wake: Arc::clone(wake),
                });
            }
        })
    }

    /// Marks `key` answering (or idle again, and just used).
    pub(super) fn busy(&self, key: ConvKey, busy: bool) {
        self.with(|users| {
            if let Some(h) = users
                .get_mut(&key.user)
                .and_then(|v| v.iter_mut().find(|h| h.key == key))
            {
                h.busy = busy;
                h.used = Instant::now();
                if busy {
                    h.evict = false;
                }
            }
        })
    }

    /// Whether `key` was asked to stop its idle agent (and still is).
    pub(super) fn asked_to_evict(&self, key: ConvKey) -> bool {
        self.with(|users| {
            users
                .get(&key.user)
                .and_then(|v| v.iter().find(|h| h.key == key))
                .is_some_and(|h| h.evict && !h.busy)
        })
    }

    /// `key`'s agent is gone: its slot is free.
    pub(super) fn release(&self, key: ConvKey) {
        let freed = self.with(|users| {
            let Some(held) = users.get_mut(&key.user) else {
                return false;
            };
            let before = held.len();
            held.retain(|h| h.key != key);
            before != held.len()
        });
        if freed {
            self.freed.notify_waiters();
        }
    }

    /// Resolves when a slot is freed (enable it before looking, so a
    /// slot freed in between is not missed).
    pub(super) fn freed(&self) -> tokio::sync::futures::Notified<'_> {
        self.freed.notified()
    }

    /// The user's conversations holding an agent, and whether each is busy.
    pub(super) fn of_user(&self, user: i64) -> Vec<(ConvKey, bool)> {
        self.with(|users| {
            users
                .get(&user)
                .map(|v| v.iter().map(|h| (h.key, h.busy)).collect())
                .unwrap_or_default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn topic(t: i32) -> ConvKey {
        ConvKey {
            topic: Some(t),
            ..ConvKey::private(1)
        }
    }

    #[test]
    fn the_least_recently_used_idle_agent_makes_room_and_busy_ones_never_do() {
        let slots = Slots::default();
        let wake = Arc::new(Notify::new());
        assert_eq!(slots.acquire(topic(1), 2, &wake), Acquire::Got);
        std::thread::sleep(std::time::Duration::from_millis(5));
        assert_eq!(slots.acquire(topic(2), 2, &wake), Acquire::Got);
        assert_eq!(
            slots.acquire(topic(2), 2, &wake),
            Acquire::Got,
            "held already"
        );
        assert_eq!(
            slots.acquire(topic(3), 2, &wake),
            Acquire::Evicting(topic(1))
        );
        assert!(slots.asked_to_evict(topic(1)));
        // Topic 1 turned busy before it stopped: it is no longer asked.
        slots.busy(topic(1), true);
        assert!(!slots.asked_to_evict(topic(1)));
        assert_eq!(
            slots.acquire(topic(3), 2, &wake),
            Acquire::Evicting(topic(2))
        );
        slots.busy(topic(2), true);
        assert_eq!(
            slots.acquire(topic(3), 2, &wake),
            Acquire::AllBusy(vec![topic(1), topic(2)])
        );
        slots.release(topic(2));
        assert_eq!(slots.acquire(topic(3), 2, &wake), Acquire::Got);
        assert_eq!(slots.of_user(1), vec![(topic(1), true), (topic(3), false)]);
        assert!(
            slots.of_user(2).is_empty(),
            "another user's agents are their own"
        );
    }
}
