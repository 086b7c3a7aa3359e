//! What kai lets a codex agent do, and how it answers the app-server's own
//! requests: a chat's agent acts without asking, inside its OS account; a
//! job over untrusted text runs read-only, which kai checks in codex's
//! answer and enforces by declining every approval.

use serde_json::{json, Value};

use super::jsonrpc::RpcError;

/// The agent runs under the Telegram user's own OS account, which is the
/// isolation boundary; inside it, like Claude's bypassPermissions, it acts
/// without asking (nobody could answer an approval prompt over Telegram).
pub(super) const APPROVAL_POLICY: &str = "never";
pub(super) const SANDBOX: &str = "danger-full-access";
/// A job over untrusted text runs in codex's own read-only sandbox, on top
/// of the OS account.
pub(super) const READ_ONLY_SANDBOX: &str = "read-only";

/// Whether a `thread/start` answer says the thread is sandboxed read-only
/// and never asks for approval; otherwise what it says instead.
pub(super) fn check_read_only(result: &Value) -> Result<(), String> {
    let sandbox = result.pointer("/sandbox/type").and_then(Value::as_str);
    let approval = result.get("approvalPolicy").and_then(Value::as_str);
    match (sandbox, approval) {
        (Some("readOnly"), Some("never")) => Ok(()),
        _ => Err(format!(
            "codex would run it with sandbox {} and approval policy {}",
            result
                .get("sandbox")
                .map_or("(none)".into(), Value::to_string),
            result
                .get("approvalPolicy")
                .map_or("(none)".into(), Value::to_string)
        )),
    }
}

/// Answers the server's requests. With approval policy `never` none should
/// come; if one does, accept it (the OS account is the boundary) rather than
/// leave the turn hanging, and refuse what cannot be answered meaningfully.
pub(super) fn answer_server_request(method: &str, _params: &Value) -> Result<Value, RpcError> {
    match method {
        "item/commandExecution/requestApproval" | "item/fileChange/requestApproval" => {
            Ok(json!({"decision": "accept"}))
        }
        "execCommandApproval" | "applyPatchApproval" => Ok(json!({"decision": "approved"})),
        "item/tool/requestUserInput" => Ok(json!({"answers": {}})),
        "mcpServer/elicitation/request" => Ok(json!({"action": "decline"})),
        other => Err(RpcError {
            code: -32601,
            message: format!("kai does not support `{other}`"),
            data: None,
        }),
    }
}

/// Answers the server's requests in a read-only job: every approval is
/// declined. With `read-only` and an accepting client, codex 0.169 does
/// write files (through `apply_patch` and commands it asks to escalate), so
/// declining is what keeps the job read-only, not the sandbox setting alone.
pub(super) fn decline_server_request(method: &str, _params: &Value) -> Result<Value, RpcError> {
    tracing::warn!(method, "declined an approval request from a read-only job");
    match method {
        "item/commandExecution/requestApproval" | "item/fileChange/requestApproval" => {
            Ok(json!({"decision": "decline"}))
        }
        "execCommandApproval" | "applyPatchApproval" => Ok(json!({"decision": "denied"})),
        "item/permissions/requestApproval" => Ok(json!({"permissions": {}})),
        "item/tool/requestUserInput" => Ok(json!({"answers": {}})),
        "mcpServer/elicitation/request" => Ok(json!({"action": "decline"})),
        other => Err(RpcError {
            code: -32601,
            message: format!("kai does not support `{other}` in a read-only job"),
            data: None,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_job_runs_only_when_codex_confirms_read_only() {
        let ok = json!({"sandbox": {"type": "readOnly", "networkAccess": false}, "approvalPolicy": "never"});
        assert!(check_read_only(&ok).is_ok());
        for bad in [
            json!({"sandbox": {"type": "dangerFullAccess"}, "approvalPolicy": "never"}),
            json!({"sandbox": {"type": "workspaceWrite"}, "approvalPolicy": "never"}),
            json!({"sandbox": {"type": "readOnly"}, "approvalPolicy": "on-request"}),
            json!({"thread": {"id": "t"}}),
        ] {
            let e = check_read_only(&bad).unwrap_err();
            assert!(e.contains("codex would run it"), "{e}");
        }
    }

    #[test]
    fn a_read_only_job_accepts_nothing() {
        for m in [
            "item/commandExecution/requestApproval",
            "item/fileChange/requestApproval",
            "execCommandApproval",
            "applyPatchApproval",
            "item/permissions/requestApproval",
            "item/tool/requestUserInput",
            "mcpServer/elicitation/request",
            "something/new",
        ] {
            if let Ok(answer) = decline_server_request(m, &Value::Null) {
                let text = answer.to_string();
                assert!(
                    !text.contains("accept") && !text.contains("approved"),
                    "{m}: {text}"
                );
            }
        }
    }

    #[test]
    fn every_server_request_gets_an_answer() {
        for m in [
            "item/commandExecution/requestApproval",
            "applyPatchApproval",
            "item/tool/requestUserInput",
            "something/new",
        ] {
            let _ = answer_server_request(m, &Value::Null);
        }
        assert_eq!(
            answer_server_request("execCommandApproval", &Value::Null).unwrap(),
            json!({"decision": "approved"})
        );
        assert_eq!(
            answer_server_request("x/y", &Value::Null).unwrap_err().code,
            -32601
        );
    }
}
