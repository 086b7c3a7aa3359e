//! The activity line shown while Claude Code uses a tool ("running
//! `cargo test`"), from an `assistant` message's `tool_use` block.

use serde_json::Value;

use super::result::str_at;

/// One line a person can read about the tool the agent is using.
pub(super) fn describe_tool(block: &Value) -> String {
    let name = str_at(block, "/name").unwrap_or("a tool");
    let input = block.get("input").unwrap_or(&Value::Null);
    let short = |s: &str| -> String { s.chars().take(80).collect() };
    match name {
        "Bash" => match str_at(input, "/command") {
            Some(c) => format!("running `{}`", short(c)),
            None => "running a command".into(),
        },
        "Edit" | "Write" | "NotebookEdit" | "MultiEdit" => match str_at(input, "/file_path") {
            Some(p) => format!("editing {}", short(p)),
            None => "editing files".into(),
        },
        "Read" => match str_at(input, "/file_path") {
            Some(p) => format!("reading {}", short(p)),
            None => "reading files".into(),
        },
        "Grep" | "Glob" => "searching the code".into(),
        "WebSearch" | "WebFetch" => "searching the web".into(),
        other => format!("using {}", short(other)),
    }
}
