//! `users.json`: who may talk to the bot, as which OS account, on which
//! backend. Strict on purpose: an unknown field is almost always a typo that
//! would otherwise silently drop a setting. A user's `github` field (the
//! repositories they own) is part of the file, so it is checked here too.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

use super::conversations;
pub use super::conversations::{is_project_name, DEFAULT_MAX_AGENTS, PROJECT_RULE};

/// One entry as written in the file; `None` means "inherit".
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserEntry {
    pub name: String,
    pub telegram_id: i64,
    #[serde(default)]
    pub os_user: Option<String>,
    #[serde(default)]
    pub backend: Option<String>,
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub workspace: Option<PathBuf>,
    /// Repositories whose GitHub events this user's agent handles.
    #[serde(default)]
    pub github: Option<GithubEntry>,
    /// Group and supergroup chats (ids, negative) this user is served in,
    /// besides their private chat.
    #[serde(default)]
    pub chats: Vec<i64>,
    /// Project folders of the workspace the module creates at activation
    /// (`/project NAME` creates others); checked against the name rule.
    #[serde(default)]
    pub projects: Vec<String>,
    /// The most agents of this user that run at once (default
    /// [`DEFAULT_MAX_AGENTS`]).
    #[serde(default)]
    pub max_agents: Option<usize>,
}

/// A user's `github` field in the users file.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GithubEntry {
    /// `owner/name` of each repository this user owns.
    #[serde(default)]
    pub repos: Vec<String>,
    /// Review pull requests of those repos.
    #[serde(default)]
    pub review: bool,
    /// Triage new issues of those repos.
    #[serde(default)]
    pub triage: bool,
    /// Tell this user's chat what happens in those repos (default true).
    #[serde(default = "yes")]
    pub notify: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct UsersFile {
    users: Vec<UserEntry>,
}

/// A problem with one part of the file; `field` is a JSON path such as
/// `users[1].telegram_id`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {message}")]
pub struct UsersError {
    pub field: String,
    pub message: String,
}

/// Parses the file and checks what can be checked without the rest of the
/// configuration: names, ids, uniqueness, absolute workspaces.
pub fn parse(text: &str) -> Result<Vec<UserEntry>, Vec<UsersError>> {
    let shape = objects_where_documented(text);
    if !shape.is_empty() {
        return Err(shape);
    }
    let file: UsersFile = serde_json::from_str(text).map_err(|e| {
        vec![UsersError {
            field: "users".into(),
            message: format!(
                "invalid JSON at line {} column {}: {e}",
                e.line(),
                e.column()
            ),
        }]
    })?;
    let mut errors = Vec::new();
    let mut ids: BTreeMap<i64, &str> = BTreeMap::new();
    let mut names: BTreeMap<&str, usize> = BTreeMap::new();
    for (i, u) in file.users.iter().enumerate() {
        let at = |f: &str| format!("users[{i}].{f}");
        if !is_valid_name(&u.name) {
            errors.push(UsersError {
                field: at("name"),
                message: format!(
                    "`{}` must be 1-32 characters of a-z, 0-9, `-` or `_` (it names a directory)",
                    u.name
                ),
            });
        } else if let Some(prev) = names.insert(&u.name, i) {
            errors.push(UsersError {
                field: at("name"),
                message: format!("`{}` is also users[{prev}].name", u.name),
            });
        }
        if u.telegram_id <= 0 {
            errors.push(UsersError {
                field: at("telegram_id"),
                message: format!(
                    "{} is not a Telegram user id (must be positive)",
                    u.telegram_id
                ),
            });
        } else if let Some(other) = ids.insert(u.telegram_id, &u.name) {
            errors.push(UsersError {
                field: at("telegram_id"),
                message: format!(
                    "duplicate Telegram id {} (also used by `{other}`)",
                    u.telegram_id
                ),
            });
        }
        if let Some(os) = &u.os_user {
            if !is_valid_os_user(os) {
                errors.push(UsersError {
                    field: at("os_user"),
                    message: format!("`{os}` is not a valid account name"),
                });
            }
        }
        if let Some(ws) = &u.workspace {
            if !ws.is_absolute() {
                errors.push(UsersError {
                    field: at("workspace"),
                    message: format!("`{}` must be an absolute path", ws.display()),
                });
            }
        }
        errors.extend(
            conversations::check(i, &u.chats, &u.projects, u.max_agents)
                .into_iter()
                .map(|(field, message)| UsersError { field, message }),
        );
    }
    errors.extend(check_entries(&file.users));
    if file.users.is_empty() {
        errors.push(UsersError {
            field: "users".into(),
            message: "no users: nobody could talk to the bot".into(),
        });
    }
    if errors.is_empty() {
        Ok(file.users)
    } else {
        Err(errors)
    }
}

/// serde also reads a struct from an array of its fields in order, which
/// would let `[[["alice", 1001]]]` pass for a users file: the file and each
/// user must be JSON objects, as documented. Invalid JSON passes here and is
/// reported by the typed parse, with its position.
fn objects_where_documented(text: &str) -> Vec<UsersError> {
    let Ok(value) = serde_json::from_str::<serde_json::Value>(text) else {
        return Vec::new();
    };
    let Some(file) = value.as_object() else {
        return vec![UsersError {
            field: "users".into(),
            message: r#"the file must be a JSON object: {"users": [...]}"#.into(),
        }];
    };
    let Some(users) = file.get("users").and_then(|u| u.as_array()) else {
        return Vec::new();
    };
    users
        .iter()
        .enumerate()
        .filter(|(_, u)| !u.is_object())
        .map(|(i, _)| UsersError {
            field: format!("users[{i}]"),
            message: r#"each user must be a JSON object: {"name": ..., "telegram_id": ...}"#.into(),
        })
        .collect()
}

fn is_valid_name(name: &str) -> bool {
    (1..=32).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// POSIX-portable account names; anything else could smuggle sudo syntax.
fn is_valid_os_user(name: &str) -> bool {
    let mut bytes = name.bytes();
    matches!(bytes.next(), Some(b) if b.is_ascii_lowercase() || b == b'_')
        && name.len() <= 32
        && bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

/// Checks every user's `github` field: repos written `owner/name`, each
/// owned by one user only.
fn check_entries(entries: &[UserEntry]) -> Vec<UsersError> {
    let mut errors = Vec::new();
    // GitHub names are case-insensitive: `O/R` and `o/r` are one repo.
    let mut owners: BTreeMap<String, usize> = BTreeMap::new();
    for (i, u) in entries.iter().enumerate() {
        let Some(g) = &u.github else { continue };
        if g.repos.is_empty() {
            errors.push(UsersError {
                field: format!("users[{i}].github.repos"),
                message: "no repositories: list `owner/name`s, or set github to null".into(),
            });
        }
        for (j, repo) in g.repos.iter().enumerate() {
            let field = format!("users[{i}].github.repos[{j}]");
            if !is_repo(repo) {
                errors.push(UsersError {
                    field,
                    message: format!("`{repo}` is not a repository written owner/name"),
                });
            } else if let Some(prev) = owners.insert(repo.to_ascii_lowercase(), i) {
                let message = if prev == i {
                    format!("`{repo}` is listed twice")
                } else {
                    format!(
                        "`{repo}` is also owned by users[{prev}] (`{}`); a repository belongs to one user",
                        entries[prev].name
                    )
                };
                errors.push(UsersError { field, message });
            }
        }
    }
    errors
}

/// `owner/name` with GitHub's characters only.
pub fn is_repo(s: &str) -> bool {
    let ok = |p: &str| {
        (1..=100).contains(&p.len())
            && p.bytes()
                .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
            && p != "."
            && p != ".."
    };
    matches!(s.split_once('/'), Some((o, n)) if ok(o) && ok(n))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_documented_shape() {
        let users = parse(
            r#"{"users": [
              {"name": "alice", "telegram_id": 1001, "os_user": "alice",
               "backend": null, "model": null, "workspace": null},
              {"name": "bob", "telegram_id": 1002}
            ]}"#,
        )
        .unwrap();
        assert_eq!(users.len(), 2);
        assert_eq!(users[0].os_user.as_deref(), Some("alice"));
        assert_eq!(users[1].os_user, None);
        assert!(users[1].chats.is_empty());
    }

    #[test]
    fn chats_are_group_ids() {
        let users =
            parse(r#"{"users": [{"name": "a", "telegram_id": 1, "chats": [-100123, -5]}]}"#)
                .unwrap();
        assert_eq!(users[0].chats, vec![-100_123, -5]);
        let err =
            parse(r#"{"users": [{"name": "a", "telegram_id": 1, "chats": [-5, 7]}]}"#).unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].field, "users[0].chats[1]");
        assert!(err[0].message.contains("not a group chat id"), "{err:?}");
    }

    #[test]
    fn projects_follow_the_name_rule() {
        let err = parse(
            r#"{"users": [{"name": "a", "telegram_id": 1, "projects": ["api", "..", ".ssh", "a/b"]}]}"#,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "users[0].projects[1]",
                "users[0].projects[2]",
                "users[0].projects[3]"
            ]
        );
        assert!(err[0].message.contains("not a project name"), "{err:?}");
    }

    #[test]
    fn unknown_fields_are_errors_naming_the_field() {
        let err =
            parse(r#"{"users": [{"name": "a", "telegram_id": 1, "modle": "x"}]}"#).unwrap_err();
        assert!(err[0].message.contains("unknown field `modle`"), "{err:?}");
        let err = parse(r#"{"users": [], "extra": 1}"#).unwrap_err();
        assert!(err[0].message.contains("unknown field `extra`"), "{err:?}");
    }

    #[test]
    fn duplicate_ids_and_names_are_refused() {
        let err = parse(
            r#"{"users": [{"name": "a", "telegram_id": 7}, {"name": "b", "telegram_id": 7},
                          {"name": "a", "telegram_id": 8}]}"#,
        )
        .unwrap_err();
        assert_eq!(err.len(), 2, "{err:?}");
        assert_eq!(err[0].field, "users[1].telegram_id");
        assert!(err[0].message.contains("duplicate Telegram id 7"));
        assert_eq!(err[1].field, "users[2].name");
    }

    #[test]
    fn bad_values_are_all_reported() {
        let err = parse(
            r#"{"users": [{"name": "A B", "telegram_id": -3, "os_user": "root ALL",
                           "workspace": "rel/dir"}]}"#,
        )
        .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(
            fields,
            vec![
                "users[0].name",
                "users[0].telegram_id",
                "users[0].os_user",
                "users[0].workspace"
            ]
        );
    }

    /// Found by `fuzz/fuzz_targets/users.rs`: serde's derive also accepts a
    /// struct written as an array of its fields.
    #[test]
    fn users_written_as_arrays_are_refused() {
        let err = parse("[[\t{\"name\": \"Adup\", \"telegram_id\": 8}\n]]").unwrap_err();
        assert_eq!(err.len(), 1, "{err:?}");
        assert_eq!(err[0].field, "users");
        assert!(err[0].message.contains("JSON object"), "{err:?}");
        // Valid values in array form used to be accepted.
        assert_eq!(
            parse(r#"[[["alice", 1001]]]"#).unwrap_err()[0].field,
            "users"
        );
        let err = parse(r#"{"users": [["alice", 1001], {"name": "b", "telegram_id": 2}, 3]}"#)
            .unwrap_err();
        let fields: Vec<&str> = err.iter().map(|e| e.field.as_str()).collect();
        assert_eq!(fields, vec!["users[0]", "users[2]"]);
    }

    #[test]
    fn missing_required_fields_and_bad_json_are_reported() {
        assert!(parse(r#"{"users": [{"name": "a"}]}"#).unwrap_err()[0]
            .message
            .contains("missing field `telegram_id`"));
        assert!(parse("{").unwrap_err()[0].message.contains("line 1"));
        assert!(parse(r#"{"users": []}"#).is_err());
    }
}
