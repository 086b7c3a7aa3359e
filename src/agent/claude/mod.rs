//! Claude Code as a persistent `stream-json` process, one per chat. Messages
//! and control requests go in as JSON lines on stdin; events come out as
//! JSON lines on stdout (parsed in `claude/stream.rs`). The CLI takes its
//! working directory from the process, so unlike codex it is started in the
//! workspace (under sudo with `-D`).

mod control;
mod result;
pub(crate) mod stream;
mod tools;

use std::collections::VecDeque;
use std::time::Duration;

use serde_json::{json, Value};
use tokio::io::{AsyncWriteExt, BufReader};
use tokio::process::{ChildStdin, ChildStdout};
use tokio::sync::mpsc;

use self::stream::{control_answer, refusal, ClaudeStream, Parsed, TOO_LONG_TYPE};
use super::input::TurnInput;
use super::ndjson::{Frame, LineReader};
use super::{Access, AgentError, AgentEvent, StartSpec};
use crate::process::spawn::AgentProcess;
use base64::Engine;

/// How long the CLI may take to answer a control request.
const CONTROL_TIMEOUT: Duration = Duration::from_secs(60);

/// Nobody could answer a permission prompt over Telegram; the OS account is
/// the isolation boundary (the same choice as codex's approval policy).
const PERMISSION_MODE: &str = "bypassPermissions";

pub struct ClaudeSession {
    /// Its life (pid, exit, close) is the same for every backend, so
    /// `Session` handles it for both.
    pub(super) process: AgentProcess,
    stdin: ChildStdin,
    lines: mpsc::UnboundedReceiver<Value>,
    stream: ClaudeStream,
    /// Events read while waiting for a control response, replayed in order.
    backlog: VecDeque<Value>,
    model: String,
    next_request: u64,
}

impl ClaudeSession {
    pub async fn start(spec: &StartSpec) -> Result<Self, AgentError> {
        if spec.access == Access::ReadOnlyEphemeral {
            return Self::launch(spec, None)
                .await
                .map_err(StartError::into_agent);
        }
        if let Some(id) = &spec.resume {
            match Self::launch(spec, Some(id)).await {
                Ok(s) => {
                    tracing::info!(session = %id, "resumed claude session");
                    return Ok(s);
                }
                Err(StartError::Refused(why)) => {
                    tracing::warn!(session = %id, "could not resume the claude session ({why}); starting a new one");
                }
                // Some versions just exit on an unknown session: a fresh
                // start either works or fails again with the real reason.
                Err(StartError::Agent(AgentError::Exited { detail })) => {
                    tracing::warn!(session = %id, "the claude CLI exited while resuming ({detail}); starting a new session");
                }
                Err(StartError::Agent(e)) => return Err(e),
            }
        }
        Self::launch(spec, None)
            .await
            .map_err(StartError::into_agent)
    }

    /// Spawns the CLI and completes the `initialize` handshake, which proves
    /// it runs (sudo refusals surface here) and, when resuming, that the
    /// conversation exists (the CLI refuses at once if it does not).
    async fn launch(spec: &StartSpec, resume: Option<&str>) -> Result<Self, StartError> {
        let mut spawn = spec.spawn.clone();
        let access: &[&str] = match spec.access {
            Access::Full => &["--permission-mode", PERMISSION_MODE],
            // No tools at all (so nothing to write with or run), no MCP
            // servers from any settings file, anything not pre-approved
            // denied rather than asked, and no transcript left on disk.
            Access::ReadOnlyEphemeral => &[
                "--tools",
                "",
                "--strict-mcp-config",
                "--permission-mode",
                "dontAsk",
                "--no-session-persistence",
            ],
        };
        spawn.args = [
            "--input-format",
            "stream-json",
            "--output-format",
            "stream-json",
            "--verbose",
            "--include-partial-messages",
            "--model",
            &spec.model,
        ]
        .iter()
        .chain(access)
        .map(|s| s.to_string())
        .collect();
        if let Some(id) = resume {
            spawn.args.extend(["--resume".to_string(), id.to_string()]);
        }
        spawn.cwd_via_sudo = true;
        let (process, stdin, stdout) = AgentProcess::spawn(&spawn).map_err(AgentError::from)?;
        let mut s = ClaudeSession {
            process,
            stdin,
            lines: read_lines(stdout),
            stream: ClaudeStream::default(),
            backlog: VecDeque::new(),
            model: spec.model.clone(),
            next_request: 0,
        };
        if let Some(id) = resume {
            s.stream.set_session_id(id.to_string());
        }
        match s.control(json!({"subtype": "initialize"})).await {
            Ok(info) if logged_out(&info) => {
                s.process.terminate().await;
                Err(StartError::Agent(AgentError::NotLoggedIn {
                    os_user: spec.os_user.clone(),
                }))
            }
            Ok(_) => Ok(s),
            Err(e) => {
                let e = match e {
                    // Give stderr a moment to arrive, so a refusal from sudo
                    // or a CLI startup error reaches the user.
                    StartError::Agent(AgentError::Exited { .. }) => {
                        s.process.settle().await;
                        StartError::Agent(AgentError::exited(&s.process))
                    }
                    other => other,
                };
                s.process.terminate().await;
                Err(e)
            }
        }
    }

    pub async fn send(&mut self, input: &TurnInput, model: &str) -> Result<(), AgentError> {
        if model != self.model {
            self.control(json!({"subtype": "set_model", "model": model}))
                .await
                .map_err(StartError::into_agent)?;
            tracing::info!(model, "claude model changed");
            self.model = model.to_string();
        }
        self.stream.new_turn();
        // Images inline (base64): Claude Code cannot be given an image by
        // path in stream-json input. One without bytes is named in the text.
        let mut content: Vec<serde_json::Value> = input
            .images
            .iter()
            .filter_map(|i| {
                let data = i.data.as_ref()?;
                Some(json!({"type": "image", "source": {"type": "base64", "media_type": i.media_type, "data": base64::engine::general_purpose::STANDARD.encode(data)}}))
            })
            .collect();
        content.push(json!({"type": "text", "text": input.text}));
        let line = json!({"type": "user", "message": {"role": "user", "content": content}});
        self.write(&line).await
    }

    /// The next event of the running turn. Cancel-safe: a line is consumed
    /// only once it has been turned into an event.
    pub async fn next_event(&mut self) -> Result<AgentEvent, AgentError> {
        loop {
            if let Some(e) = self.stream.take_pending() {
                return Ok(e);
            }
            let line = match self.backlog.pop_front() {
                Some(l) => l,
                None => match self.lines.recv().await {
                    Some(l) => l,
                    None => return Err(AgentError::exited(&self.process)),
                },
            };
            match self.stream.on_line(&line) {
                Parsed::Event(e) => return Ok(e),
                Parsed::ControlResponse { .. } => continue,
                Parsed::RefusedBeforeStart(why) => {
                    // Whatever the CLI refused (typically the conversation to
                    // resume), do not offer it again.
                    self.stream.forget_session_id();
                    return Ok(AgentEvent::Done {
                        text: String::new(),
                        error: Some(why),
                        interrupted: false,
                    });
                }
            }
        }
    }

    /// Asks the CLI to end the turn; it answers with a `result`.
    pub async fn interrupt(&mut self) -> Result<(), AgentError> {
        self.stream.interrupting = true;
        let id = self.request_id();
        self.write(&json!({"type": "control_request", "request_id": id, "request": {"subtype": "interrupt"}}))
            .await
    }

    pub fn session_id(&self) -> Option<&str> {
        self.stream.session_id()
    }

    fn request_id(&mut self) -> String {
        self.next_request += 1;
        format!("kai-{}", self.next_request)
    }

    /// Sends a control request and waits for its answer; other lines that
    /// arrive meanwhile are kept for `next_event`.
    async fn control(&mut self, request: Value) -> Result<Value, StartError> {
        let id = self.request_id();
        let subtype = request["subtype"].as_str().unwrap_or("control").to_string();
        self.write(&json!({"type": "control_request", "request_id": id, "request": request}))
            .await?;
        let wait = async {
            loop {
                let Some(line) = self.lines.recv().await else {
                    return Err(StartError::Agent(AgentError::exited(&self.process)));
                };
                if let Some((answers, error)) = control_answer(&line) {
                    if answers == id {
                        return match error {
                            Some(message) => Err(StartError::Agent(AgentError::Refused {
                                method: subtype.clone(),
                                message,
                            })),
                            None => Ok(line
                                .pointer("/response/response")
                                .cloned()
                                .unwrap_or(Value::Null)),
                        };
                    }
                }
                if let Some(why) = refusal(&line) {
                    return Err(StartError::Refused(why));
                }
                self.backlog.push_back(line);
            }
        };
        match tokio::time::timeout(CONTROL_TIMEOUT, wait).await {
            Ok(r) => r,
            Err(_) => Err(StartError::Agent(AgentError::Unresponsive(subtype))),
        }
    }

    async fn write(&mut self, v: &Value) -> Result<(), AgentError> {
        let mut line = v.to_string().into_bytes();
        line.push(b'\n');
        let io = async {
            self.stdin.write_all(&line).await?;
            self.stdin.flush().await
        };
        match tokio::time::timeout(CONTROL_TIMEOUT, io).await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(_)) => Err(AgentError::exited(&self.process)),
            Err(_) => Err(AgentError::Unresponsive("stdin".into())),
        }
    }
}

/// Why a launch failed: the CLI refused (e.g. an unknown session to
/// resume), or the agent failed as any agent can.
enum StartError {
    Refused(String),
    Agent(AgentError),
}

impl StartError {
    fn into_agent(self) -> AgentError {
        match self {
            StartError::Agent(e) => e,
            StartError::Refused(message) => AgentError::Refused {
                method: "start".into(),
                message,
            },
        }
    }
}

impl From<AgentError> for StartError {
    fn from(e: AgentError) -> Self {
        StartError::Agent(e)
    }
}

/// Whether the `initialize` answer says the account has no credentials at
/// all: no login token and no API key, with Anthropic's own API (other
/// providers authenticate their own way, which the CLI does not report).
/// Better a login hint now than a failed turn later.
fn logged_out(info: &Value) -> bool {
    let Some(account) = info.get("account") else {
        return false;
    };
    let field = |k: &str| account.get(k).and_then(Value::as_str);
    field("tokenSource") == Some("none")
        && field("apiKeySource").is_none_or(|s| s == "none")
        && field("apiProvider").is_none_or(|p| p == "firstParty")
}

/// Reads stdout into JSON values. Lines that are not JSON (a stray log
/// line) or too long are logged and skipped, never fatal; the channel
/// closes when the process's output does.
fn read_lines(stdout: ChildStdout) -> mpsc::UnboundedReceiver<Value> {
    let (tx, rx) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        let mut reader = LineReader::new(BufReader::new(stdout));
        loop {
            match reader.next_frame().await {
                Ok(Some(Frame::Line(bytes))) => match serde_json::from_slice::<Value>(&bytes) {
                    Ok(v) if v.is_object() => {
                        if tx.send(v).is_err() {
                            break;
                        }
                    }
                    _ => tracing::debug!(
                        "skipped a line from claude that is not a JSON object: {}",
                        String::from_utf8_lossy(&bytes[..bytes.len().min(200)])
                    ),
                },
                Ok(Some(Frame::TooLong(n))) => {
                    tracing::warn!("skipped a {n}-byte line from claude (over the line limit)");
                    let note = serde_json::json!({"type": TOO_LONG_TYPE, "bytes": n});
                    if tx.send(note).is_err() {
                        break;
                    }
                }
                Ok(None) | Err(_) => break,
            }
        }
    });
    rx
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_an_account_without_any_credential_is_logged_out() {
        let none = json!({"account": {"tokenSource": "none", "apiProvider": "firstParty"}});
        assert!(logged_out(&none));
        let key = json!({"account": {"tokenSource": "none", "apiKeySource": "ANTHROPIC_API_KEY", "apiProvider": "firstParty"}});
        assert!(!logged_out(&key));
        let oauth = json!({"account": {"tokenSource": "claude.ai", "apiProvider": "firstParty"}});
        assert!(!logged_out(&oauth));
        let bedrock = json!({"account": {"tokenSource": "none", "apiProvider": "bedrock"}});
        assert!(!logged_out(&bedrock));
        assert!(!logged_out(&json!({"commands": []})));
    }
}
