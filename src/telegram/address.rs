//! Whether a message is for Kai, and which conversation it belongs to. A
//! private chat serves its user; a group or supergroup only the users who
//! list it in `chats`, each in a conversation of their own per topic. In a
//! group without topics only messages that mention the bot or reply to it
//! are for Kai. In groups the answer replies to the message it answers.

use teloxide::types::{Chat, ChatKind, ChatPublic, Message, PublicChatKind};

use crate::config::{Config, User};
use crate::state::key::ConvKey;

/// Who the bot is (`getMe`): what group messages addressing it name.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BotIdentity {
    pub id: i64,
    pub username: String,
}

/// What the router does with one message.
#[derive(Debug)]
pub enum Admission<'a> {
    /// Serve it in `key`'s conversation; `reply_to` is the message the
    /// answer replies to (in groups), `text` the text with the bot's
    /// mention taken out.
    Serve {
        key: ConvKey,
        user: &'a User,
        reply_to: Option<i32>,
        text: Option<String>,
    },
    /// The sender is not in the users file.
    UnknownUser(i64),
    /// A group the sender does not list in `chats`.
    UnlistedChat { chat: i64, user: i64 },
    /// A message in a group without topics that is not for the bot.
    NotAddressed,
}

/// Decides what `m` is (see the module's comment).
pub fn admit<'a>(cfg: &'a Config, me: &BotIdentity, m: &Message) -> Admission<'a> {
    let Some(from) = m.from.as_ref() else {
        return Admission::NotAddressed;
    };
    let uid = from.id.0 as i64;
    let Some(user) = cfg.user_by_telegram_id(uid) else {
        return Admission::UnknownUser(uid);
    };
    let chat = m.chat.id.0;
    let text = m.text().or_else(|| m.caption()).map(str::to_string);
    if m.chat.is_private() {
        let topic = m.thread_id.map(|t| t.0 .0);
        return Admission::Serve {
            key: ConvKey {
                user: uid,
                chat,
                topic,
            },
            user,
            reply_to: None,
            text,
        };
    }
    if !user.chats.contains(&chat) {
        return Admission::UnlistedChat { chat, user: uid };
    }
    // A reply in a group carries its reply thread's id too: only a topic
    // of a forum is a conversation of its own.
    let topic = m
        .is_topic_message
        .then(|| m.thread_id.map(|t| t.0 .0))
        .flatten();
    let forum = is_forum(&m.chat) || topic.is_some();
    let replies_to_bot = m
        .reply_to_message()
        .and_then(|r| r.from.as_ref())
        .is_some_and(|f| f.id.0 as i64 == me.id);
    let mentioned = text.as_deref().is_some_and(|t| mentions(t, &me.username));
    if !forum && !replies_to_bot && !mentioned && !is_command_for(text.as_deref(), &me.username) {
        return Admission::NotAddressed;
    }
    Admission::Serve {
        key: ConvKey {
            user: uid,
            chat,
            topic,
        },
        user,
        reply_to: Some(m.id.0),
        text: text.map(|t| without_mention(&t, &me.username)),
    }
}

/// A supergroup with topics.
fn is_forum(chat: &Chat) -> bool {
    matches!(&chat.kind, ChatKind::Public(ChatPublic {
        kind: PublicChatKind::Supergroup(s),
        ..
    }) if s.is_forum)
}

/// Whether `text` names `@username` (Telegram matches it case-insensitively).
fn mentions(text: &str, username: &str) -> bool {
    !username.is_empty()
        && text
            .split(|c: char| c.is_whitespace() || matches!(c, ',' | ':' | '.' | '!' | '?'))
            .any(|w| {
                w.strip_prefix('@')
                    .is_some_and(|n| n.eq_ignore_ascii_case(username))
            })
}

/// A command sent to bots in general (`/status`) or to this one
/// (`/status@kai_bot`), not one for another bot.
fn is_command_for(text: Option<&str>, username: &str) -> bool {
    let Some(head) = text.and_then(|t| t.trim().strip_prefix('/')) else {
        return false;
    };
    let head = head.split_whitespace().next().unwrap_or_default();
    match head.split_once('@') {
        None => !head.is_empty(),
        Some((_, bot)) => bot.eq_ignore_ascii_case(username),
    }
}

/// `text` without the bot's `@username` (what the agent reads).
fn without_mention(text: &str, username: &str) -> String {
    if username.is_empty() || text.trim_start().starts_with('/') {
        return text.to_string();
    }
    let words: Vec<&str> = text
        .split(' ')
        .filter(|w| {
            let w = w.trim_end_matches([',', ':', '.', '!', '?']);
            !w.strip_prefix('@')
                .is_some_and(|n| n.eq_ignore_ascii_case(username))
        })
        .collect();
    words.join(" ").trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_mention_is_a_word_and_is_taken_out() {
        assert!(mentions("@Kai_Bot what now?", "kai_bot"));
        assert!(mentions("hey @kai_bot, look", "kai_bot"));
        assert!(!mentions("@kai_bot2 hi", "kai_bot"));
        assert!(!mentions("mail kai_bot", "kai_bot"));
        assert_eq!(
            without_mention("@kai_bot what now?", "kai_bot"),
            "what now?"
        );
        assert_eq!(without_mention("hey @KAI_BOT, look", "kai_bot"), "hey look");
    }

    #[test]
    fn commands_for_other_bots_are_not_ours() {
        assert!(is_command_for(Some("/status"), "kai_bot"));
        assert!(is_command_for(Some("/status@kai_bot"), "kai_bot"));
        assert!(!is_command_for(Some("/status@other_bot"), "kai_bot"));
        assert!(!is_command_for(Some("hello"), "kai_bot"));
    }
}
