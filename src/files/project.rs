//! Projects: named folders directly inside a user's workspace, which a
//! conversation can be bound to (`/project NAME`). Made and listed as the
//! user's account (`kai project-dir`, through sudo, or in-process in
//! single-account mode), like the other workspace operations. The name
//! rule is the one place a name becomes a path: nothing that could climb
//! out (`..`, `/`) or hide (a leading `.`) gets past it.

use std::fs::{DirBuilder, Permissions};
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::workspace::{WorkspaceError, INBOX};

/// The rule, as the user reads it when a name breaks it (the users
/// file's `projects` follow it too).
pub use crate::config::users::PROJECT_RULE as RULE;

/// Whether `name` may name a project.
pub use crate::config::users::is_project_name as is_valid;

/// `<workspace>/<name>`, created 0700 when missing; a name against the
/// rule, or something there that is not a directory (a symlink, a file),
/// is refused.
pub fn make(workspace: &Path, name: &str) -> Result<PathBuf, WorkspaceError> {
    if !is_valid(name) {
        return Err(WorkspaceError::BadProject);
    }
    let dir = workspace.join(name);
    match std::fs::symlink_metadata(&dir) {
        Ok(m) if m.is_dir() => return Ok(dir),
        Ok(_) => return Err(WorkspaceError::NotADir(name.to_string())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(source) => {
            return Err(WorkspaceError::Io {
                what: format!("cannot look at {}", dir.display()),
                source,
            })
        }
    }
    let io = |source| WorkspaceError::Io {
        what: format!("cannot create {}", dir.display()),
        source,
    };
    // Not recursive: the workspace itself must be there (its owner's).
    DirBuilder::new().mode(0o700).create(&dir).map_err(io)?;
    std::fs::set_permissions(&dir, Permissions::from_mode(0o700)).map_err(io)?;
    Ok(dir)
}

/// The projects of `workspace`: its directories whose names follow the
/// rule (not the inbox), sorted.
pub fn list(workspace: &Path) -> Result<Vec<String>, WorkspaceError> {
    let entries = std::fs::read_dir(workspace).map_err(|source| WorkspaceError::Io {
        what: format!("cannot list {}", workspace.display()),
        source,
    })?;
    let mut names: Vec<String> = entries
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .filter_map(|e| e.file_name().into_string().ok())
        .filter(|n| is_valid(n) && n != INBOX)
        .collect();
    names.sort();
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_name_rule() {
        for ok in ["api", "web-2", "A.b_c", &"x".repeat(64)] {
            assert!(is_valid(ok), "{ok}");
        }
        for bad in [
            "",
            "..",
            ".ssh",
            "../x",
            "/etc",
            "a/b",
            "a b",
            "é",
            &"x".repeat(65),
        ] {
            assert!(!is_valid(bad), "{bad}");
        }
    }

    #[test]
    fn makes_lists_and_refuses() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path();
        let api = make(ws, "api").unwrap();
        assert_eq!(api, ws.join("api"));
        let mode = std::fs::metadata(&api).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o700);
        assert_eq!(make(ws, "api").unwrap(), api, "an existing one is kept");
        std::fs::create_dir(ws.join(INBOX)).unwrap();
        std::fs::create_dir(ws.join(".hidden")).unwrap();
        std::fs::write(ws.join("file"), "x").unwrap();
        std::os::unix::fs::symlink("/etc", ws.join("link")).unwrap();
        assert_eq!(list(ws).unwrap(), vec!["api".to_string()]);
        assert!(matches!(make(ws, "link"), Err(WorkspaceError::NotADir(_))));
        assert!(matches!(make(ws, "file"), Err(WorkspaceError::NotADir(_))));
        for bad in ["../x", ".ssh", "/etc"] {
            assert!(
                matches!(make(ws, bad), Err(WorkspaceError::BadProject)),
                "{bad}"
            );
        }
        assert!(!ws.join("x").exists() && !dir.path().parent().unwrap().join("x").exists());
    }
}
