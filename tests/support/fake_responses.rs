//! A loopback fake of the OpenAI Responses API (`POST /v1/responses`, SSE),
//! good enough for the real `codex app-server` 0.169.0 to run turns offline.
//!
//! It is a hand-rolled HTTP/1.1 server on a tokio `TcpListener` rather than
//! axum: a streamed body in axum needs a `Stream` impl (futures/tokio-stream),
//! which are not among our dev-dependencies, and the raw socket also lets us
//! model "hang" (headers sent, then silence) and "close after the last event"
//! exactly. Every response carries `connection: close`, so one request is one
//! connection and the end of the stream is the end of the socket.
//!
//! The reply is scripted by the last user text of each request (see
//! [`last_user_text`]), so tests need no setup:
//! - default: `echo: <text>` in three `response.output_text.delta` events;
//! - `slow [N]`: N seconds (default 6) of deltas, one every 250 ms, ending
//!   with `done.`;
//! - `fail`: HTTP 400 with a plain-text body `fake failure: <text>`. Codex never
//!   retries a 400 (even with default retry settings) and fails the turn at
//!   once, with that body as `turn.error.message`; `fail 500` answers HTTP 500
//!   instead, which codex retries per `request_max_retries`/`stream_max_retries`;
//! - `hang`: HTTP 200 event-stream headers, then nothing until the client
//!   goes away;
//! - `long N`: a reply of exactly N characters in paragraphs, in a few deltas.
//!
//! Codex 0.169.0 only forwards `response.output_text.delta` as
//! `item/agentMessage/delta` after a `response.output_item.added` for that
//! item, takes the final text (`item/completed`) from
//! `response.output_item.done`, and needs `response.completed` before the
//! stream ends (else the turn fails with "stream closed before
//! response.completed"), so every successful reply sends all four.

use serde_json::{json, Value};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// A running fake Responses API; the server task stops when this is dropped.
pub struct FakeResponses {
    addr: std::net::SocketAddr,
    requests: Arc<Mutex<Vec<Value>>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for FakeResponses {
    fn drop(&mut self) {
        // Stop accepting; connections already being served finish on their own.
        self.task.abort();
    }
}

impl FakeResponses {
    /// Binds 127.0.0.1:0 and serves in a background tokio task.
    pub async fn start() -> FakeResponses {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind fake");
        let addr = listener.local_addr().expect("fake local addr");
        let requests = Arc::new(Mutex::new(Vec::new()));
        let recorded = requests.clone();
        let task = tokio::spawn(async move {
            loop {
                let Ok((socket, _)) = listener.accept().await else {
                    continue;
                };
                tokio::spawn(serve_connection(socket, recorded.clone()));
            }
        });
        FakeResponses {
            addr,
            requests,
            task,
        }
    }

    /// Base URL to put in config.toml's provider `base_url`; codex appends
    /// `/responses`, so this ends in `/v1` and requests arrive at `/v1/responses`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// Every request body received so far (parsed JSON), in order.
    pub fn requests(&self) -> Vec<Value> {
        self.requests.lock().unwrap().clone()
    }

    /// Models requested so far (the "model" field of each body).
    pub fn models_requested(&self) -> Vec<String> {
        self.requests()
            .iter()
            .filter_map(|b| b["model"].as_str().map(str::to_owned))
            .collect()
    }

    /// Waits until at least n requests arrived (poll, bounded by timeout). Returns false on timeout.
    pub async fn wait_requests(&self, n: usize, timeout: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            if self.requests.lock().unwrap().len() >= n {
                return true;
            }
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// Text of the last user message in a Responses API request body (None if absent).
///
/// Codex sends its own context as user-role messages too (in 0.169.0:
/// `<environment_context>…</environment_context>`; other versions also used
/// `<user_instructions>`, `<turn_aborted>` and `# AGENTS.md instructions`), so
/// text parts that look like such a block are skipped: a part is context when
/// it starts with `<` and ends with `>` (trimmed), or starts with
/// `# AGENTS.md instructions`. Walks `input` backwards and returns the last
/// remaining text part of the last user message that has one.
pub fn last_user_text(body: &Value) -> Option<String> {
    let input = body["input"].as_array()?;
    input
        .iter()
        .rev()
        .filter(|item| item["role"] == "user")
        .find_map(|item| {
            message_texts(item)
                .into_iter()
                .rev()
                .find(|t| !is_codex_context(t))
        })
}

/// All text (user and assistant) appearing in the input array of a request body, concatenated — for "earlier turns are resent" assertions.
pub fn all_input_text(body: &Value) -> String {
    let Some(input) = body["input"].as_array() else {
        return String::new();
    };
    input
        .iter()
        .filter(|item| item["role"] == "user" || item["role"] == "assistant")
        .flat_map(message_texts)
        .collect::<Vec<_>>()
        .join("\n")
}

/// The text parts of one `message` input item (`input_text`/`output_text`
/// parts, or a plain string `content`).
fn message_texts(item: &Value) -> Vec<String> {
    match &item["content"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(parts) => parts
            .iter()
            .filter_map(|p| p["text"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// Whether a user-role text part is context codex injected, not typed by the user.
fn is_codex_context(text: &str) -> bool {
    let t = text.trim();
    (t.starts_with('<') && t.ends_with('>')) || t.starts_with("# AGENTS.md instructions")
}

/// Reads one request, records its JSON body, and answers per the script.
async fn serve_connection(mut socket: TcpStream, requests: Arc<Mutex<Vec<Value>>>) {
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    let request_line = head.lines().next().unwrap_or_default().to_owned();
    if !request_line.starts_with("POST ") || !request_line.contains("/responses") {
        // Codex 0.169.0 makes no other request to the provider; answer anything else 404.
        let _ = write_plain(&mut socket, 404, "not found").await;
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = last_user_text(&body).unwrap_or_default();
    requests.lock().unwrap().push(body);
    let _ = respond(&mut socket, &text).await;
    let _ = socket.shutdown().await;
}

/// Reads the request head and a `content-length` (or chunked) body.
pub async fn read_request(socket: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = find(&buf, b"\r\n\r\n") {
            break i + 4;
        }
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).into_owned();
    let header = |name: &str| {
        head.lines().find_map(|l| {
            let (k, v) = l.split_once(':')?;
            k.trim()
                .eq_ignore_ascii_case(name)
                .then(|| v.trim().to_owned())
        })
    };
    let mut body = buf[head_end..].to_vec();
    let chunked = header("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked"));
    if chunked {
        // Read until the terminating zero-size chunk, then decode.
        while find(&body, b"0\r\n\r\n").is_none() {
            let n = socket.read(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
        return Some((head, decode_chunked(&body)));
    }
    let len: usize = header("content-length")
        .and_then(|v| v.parse().ok())
        .unwrap_or(0);
    while body.len() < len {
        let n = socket.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// Decodes a complete HTTP/1.1 chunked body.
fn decode_chunked(mut raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(eol) = find(raw, b"\r\n") {
        let size_text = String::from_utf8_lossy(&raw[..eol]);
        let size_hex = size_text.split(';').next().unwrap_or("").trim();
        let size = usize::from_str_radix(size_hex, 16).unwrap_or(0);
        if size == 0 || raw.len() < eol + 2 + size {
            break;
        }
        out.extend_from_slice(&raw[eol + 2..eol + 2 + size]);
        raw = &raw[(eol + 4 + size).min(raw.len())..];
    }
    out
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

/// Writes a complete non-streamed plain-text response.
pub async fn write_plain(socket: &mut TcpStream, status: u16, text: &str) -> std::io::Result<()> {
    let reason = match status {
        400 => "Bad Request",
        404 => "Not Found",
        _ => "Internal Server Error",
    };
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\ncontent-type: text/plain\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
        text.len()
    );
    socket.write_all(head.as_bytes()).await?;
    socket.write_all(text.as_bytes()).await?;
    socket.flush().await
}

/// Answers one `/responses` request according to the user's text.
async fn respond(socket: &mut TcpStream, text: &str) -> std::io::Result<()> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let command = words.first().copied().unwrap_or("");
    let number = |default: u64| words.get(1).and_then(|w| w.parse().ok()).unwrap_or(default);
    match command {
        "fail" if words.get(1) == Some(&"500") => {
            write_plain(socket, 500, &format!("fake failure: {text}")).await
        }
        "fail" => write_plain(socket, 400, &format!("fake failure: {text}")).await,
        "hang" => {
            write_sse_head(socket).await?;
            // Say nothing; return only once codex (or the daemon killing it) closes the socket.
            let mut sink = [0u8; 1024];
            while socket.read(&mut sink).await.unwrap_or(0) > 0 {}
            Ok(())
        }
        "slow" => {
            let ticks = number(6) * 4;
            let deltas: Vec<String> = (1..=ticks)
                .map(|i| {
                    if i == ticks {
                        "done.".to_owned()
                    } else {
                        format!("slow part {i} of {ticks}, still going ")
                    }
                })
                .collect();
            stream_reply(socket, &deltas, Duration::from_millis(250)).await
        }
        "long" => {
            let reply = long_text(number(5000) as usize);
            stream_reply(socket, &split_in(&reply, 4), Duration::ZERO).await
        }
        _ => {
            let reply = format!("echo: {text}");
            stream_reply(socket, &split_in(&reply, 3), Duration::ZERO).await
        }
    }
}

pub async fn write_sse_head(socket: &mut TcpStream) -> std::io::Result<()> {
    let head = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n";
    socket.write_all(head.as_bytes()).await?;
    socket.flush().await
}

pub async fn send_event(socket: &mut TcpStream, event: Value) -> std::io::Result<()> {
    let kind = event["type"].as_str().unwrap_or_default().to_owned();
    let frame = format!("event: {kind}\ndata: {event}\n\n");
    socket.write_all(frame.as_bytes()).await?;
    socket.flush().await
}

/// Streams one assistant message made of `deltas`, `pause` apart, with the
/// event sequence codex needs to surface deltas and the final text.
async fn stream_reply(
    socket: &mut TcpStream,
    deltas: &[String],
    pause: Duration,
) -> std::io::Result<()> {
    let (resp_id, item_id) = ("resp_fake", "msg_fake");
    let full: String = deltas.concat();
    write_sse_head(socket).await?;
    send_event(
        socket,
        json!({"type": "response.created", "response": {"id": resp_id}}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "response.output_item.added", "output_index": 0,
               "item": {"type": "message", "id": item_id, "role": "assistant", "status": "in_progress", "content": []}}),
    )
    .await?;
    for delta in deltas {
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        send_event(
            socket,
            json!({"type": "response.output_text.delta", "item_id": item_id,
                   "output_index": 0, "content_index": 0, "delta": delta}),
        )
        .await?;
    }
    send_event(
        socket,
        json!({"type": "response.output_item.done", "output_index": 0,
               "item": {"type": "message", "id": item_id, "role": "assistant", "status": "completed",
                        "content": [{"type": "output_text", "text": full, "annotations": []}]}}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "response.completed",
               "response": {"id": resp_id, "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}}}),
    )
    .await
}

/// Splits `text` into `n` roughly equal pieces on char boundaries.
fn split_in(text: &str, n: usize) -> Vec<String> {
    let chars: Vec<char> = text.chars().collect();
    let size = chars.len().div_ceil(n.max(1)).max(1);
    chars.chunks(size).map(|c| c.iter().collect()).collect()
}

/// Exactly `n` ASCII characters of sentences in paragraphs (blank line every ~400 chars).
fn long_text(n: usize) -> String {
    let sentence = "The quick brown fox jumps over the lazy dog. ";
    let mut out = String::with_capacity(n);
    let mut since_break = 0;
    while out.len() < n {
        if since_break >= 400 {
            out.push_str("\n\n");
            since_break = 0;
        } else {
            out.push_str(sentence);
            since_break += sentence.len();
        }
    }
    out.truncate(n);
    out
}
