//! Groups are opt-in: a user is served in a group or supergroup only when
//! their `chats` lists it, each allowed user in a conversation of their own
//! per topic, the answer replying to the message it answers. In a group
//! without topics only messages that mention the bot or reply to it count.
//! Senders not in the users file and chats not listed are ignored, and
//! logged once. On the real codex CLI.

mod support;

use std::time::Duration;

use serde_json::{json, Value};
use support::fake_telegram::{BotMessage, Where};
use support::kai::{Kai, Options, ALICE, BOB, STRANGER};

const FORUM: i64 = -100_777;
const PLAIN: i64 = -100_888;
const UNLISTED: i64 = -100_999;

/// Waits for a bot message in `chat`'s `topic` containing `needle`.
async fn wait_in(kai: &Kai, chat: i64, topic: Option<i64>, needle: &str) -> BotMessage {
    let found = support::poll_until(Duration::from_secs(90), || {
        kai.tg
            .messages_in(chat, topic)
            .into_iter()
            .find(|m| m.text.contains(needle))
    })
    .await;
    found.unwrap_or_else(|| {
        panic!(
            "no `{needle}` in {chat}/{topic:?}: {:#?}\n--- kai log ---\n{}",
            kai.tg.messages(chat),
            kai.log()
        )
    })
}

/// The codex thread of a conversation, once its turn has ended (the thread
/// is saved just after the reply's text shows).
async fn thread(kai: &Kai, user: i64, chat: i64, topic: Option<i64>) -> Option<String> {
    support::poll_until(Duration::from_secs(30), || {
        kai.conv_state(user, chat, topic)
            .filter(|s| s["turn_in_flight"] == false)
            .and_then(|s| {
                s.get("conversation")
                    .and_then(Value::as_str)
                    .map(str::to_string)
            })
    })
    .await
}

async fn start() -> Kai {
    let kai = Kai::start(Options {
        users: vec![("alice", ALICE), ("bob", BOB)],
        user_fields: vec![
            (ALICE, "chats", json!([FORUM, PLAIN])),
            (BOB, "chats", json!([FORUM])),
        ],
        ..Options::default()
    })
    .await;
    kai.tg.add_group(FORUM, "team forum", true);
    kai.tg.add_group(PLAIN, "team chat", false);
    kai.tg.add_group(UNLISTED, "elsewhere", true);
    kai
}

/// In a listed forum each allowed user has their own conversation in a
/// topic, answered in that topic, replying to their message; a sender not
/// in the users file is ignored there (and logged once).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_listed_forum_serves_allowed_senders_in_their_topic() {
    let kai = start().await;
    let topic = Where::topic(FORUM, 5);
    kai.tg.send_text_in(STRANGER, topic, "stranger asks");
    kai.tg.send_text_in(STRANGER, topic, "stranger asks again");
    let asked = kai.tg.send_text_in(ALICE, topic, "alice asks");
    let m = wait_in(&kai, FORUM, Some(5), "echo: alice asks").await;
    // The user's message id is the update's message id; the fake numbers
    // a chat's messages in one sequence, so it is the third one.
    assert_eq!(m.reply_to, Some(3), "{m:#?} (update {asked})");
    kai.tg.send_text_in(BOB, topic, "bob asks");
    let m = wait_in(&kai, FORUM, Some(5), "echo: bob asks").await;
    assert!(m.reply_to.is_some(), "{m:#?}");

    let texts: Vec<String> = kai.tg.messages(FORUM).into_iter().map(|m| m.text).collect();
    assert!(!texts.iter().any(|t| t.contains("stranger")), "{texts:#?}");
    assert!(kai
        .tg
        .messages(FORUM)
        .iter()
        .all(|m| m.thread_id == Some(5)));
    let (a, b) = (
        thread(&kai, ALICE, FORUM, Some(5)).await,
        thread(&kai, BOB, FORUM, Some(5)).await,
    );
    assert!(
        a.is_some() && b.is_some() && a != b,
        "one conversation each: {a:?} {b:?}"
    );
    let log = kai.log();
    let ignored = log
        .lines()
        .filter(|l| l.contains("not in the users file") && l.contains(&STRANGER.to_string()))
        .count();
    assert_eq!(ignored, 1, "logged once:\n{log}");
}

/// A group the sender does not list is ignored, even a forum with a topic,
/// and logged once; the same sender is served where they list the chat.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unlisted_group_is_ignored() {
    let kai = start().await;
    kai.tg
        .send_text_in(ALICE, Where::topic(UNLISTED, 3), "anyone here?");
    kai.tg
        .send_text_in(ALICE, Where::topic(UNLISTED, 3), "hello?");
    kai.tg.send_text_in(
        BOB,
        Where::chat(PLAIN),
        "@kai_test_bot bob is not in this one",
    );
    kai.tg
        .send_text_in(ALICE, Where::topic(FORUM, 9), "listed one");
    wait_in(&kai, FORUM, Some(9), "echo: listed one").await;
    assert!(
        kai.tg.messages(UNLISTED).is_empty(),
        "{:#?}",
        kai.tg.messages(UNLISTED)
    );
    assert!(
        kai.tg.messages(PLAIN).is_empty(),
        "{:#?}",
        kai.tg.messages(PLAIN)
    );
    assert!(kai.conv_state(ALICE, UNLISTED, Some(3)).is_none());
    let log = kai.log();
    let lines = log
        .lines()
        .filter(|l| l.contains("does not list in `chats`"))
        .count();
    assert_eq!(lines, 2, "once per chat and sender:\n{log}");
}

/// In a group without topics, only what mentions the bot or replies to
/// it is answered (without the mention), replying to that message.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_group_without_topics_answers_mentions_and_replies_only() {
    let kai = start().await;
    let here = Where::chat(PLAIN);
    kai.tg
        .send_text_in(ALICE, here, "just chatting with people");
    kai.tg.send_text_in(ALICE, here, "@kai_test_bot what is up");
    let m = wait_in(&kai, PLAIN, None, "echo: what is up").await;
    assert_eq!(m.reply_to, Some(2), "{m:#?}");
    let reply = Where {
        reply_to: Some(m.message_id),
        ..here
    };
    kai.tg.send_text_in(ALICE, reply, "and a follow-up");
    wait_in(&kai, PLAIN, None, "echo: and a follow-up").await;
    let texts: Vec<String> = kai.tg.messages(PLAIN).into_iter().map(|m| m.text).collect();
    assert!(!texts.iter().any(|t| t.contains("chatting")), "{texts:#?}");
    assert!(
        thread(&kai, ALICE, PLAIN, None).await.is_some(),
        "the group's main conversation is alice's own"
    );
}
