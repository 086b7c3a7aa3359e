//! The Bot API calls Kai makes, with the failure policy each deserves:
//! a reply the user is waiting for is retried until Telegram takes it
//! (honouring `retry_after`), a formatted message Telegram cannot parse is
//! resent as plain text, and cosmetic calls (typing, command menu) are
//! tried once and only logged when they fail.

use std::time::Duration;

use teloxide::payloads::{
    EditMessageTextSetters, GetUpdatesSetters, SendChatActionSetters, SendMessageSetters,
};
use teloxide::requests::Requester;
use teloxide::types::{
    AllowedUpdate, BotCommand, ChatAction, ChatId, MessageId, ParseMode, ReplyParameters, ThreadId,
    Update,
};
use teloxide::{ApiError, Bot, RequestError};

use super::address::BotIdentity;
use super::split::{split, units};
use crate::retry::Backoff;
use crate::state::key::ConvKey;

/// How long a long poll waits for updates; the HTTP timeout sits above it.
pub const POLL_SECONDS: u32 = 20;
const HTTP_TIMEOUT: Duration = Duration::from_secs(POLL_SECONDS as u64 + 10);
/// The HTTP timeout of file transfers: 50 MB over a slow uplink.
const FILE_TIMEOUT: Duration = Duration::from_secs(10 * 60);
/// How long an essential delivery keeps retrying before giving up.
const DELIVERY_PATIENCE: Duration = Duration::from_secs(15 * 60);

#[derive(Debug, thiserror::Error)]
pub enum TelegramError {
    #[error("invalid Bot API URL `{0}`")]
    Url(String),
    #[error("cannot build the HTTP client: {0}")]
    Client(String),
    #[error(transparent)]
    Request(#[from] RequestError),
}

impl TelegramError {
    /// The Bot API refused the token itself (401 Unauthorized).
    pub fn is_token_rejected(&self) -> bool {
        matches!(
            self,
            TelegramError::Request(RequestError::Api(ApiError::InvalidToken))
        )
    }
}

/// Telegram's own `retry_after`, when it gave one: the wait it asks for
/// before the next call (see [`Backoff::after`]).
pub fn retry_after(err: &RequestError) -> Option<Duration> {
    match err {
        RequestError::RetryAfter(s) => Some(s.duration()),
        _ => None,
    }
}

/// Where a conversation's messages go: its chat, and its topic there
/// (Telegram's `message_thread_id`; none for the chat's main conversation).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Place {
    pub chat: i64,
    pub thread: Option<i32>,
}

impl Place {
    /// A chat's main conversation.
    pub fn chat(chat: i64) -> Self {
        Place { chat, thread: None }
    }

    /// The topic as teloxide's setters take it.
    pub(super) fn thread_id(&self) -> Option<ThreadId> {
        self.thread.map(|t| ThreadId(MessageId(t)))
    }
}

impl From<ConvKey> for Place {
    fn from(key: ConvKey) -> Self {
        Place {
            chat: key.chat,
            thread: key.topic,
        }
    }
}

/// Text plus whether it is Telegram HTML.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outgoing {
    pub text: String,
    pub html: Option<String>,
    /// The message this one replies to (in groups, the one it answers).
    pub reply_to: Option<i32>,
}

impl Outgoing {
    pub fn plain(text: impl Into<String>) -> Self {
        Outgoing {
            text: text.into(),
            html: None,
            reply_to: None,
        }
    }
}

#[derive(Clone)]
pub struct Telegram {
    bot: Bot,
    /// The same bot with a timeout for file transfers (`telegram/files.rs`):
    /// the messages' one would cut a large upload off.
    files: Bot,
}

impl Telegram {
    pub fn new(token: &str, api_url: &str) -> Result<Self, TelegramError> {
        let url = reqwest::Url::parse(api_url).map_err(|_| TelegramError::Url(api_url.into()))?;
        let client = teloxide::net::default_reqwest_settings()
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| TelegramError::Client(e.to_string()))?;
        let files_client = teloxide::net::default_reqwest_settings()
            .timeout(FILE_TIMEOUT)
            .build()
            .map_err(|e| TelegramError::Client(e.to_string()))?;
        Ok(Telegram {
            bot: Bot::with_client(token, client).set_api_url(url.clone()),
            files: Bot::with_client(token, files_client).set_api_url(url),
        })
    }

    pub(super) fn files_bot(&self) -> &Bot {
        &self.files
    }

    pub async fn get_me(&self) -> Result<BotIdentity, TelegramError> {
        let me = self.bot.get_me().await?;
        Ok(BotIdentity {
            id: me.id.0 as i64,
            username: me.username.clone().unwrap_or_default(),
        })
    }

    /// One long poll of at most `wait` (capped at [`POLL_SECONDS`]).
    pub async fn get_updates(
        &self,
        offset: i32,
        wait: Duration,
    ) -> Result<Vec<Update>, RequestError> {
        let secs = (wait.as_secs() as u32).clamp(1, POLL_SECONDS);
        self.bot
            .get_updates()
            .offset(offset)
            .timeout(secs)
            .allowed_updates(vec![AllowedUpdate::Message])
            .await
    }

    /// Sends a message the user is waiting for; retries until delivered or
    /// until patience runs out. Returns the message id.
    ///
    /// A text Telegram refuses as too long (its count and ours disagreed) is
    /// never dropped: it is sent again in smaller plain parts, and the id of
    /// the last part is returned.
    pub async fn deliver(&self, to: Place, msg: &Outgoing) -> Result<MessageId, RequestError> {
        match self
            .persist("sendMessage", || self.send_once(to, msg))
            .await
        {
            Err(RequestError::Api(ApiError::MessageIsTooLong)) if units(&msg.text) > 1 => {
                tracing::warn!("Telegram refused a message as too long; sending it in parts");
                let mut last = None;
                for part in split(&msg.text, units(&msg.text).div_ceil(2)) {
                    last = Some(Box::pin(self.deliver(to, &Outgoing::plain(part))).await?);
                }
                last.ok_or(RequestError::Api(ApiError::MessageIsTooLong))
            }
            other => other,
        }
    }

    /// Replaces a message's text; an unchanged text is success, not error.
    /// (An edit names the message; its topic is the one it was sent to.)
    pub async fn deliver_edit(
        &self,
        chat: i64,
        id: MessageId,
        msg: &Outgoing,
    ) -> Result<(), RequestError> {
        self.persist("editMessageText", || self.edit_once(chat, id, msg))
            .await
    }

    /// One attempt at a send (used for streaming, where the next tick retries).
    pub async fn send_once(&self, to: Place, msg: &Outgoing) -> Result<MessageId, RequestError> {
        let send = |text: &str| {
            let mut req = self.bot.send_message(ChatId(to.chat), text);
            if let Some(t) = to.thread_id() {
                req = req.message_thread_id(t);
            }
            if let Some(r) = msg.reply_to {
                // The answer still arrives when its question was deleted.
                req = req.reply_parameters(
                    ReplyParameters::new(MessageId(r)).allow_sending_without_reply(),
                );
            }
            req
        };
        if let Some(html) = &msg.html {
            match send(html).parse_mode(ParseMode::Html).await {
                Ok(m) => return Ok(m.id),
                Err(RequestError::Api(e)) if is_format_error(&e) => {
                    tracing::debug!("Telegram rejected the formatting ({e}); sending plain text");
                }
                Err(e) => return Err(e),
            }
        }
        send(&msg.text).await.map(|m| m.id)
    }

    pub async fn edit_once(
        &self,
        chat: i64,
        id: MessageId,
        msg: &Outgoing,
    ) -> Result<(), RequestError> {
        if let Some(html) = &msg.html {
            match self
                .bot
                .edit_message_text(ChatId(chat), id, html)
                .parse_mode(ParseMode::Html)
                .await
            {
                Ok(_) => return Ok(()),
                Err(RequestError::Api(e)) if is_not_modified(&e) => return Ok(()),
                Err(RequestError::Api(e)) if is_format_error(&e) => {
                    tracing::debug!(
                        "Telegram rejected the formatting ({e}); editing as plain text"
                    );
                }
                Err(e) => return Err(e),
            }
        }
        match self
            .bot
            .edit_message_text(ChatId(chat), id, &msg.text)
            .await
        {
            Ok(_) => Ok(()),
            Err(RequestError::Api(e)) if is_not_modified(&e) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// The typing indicator; cosmetic, so failures are only logged.
    pub async fn typing(&self, to: Place) {
        let mut req = self
            .bot
            .send_chat_action(ChatId(to.chat), ChatAction::Typing);
        if let Some(t) = to.thread_id() {
            req = req.message_thread_id(t);
        }
        if let Err(e) = req.await {
            tracing::debug!("typing indicator failed: {e}");
        }
    }

    /// The command menu; cosmetic, so failures are only logged.
    pub async fn set_commands(&self, commands: &[(&str, &str)]) {
        let list: Vec<BotCommand> = commands
            .iter()
            .map(|(c, d)| BotCommand::new(*c, *d))
            .collect();
        if let Err(e) = self.bot.set_my_commands(list).await {
            tracing::warn!("could not set the command menu: {e}");
        }
    }

    pub(super) async fn persist<T, F, Fut>(
        &self,
        what: &str,
        mut attempt: F,
    ) -> Result<T, RequestError>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T, RequestError>>,
    {
        let started = tokio::time::Instant::now();
        let mut backoff = Backoff::new(Duration::from_secs(1));
        loop {
            let err = match attempt().await {
                Ok(v) => return Ok(v),
                Err(e) => e,
            };
            if !is_transient(&err) {
                return Err(err);
            }
            let wait = backoff.after(retry_after(&err));
            if started.elapsed() + wait > DELIVERY_PATIENCE {
                tracing::error!("giving up on {what} after {:?}: {err}", started.elapsed());
                return Err(err);
            }
            tracing::warn!("{what} failed ({err}); retrying in {wait:?}");
            tokio::time::sleep(wait).await;
        }
    }
}

/// teloxide only maps Telegram's exact wording to `MessageNotModified`.
fn is_not_modified(e: &ApiError) -> bool {
    matches!(e, ApiError::MessageNotModified) || e.to_string().contains("message is not modified")
}

fn is_format_error(e: &ApiError) -> bool {
    matches!(e, ApiError::CantParseEntities(_)) || e.to_string().contains("can't parse entities")
}

/// Errors worth retrying: the network, and server-side failures Telegram
/// reports without a specific API error.
pub fn is_transient(e: &RequestError) -> bool {
    match e {
        RequestError::Network(_) | RequestError::Io(_) | RequestError::RetryAfter(_) => true,
        RequestError::InvalidJson { .. } => true,
        RequestError::Api(ApiError::Unknown(d)) => {
            let d = d.to_ascii_lowercase();
            d.contains("internal")
                || d.contains("bad gateway")
                || d.contains("gateway")
                || d.contains("unavailable")
                || d.contains("too many")
        }
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;

    #[test]
    fn telegrams_retry_after_is_honoured_over_the_doubling() {
        let mut b = Backoff::new(Duration::from_secs(2));
        b.step();
        let asked = RequestError::RetryAfter(Seconds::from_seconds(7));
        assert_eq!(b.after(retry_after(&asked)), Duration::from_secs(7));
        assert_eq!(
            retry_after(&RequestError::Io(std::io::Error::other("x").into())),
            None
        );
        assert_eq!(b.after(None), Duration::from_secs(4));
    }
}
