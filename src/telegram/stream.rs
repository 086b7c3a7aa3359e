//! Showing a reply while it is written: a first message as soon as there is
//! text, edits at most once a second and only when the text changed, a
//! typing indicator while the agent works, and a final version split under
//! the size limit and formatted. Runs in its own task fed by a `watch`
//! channel, so a slow Bot API never slows the reading of the agent.

use std::time::Duration;

use teloxide::types::MessageId;
use teloxide::RequestError;
use tokio::sync::watch;
use tokio::time::Instant;

use super::api::{Outgoing, Place, Telegram};
use super::format::to_html;
use super::split::{split, units, LIMIT, TELEGRAM_LIMIT};

const EDIT_INTERVAL: Duration = Duration::from_secs(1);
const TYPING_INTERVAL: Duration = Duration::from_secs(4);

/// What the user should see now.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct View {
    pub live: String,
    /// Set once: the final text; the renderer delivers it and stops.
    pub done: Option<String>,
}

/// Renders views until the final one is delivered, in the conversation's
/// chat and topic (`to`); the reply's first message replies to `reply_to`.
pub async fn render(
    tg: Telegram,
    to: Place,
    reply_to: Option<i32>,
    mut views: watch::Receiver<View>,
) {
    let mut shown: Vec<(MessageId, String)> = Vec::new();
    let mut typing = tokio::time::interval(TYPING_INTERVAL);
    let mut next_edit = Instant::now();
    // Telegram's `retry_after`: nothing is sent to this chat before then.
    let mut hold = Instant::now();
    let mut dirty = false;
    loop {
        tokio::select! {
            changed = views.changed() => {
                if changed.is_err() {
                    return;
                }
                dirty = true;
            }
            _ = typing.tick() => {
                // Cosmetic and possibly slow: never let it hold up the text.
                let tg = tg.clone();
                tokio::spawn(async move { tg.typing(to).await });
                continue;
            }
            _ = tokio::time::sleep_until(next_edit), if dirty => {}
        }
        let view = views.borrow_and_update().clone();
        if let Some(done) = view.done {
            tokio::time::sleep_until(hold).await;
            finish(&tg, to, reply_to, &mut shown, &done).await;
            return;
        }
        if dirty && Instant::now() >= next_edit {
            dirty = false;
            if show(&tg, to, reply_to, &mut shown, &view.live, &mut hold).await {
                next_edit = hold.max(Instant::now() + EDIT_INTERVAL);
            }
        }
    }
}

/// One best-effort sync of the live text; true if anything was sent. A
/// rate limit moves `hold` to when Telegram lets us send again.
async fn show(
    tg: &Telegram,
    to: Place,
    reply_to: Option<i32>,
    shown: &mut Vec<(MessageId, String)>,
    text: &str,
    hold: &mut Instant,
) -> bool {
    let mut sent = false;
    for (i, chunk) in split(text, LIMIT).into_iter().enumerate() {
        if Instant::now() < *hold {
            break;
        }
        let out = Outgoing {
            reply_to: reply_to.filter(|_| i == 0),
            ..Outgoing::plain(chunk.clone())
        };
        match shown.get_mut(i) {
            Some((_, old)) if *old == chunk => {}
            Some((id, old)) => {
                sent = true;
                match tg.edit_once(to.chat, *id, &out).await {
                    Ok(()) => *old = chunk,
                    Err(e) => {
                        hold_off(hold, &e);
                        tracing::debug!("live edit failed (the next one will catch up): {e}");
                    }
                }
            }
            None => {
                sent = true;
                match tg.send_once(to, &out).await {
                    Ok(id) => shown.push((id, chunk)),
                    Err(e) => {
                        hold_off(hold, &e);
                        tracing::debug!("live message failed (the next update retries): {e}");
                        break;
                    }
                }
            }
        }
    }
    sent
}

/// After a 429, pushes `hold` out to the end of Telegram's `retry_after`.
fn hold_off(hold: &mut Instant, e: &RequestError) {
    if let RequestError::RetryAfter(s) = e {
        *hold = (*hold).max(Instant::now() + s.duration());
    }
}

/// Delivers the final text, formatted, retrying until Telegram has it.
async fn finish(
    tg: &Telegram,
    to: Place,
    reply_to: Option<i32>,
    shown: &mut [(MessageId, String)],
    text: &str,
) {
    let chunks = split(text, LIMIT);
    for (i, chunk) in chunks.iter().enumerate() {
        let html = to_html(chunk);
        let out = Outgoing {
            text: chunk.clone(),
            // Escaping can push a chunk over the hard limit: then plain it is.
            html: (units(&html) <= TELEGRAM_LIMIT && html != *chunk).then_some(html),
            reply_to: reply_to.filter(|_| i == 0),
        };
        let result = match shown.get(i) {
            Some((_, old)) if *old == *chunk && out.html.is_none() => Ok(()),
            Some((id, _)) => tg.deliver_edit(to.chat, *id, &out).await,
            None => tg.deliver(to, &out).await.map(|_| ()),
        };
        if let Err(e) = result {
            tracing::error!("could not deliver part {} of a reply: {e}", i + 1);
        }
    }
    for (id, _) in shown.iter().skip(chunks.len()) {
        // The final text is shorter than what streamed (a revised answer):
        // blank the leftovers rather than leave stale text.
        let _ = tg.edit_once(to.chat, *id, &Outgoing::plain("…")).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use teloxide::types::Seconds;
    use teloxide::ApiError;

    #[test]
    fn only_a_rate_limit_holds_sending_back_and_never_shortens_the_hold() {
        let start = Instant::now();
        let mut hold = start;
        hold_off(&mut hold, &RequestError::Api(ApiError::BotBlocked));
        assert_eq!(hold, start);
        hold_off(
            &mut hold,
            &RequestError::RetryAfter(Seconds::from_seconds(3)),
        );
        assert!(hold >= start + Duration::from_secs(3));
        let held = hold;
        hold_off(
            &mut hold,
            &RequestError::RetryAfter(Seconds::from_seconds(1)),
        );
        assert_eq!(hold, held);
    }
}
