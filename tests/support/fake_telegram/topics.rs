//! Topics and groups in the fake Bot API: where a user's message is sent
//! (a chat, and a topic of it), forum and plain supergroups, and the bot's
//! messages of one topic.

use serde_json::{json, Value};

use super::{BotMessage, FakeTelegram};

/// Where a user's message is sent: a chat, and a topic of it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Where {
    pub chat: i64,
    /// `message_thread_id`; marked `is_topic_message` too, as Telegram does
    /// for topics of forums and of private chats.
    pub topic: Option<i64>,
    /// `reply_to_message` (a message of the bot's, in groups).
    pub reply_to: Option<i64>,
}

impl Where {
    /// The user's private chat with the bot, outside any topic.
    pub fn private(user: i64) -> Self {
        Where {
            chat: user,
            topic: None,
            reply_to: None,
        }
    }

    /// A topic of the user's private chat with the bot.
    pub fn private_topic(user: i64, topic: i64) -> Self {
        Where {
            topic: Some(topic),
            ..Where::private(user)
        }
    }

    /// A chat, outside any topic.
    pub fn chat(chat: i64) -> Self {
        Where::private(chat)
    }

    /// A topic of a group chat.
    pub fn topic(chat: i64, topic: i64) -> Self {
        Where {
            chat,
            topic: Some(topic),
            reply_to: None,
        }
    }

    /// Adds the topic (and reply) fields to a user's message.
    pub(super) fn mark(&self, msg: &mut Value) {
        if let Some(t) = self.topic {
            msg["message_thread_id"] = json!(t);
            msg["is_topic_message"] = json!(true);
        }
        if let Some(r) = self.reply_to {
            msg["reply_to_message"] = json!({"message_id": r, "date": msg["date"],
                "chat": msg["chat"], "from": super::bot_user(), "text": "…"});
        }
    }
}

impl FakeTelegram {
    /// Creates a supergroup the bot is in: a forum (topics) when `forum`.
    pub fn add_group(&self, chat: i64, title: &str, forum: bool) {
        let mut group = json!({"id": chat, "type": "supergroup", "title": title});
        if forum {
            group["is_forum"] = json!(true);
        }
        self.inner.state.lock().unwrap().groups.insert(chat, group);
    }

    /// The bot's messages in one topic of a chat (`None`: outside topics).
    pub fn messages_in(&self, chat: i64, topic: Option<i64>) -> Vec<BotMessage> {
        self.messages(chat)
            .into_iter()
            .filter(|m| m.thread_id == topic)
            .collect()
    }
}
