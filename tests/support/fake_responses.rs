//! A loopback fake of the OpenAI Responses API (`POST /v1/responses`, SSE),
//! good enough for the real `codex app-server` 0.169.0 to run turns offline.
//!
//! It runs on the raw HTTP/1.1 server of `loopback.rs`, which lets it model
//! "hang" (headers sent, then silence) and "close after the last event"
//! exactly.
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
//! - `long N`: a reply of exactly N characters in paragraphs, in a few deltas;
//! - a triage prompt: see `fake_triage.rs`;
//! - a `kai eval` judge prompt: `{"winner": "1", …}`, or prose when the
//!   probe contains `judge-garbage`.
//!
//! Anywhere in the text of a request that is no judge prompt,
//! [`MODEL_MARKER`] makes the default reply name the model asked:
//! `echo (<model>): <text>`, so two arms of `kai eval` answer differently.
//!
//! Anywhere in the text, [`SLOW_MARKER`] followed by a number of seconds
//! makes the reply `slow N` would be (a review prompt starts with kai's own
//! words, so a test puts the marker in the PR's text).
//!
//! Anywhere in the text (not only first), [`CREATE_FILE_MARKER`] followed by
//! a path makes the model call the shell tool to create that file, asking
//! codex to run it outside the sandbox; once the tool's output comes back
//! the reply is `tool call done` (see [`tool_call`]).
//!
//! Every streamed answer carries the rate-limit headers codex 0.169.0 reads
//! (`x-codex-{primary,secondary}-{used-percent,window-minutes,reset-at}`,
//! see [`LIMITS`]), so the real codex emits `account/rateLimits/updated`;
//! [`USED_MARKER`] followed by a number and `]` anywhere in the text sets
//! the primary window's used percent for that answer. Every
//! `response.completed` reports 10 input and 5 output tokens, which codex
//! turns into `thread/tokenUsage/updated`.
//!
//! Codex 0.169.0 only forwards `response.output_text.delta` as
//! `item/agentMessage/delta` after a `response.output_item.added` for that
//! item, takes the final text (`item/completed`) from
//! `response.output_item.done`, and needs `response.completed` before the
//! stream ends (else the turn fails with "stream closed before
//! response.completed"), so every successful reply sends all four.

use serde_json::{json, Value};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::loopback::{read_request, send_event, write_plain, Loopback, Recorded};

/// Sets the primary window's used percent of one answer: `[primary used 95]`.
pub const USED_MARKER: &str = "[primary used ";

/// The rate-limit headers' fixed values: (primary window minutes, primary
/// reset at, secondary used percent, secondary window minutes, secondary
/// reset at); the primary used percent is [`DEFAULT_PRIMARY_USED`] unless
/// the text says otherwise. Fixed reset times: every answer is in the same
/// windows, so a test can tell "once per window".
pub const LIMITS: (i64, i64, f64, i64, i64) = (300, 2_000_000_000, 12.0, 10_080, 2_000_500_000);
pub const DEFAULT_PRIMARY_USED: f64 = 42.0;

tokio::task_local! {
    /// The primary used percent of the answer being written.
    static PRIMARY_USED: f64;
}

/// The event-stream head with the rate-limit headers codex reads.
async fn write_sse_head(socket: &mut TcpStream) -> std::io::Result<()> {
    let used = PRIMARY_USED
        .try_with(|u| *u)
        .unwrap_or(DEFAULT_PRIMARY_USED);
    let (p_mins, p_reset, s_used, s_mins, s_reset) = LIMITS;
    let head = format!(
        "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\n\
         x-codex-primary-used-percent: {used}\r\nx-codex-primary-window-minutes: {p_mins}\r\n\
         x-codex-primary-reset-at: {p_reset}\r\nx-codex-secondary-used-percent: {s_used}\r\n\
         x-codex-secondary-window-minutes: {s_mins}\r\nx-codex-secondary-reset-at: {s_reset}\r\n\
         connection: close\r\n\r\n"
    );
    socket.write_all(head.as_bytes()).await?;
    socket.flush().await
}

/// Makes the echo name the model the request asked for.
pub const MODEL_MARKER: &str = "[name your model]";

/// The first line of a `kai eval` judge prompt (src/eval/judge.rs).
pub use kai::eval::judge::JUDGE_HEADER as EVAL_JUDGE;

/// A running fake Responses API; the server stops when this is dropped.
pub struct FakeResponses {
    server: Loopback,
}

impl FakeResponses {
    /// Binds 127.0.0.1:0 and serves in a background tokio task.
    pub async fn start() -> FakeResponses {
        FakeResponses {
            server: Loopback::start(serve_connection).await,
        }
    }

    /// Base URL to put in config.toml's provider `base_url`; codex appends
    /// `/responses`, so this ends in `/v1` and requests arrive at `/v1/responses`.
    pub fn base_url(&self) -> String {
        format!("http://{}/v1", self.server.addr())
    }
}

/// Recorded requests and the rest come from the shared server.
impl std::ops::Deref for FakeResponses {
    type Target = Loopback;
    fn deref(&self) -> &Loopback {
        &self.server
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

/// Marker that makes the fake model try to create the file whose path
/// follows it (up to the next whitespace): the read-only proof.
pub const CREATE_FILE_MARKER: &str = "kai-test-create-file:";

/// Marker that makes the reply slow wherever it is in the text.
pub const SLOW_MARKER: &str = "kai-test-slow:";

/// The path after [`CREATE_FILE_MARKER`] in `text`, if any.
pub fn marked_path(text: &str) -> Option<String> {
    let rest = &text[text.find(CREATE_FILE_MARKER)? + CREATE_FILE_MARKER.len()..];
    rest.split_whitespace().next().map(str::to_owned)
}

/// Names of the tools a request offers the model: the top-level `tools`,
/// and those codex 0.169 puts in a developer input item (its code mode:
/// one `exec` tool running JavaScript that calls `tools.exec_command`).
pub fn tool_names(body: &Value) -> Vec<String> {
    fn collect(tools: &Value, out: &mut Vec<String>) {
        for t in tools.as_array().into_iter().flatten() {
            if let Some(n) = t["name"].as_str() {
                out.push(n.to_owned());
            }
            collect(&t["tools"], out);
        }
    }
    let mut out = Vec::new();
    collect(&body["tools"], &mut out);
    for item in body["input"].as_array().into_iter().flatten() {
        collect(&item["tools"], &mut out);
    }
    out
}

/// Whether the request's newest input is a tool's output (the model's call
/// was answered, by the tool or by a refusal).
fn answers_a_tool_call(body: &Value) -> bool {
    body["input"]
        .as_array()
        .and_then(|i| i.last())
        .is_some_and(|item| {
            item["type"]
                .as_str()
                .is_some_and(|t| t.ends_with("_call_output"))
        })
}

/// A tool call the model makes.
enum Call {
    /// `function_call`: JSON arguments.
    Function(String, Value),
    /// `custom_tool_call`: free-form input (codex's code-mode `exec`).
    Custom(String, String),
}

/// The files a marked prompt makes the model try to write: `path` by a
/// plain (sandboxed) command, `path.escalated` by a command it asks to run
/// outside the sandbox, `path.patched` through `apply_patch` (codex only).
pub fn attempted_files(path: &std::path::Path) -> Vec<std::path::PathBuf> {
    ["", ".escalated", ".patched"]
        .iter()
        .map(|s| std::path::PathBuf::from(format!("{}{s}", path.display())))
        .collect()
}

/// The call that would create the files of [`attempted_files`], for
/// whichever shell tool this codex offers.
fn tool_call(body: &Value, path: &str) -> Call {
    let names = tool_names(body);
    let plain = json!({"cmd": format!("echo written > {path}")});
    let escalated = json!({"cmd": format!("echo written > {path}.escalated"),
                           "sandbox_permissions": "require_escalated",
                           "justification": "the test needs this file"});
    if names.iter().any(|n| n == "exec") {
        let patch =
            format!("*** Begin Patch\n*** Add File: {path}.patched\n+written\n*** End Patch\n");
        // Each attempt on its own: a refusal throws, and the next must run.
        let js = format!(
            "const out = [];\n\
             for (const f of [() => tools.exec_command({plain}), () => tools.exec_command({escalated}), \
             () => tools.apply_patch({patch})]) {{\n\
               try {{ out.push(await f()); }} catch (e) {{ out.push(String(e)); }}\n\
             }}\n\
             text(JSON.stringify(out));",
            patch = Value::String(patch)
        );
        Call::Custom("exec".into(), js)
    } else if names.iter().any(|n| n == "exec_command") {
        Call::Function("exec_command".into(), plain)
    } else {
        Call::Function(
            "shell".into(),
            json!({"command": ["sh", "-c", format!("echo written > {path}")]}),
        )
    }
}

/// Reads one request, records its JSON body, and answers per the script.
async fn serve_connection(mut socket: TcpStream, requests: Recorded) {
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
    let call = marked_path(&text).map(|path| (answers_a_tool_call(&body), tool_call(&body, &path)));
    let model = body["model"].as_str().unwrap_or_default().to_owned();
    requests.lock().unwrap().push(body);
    let used = text
        .find(USED_MARKER)
        .and_then(|i| {
            text[i + USED_MARKER.len()..]
                .split(']')
                .next()?
                .trim()
                .parse()
                .ok()
        })
        .unwrap_or(DEFAULT_PRIMARY_USED);
    let _ = PRIMARY_USED
        .scope(used, async {
            match call {
                Some((false, call)) => call_tool(&mut socket, &call).await,
                Some((true, _)) => {
                    stream_reply(&mut socket, &["tool call done".to_owned()], Duration::ZERO).await
                }
                None if text.contains(MODEL_MARKER) && !text.starts_with(EVAL_JUDGE) => {
                    let reply = format!("echo ({model}): {text}");
                    stream_reply(&mut socket, &split_in(&reply, 3), Duration::ZERO).await
                }
                None => match text.find(SLOW_MARKER) {
                    Some(i) => {
                        let secs = text[i + SLOW_MARKER.len()..]
                            .split_whitespace()
                            .next()
                            .unwrap_or("6");
                        respond(&mut socket, &format!("slow {secs}")).await
                    }
                    None => respond(&mut socket, &text).await,
                },
            }
        })
        .await;
    let _ = socket.shutdown().await;
}

/// Answers one `/responses` request according to the user's text.
async fn respond(socket: &mut TcpStream, text: &str) -> std::io::Result<()> {
    if let Some(reply) = super::fake_triage::reply(text) {
        return stream_reply(socket, &split_in(&reply, 3), Duration::ZERO).await;
    }
    // `kai eval`'s judge: a verdict for answer 1, or (when a probe asks for
    // it) something that is not one.
    if text.starts_with(EVAL_JUDGE) {
        let reply = if text.contains("judge-garbage") {
            "Both answers have merit; I cannot decide.".to_string()
        } else {
            r#"{"winner": "1", "reason": "the fake judge always prefers answer 1"}"#.to_string()
        };
        return stream_reply(socket, &split_in(&reply, 2), Duration::ZERO).await;
    }
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

/// Answers with one function call and nothing else: codex runs the tool (or
/// not) and sends its output in the next request.
async fn call_tool(socket: &mut TcpStream, call: &Call) -> std::io::Result<()> {
    let item = match call {
        Call::Function(name, args) => {
            json!({"type": "function_call", "id": "fc_fake", "call_id": "call_fake",
                   "name": name, "arguments": args.to_string(), "status": "completed"})
        }
        Call::Custom(name, input) => {
            json!({"type": "custom_tool_call", "id": "ctc_fake", "call_id": "call_fake",
                   "name": name, "input": input, "status": "completed"})
        }
    };
    write_sse_head(socket).await?;
    send_event(
        socket,
        json!({"type": "response.created", "response": {"id": "resp_tool"}}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "response.output_item.added", "output_index": 0, "item": item}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "response.output_item.done", "output_index": 0, "item": item}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "response.completed",
               "response": {"id": "resp_tool", "usage": {"input_tokens": 10, "output_tokens": 5, "total_tokens": 15}}}),
    )
    .await
}

/// Splits `text` into `n` roughly equal pieces on char boundaries.
pub fn split_in(text: &str, n: usize) -> Vec<String> {
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
