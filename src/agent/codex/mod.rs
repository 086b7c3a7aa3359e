//! `codex app-server`: NDJSON JSON-RPC over stdio. Handshake `initialize` →
//! `initialized`, then `thread/start` (or `thread/resume`), then one
//! `turn/start` per message with the reply streamed as notifications until
//! `turn/completed`. Unknown notifications and item types are skipped: the
//! protocol grows faster than this bridge. Everything codex-only lives in
//! this folder: the JSON-RPC messages (`jsonrpc.rs`) and client (`rpc.rs`),
//! what kai lets the agent do and answers its requests (`policy.rs`),
//! activity lines (`activity.rs`), usage figures (`usage.rs`) and the
//! start-up version check (`version.rs`).

mod activity;
pub mod jsonrpc;
mod policy;
pub(crate) mod rpc;
mod usage;
pub(crate) mod version;

use std::time::Duration;

use serde_json::{json, Value};

use self::activity::activity;
use self::policy::{
    answer_server_request, check_read_only, decline_server_request, APPROVAL_POLICY,
    READ_ONLY_SANDBOX, SANDBOX,
};
use self::rpc::{Answerer, CallError, RpcClient};
use super::input::TurnInput;
use super::reply::ReplyText;
use super::{Access, AgentError, AgentEvent, StartSpec};
use crate::process::spawn::{AgentProcess, SpawnSpec};

/// How long the handshake and control calls may take before the agent is
/// declared unresponsive (turns themselves are bounded by the caller).
const CALL_TIMEOUT: Duration = Duration::from_secs(60);

pub struct CodexSession {
    rpc: RpcClient,
    /// Its life (pid, exit, close) is the same for every backend, so
    /// `Session` handles it for both.
    pub(super) process: AgentProcess,
    thread_id: String,
    turn_id: Option<String>,
    reply: ReplyText,
    error: Option<String>,
}

impl CodexSession {
    pub async fn start(spec: &StartSpec) -> Result<Self, AgentError> {
        let answer = match spec.access {
            Access::Full => answer_server_request,
            Access::ReadOnlyEphemeral => decline_server_request,
        };
        let mut s = Self::spawn(&spec.spawn, answer)?;
        match s.handshake(spec).await {
            Ok(()) => Ok(s),
            Err(e) => {
                let e = s.explain(e).await;
                s.process.terminate().await;
                Err(e)
            }
        }
    }

    /// `codex app-server` started, with no conversation yet.
    fn spawn(spawn: &SpawnSpec, answer: Answerer) -> Result<Self, AgentError> {
        let mut spawn = spawn.clone();
        spawn.args = vec!["app-server".into()];
        let (process, stdin, stdout) = AgentProcess::spawn(&spawn)?;
        Ok(CodexSession {
            rpc: RpcClient::start(stdin, stdout, answer),
            process,
            thread_id: String::new(),
            turn_id: None,
            reply: ReplyText::default(),
            error: None,
        })
    }

    async fn initialize(&mut self) -> Result<(), AgentError> {
        self.call(
            "initialize",
            json!({"clientInfo": {"name": "kai", "title": "Kai", "version": env!("CARGO_PKG_VERSION")}}),
        )
        .await?;
        self.rpc
            .notify("initialized", None)
            .map_err(|_| AgentError::exited(&self.process))
    }

    /// The models this codex offers (`model/list`, every page), the ones it
    /// hides from its own picker left out.
    pub async fn models(&mut self) -> Result<Vec<String>, AgentError> {
        let mut out = Vec::new();
        let mut cursor: Option<String> = None;
        // A bound on pages, so a server that keeps paging cannot hold us.
        for _ in 0..10 {
            let r = self.call("model/list", json!({ "cursor": cursor })).await?;
            let data = r
                .get("data")
                .and_then(Value::as_array)
                .ok_or_else(|| AgentError::Protocol("model/list".into()))?;
            for m in data {
                if m.get("hidden").and_then(Value::as_bool) == Some(true) {
                    continue;
                }
                if let Some(id) = m
                    .get("model")
                    .or_else(|| m.get("id"))
                    .and_then(Value::as_str)
                {
                    out.push(id.to_string());
                }
            }
            cursor = r
                .get("nextCursor")
                .and_then(Value::as_str)
                .map(str::to_string);
            if cursor.is_none() {
                break;
            }
        }
        Ok(out)
    }

    async fn handshake(&mut self, spec: &StartSpec) -> Result<(), AgentError> {
        self.initialize().await?;

        let account = self.call("account/read", json!({})).await?;
        let logged_out = account.get("account").is_some_and(Value::is_null)
            && account
                .get("requiresOpenaiAuth")
                .and_then(Value::as_bool)
                .unwrap_or(false);
        if logged_out {
            return Err(AgentError::NotLoggedIn {
                os_user: spec.os_user.clone(),
            });
        }

        let cwd = spec.workspace.display().to_string();
        let base = match spec.access {
            Access::Full => {
                json!({"cwd": cwd, "approvalPolicy": APPROVAL_POLICY, "sandbox": SANDBOX, "model": spec.model})
            }
            // `ephemeral`: codex keeps no rollout of the thread on disk.
            Access::ReadOnlyEphemeral => json!({
                "cwd": cwd, "approvalPolicy": APPROVAL_POLICY, "sandbox": READ_ONLY_SANDBOX,
                "model": spec.model, "ephemeral": true
            }),
        };
        let resume = match spec.access {
            Access::Full => spec.resume.as_ref(),
            Access::ReadOnlyEphemeral => None,
        };
        if let Some(thread) = resume {
            let mut params = base.clone();
            params["threadId"] = json!(thread);
            // The history is not needed here, and asking for it is deprecated
            // since 0.169; codex 0.148 (what nixpkgs ships) refuses the field
            // without the experimental API, so ask again without it.
            params["excludeTurns"] = json!(true);
            let mut answer = self.call("thread/resume", params.clone()).await;
            if matches!(&answer, Err(AgentError::Refused { message, .. }) if message.contains("excludeTurns"))
            {
                if let Some(p) = params.as_object_mut() {
                    p.remove("excludeTurns");
                }
                answer = self.call("thread/resume", params).await;
            }
            match answer {
                Ok(r) => {
                    self.thread_id = thread_id(&r)
                        .ok_or_else(|| AgentError::Protocol("thread/resume".into()))?;
                    tracing::info!(thread = %self.thread_id, "resumed codex thread");
                    return Ok(());
                }
                Err(AgentError::Refused { message, .. }) => {
                    tracing::warn!(thread = %thread, "could not resume the codex thread ({message}); starting a new one");
                }
                Err(e) => return Err(e),
            }
        }
        let r = self.call("thread/start", base).await?;
        self.thread_id =
            thread_id(&r).ok_or_else(|| AgentError::Protocol("thread/start".into()))?;
        if spec.access == Access::ReadOnlyEphemeral {
            // Whatever was asked, codex answers with the policy it will
            // enforce (a managed configuration may override the request):
            // a job over untrusted text runs read-only or not at all.
            if let Err(detail) = check_read_only(&r) {
                return Err(AgentError::NotReadOnly { detail });
            }
        }
        tracing::info!(thread = %self.thread_id, "started codex thread");
        Ok(())
    }

    pub async fn send(&mut self, input: &TurnInput, model: &str) -> Result<(), AgentError> {
        self.reply = ReplyText::default();
        self.error = None;
        self.turn_id = None;
        // Images by path: codex runs as the user's account and reads them
        // from the workspace itself.
        let mut items = vec![json!({"type": "text", "text": input.text})];
        items.extend(
            input
                .images
                .iter()
                .map(|i| json!({"type": "localImage", "path": i.path})),
        );
        let r = self
            .call(
                "turn/start",
                json!({"threadId": self.thread_id, "input": items, "model": model}),
            )
            .await?;
        self.turn_id = r
            .pointer("/turn/id")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(())
    }

    pub async fn next_event(&mut self) -> Result<AgentEvent, AgentError> {
        loop {
            let Some((method, params)) = self.rpc.next_notification().await else {
                return Err(AgentError::exited(&self.process));
            };
            if let Some(t) = params.get("threadId").and_then(Value::as_str) {
                if t != self.thread_id {
                    continue;
                }
            }
            return Ok(self
                .on_notification(&method, &params)
                .unwrap_or(AgentEvent::Alive));
        }
    }

    fn on_notification(&mut self, method: &str, p: &Value) -> Option<AgentEvent> {
        let str_at = |ptr: &str| p.pointer(ptr).and_then(Value::as_str);
        match method {
            "item/agentMessage/delta" => {
                self.reply.append(str_at("/itemId")?, str_at("/delta")?);
                Some(AgentEvent::Text(self.reply.render()))
            }
            "item/completed" if str_at("/item/type") == Some("agentMessage") => {
                self.reply
                    .complete(str_at("/item/id")?, str_at("/item/text")?);
                Some(AgentEvent::Text(self.reply.render()))
            }
            "item/started" => activity(p.get("item")?).map(AgentEvent::Activity),
            "account/rateLimits/updated" | "thread/tokenUsage/updated" => {
                usage::parse(method, p).map(AgentEvent::Usage)
            }
            rpc::LINE_TOO_LONG => Some(AgentEvent::Warning(super::line_too_long(
                p.get("bytes").and_then(Value::as_u64).unwrap_or(0),
            ))),
            "error" => {
                let message = str_at("/error/message")
                    .unwrap_or("unknown error")
                    .to_string();
                if p.get("willRetry").and_then(Value::as_bool).unwrap_or(false) {
                    Some(AgentEvent::Activity(format!(
                        "retrying after an error: {message}"
                    )))
                } else {
                    self.error = Some(message);
                    None
                }
            }
            "turn/completed" => {
                let status = str_at("/turn/status").unwrap_or("completed");
                let error = match status {
                    "failed" => Some(
                        str_at("/turn/error/message")
                            .map(str::to_string)
                            .or_else(|| self.error.take())
                            .unwrap_or_else(|| "the turn failed".into()),
                    ),
                    _ => None,
                };
                self.turn_id = None;
                Some(AgentEvent::Done {
                    text: self.reply.render(),
                    error,
                    interrupted: status == "interrupted",
                })
            }
            other => {
                tracing::trace!(method = other, "skipped codex notification");
                None
            }
        }
    }

    pub async fn interrupt(&mut self) -> Result<(), AgentError> {
        let Some(turn) = self.turn_id.clone() else {
            return Ok(());
        };
        self.call(
            "turn/interrupt",
            json!({"threadId": self.thread_id, "turnId": turn}),
        )
        .await
        .map(|_| ())
    }

    /// The plan's windows, asked (`account/rateLimits/read`); codex refuses
    /// it (-32600) unless the login is a ChatGPT account.
    pub async fn rate_limits(&mut self) -> Result<Option<crate::usage::RateLimits>, AgentError> {
        let r = self.call("account/rateLimits/read", Value::Null).await?;
        Ok(r.get("rateLimits").and_then(usage::rate_limits))
    }

    pub fn thread_id(&self) -> &str {
        &self.thread_id
    }

    async fn call(&mut self, method: &str, params: Value) -> Result<Value, AgentError> {
        match tokio::time::timeout(CALL_TIMEOUT, self.rpc.call(method, params)).await {
            Err(_) => Err(AgentError::Unresponsive(method.into())),
            Ok(Err(CallError::Closed)) => Err(AgentError::exited(&self.process)),
            Ok(Err(CallError::Rpc(e))) => Err(AgentError::Refused {
                method: method.into(),
                message: e.message,
            }),
            Ok(Ok(v)) => Ok(v),
        }
    }

    /// Gives stderr a moment to arrive, so a refusal from sudo or a codex
    /// startup error reaches the user instead of a bare "exited".
    async fn explain(&mut self, e: AgentError) -> AgentError {
        match e {
            AgentError::Exited { .. } => {
                self.process.settle().await;
                AgentError::exited(&self.process)
            }
            e => e,
        }
    }
}

/// Asks a short-lived app-server, with no conversation, which models the
/// installed codex offers; it is stopped afterwards whatever happened.
pub async fn list_models(spawn: &SpawnSpec) -> Result<Vec<String>, AgentError> {
    let mut s = CodexSession::spawn(spawn, decline_server_request)?;
    let listed = match s.initialize().await {
        Ok(()) => s.models().await,
        Err(e) => Err(e),
    };
    let listed = match listed {
        Err(e) => Err(s.explain(e).await),
        ok => ok,
    };
    s.process.terminate().await;
    listed
}

fn thread_id(result: &Value) -> Option<String> {
    result
        .pointer("/thread/id")
        .and_then(Value::as_str)
        .map(str::to_string)
}
