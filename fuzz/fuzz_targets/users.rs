//! The users file loader (`kai::config::users::parse`). The input is the
//! file's text.
//!
//! Properties:
//! - an accepted file has the documented shape (an object whose `users` is
//!   an array of objects), at least one user, unique positive Telegram ids,
//!   unique valid names (1-32 of `a-z0-9-_`), valid OS account names,
//!   absolute workspaces, negative group ids in `chats`, project names
//!   following the rule and a `max_agents` of at least 1, as the design
//!   documents;
//! - what was accepted, written back in the documented shape, is accepted
//!   again as the same entries;
//! - a refused file gets errors that each name a key: either `users` alone
//!   (bad JSON, wrong shape, no users), or `users[i]` for exactly the
//!   entries that are not objects, or `users[i].<field>` with `i` an index
//!   of the file's array and `<field>` a checked field (`chats[j]` and
//!   `projects[j]` an element of one), in index order.
#![no_main]

use std::collections::BTreeSet;

use kai::config::users::{is_project_name, parse, UserEntry, UsersError};
use libfuzzer_sys::fuzz_target;
use serde_json::{json, Value};

const CHECKED: [&str; 7] = [
    "name",
    "telegram_id",
    "os_user",
    "workspace",
    "chats",
    "projects",
    "max_agents",
];

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match parse(&text) {
        Ok(users) => {
            let file: Value = serde_json::from_str(&text).expect("accepted text is JSON");
            let entries = file.get("users").and_then(Value::as_array);
            assert!(
                entries.is_some_and(|e| e.iter().all(Value::is_object)),
                "accepted an undocumented shape"
            );
            check_invariants(&users);
            let rewritten = rewrite(&users);
            assert_eq!(parse(&rewritten).as_ref(), Ok(&users), "{rewritten}");
        }
        Err(errors) => check_errors(&text, &errors),
    }
});

fn check_invariants(users: &[UserEntry]) {
    assert!(!users.is_empty());
    let mut ids = BTreeSet::new();
    let mut names = BTreeSet::new();
    for u in users {
        assert!(u.telegram_id > 0, "{u:?}");
        assert!(ids.insert(u.telegram_id), "duplicate id {}", u.telegram_id);
        assert!(
            (1..=32).contains(&u.name.len())
                && u.name
                    .bytes()
                    .all(|b| matches!(b, b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_')),
            "{u:?}"
        );
        assert!(names.insert(u.name.as_str()), "duplicate name {}", u.name);
        if let Some(os) = &u.os_user {
            assert!(
                os.len() <= 32
                    && os.bytes().enumerate().all(|(i, b)| match b {
                        b'a'..=b'z' | b'_' => true,
                        b'0'..=b'9' | b'-' => i > 0,
                        _ => false,
                    })
                    && !os.is_empty(),
                "{u:?}"
            );
        }
        if let Some(ws) = &u.workspace {
            assert!(ws.is_absolute(), "{u:?}");
        }
        assert!(u.chats.iter().all(|c| *c < 0), "{u:?}");
        assert!(u.projects.iter().all(|p| is_project_name(p)), "{u:?}");
        assert!(u.max_agents != Some(0), "{u:?}");
    }
}

fn rewrite(users: &[UserEntry]) -> String {
    let entries: Vec<Value> = users
        .iter()
        .map(|u| {
            json!({
                "name": u.name, "telegram_id": u.telegram_id, "os_user": u.os_user,
                "backend": u.backend, "model": u.model, "workspace": u.workspace,
                "chats": u.chats, "projects": u.projects, "max_agents": u.max_agents,
            })
        })
        .collect();
    json!({ "users": entries }).to_string()
}

fn check_errors(text: &str, errors: &[UsersError]) {
    assert!(!errors.is_empty());
    if errors.iter().any(|e| e.field == "users") {
        assert_eq!(
            errors.len(),
            1,
            "a file-level error stands alone: {errors:?}"
        );
        return;
    }
    // Per-user errors are only found in a file that had the right shape.
    let file: Value = serde_json::from_str(text).expect("per-user errors imply valid JSON");
    let entries = file["users"]
        .as_array()
        .expect("per-user errors imply a users array");
    let count = entries.len();
    let not_objects: Vec<usize> = errors
        .iter()
        .filter_map(|e| {
            e.field
                .strip_prefix("users[")?
                .strip_suffix(']')?
                .parse()
                .ok()
        })
        .collect();
    if !not_objects.is_empty() {
        let expected: Vec<usize> = (0..count).filter(|&i| !entries[i].is_object()).collect();
        assert_eq!(not_objects, expected, "{errors:?}");
        assert_eq!(not_objects.len(), errors.len(), "shape errors stand alone");
        return;
    }
    let mut seen = BTreeSet::new();
    let mut previous = 0;
    for e in errors {
        let (index, field) = e
            .field
            .strip_prefix("users[")
            .and_then(|rest| rest.split_once("]."))
            .unwrap_or_else(|| panic!("error names no key: {e}"));
        let index: usize = index.parse().unwrap_or_else(|_| panic!("bad index: {e}"));
        assert!(index < count, "index past the array: {e}");
        // `chats[j]`, `projects[j]`: an element of a checked list.
        let base = field.split('[').next().unwrap_or(field);
        assert!(CHECKED.contains(&base), "unknown field: {e}");
        assert!(index >= previous, "errors out of order: {errors:?}");
        assert!(seen.insert((index, field)), "same key twice: {errors:?}");
        assert!(!e.message.is_empty());
        previous = index;
    }
}
