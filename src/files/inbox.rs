//! Cleaning the inboxes of a workspace (`INBOX_RETENTION_DAYS`): the
//! regular files directly in `<workspace>/inbox/` and in each project's
//! `<workspace>/<project>/inbox/` whose last change is older than the
//! retention are removed, as the workspace's account (`kai inbox-clean`
//! through sudo, or in-process in single-account mode). Nothing else is
//! touched: no symlink is followed (an inbox, or a project, that is one
//! is skipped, a symlink in an inbox is left alone), no subfolder is
//! entered, and every inbox is a fixed name directly inside the workspace,
//! opened and cleaned through directory descriptors (`openat` with
//! `O_NOFOLLOW`, `unlinkat`), so no path, even one swapped meanwhile, can
//! lead out of it.

use std::ffi::CString;
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use nix::dir::Dir;
use nix::errno::Errno;
use nix::fcntl::{AtFlags, OFlag};
use nix::sys::stat::{fstatat, Mode, SFlag};
use nix::unistd::{unlinkat, UnlinkatFlags};

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

/// Opens `<dir>/<name>` as a directory without following a symlink;
/// `None` when it is missing, a symlink or no directory.
fn open_below(dir: &Dir, name: &str) -> Result<Option<Dir>, Errno> {
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_NOFOLLOW | OFlag::O_CLOEXEC;
    match Dir::openat(dir, name, flags, Mode::empty()) {
        Ok(d) => Ok(Some(d)),
        Err(Errno::ENOENT | Errno::ELOOP | Errno::ENOTDIR) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Removes the files of one open inbox older than `cutoff` (seconds since
/// the epoch): each entry is looked at and removed relative to the inbox
/// itself, never through a path, so an agent that swaps a folder for a
/// symlink meanwhile cannot lead the removal anywhere else.
fn clean_one(mut inbox: Dir, shown: &Path, cutoff: i64, cleaned: &mut Cleaned) {
    let names: Vec<CString> = inbox
        .iter()
        .flatten()
        .map(|e| e.file_name().to_owned())
        .filter(|n| n.as_bytes() != b"." && n.as_bytes() != b"..")
        .collect();
    for name in names {
        let Ok(st) = fstatat(&inbox, name.as_c_str(), AtFlags::AT_SYMLINK_NOFOLLOW) else {
            continue;
        };
        let regular = SFlag::from_bits_truncate(st.st_mode) & SFlag::S_IFMT == SFlag::S_IFREG;
        if !regular || st.st_mtime >= cutoff {
            continue;
        }
        match unlinkat(&inbox, name.as_c_str(), UnlinkatFlags::NoRemoveDir) {
            Ok(()) => cleaned.removed += 1,
            // Gone already (the agent moved it): nothing to do.
            Err(Errno::ENOENT) => {}
            Err(e) => cleaned.failed.push(format!(
                "{}: {e}",
                shown.join(name.to_string_lossy().as_ref()).display()
            )),
        }
    }
}

/// Removes every file of the workspace's inboxes (its own and each
/// project's) last modified more than `retention` before `now`.
pub fn clean(
    workspace: &Path,
    retention: Duration,
    now: SystemTime,
) -> Result<Cleaned, WorkspaceError> {
    let mut cleaned = Cleaned::default();
    let io = |source: std::io::Error| WorkspaceError::Io {
        what: format!("cannot open {}", workspace.display()),
        source,
    };
    let flags = OFlag::O_RDONLY | OFlag::O_DIRECTORY | OFlag::O_CLOEXEC;
    let root = match Dir::open(workspace, flags, Mode::empty()) {
        Ok(d) => d,
        // No workspace yet: nothing was ever received.
        Err(Errno::ENOENT) => return Ok(cleaned),
        Err(e) => return Err(io(e.into())),
    };
    let cutoff = now
        .checked_sub(retention)
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map_or(0, |d| i64::try_from(d.as_secs()).unwrap_or(i64::MAX));
    if let Some(inbox) = open_below(&root, INBOX).map_err(|e| io(e.into()))? {
        clean_one(inbox, &workspace.join(INBOX), cutoff, &mut cleaned);
    }
    for name in project::list(workspace)? {
        let shown = workspace.join(&name).join(INBOX);
        let inbox = match open_below(&root, &name) {
            Ok(Some(project)) => open_below(&project, INBOX),
            other => other,
        };
        match inbox {
            Ok(Some(inbox)) => clean_one(inbox, &shown, cutoff, &mut cleaned),
            Ok(None) => {}
            Err(e) => cleaned.failed.push(format!("{}: {e}", shown.display())),
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
