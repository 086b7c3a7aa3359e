//! A JSON-RPC client over an agent's stdio. One task reads (routing answers
//! to their callers, queueing notifications, answering the server's own
//! requests at once so a turn never hangs on an approval nobody will give),
//! one task writes. When the agent's stdout closes, every pending call and
//! the notification stream end, which is how a crash becomes visible.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde_json::Value;
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::{mpsc, oneshot};

use super::jsonrpc::{self, Message, RpcError};
use crate::agent::ndjson::{Frame, LineReader};

/// A notification the reader makes up (never sent by an agent) when it
/// skipped a line over the limit.
pub const LINE_TOO_LONG: &str = "kai/lineTooLong";

/// Callers waiting for an answer, by request id; `None` once the reader has
/// ended, so a call made after the agent died fails at once instead of
/// waiting for an answer that can never come.
type Pending = Arc<Mutex<Option<HashMap<u64, oneshot::Sender<Result<Value, RpcError>>>>>>;

/// How to answer a request from the server: `(method, params) -> answer`.
pub type Answerer = fn(&str, &Value) -> Result<Value, RpcError>;

#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("the agent closed its output")]
    Closed,
    #[error("the agent answered with an error: {0}")]
    Rpc(#[from] RpcError),
}

pub struct RpcClient {
    out: mpsc::UnboundedSender<Vec<u8>>,
    pending: Pending,
    next_id: u64,
    notifications: mpsc::UnboundedReceiver<(String, Value)>,
}

impl RpcClient {
    pub fn start(stdin: ChildStdin, stdout: ChildStdout, answer: Answerer) -> Self {
        let (out, mut out_rx) = mpsc::unbounded_channel::<Vec<u8>>();
        let (note_tx, notifications) = mpsc::unbounded_channel();
        let pending: Pending = Arc::new(Mutex::new(Some(HashMap::new())));

        tokio::spawn(async move {
            let mut stdin = stdin;
            while let Some(line) = out_rx.recv().await {
                if stdin.write_all(&line).await.is_err() || stdin.flush().await.is_err() {
                    break;
                }
            }
        });

        let reader_pending = Arc::clone(&pending);
        let replies = out.clone();
        tokio::spawn(async move {
            let mut reader = LineReader::new(BufReader::new(stdout));
            loop {
                let frame = match reader.next_frame().await {
                    Ok(Some(f)) => f,
                    Ok(None) => break,
                    Err(e) => {
                        tracing::warn!("reading from the agent failed: {e}");
                        break;
                    }
                };
                let line = match frame {
                    Frame::Line(l) if l.iter().all(u8::is_ascii_whitespace) => continue,
                    Frame::Line(l) => l,
                    Frame::TooLong(n) => {
                        tracing::warn!(bytes = n, "skipped an agent message over the line limit");
                        // The session tells the user part of the reply is missing.
                        let _ = note_tx
                            .send((LINE_TOO_LONG.to_string(), serde_json::json!({"bytes": n})));
                        continue;
                    }
                };
                match jsonrpc::decode(&line) {
                    Ok(Message::Response { id, result }) => {
                        let waiter = id
                            .as_u64()
                            .and_then(|id| reader_pending.lock().ok()?.as_mut()?.remove(&id));
                        match waiter {
                            Some(tx) => {
                                let _ = tx.send(result);
                            }
                            None => tracing::debug!(%id, "answer to no pending request"),
                        }
                    }
                    Ok(Message::Notification { method, params }) => {
                        let _ = note_tx.send((method, params));
                    }
                    Ok(Message::Request { id, method, params }) => {
                        let result = answer(&method, &params);
                        if result.is_err() {
                            tracing::warn!(%method, "declined an agent request kai does not support");
                        }
                        let _ = replies.send(jsonrpc::response(&id, result));
                    }
                    Err(e) => {
                        let shown: String =
                            String::from_utf8_lossy(&line).chars().take(200).collect();
                        tracing::warn!("skipped a malformed agent line ({e}): {shown}");
                    }
                }
            }
            // Dropping the waiters wakes every caller with `Closed`, and no
            // new one can wait from now on.
            if let Ok(mut p) = reader_pending.lock() {
                p.take();
            }
        });

        RpcClient {
            out,
            pending,
            next_id: 1,
            notifications,
        }
    }

    /// Sends a request and waits for its answer (callers bound the wait).
    pub async fn call(&mut self, method: &str, params: Value) -> Result<Value, CallError> {
        let id = self.next_id;
        self.next_id += 1;
        let (tx, rx) = oneshot::channel();
        self.pending
            .lock()
            .map_err(|_| CallError::Closed)?
            .as_mut()
            .ok_or(CallError::Closed)?
            .insert(id, tx);
        self.out
            .send(jsonrpc::request(id, method, params))
            .map_err(|_| CallError::Closed)?;
        Ok(rx.await.map_err(|_| CallError::Closed)??)
    }

    pub fn notify(&self, method: &str, params: Option<Value>) -> Result<(), CallError> {
        self.out
            .send(jsonrpc::notification(method, params))
            .map_err(|_| CallError::Closed)
    }

    /// The next notification; `None` once the agent's output has closed.
    /// Cancel-safe, so it can sit in a `select!`.
    pub async fn next_notification(&mut self) -> Option<(String, Value)> {
        self.notifications.recv().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::process::Stdio;
    use std::time::Duration;

    fn decline(_: &str, _: &Value) -> Result<Value, RpcError> {
        Err(RpcError {
            code: -32601,
            message: "no".into(),
            data: None,
        })
    }

    /// A call made after the agent's output closed fails at once: it used to
    /// wait for an answer nobody could send, until the caller's timeout.
    #[tokio::test]
    async fn a_call_after_the_agent_died_fails_at_once() {
        let mut child = tokio::process::Command::new("sh")
            .args(["-c", "exec 1>&-; sleep 5"])
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let (stdin, stdout) = (child.stdin.take().unwrap(), child.stdout.take().unwrap());
        let mut rpc = RpcClient::start(stdin, stdout, decline);
        // The reader has ended once the notification stream is over.
        assert!(rpc.next_notification().await.is_none());
        let r = tokio::time::timeout(Duration::from_secs(5), rpc.call("x", Value::Null)).await;
        assert!(matches!(r, Ok(Err(CallError::Closed))), "{r:?}");
    }
}
