//! The progress line shown while codex works ("running `cargo test`"),
//! from the item an `item/started` notification carries.

use serde_json::Value;

/// One line a person can read about what the agent started doing.
pub(super) fn activity(item: &Value) -> Option<String> {
    match item.get("type")?.as_str()? {
        "commandExecution" => {
            let cmd = item
                .get("command")
                .and_then(Value::as_str)
                .unwrap_or("a command");
            let short: String = cmd.chars().take(80).collect();
            Some(format!("running `{short}`"))
        }
        "fileChange" => Some("editing files".into()),
        "mcpToolCall" | "dynamicToolCall" => Some("calling a tool".into()),
        "webSearch" => Some("searching the web".into()),
        "reasoning" => Some("thinking".into()),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn activity_lines_are_short_and_known_types_only() {
        let long = "x".repeat(300);
        let a = activity(&json!({"type": "commandExecution", "command": long})).unwrap();
        assert!(a.len() < 100);
        assert_eq!(activity(&json!({"type": "someFutureItem"})), None);
    }
}
