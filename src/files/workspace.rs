//! The file operations on a user's workspace, as that user's account: put
//! a received file into `<workspace>/inbox/`, read a file out, list a
//! directory. They run inside `kai inbox-put` / `workspace-read` /
//! `workspace-ls` started through sudo as the agent's account (the service
//! account cannot enter a 0700 workspace), or in-process in single-account
//! mode; either way the kernel checks them against the account that owns
//! the workspace, and these functions add the workspace boundary itself:
//! no `..`, and nothing that resolves (through a symlink) outside it.
//!
//! Error messages are written for the Telegram user: they are shown as is.

use std::fs::{DirBuilder, OpenOptions};
use std::io::{Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::{Component, Path, PathBuf};

/// The folder received files land in, inside the workspace.
pub const INBOX: &str = "inbox";
/// How many entries `/ls` shows before it says how many more there are.
const MAX_LISTED: usize = 200;

#[derive(Debug, thiserror::Error)]
pub enum WorkspaceError {
    #[error("`{0}` goes up with `..`; name a path inside your workspace")]
    GoesUp(String),
    #[error("`{0}` is outside your workspace")]
    Outside(String),
    #[error("`{0}` does not exist in your workspace")]
    NotFound(String),
    #[error("`{0}` is not a regular file")]
    NotAFile(String),
    #[error("`{0}` is not a directory")]
    NotADir(String),
    #[error("`{name}` is {}, over the limit of {} (the Bot API's, for files bots send or receive)", mb(*.size), mb(*.limit))]
    TooBig { name: String, size: u64, limit: u64 },
    #[error("`{0}` is not a usable file name")]
    BadName(String),
    #[error("not a project name: {}", crate::config::users::PROJECT_RULE)]
    BadProject,
    #[error("the inbox {} is a symlink or not a directory", .0.display())]
    BadInbox(PathBuf),
    /// Some old inbox files could not be removed (`inbox.rs`).
    #[error("{0}")]
    Cleaning(String),
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> WorkspaceError {
    let what = what.into();
    move |source| WorkspaceError::Io { what, source }
}

/// Megabytes as Telegram counts them for its limits (2^20 bytes).
pub fn mb(bytes: u64) -> String {
    format!("{:.1} MB", bytes as f64 / (1024.0 * 1024.0))
}

/// Writes `data` as a new file `<workspace>/inbox/<name>` (0600, never
/// over an existing file: `-1`, `-2`… are added before the extension), the
/// inbox created 0700 when missing. Returns the file's path.
pub fn inbox_put(
    workspace: &Path,
    name: &str,
    data: &mut dyn Read,
) -> Result<PathBuf, WorkspaceError> {
    if name.is_empty() || name.starts_with('.') || name.contains('/') || name.len() > 255 {
        return Err(WorkspaceError::BadName(name.to_string()));
    }
    let inbox = workspace.join(INBOX);
    match std::fs::symlink_metadata(&inbox) {
        Ok(m) if m.is_dir() => {}
        Ok(_) => return Err(WorkspaceError::BadInbox(inbox)),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => DirBuilder::new()
            .mode(0o700)
            .create(&inbox)
            .map_err(io(format!("cannot create {}", inbox.display())))?,
        Err(e) => return Err(io(format!("cannot use {}", inbox.display()))(e)),
    }
    let (stem, ext) = match name.rsplit_once('.') {
        Some((s, e)) if !s.is_empty() => (s, format!(".{e}")),
        _ => (name, String::new()),
    };
    for n in 0..1000 {
        let candidate = if n == 0 {
            name.to_string()
        } else {
            format!("{stem}-{n}{ext}")
        };
        let path = inbox.join(&candidate);
        let file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(nix::libc::O_NOFOLLOW)
            .open(&path);
        match file {
            Ok(mut f) => {
                let copied = std::io::copy(data, &mut f).and_then(|_| f.flush());
                if let Err(e) = copied {
                    let _ = std::fs::remove_file(&path);
                    return Err(io(format!("cannot write {}", path.display()))(e));
                }
                return Ok(path);
            }
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(io(format!("cannot create {}", path.display()))(e)),
        }
    }
    Err(WorkspaceError::BadName(name.to_string()))
}

/// Resolves what the user typed (relative to the workspace, or absolute)
/// to a path inside the workspace: `..` is refused outright, and the path
/// with every symlink resolved must still be inside the resolved workspace.
pub fn resolve(workspace: &Path, input: &str) -> Result<PathBuf, WorkspaceError> {
    let typed = Path::new(input.trim());
    if typed.components().any(|c| c == Component::ParentDir) {
        return Err(WorkspaceError::GoesUp(input.to_string()));
    }
    let root = workspace.canonicalize().map_err(io(format!(
        "cannot open the workspace {}",
        workspace.display()
    )))?;
    let joined = if typed.is_absolute() {
        typed.to_path_buf()
    } else {
        workspace.join(typed)
    };
    let real = match joined.canonicalize() {
        Ok(p) => p,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(WorkspaceError::NotFound(input.to_string()))
        }
        Err(e) => return Err(io(format!("cannot open `{input}`"))(e)),
    };
    if !real.starts_with(&root) {
        return Err(WorkspaceError::Outside(input.to_string()));
    }
    Ok(real)
}

/// A file of the workspace, read whole if it is at most `max` bytes.
pub fn read(workspace: &Path, input: &str, max: u64) -> Result<Vec<u8>, WorkspaceError> {
    let path = resolve(workspace, input)?;
    let meta = std::fs::metadata(&path).map_err(io(format!("cannot open `{input}`")))?;
    if !meta.is_file() {
        return Err(WorkspaceError::NotAFile(input.to_string()));
    }
    if meta.len() > max {
        return Err(WorkspaceError::TooBig {
            name: input.to_string(),
            size: meta.len(),
            limit: max,
        });
    }
    let mut bytes = Vec::with_capacity(meta.len() as usize);
    std::fs::File::open(&path)
        .and_then(|f| f.take(max + 1).read_to_end(&mut bytes))
        .map_err(io(format!("cannot read `{input}`")))?;
    if bytes.len() as u64 > max {
        // It grew while we read it.
        return Err(WorkspaceError::TooBig {
            name: input.to_string(),
            size: bytes.len() as u64,
            limit: max,
        });
    }
    Ok(bytes)
}

/// A directory of the workspace (its root when `input` is empty), one
/// entry a line: directories end in `/`, symlinks in `@`, files show
/// their size. Sorted, hidden entries included, cut at [`MAX_LISTED`].
pub fn list(workspace: &Path, input: &str) -> Result<String, WorkspaceError> {
    let shown = if input.trim().is_empty() { "." } else { input };
    let path = resolve(workspace, shown)?;
    if !path.is_dir() {
        return Err(WorkspaceError::NotADir(shown.to_string()));
    }
    let mut entries: Vec<String> = std::fs::read_dir(&path)
        .map_err(io(format!("cannot list `{shown}`")))?
        .filter_map(Result::ok)
        .map(|e| {
            let name = e.file_name().to_string_lossy().into_owned();
            match e.file_type() {
                Ok(t) if t.is_dir() => format!("{name}/"),
                Ok(t) if t.is_symlink() => format!("{name}@"),
                _ => match e.metadata() {
                    Ok(m) => format!("{name}  ({})", size(m.len())),
                    Err(_) => name,
                },
            }
        })
        .collect();
    entries.sort();
    let total = entries.len();
    let root = workspace
        .canonicalize()
        .unwrap_or_else(|_| workspace.to_path_buf());
    let rel = path.strip_prefix(&root).unwrap_or(&path);
    let mut out = format!(
        "📁 {}/ ({total} entries)\n",
        Path::new(".").join(rel).display()
    );
    if total == 0 {
        out.push_str("(empty)");
    }
    out.push_str(
        &entries
            .iter()
            .take(MAX_LISTED)
            .cloned()
            .collect::<Vec<_>>()
            .join("\n"),
    );
    if total > MAX_LISTED {
        out.push_str(&format!("\n… and {} more", total - MAX_LISTED));
    }
    Ok(out)
}

/// A size for a listing: bytes, KB or MB.
fn size(bytes: u64) -> String {
    match bytes {
        b if b < 1024 => format!("{b} B"),
        b if b < 1024 * 1024 => format!("{:.1} KB", b as f64 / 1024.0),
        b => mb(b),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn workspace() -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let ws = dir.path().join("ws");
        std::fs::create_dir(&ws).unwrap();
        (dir, ws)
    }

    #[test]
    fn puts_into_the_inbox_without_overwriting() {
        let (_d, ws) = workspace();
        let a = inbox_put(&ws, "report.pdf", &mut &b"one"[..]).unwrap();
        let b = inbox_put(&ws, "report.pdf", &mut &b"two"[..]).unwrap();
        assert_eq!(a, ws.join("inbox/report.pdf"));
        assert_eq!(b, ws.join("inbox/report-1.pdf"));
        assert_eq!(std::fs::read(&a).unwrap(), b"one");
        assert_eq!(std::fs::read(&b).unwrap(), b"two");
        for bad in ["", ".hidden", "a/b"] {
            assert!(inbox_put(&ws, bad, &mut &b""[..]).is_err(), "{bad}");
        }
    }

    #[test]
    fn an_inbox_that_is_a_symlink_is_refused() {
        let (d, ws) = workspace();
        std::os::unix::fs::symlink(d.path(), ws.join(INBOX)).unwrap();
        assert!(matches!(
            inbox_put(&ws, "x.txt", &mut &b"x"[..]),
            Err(WorkspaceError::BadInbox(_))
        ));
    }

    #[test]
    fn reads_inside_and_refuses_the_way_out() {
        let (d, ws) = workspace();
        std::fs::write(ws.join("a.txt"), b"hello").unwrap();
        std::fs::write(d.path().join("secret"), b"no").unwrap();
        std::os::unix::fs::symlink(d.path().join("secret"), ws.join("link")).unwrap();
        std::os::unix::fs::symlink(ws.join("a.txt"), ws.join("inner")).unwrap();
        assert_eq!(read(&ws, "a.txt", 100).unwrap(), b"hello");
        assert_eq!(read(&ws, "inner", 100).unwrap(), b"hello");
        assert_eq!(
            read(&ws, &ws.join("a.txt").display().to_string(), 100).unwrap(),
            b"hello"
        );
        assert!(matches!(
            read(&ws, "../secret", 100),
            Err(WorkspaceError::GoesUp(_))
        ));
        assert!(matches!(
            read(&ws, "../../etc/passwd", 100),
            Err(WorkspaceError::GoesUp(_))
        ));
        assert!(matches!(
            read(&ws, "link", 100),
            Err(WorkspaceError::Outside(_))
        ));
        assert!(matches!(
            read(&ws, "/etc/passwd", 100),
            Err(WorkspaceError::Outside(_))
        ));
        assert!(matches!(
            read(&ws, "nope", 100),
            Err(WorkspaceError::NotFound(_))
        ));
        assert!(matches!(
            read(&ws, ".", 100),
            Err(WorkspaceError::NotAFile(_))
        ));
        let e = read(&ws, "a.txt", 3).unwrap_err();
        assert!(e.to_string().contains("limit"), "{e}");
    }

    #[test]
    fn lists_a_directory() {
        let (_d, ws) = workspace();
        std::fs::create_dir(ws.join("src")).unwrap();
        std::fs::write(ws.join("b.txt"), b"12345").unwrap();
        let l = list(&ws, "").unwrap();
        assert!(l.contains("src/") && l.contains("b.txt  (5 B)"), "{l}");
        assert!(matches!(
            list(&ws, "b.txt"),
            Err(WorkspaceError::NotADir(_))
        ));
        assert!(matches!(list(&ws, ".."), Err(WorkspaceError::GoesUp(_))));
    }
}
