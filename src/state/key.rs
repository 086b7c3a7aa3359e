//! Which conversation a piece of state belongs to: a user, in a chat, in a
//! topic of it (none for the chat's main conversation). Each has its own
//! state file, named by [`ConvKey::file_name`]; a file written before
//! topics existed (`<chat>.json`, a private chat's only conversation) is
//! read as that chat's main conversation ([`ConvKey::parse_legacy`]).

use std::fmt;

/// One conversation: `(user, chat, topic)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ConvKey {
    /// The Telegram user whose agent answers.
    pub user: i64,
    /// The chat it happens in (the user's own id for a private chat).
    pub chat: i64,
    /// Telegram's `message_thread_id`: a topic of a private chat or forum.
    pub topic: Option<i32>,
}

impl ConvKey {
    /// A private chat's main conversation, the only one before topics.
    pub fn private(user: i64) -> Self {
        ConvKey {
            user,
            chat: user,
            topic: None,
        }
    }

    /// `<chat>.<user>.<topic or "main">.json`.
    pub fn file_name(&self) -> String {
        let topic = self
            .topic
            .map_or_else(|| "main".to_string(), |t| t.to_string());
        format!("{}.{}.{topic}.json", self.chat, self.user)
    }

    /// The key a [`file_name`](Self::file_name) names.
    pub fn parse(name: &str) -> Option<Self> {
        let mut parts = name.strip_suffix(".json")?.split('.');
        let chat = parts.next()?.parse().ok()?;
        let user = parts.next()?.parse().ok()?;
        let topic = match parts.next()? {
            "main" => None,
            t => Some(t.parse().ok().filter(|t: &i32| *t > 0)?),
        };
        parts
            .next()
            .is_none()
            .then_some(ConvKey { user, chat, topic })
    }

    /// The key of a file named as before topics: `<chat>.json`, a private
    /// chat, so the chat id is the user's.
    pub fn parse_legacy(name: &str) -> Option<Self> {
        let chat: i64 = name.strip_suffix(".json")?.parse().ok()?;
        (chat > 0).then(|| ConvKey::private(chat))
    }
}

impl fmt::Display for ConvKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.topic {
            Some(t) => write!(f, "topic {t}"),
            None => write!(f, "main"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names_read_back_and_nothing_else_does() {
        for key in [
            ConvKey::private(1001),
            ConvKey {
                user: 1001,
                chat: -100_123,
                topic: Some(7),
            },
        ] {
            assert_eq!(ConvKey::parse(&key.file_name()), Some(key));
        }
        assert_eq!(ConvKey::private(5).file_name(), "5.5.main.json");
        for bad in [
            "5.json",
            "5.5.json",
            "5.5.0.json",
            "5.5.x.json",
            "5.5.main.x.json",
            ".5.5.main.json.tmp",
        ] {
            assert_eq!(ConvKey::parse(bad), None, "{bad}");
        }
        assert_eq!(ConvKey::parse_legacy("5.json"), Some(ConvKey::private(5)));
        assert_eq!(ConvKey::parse_legacy("-100.json"), None);
        assert_eq!(ConvKey::parse_legacy("5.5.main.json"), None);
    }
}
