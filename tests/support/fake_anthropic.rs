//! A loopback fake of the Anthropic Messages API (`POST /v1/messages`,
//! streamed as server-sent events), enough for the real Claude Code CLI
//! (npm @anthropic-ai/claude-code, pinned) to run turns offline via
//! `ANTHROPIC_BASE_URL`, on the shared server of `loopback.rs`.
//!
//! Replies are scripted by the last user text of each request:
//! - default: `claude echo: <text>` in three text deltas;
//! - `slow [N]`: N seconds (default 6) of deltas, one every 250 ms, then
//!   `done.`;
//! - `two blocks`: two text blocks in one message, `First block.` and
//!   `Second block.` (their separation is what the test looks at).
//!
//! Anywhere in the text, `fake_responses::CREATE_FILE_MARKER` followed by a
//! path makes the model call the `Bash` tool to create that file; once the
//! tool's result (or the CLI's refusal) comes back the reply is
//! `tool call done`.
//!
//! Other endpoints the CLI may call (token counting and the like) get an
//! empty JSON object: they are not what the tests are about.

use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

use super::fake_responses::{marked_path, split_in};
use super::loopback::{read_request, send_event, write_sse_head, Loopback, Recorded};

/// A running fake Messages API; the server stops when this is dropped.
pub struct FakeAnthropic {
    server: Loopback,
}

impl FakeAnthropic {
    pub async fn start() -> FakeAnthropic {
        FakeAnthropic {
            server: Loopback::start(serve).await,
        }
    }

    /// `ANTHROPIC_BASE_URL`: the CLI appends `/v1/messages`.
    pub fn base_url(&self) -> String {
        format!("http://{}", self.server.addr())
    }
}

/// Recorded requests and the rest come from the shared server.
impl std::ops::Deref for FakeAnthropic {
    type Target = Loopback;
    fn deref(&self) -> &Loopback {
        &self.server
    }
}

/// Text blocks of one message, whether `content` is a string or a list.
fn texts(message: &Value) -> Vec<String> {
    match &message["content"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(blocks) => blocks
            .iter()
            .filter(|b| b["type"] == "text")
            .filter_map(|b| b["text"].as_str().map(str::to_owned))
            .collect(),
        _ => Vec::new(),
    }
}

/// The CLI adds its own context as user text wrapped in `<system-reminder>`,
/// and after an image a note of where it saved it (`[Image: source: …]`).
fn is_cli_context(text: &str) -> bool {
    let t = text.trim_start();
    t.starts_with("<system-reminder>") || t.starts_with("[Image: source:")
}

/// The last text a person wrote, skipping the CLI's own context blocks.
pub fn last_user_text(body: &Value) -> Option<String> {
    body["messages"]
        .as_array()?
        .iter()
        .rev()
        .filter(|m| m["role"] == "user")
        .find_map(|m| texts(m).into_iter().rev().find(|t| !is_cli_context(t)))
}

/// All user and assistant text of a request, for "earlier turns are resent".
pub fn all_text(body: &Value) -> String {
    body["messages"]
        .as_array()
        .map(|ms| {
            ms.iter()
                .filter(|m| m["role"] == "user" || m["role"] == "assistant")
                .flat_map(texts)
                .collect::<Vec<_>>()
                .join("\n")
        })
        .unwrap_or_default()
}

async fn serve(mut socket: TcpStream, requests: Recorded) {
    let Some((head, body)) = read_request(&mut socket).await else {
        return;
    };
    let line = head.lines().next().unwrap_or_default().to_owned();
    let is_messages = line.starts_with("POST /v1/messages") && !line.contains("count_tokens");
    if !is_messages {
        let body = "{}";
        let head = format!(
            "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
            body.len()
        );
        let _ = socket.write_all(head.as_bytes()).await;
        return;
    }
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let text = last_user_text(&body).unwrap_or_default();
    let model = body["model"].as_str().unwrap_or("claude").to_owned();
    let call = marked_path(&text).map(|path| (answers_a_tool_use(&body), path));
    requests.lock().unwrap().push(body);
    let _ = match call {
        Some((false, path)) => use_tool(&mut socket, &model, &path).await,
        Some((true, _)) => respond(&mut socket, &model, "tool call done").await,
        None => respond(&mut socket, &model, &text).await,
    };
    let _ = socket.shutdown().await;
}

/// Whether the newest message carries a tool result (the model's call was
/// answered, by the tool or by the CLI's refusal).
fn answers_a_tool_use(body: &Value) -> bool {
    body["messages"]
        .as_array()
        .and_then(|ms| ms.last())
        .and_then(|m| m["content"].as_array())
        .is_some_and(|bs| bs.iter().any(|b| b["type"] == "tool_result"))
}

/// Answers with one `Bash` tool use that would create `path`.
async fn use_tool(socket: &mut TcpStream, model: &str, path: &str) -> std::io::Result<()> {
    let input =
        json!({"command": format!("echo written > {path}"), "description": "create a file"});
    write_sse_head(socket).await?;
    send_event(
        socket,
        json!({"type": "message_start", "message": {"id": "msg_tool", "type": "message",
               "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
               "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "content_block_start", "index": 0,
               "content_block": {"type": "tool_use", "id": "toolu_fake", "name": "Bash", "input": {}}}),
    )
    .await?;
    send_event(
        socket,
        json!({"type": "content_block_delta", "index": 0,
               "delta": {"type": "input_json_delta", "partial_json": input.to_string()}}),
    )
    .await?;
    send_event(socket, json!({"type": "content_block_stop", "index": 0})).await?;
    send_event(
        socket,
        json!({"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
               "usage": {"output_tokens": 10}}),
    )
    .await?;
    send_event(socket, json!({"type": "message_stop"})).await
}

async fn respond(socket: &mut TcpStream, model: &str, text: &str) -> std::io::Result<()> {
    let words: Vec<&str> = text.split_whitespace().collect();
    let blocks: Vec<(Vec<String>, Duration)> = match words.first().copied() {
        _ if text.starts_with(kai::github::triage::PROMPT_HEAD) => {
            let reply = super::fake_triage::reply(text).unwrap_or_default();
            vec![(split_in(&reply, 3), Duration::ZERO)]
        }
        Some("slow") => {
            let secs: usize = words.get(1).and_then(|w| w.parse().ok()).unwrap_or(6);
            let ticks = secs * 4;
            let deltas = (1..=ticks)
                .map(|i| {
                    if i == ticks {
                        "done.".to_owned()
                    } else {
                        format!("slow part {i} of {ticks}, still going ")
                    }
                })
                .collect();
            vec![(deltas, Duration::from_millis(250))]
        }
        Some("two") if words.get(1) == Some(&"blocks") => vec![
            (vec!["First block.".to_owned()], Duration::ZERO),
            (vec!["Second block.".to_owned()], Duration::ZERO),
        ],
        _ => {
            let reply = format!("claude echo: {text}");
            let deltas = split_in(&reply, 3);
            vec![(deltas, Duration::ZERO)]
        }
    };
    write_sse_head(socket).await?;
    send_event(
        socket,
        json!({"type": "message_start", "message": {"id": format!("msg_{}", std::process::id()), "type": "message",
               "role": "assistant", "model": model, "content": [], "stop_reason": null, "stop_sequence": null,
               "usage": {"input_tokens": 10, "output_tokens": 1}}}),
    )
    .await?;
    for (index, (deltas, pause)) in blocks.iter().enumerate() {
        send_event(
            socket,
            json!({"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}),
        )
        .await?;
        for d in deltas {
            send_event(
                socket,
                json!({"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": d}}),
            )
            .await?;
            tokio::time::sleep(*pause).await;
        }
        send_event(
            socket,
            json!({"type": "content_block_stop", "index": index}),
        )
        .await?;
    }
    send_event(
        socket,
        json!({"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": null},
               "usage": {"output_tokens": 10}}),
    )
    .await?;
    send_event(socket, json!({"type": "message_stop"})).await
}

/// The CLI's per-account configuration pointing at the fake: its `env`
/// block applies to every run of that account, the way an operator would
/// set up a key for an OS user. Nonessential traffic (telemetry, update
/// checks) is off, as it could not leave this machine anyway.
pub fn write_claude_settings(home: &std::path::Path, base_url: &str) -> std::io::Result<()> {
    let dir = home.join(".claude");
    std::fs::create_dir_all(&dir)?;
    let settings = json!({"env": {
        "ANTHROPIC_BASE_URL": base_url,
        "ANTHROPIC_API_KEY": "sk-ant-test-not-a-real-key",
        "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC": "1",
        "DISABLE_AUTOUPDATER": "1"
    }});
    std::fs::write(dir.join("settings.json"), settings.to_string())
}

/// The claude binary the tests run: `$KAI_TEST_CLAUDE_BIN`, else the one
/// `scripts/setup.sh` installs, resolved to the real file (sudoers rules
/// name real files).
pub fn claude_bin() -> std::path::PathBuf {
    let p = std::env::var_os("KAI_TEST_CLAUDE_BIN")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/.bin/claude")
        });
    std::fs::canonicalize(&p).unwrap_or(p)
}
