//! Claude Code's answers to kai's control requests (`initialize`,
//! `set_model`, `interrupt`): which request a `control_response` line
//! answers, and the error when the CLI refused it.

use serde_json::Value;

use super::result::str_at;

/// A `control_response` line: the request it answers, and the error if the
/// CLI refused the request.
pub fn control_answer(v: &Value) -> Option<(String, Option<String>)> {
    if str_at(v, "/type") != Some("control_response") {
        return None;
    }
    let r = v.get("response").unwrap_or(&Value::Null);
    let error = (str_at(r, "/subtype") == Some("error")).then(|| {
        str_at(r, "/error")
            .unwrap_or("the request was refused")
            .to_string()
    });
    Some((
        str_at(r, "/request_id").unwrap_or_default().to_string(),
        error,
    ))
}

#[cfg(test)]
mod tests {
    use crate::agent::claude::stream::{ClaudeStream, Parsed};
    use serde_json::json;

    #[test]
    fn control_responses_are_matched_by_id() {
        let mut s = ClaudeStream::default();
        let ok = json!({"type": "control_response", "response": {"subtype": "success", "request_id": "k1"}});
        assert_eq!(
            s.on_line(&ok),
            Parsed::ControlResponse {
                request_id: "k1".into(),
                error: None
            }
        );
        let bad = json!({"type": "control_response",
                         "response": {"subtype": "error", "request_id": "k2", "error": "unknown model"}});
        assert_eq!(
            s.on_line(&bad),
            Parsed::ControlResponse {
                request_id: "k2".into(),
                error: Some("unknown model".into())
            }
        );
    }
}
