//! Claude Code's `stream-json` output, one JSON object per line, turned into
//! [`AgentEvent`]s. Kept free of I/O so every event shape is unit-tested.
//!
//! What matters: `system/init` carries the session id (the key to resume);
//! `stream_event` carries raw Messages-API deltas (live text); `assistant`
//! carries each finished content block (authoritative text, tool calls);
//! `result` ends the turn. Everything else — including types a newer CLI
//! invents — only shows the agent is alive. What a `result` says beyond
//! the reply (failure, usage) is read in `result.rs`, tool activity
//! lines in `tools.rs`, control answers in `control.rs`.

use std::collections::HashMap;

use serde_json::Value;

use super::result::{result_error, str_at, turn_usage};
use super::tools::describe_tool;
use crate::agent::reply::ReplyText;
use crate::agent::AgentEvent;
use crate::usage::Usage;

pub use super::control::control_answer;
pub use super::result::refusal;

/// The event type the reader (`claude/mod.rs`) makes up for a line it
/// skipped as too long; the CLI never sends it.
pub const TOO_LONG_TYPE: &str = "kai_line_too_long";

#[derive(Debug, Default)]
pub struct ClaudeStream {
    session_id: Option<String>,
    reply: ReplyText,
    /// Finished text blocks per API message id: the CLI reports a message's
    /// blocks one `assistant` event at a time.
    finished: HashMap<String, Vec<String>>,
    /// Whether this turn produced any output yet (a resume that fails does
    /// so before producing any).
    started: bool,
    /// The id of the API message being streamed (from its `message_start`).
    streaming: Option<String>,
    /// Set by the session when it asked the CLI to interrupt the turn.
    pub interrupting: bool,
    /// The turn's end, held back while its usage is reported first.
    done: Option<Box<AgentEvent>>,
    /// The process's running cost total, as its last `result` said.
    cost_so_far: f64,
}

/// What one line means for the session.
#[derive(Debug, PartialEq)]
pub enum Parsed {
    Event(AgentEvent),
    /// The answer to a control request, by request id.
    ControlResponse {
        request_id: String,
        error: Option<String>,
    },
    /// A `result` before the turn produced anything, i.e. the CLI refused to
    /// start it (typically `--resume` of a conversation it cannot find).
    RefusedBeforeStart(String),
}

impl ClaudeStream {
    pub fn session_id(&self) -> Option<&str> {
        self.session_id.as_deref()
    }

    pub fn set_session_id(&mut self, id: String) {
        self.session_id = Some(id);
    }

    pub fn forget_session_id(&mut self) {
        self.session_id = None;
    }

    /// Forgets the previous turn's text; call before sending a message.
    pub fn new_turn(&mut self) {
        self.reply = ReplyText::default();
        self.finished.clear();
        self.started = false;
        self.interrupting = false;
        self.streaming = None;
    }

    /// An event held back by the last line (the `Done` after a result's
    /// usage); the session asks for it before reading the next line.
    pub fn take_pending(&mut self) -> Option<AgentEvent> {
        self.done.take().map(|d| *d)
    }

    pub fn on_line(&mut self, v: &Value) -> Parsed {
        let kind = v.get("type").and_then(Value::as_str).unwrap_or_default();
        if kind != "control_response" {
            if let Some(id) = v.get("session_id").and_then(Value::as_str) {
                self.session_id = Some(id.to_string());
            }
        }
        match kind {
            "system" => {
                self.started = true;
                Parsed::Event(AgentEvent::Alive)
            }
            "stream_event" => {
                self.started = true;
                Parsed::Event(self.on_stream_event(v))
            }
            "assistant" => {
                self.started = true;
                Parsed::Event(self.on_assistant(v))
            }
            "result" => self.on_result(v),
            TOO_LONG_TYPE => Parsed::Event(AgentEvent::Warning(crate::agent::line_too_long(
                v.get("bytes").and_then(Value::as_u64).unwrap_or(0),
            ))),
            "control_response" => {
                let (request_id, error) = control_answer(v).unwrap_or_default();
                Parsed::ControlResponse { request_id, error }
            }
            _ => Parsed::Event(AgentEvent::Alive),
        }
    }

    fn on_stream_event(&mut self, v: &Value) -> AgentEvent {
        let Some(e) = v.get("event") else {
            return AgentEvent::Alive;
        };
        // Sub-agents stream too; only the main conversation is the reply.
        if !v.get("parent_tool_use_id").is_none_or(Value::is_null) {
            return AgentEvent::Alive;
        }
        if str_at(e, "/type") == Some("message_start") {
            self.streaming = str_at(e, "/message/id").map(str::to_string);
        }
        // The message id keys the live text so the finished blocks can
        // replace it; older CLIs leave `api_message_id` out, and then the
        // id of the message being streamed stands in.
        let msg = str_at(v, "/api_message_id")
            .map(str::to_string)
            .or_else(|| self.streaming.clone())
            .unwrap_or_else(|| "current".to_string());
        let msg = msg.as_str();
        match str_at(e, "/type") {
            Some("content_block_start") if str_at(e, "/content_block/type") == Some("text") => {
                // A new text block: kept apart from the previous one so two
                // sentences never run together.
                self.reply.begin_block(msg);
                AgentEvent::Alive
            }
            Some("content_block_delta") if str_at(e, "/delta/type") == Some("text_delta") => {
                match str_at(e, "/delta/text") {
                    Some(t) => {
                        self.reply.append(msg, t);
                        AgentEvent::Text(self.reply.render())
                    }
                    None => AgentEvent::Alive,
                }
            }
            _ => AgentEvent::Alive,
        }
    }

    fn on_assistant(&mut self, v: &Value) -> AgentEvent {
        if !v.get("parent_tool_use_id").is_none_or(Value::is_null) {
            return AgentEvent::Alive;
        }
        let msg = str_at(v, "/message/id").unwrap_or("current").to_string();
        let blocks = v
            .pointer("/message/content")
            .and_then(Value::as_array)
            .cloned()
            .unwrap_or_default();
        let mut activity = None;
        for b in &blocks {
            match str_at(b, "/type") {
                Some("text") => {
                    if let Some(t) = str_at(b, "/text") {
                        self.finished
                            .entry(msg.clone())
                            .or_default()
                            .push(t.to_string());
                    }
                }
                Some("tool_use") => activity = Some(describe_tool(b)),
                Some("thinking") => activity = activity.or(Some("thinking".to_string())),
                _ => {}
            }
        }
        if let Some(texts) = self.finished.get(&msg) {
            // Finished blocks are authoritative: they replace what the
            // deltas built for this message.
            self.reply.complete(&msg, &texts.join("\n\n"));
            if activity.is_none() {
                return AgentEvent::Text(self.reply.render());
            }
        }
        match activity {
            Some(a) => AgentEvent::Activity(a),
            None => AgentEvent::Alive,
        }
    }

    fn on_result(&mut self, v: &Value) -> Parsed {
        let is_error = v.get("is_error").and_then(Value::as_bool).unwrap_or(false);
        let subtype = str_at(v, "/subtype").unwrap_or("success");
        if !self.started && !self.interrupting {
            if let Some(why) = refusal(v) {
                return Parsed::RefusedBeforeStart(why);
            }
        }
        let mut text = self.reply.render();
        if text.trim().is_empty() && !is_error {
            text = str_at(v, "/result").unwrap_or_default().to_string();
        }
        let interrupted = self.interrupting;
        let error = (is_error && !interrupted).then(|| result_error(v, subtype));
        self.interrupting = false;
        let done = AgentEvent::Done {
            text,
            error,
            interrupted,
        };
        // The usage first, so it is recorded before the turn ends.
        match turn_usage(v, &mut self.cost_so_far) {
            Some(u) => {
                self.done = Some(Box::new(done));
                Parsed::Event(AgentEvent::Usage(Usage::Claude(u)))
            }
            None => Parsed::Event(done),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn delta(msg: &str, index: u64, text: &str) -> Value {
        json!({"type": "stream_event", "api_message_id": msg, "parent_tool_use_id": null,
               "event": {"type": "content_block_delta", "index": index, "delta": {"type": "text_delta", "text": text}}})
    }

    fn block_start(msg: &str, index: u64) -> Value {
        json!({"type": "stream_event", "api_message_id": msg,
               "event": {"type": "content_block_start", "index": index, "content_block": {"type": "text", "text": ""}}})
    }

    fn assistant(msg: &str, content: Value) -> Value {
        json!({"type": "assistant", "session_id": "s-1", "parent_tool_use_id": null,
               "message": {"id": msg, "content": content}})
    }

    #[test]
    fn deltas_stream_and_finished_blocks_stay_apart() {
        let mut s = ClaudeStream::default();
        s.on_line(&json!({"type": "system", "subtype": "init", "session_id": "s-1"}));
        assert_eq!(s.session_id(), Some("s-1"));
        s.on_line(&block_start("m1", 0));
        s.on_line(&delta("m1", 0, "First sentence."));
        s.on_line(&block_start("m1", 1));
        assert_eq!(
            s.on_line(&delta("m1", 1, "Second")),
            Parsed::Event(AgentEvent::Text("First sentence.\n\nSecond".into()))
        );
        // The CLI reports finished blocks one event at a time.
        s.on_line(&assistant(
            "m1",
            json!([{"type": "text", "text": "First sentence."}]),
        ));
        let last = s.on_line(&assistant(
            "m1",
            json!([{"type": "text", "text": "Second one."}]),
        ));
        assert_eq!(
            last,
            Parsed::Event(AgentEvent::Text("First sentence.\n\nSecond one.".into()))
        );
        let done = s.on_line(&json!({"type": "result", "subtype": "success", "is_error": false,
                                      "num_turns": 1, "result": "Second one.", "session_id": "s-1"}));
        assert_eq!(
            done,
            Parsed::Event(AgentEvent::Done {
                text: "First sentence.\n\nSecond one.".into(),
                error: None,
                interrupted: false
            })
        );
    }

    #[test]
    fn without_api_message_id_the_streamed_message_id_keys_the_text() {
        let mut s = ClaudeStream::default();
        let start = json!({"type": "stream_event",
                           "event": {"type": "message_start", "message": {"id": "m9"}}});
        s.on_line(&start);
        let bare = json!({"type": "stream_event",
                          "event": {"type": "content_block_delta", "index": 0,
                                    "delta": {"type": "text_delta", "text": "Hello"}}});
        s.on_line(&bare);
        // The finished block replaces the live text instead of repeating it.
        assert_eq!(
            s.on_line(&assistant(
                "m9",
                json!([{"type": "text", "text": "Hello."}])
            )),
            Parsed::Event(AgentEvent::Text("Hello.".into()))
        );
    }

    #[test]
    fn tools_show_as_activity_and_unknown_types_as_alive() {
        let mut s = ClaudeStream::default();
        let tool = assistant(
            "m2",
            json!([{"type": "tool_use", "name": "Bash", "input": {"command": "cargo test"}}]),
        );
        assert_eq!(
            s.on_line(&tool),
            Parsed::Event(AgentEvent::Activity("running `cargo test`".into()))
        );
        assert_eq!(
            s.on_line(&json!({"type": "some_future_event", "x": 1})),
            Parsed::Event(AgentEvent::Alive)
        );
        let dropped = json!({"type": TOO_LONG_TYPE, "bytes": 17 * 1024 * 1024});
        assert!(matches!(
            s.on_line(&dropped),
            Parsed::Event(AgentEvent::Warning(w)) if w.contains("17.0 MiB") && w.contains("16 MiB")
        ));
        // A sub-agent's text is not the reply.
        let sub = json!({"type": "assistant", "parent_tool_use_id": "t1",
                         "message": {"id": "m3", "content": [{"type": "text", "text": "inner"}]}});
        assert_eq!(s.on_line(&sub), Parsed::Event(AgentEvent::Alive));
    }

    #[test]
    fn failed_interrupted_and_refused_results() {
        let mut s = ClaudeStream::default();
        s.on_line(&json!({"type": "system", "subtype": "init", "session_id": "s-1"}));
        let failed = s.on_line(
            &json!({"type": "result", "subtype": "success", "is_error": true,
                                        "num_turns": 1, "result": "API Error: 500"}),
        );
        assert!(
            matches!(failed, Parsed::Event(AgentEvent::Done { error: Some(e), .. }) if e == "API Error: 500")
        );

        s.new_turn();
        s.on_line(&delta("m4", 0, "partial"));
        s.interrupting = true;
        let stopped = s.on_line(
            &json!({"type": "result", "subtype": "error_during_execution",
                                         "is_error": true, "num_turns": 1}),
        );
        assert_eq!(
            stopped,
            Parsed::Event(AgentEvent::Done {
                text: "partial".into(),
                error: None,
                interrupted: true
            })
        );

        let mut fresh = ClaudeStream::default();
        let refused = fresh.on_line(&json!({"type": "result", "subtype": "error_during_execution",
                                             "is_error": true, "num_turns": 0, "errors": ["No conversation found"]}));
        assert_eq!(
            refused,
            Parsed::RefusedBeforeStart("No conversation found".into())
        );
    }
}
