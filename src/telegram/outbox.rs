//! A chat's plain messages — command answers and notices such as "Queued" —
//! and the files `/get` sends, delivered in order by a task of their own. Delivery retries for minutes
//! when Telegram fails; done inline, that would stop the chat from reading
//! its agent (the silence timeout could then kill a healthy one) and from
//! handling `/stop`.

use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tracing::Instrument;

use super::api::{Outgoing, Place, Telegram};
use super::split::{split, LIMIT};

pub struct Outbox {
    tx: mpsc::UnboundedSender<Item>,
    task: JoinHandle<()>,
}

enum Item {
    Text(String),
    File {
        name: String,
        bytes: Vec<u8>,
        photo: bool,
    },
}

impl Outbox {
    /// Starts the delivering task, in the caller's span (chat and OS user);
    /// everything goes to `to`, the conversation's chat and topic.
    pub fn start(tg: Telegram, to: Place) -> Self {
        let (tx, mut rx) = mpsc::unbounded_channel::<Item>();
        let task = tokio::spawn(
            async move {
                while let Some(item) = rx.recv().await {
                    match item {
                        Item::Text(text) => {
                            for part in split(&text, LIMIT) {
                                if let Err(e) = tg.deliver(to, &Outgoing::plain(part)).await {
                                    tracing::error!("could not send a message: {e}");
                                }
                            }
                        }
                        Item::File { name, bytes, photo } => {
                            let size = bytes.len();
                            match tg.send_file(to, &name, bytes, photo).await {
                                Ok(()) => tracing::info!(size, "sent {name}"),
                                Err(e) => {
                                    tracing::error!("could not send {name}: {e}");
                                    let text = format!("⚠️ Telegram did not take `{name}`: {e}");
                                    let _ = tg.deliver(to, &Outgoing::plain(text)).await;
                                }
                            }
                        }
                    }
                }
            }
            .instrument(tracing::Span::current()),
        );
        Outbox { tx, task }
    }

    /// Queues a message; returns at once.
    pub fn say(&self, text: impl Into<String>) {
        // The task only ends once every sender is gone, so this cannot fail
        // while `self` exists.
        let _ = self.tx.send(Item::Text(text.into()));
    }

    /// Queues a file upload (a photo when `photo`, else a document).
    pub fn send_file(&self, name: String, bytes: Vec<u8>, photo: bool) {
        let _ = self.tx.send(Item::File { name, bytes, photo });
    }

    /// Delivers what is queued, then ends the task.
    pub async fn close(self) {
        drop(self.tx);
        if let Err(e) = self.task.await {
            tracing::error!("the message sender failed: {e}");
        }
    }
}
