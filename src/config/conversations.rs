//! The users file's settings for a user's conversations: the groups they
//! are served in (`chats`), the project folders made for them
//! (`projects`) and the cap on their running agents (`max_agents`).

/// A user's cap on running agents when the users file sets none.
pub const DEFAULT_MAX_AGENTS: usize = 3;

/// The project name rule, as the user reads it when a name breaks it.
pub const PROJECT_RULE: &str =
    "a project name is 1–64 characters of A-Z, a-z, 0-9, `.`, `_` or `-`, not starting with `.`";

/// Whether `name` may name a project folder (`<workspace>/<name>`): it
/// can neither climb out (`..`, `/`) nor hide (a leading `.`).
pub fn is_project_name(name: &str) -> bool {
    (1..=64).contains(&name.len())
        && !name.starts_with('.')
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

/// User `i`'s `chats` (group ids, negative), `projects` (the name rule) and
/// `max_agents` (at least 1): each problem as (field, message).
pub(super) fn check(
    i: usize,
    chats: &[i64],
    projects: &[String],
    max_agents: Option<usize>,
) -> Vec<(String, String)> {
    let mut errors = Vec::new();
    for (j, chat) in chats.iter().enumerate() {
        if *chat >= 0 {
            errors.push((
                format!("users[{i}].chats[{j}]"),
                format!("{chat} is not a group chat id (the ids of groups and supergroups are negative)"),
            ));
        }
    }
    for (j, name) in projects.iter().enumerate() {
        if !is_project_name(name) {
            errors.push((
                format!("users[{i}].projects[{j}]"),
                format!("`{name}` is not a project name: {PROJECT_RULE}"),
            ));
        }
    }
    if max_agents == Some(0) {
        errors.push((
            format!("users[{i}].max_agents"),
            format!(
                "0 agents could never answer: write at least 1 (or null for {DEFAULT_MAX_AGENTS})"
            ),
        ));
    }
    errors
}
