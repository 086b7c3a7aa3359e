//! How far the long poll got: the next `update_id` to ask Telegram for,
//! kept in `$KAI_DATA_DIR/telegram-offset.json` (0600, written by rename
//! like the conversations' state). Telegram forgets an update only when a
//! later `getUpdates` confirms it, so a stop that falls between receiving a
//! batch and the next poll would bring the batch back at the next start;
//! the router saves the offset right after handing each batch to its
//! conversations, and the next start polls from there.
//!
//! The saved offset is used only for the bot that saved it, and only for a
//! day: Telegram keeps unconfirmed updates no longer than 24 hours, and
//! after a quiet week it may number the next update below an old offset,
//! which would then hide it.

use serde::{Deserialize, Serialize};

use super::{make_dir, replace, StateError, StateStore, DATA_DIR_MODE};

const FILE: &str = "telegram-offset.json";

/// How long a saved offset stays worth more than Telegram's own record.
const FRESH_SECONDS: i64 = 24 * 60 * 60;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
struct Saved {
    /// The bot (`getMe`'s id) whose updates these are.
    bot: i64,
    /// The first update not handed to a conversation yet.
    next_update_id: i32,
    /// Unix time of the save.
    saved_at: i64,
}

impl StateStore {
    /// The offset to poll from at start: the saved one when it is this
    /// bot's and fresh, else 0 (everything Telegram still holds).
    pub fn poll_offset(&self, bot: i64, now: i64) -> i32 {
        let path = self.data_dir.join(FILE);
        let saved: Saved = match std::fs::read(&path) {
            Ok(bytes) => match serde_json::from_slice(&bytes) {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!(path = %path.display(), "ignoring an unreadable poll offset: {e}");
                    return 0;
                }
            },
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return 0,
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read the poll offset: {e}");
                return 0;
            }
        };
        if saved.bot != bot || now - saved.saved_at > FRESH_SECONDS {
            return 0;
        }
        saved.next_update_id
    }

    /// Records that every update below `next_update_id` was handed to its
    /// conversation (or ignored).
    pub fn save_poll_offset(
        &self,
        bot: i64,
        next_update_id: i32,
        now: i64,
    ) -> Result<(), StateError> {
        let path = self.data_dir.join(FILE);
        let err = |source| StateError {
            path: path.clone(),
            source,
        };
        make_dir(&self.data_dir, DATA_DIR_MODE).map_err(err)?;
        let saved = Saved {
            bot,
            next_update_id,
            saved_at: now,
        };
        let bytes = serde_json::to_vec(&saved).map_err(|e| err(e.into()))?;
        replace(&self.data_dir.join(format!(".{FILE}.tmp")), &path, &bytes).map_err(err)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_is_kept_for_its_bot_for_a_day() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        assert_eq!(store.poll_offset(7, 1_000), 0, "nothing saved yet");
        store.save_poll_offset(7, 4242, 1_000).unwrap();
        assert_eq!(store.poll_offset(7, 1_000 + 3_600), 4242);
        assert_eq!(store.poll_offset(8, 1_000), 0, "another bot's offset");
        assert_eq!(
            store.poll_offset(7, 1_000 + FRESH_SECONDS + 1),
            0,
            "Telegram dropped what it held by then"
        );
        std::fs::write(dir.path().join(FILE), "{torn").unwrap();
        assert_eq!(store.poll_offset(7, 1_000), 0);
    }
}
