//! Cleaning the inboxes of a workspace (`INBOX_RETENTION_DAYS`): the
//! regular files directly in `<workspace>/inbox/` and in each project's
//! `<workspace>/<project>/inbox/` whose last change is older than the
//! retention are removed, as the workspace's account (`kai inbox-clean`
//! through sudo, or in-process in single-account mode). Nothing else is
//! touched: no symlink is followed (an inbox that is one is skipped, a
//! symlink in an inbox is left alone), no subfolder is entered, and every
//! inbox is a fixed name directly inside the workspace, so no path can
//! lead out of it.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::project;
use super::workspace::{WorkspaceError, INBOX};

/// A day, as the retention counts it.
pub const DAY: Duration = Duration::from_secs(86_400);

/// What one cleaning did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Cleaned {
    /// Files removed.
    pub removed: usize,
    /// Files that were due but could not be removed, with why (the next
    /// cleaning tries again).
    pub failed: Vec<String>,
}

impl Cleaned {
    /// How many went, or (when some could not) one line saying so.
    pub fn count(&self) -> Result<usize, String> {
        match self.failed.first() {
            None => Ok(self.removed),
            Some(first) => Err(format!(
                "removed {}, could not remove {} (first: {first})",
                self.removed,
                self.failed.len()
            )),
        }
    }
}

/// `days` whole days.
pub fn days(days: u64) -> Duration {
    DAY.saturating_mul(u32::try_from(days).unwrap_or(u32::MAX))
}

/// The inboxes of `workspace`: its own and each project's, those that
/// are real directories (a symlink named `inbox` is not followed).
fn inboxes(workspace: &Path) -> Result<Vec<PathBuf>, WorkspaceError> {
    let projects = match project::list(workspace) {
        Ok(p) => p,
        // No workspace yet: nothing was ever received.
        Err(WorkspaceError::Io { source, .. }) if source.kind() == std::io::ErrorKind::NotFound => {
            return Ok(Vec::new())
        }
        Err(e) => return Err(e),
    };
    let candidates = std::iter::once(workspace.join(INBOX))
        .chain(projects.iter().map(|p| workspace.join(p).join(INBOX)));
    Ok(candidates
        .filter(|dir| std::fs::symlink_metadata(dir).is_ok_and(|m| m.is_dir()))
        .collect())
}

/// The files of one inbox due for removal at `now`: regular files (not
/// symlinks, not folders) last modified more than `retention` ago.
fn due(inbox: &Path, retention: Duration, now: SystemTime) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(inbox) else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter(|e| {
            // `DirEntry::metadata` does not follow a symlink.
            e.metadata().is_ok_and(|m| {
                m.file_type().is_file()
                    && m.modified()
                        .is_ok_and(|t| now.duration_since(t).is_ok_and(|age| age > retention))
            })
        })
        .map(|e| e.path())
        .collect()
}

/// Removes every file of the workspace's inboxes older than `retention`.
pub fn clean(
    workspace: &Path,
    retention: Duration,
    now: SystemTime,
) -> Result<Cleaned, WorkspaceError> {
    let mut cleaned = Cleaned::default();
    for inbox in inboxes(workspace)? {
        for file in due(&inbox, retention, now) {
            match std::fs::remove_file(&file) {
                Ok(()) => cleaned.removed += 1,
                // Gone already (the agent moved it): nothing to do.
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => cleaned.failed.push(format!("{}: {e}", file.display())),
            }
        }
    }
    Ok(cleaned)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::fs::File;

    fn plant(path: &Path, age: Duration) {
        std::fs::write(path, b"x").unwrap();
        let f = File::options().write(true).open(path).unwrap();
        f.set_modified(SystemTime::now() - age).unwrap();
    }

    const OLD: Duration = Duration::from_secs(3 * 86_400);
    const NEW: Duration = Duration::from_secs(3600);

    #[test]
    fn removes_old_files_of_every_inbox_and_nothing_else() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        let outside = dir.path().join("outside");
        for d in [
            ws.join("inbox/sub"),
            ws.join("api/inbox"),
            ws.join(".hidden/inbox"),
            outside.join("inbox"),
        ] {
            std::fs::create_dir_all(d).unwrap();
        }
        plant(&ws.join("inbox/old.pdf"), OLD);
        plant(&ws.join("inbox/new.pdf"), NEW);
        plant(&ws.join("inbox/sub/old-in-a-folder"), OLD);
        plant(&ws.join("api/inbox/old.txt"), OLD);
        plant(&ws.join("api/inbox/new.txt"), NEW);
        plant(&ws.join("api/old-not-inbox.txt"), OLD);
        plant(&ws.join("old-in-workspace.txt"), OLD);
        // Not a project (hidden): its inbox is not one of ours.
        plant(&ws.join(".hidden/inbox/old"), OLD);
        plant(&outside.join("inbox/old-target"), OLD);
        plant(&outside.join("old-target"), OLD);
        // A symlink in an inbox, to an old file outside: the link is kept
        // and its target untouched.
        std::os::unix::fs::symlink(outside.join("old-target"), ws.join("inbox/link")).unwrap();
        // A project whose inbox is a symlink out of the workspace.
        std::fs::create_dir(ws.join("web")).unwrap();
        std::os::unix::fs::symlink(outside.join("inbox"), ws.join("web/inbox")).unwrap();
        // A project that is a symlink out of the workspace.
        std::os::unix::fs::symlink(&outside, ws.join("linked")).unwrap();

        let c = clean(&ws, DAY, SystemTime::now()).unwrap();
        assert_eq!(
            c,
            Cleaned {
                removed: 2,
                failed: vec![]
            }
        );
        assert!(!ws.join("inbox/old.pdf").exists());
        assert!(!ws.join("api/inbox/old.txt").exists());
        for kept in [
            ws.join("inbox/new.pdf"),
            ws.join("inbox/sub/old-in-a-folder"),
            ws.join("api/inbox/new.txt"),
            ws.join("api/old-not-inbox.txt"),
            ws.join("old-in-workspace.txt"),
            ws.join(".hidden/inbox/old"),
            outside.join("inbox/old-target"),
            outside.join("old-target"),
        ] {
            assert!(kept.exists(), "{} was removed", kept.display());
        }
        assert!(std::fs::symlink_metadata(ws.join("inbox/link")).is_ok());
    }

    #[test]
    fn an_inbox_that_is_a_symlink_is_not_followed() {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        let elsewhere = dir.path().join("elsewhere");
        std::fs::create_dir(&elsewhere).unwrap();
        plant(&elsewhere.join("old"), OLD);
        std::os::unix::fs::symlink(&elsewhere, ws.join(INBOX)).unwrap();
        assert_eq!(clean(&ws, DAY, SystemTime::now()).unwrap().removed, 0);
        assert!(elsewhere.join("old").exists());
    }

    #[test]
    fn a_missing_workspace_has_nothing_to_clean() {
        let dir = tempfile::tempdir().unwrap();
        let c = clean(&dir.path().join("nope"), DAY, SystemTime::now()).unwrap();
        assert_eq!(c, Cleaned::default());
    }
}
