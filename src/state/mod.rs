//! Per-conversation state that must survive a restart: the model the user
//! chose and the conversation to resume. One small JSON file per
//! conversation (user, chat, topic: `key.rs`) under `$KAI_DATA_DIR/chats/`,
//! written atomically (temp file + rename), so a
//! crash mid-write leaves the previous state rather than a torn file.
//!
//! Private by construction, whatever the umask (launchd sets none, a shell
//! usually 0022): the directories kai creates are 0700, or 0711 for the data
//! dir that agents pass through to their workspaces, and files are 0600. A
//! conversation id lets anyone who can read it resume that conversation.
//! The messages waiting in a chat's queue are `prompt.rs`'s [`Prompt`]s;
//! how far the poll got, beside them, is `offset.rs`'s.

pub(crate) mod key;
pub(crate) mod offset;
pub(crate) mod prompt;

use std::fs::{DirBuilder, OpenOptions, Permissions};
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use self::key::ConvKey;
use self::prompt::Prompt;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ChatState {
    /// The model chosen with `/model`, for `backend`.
    pub model: Option<String>,
    /// The backend that model and conversation belong to.
    pub backend: Option<String>,
    /// The agent conversation to resume (codex thread id, claude session id).
    pub conversation: Option<String>,
    /// Set while a turn runs, and left set when a shutdown cut it off, so
    /// the next start tells the user (once) that the reply was cut off.
    pub turn_in_flight: bool,
    /// The message that turn answers, quoted in that notice.
    pub answering: Option<String>,
    /// The project folder (`<workspace>/<project>`) the conversation works
    /// in, set by `/project`; none: the workspace itself.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub project: Option<String>,
    /// Messages that arrived while a turn ran, oldest first: answered after
    /// a restart as they would have been without one. Each is `{"text",
    /// "files": [{"path", "image"}]}` (files already in the inbox); a bare
    /// string, as written before files, still reads as a text message.
    pub queued: Vec<Prompt>,
}

#[derive(Debug, thiserror::Error)]
#[error("cannot save chat state to {path}: {source}")]
pub struct StateError {
    path: PathBuf,
    source: std::io::Error,
}

#[derive(Debug, Clone)]
pub struct StateStore {
    data_dir: PathBuf,
    dir: PathBuf,
}

/// Mode of the data dir when kai creates it: agents traverse it to reach
/// their workspace and tmp dir, nobody lists it.
const DATA_DIR_MODE: u32 = 0o711;
const PRIVATE_DIR_MODE: u32 = 0o700;
const PRIVATE_FILE_MODE: u32 = 0o600;

/// Creates `dir` (and missing parents) when it does not exist, with `mode`
/// set explicitly afterwards: a mode given at creation is cut by the umask.
pub fn make_dir(dir: &Path, mode: u32) -> std::io::Result<()> {
    if dir.is_dir() {
        return Ok(());
    }
    DirBuilder::new()
        .recursive(true)
        .mode(PRIVATE_DIR_MODE)
        .create(dir)?;
    std::fs::set_permissions(dir, Permissions::from_mode(mode))
}

/// Writes `bytes` to `tmp` (0600) and renames it over `path`.
/// Write-then-rename keeps the file whole if the daemon dies, which is the
/// failure this state is for. No fsync: it would put a disk flush on every
/// turn's path (milliseconds, measured in BENCHMARKS.md), and a power cut
/// at worst loses the last change.
fn replace(tmp: &Path, path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut file = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(PRIVATE_FILE_MODE)
        .open(tmp)?;
    file.write_all(bytes)?;
    std::fs::rename(tmp, path)
}

impl StateStore {
    pub fn new(data_dir: &Path) -> Self {
        StateStore {
            data_dir: data_dir.to_path_buf(),
            dir: data_dir.join("chats"),
        }
    }

    fn path(&self, key: ConvKey) -> PathBuf {
        self.dir.join(key.file_name())
    }

    /// Renames each state file written before topics (`<chat>.json`, a
    /// private chat's one conversation) to its main conversation's name,
    /// once, at start; the contents keep their format. A file already
    /// under the new name wins (a half-done migration), the old one stays.
    pub fn migrate(&self) {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(key) = name.to_str().and_then(ConvKey::parse_legacy) else {
                continue;
            };
            let to = self.path(key);
            if to.exists() {
                tracing::warn!(from = %entry.path().display(), "not migrating a chat state file: {} exists", to.display());
                continue;
            }
            match std::fs::rename(entry.path(), &to) {
                Ok(()) => tracing::info!(
                    chat = key.chat,
                    "migrated the chat's state to {}",
                    to.display()
                ),
                Err(e) => {
                    tracing::error!(from = %entry.path().display(), "cannot migrate a chat state file: {e}")
                }
            }
        }
    }

    /// The saved state, or the default when there is none or it is
    /// unreadable (logged: losing a model choice beats refusing to serve).
    pub fn load(&self, key: ConvKey) -> ChatState {
        let path = self.path(key);
        match std::fs::read(&path) {
            Ok(bytes) => serde_json::from_slice(&bytes).unwrap_or_else(|e| {
                tracing::warn!(path = %path.display(), "ignoring unreadable chat state: {e}");
                ChatState::default()
            }),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => ChatState::default(),
            Err(e) => {
                tracing::warn!(path = %path.display(), "cannot read chat state: {e}");
                ChatState::default()
            }
        }
    }

    pub fn save(&self, key: ConvKey, state: &ChatState) -> Result<(), StateError> {
        let path = self.path(key);
        let err = |source| StateError {
            path: path.clone(),
            source,
        };
        make_dir(&self.data_dir, DATA_DIR_MODE).map_err(err)?;
        make_dir(&self.dir, PRIVATE_DIR_MODE).map_err(err)?;
        let tmp = self.dir.join(format!(".{}.tmp", key.file_name()));
        let bytes = serde_json::to_vec_pretty(state).map_err(|e| err(e.into()))?;
        replace(&tmp, &path, &bytes).map_err(err)
    }

    /// Every conversation with saved state, and that state, in key order.
    pub fn all(&self) -> Vec<(ConvKey, ChatState)> {
        let Ok(dir) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut all: Vec<_> = dir
            .filter_map(|e| {
                let key = ConvKey::parse(e.ok()?.file_name().to_str()?)?;
                Some((key, self.load(key)))
            })
            .collect();
        all.sort_by_key(|(k, _)| *k);
        all
    }

    /// Conversations whose last turn never finished (the daemon died mid-turn).
    pub fn interrupted(&self) -> Vec<ConvKey> {
        self.all()
            .into_iter()
            .filter_map(|(key, s)| s.turn_in_flight.then_some(key))
            .collect()
    }

    /// Conversations with messages still waiting for an answer.
    pub fn with_queue(&self) -> Vec<ConvKey> {
        self.all()
            .into_iter()
            .filter_map(|(key, s)| (!s.queued.is_empty()).then_some(key))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn saves_loads_and_finds_interrupted_chats() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        let five = ConvKey::private(5);
        let topic = ConvKey {
            topic: Some(3),
            ..five
        };
        assert_eq!(store.load(five), ChatState::default());
        let s = ChatState {
            model: Some("m".into()),
            backend: Some("codex".into()),
            conversation: Some("t".into()),
            turn_in_flight: true,
            answering: Some("question".into()),
            queued: vec![Prompt::text("next")],
            project: Some("api".into()),
        };
        store.save(five, &s).unwrap();
        store.save(topic, &ChatState::default()).unwrap();
        assert_eq!(store.load(five), s);
        assert_eq!(store.load(topic), ChatState::default());
        assert_eq!(store.interrupted(), vec![five]);
        assert_eq!(store.with_queue(), vec![five]);
        std::fs::write(dir.path().join("chats/7.7.main.json"), "{torn").unwrap();
        assert_eq!(store.load(ConvKey::private(7)), ChatState::default());
    }

    /// A file as written before topics (`<chat>.json`, the same JSON) is
    /// the private chat's main conversation after `migrate`; one whose new
    /// name is taken already is left alone.
    #[test]
    fn files_from_before_topics_migrate_once() {
        let dir = tempfile::tempdir().unwrap();
        let store = StateStore::new(dir.path());
        store
            .save(ConvKey::private(1), &ChatState::default())
            .unwrap();
        let old = r#"{"model": "m", "backend": "codex", "conversation": "thread-1",
            "turn_in_flight": false, "answering": null, "queued": ["waiting"]}"#;
        std::fs::write(dir.path().join("chats/5.json"), old).unwrap();
        std::fs::write(dir.path().join("chats/1.json"), old).unwrap();
        store.migrate();
        let five = store.load(ConvKey::private(5));
        assert_eq!(five.conversation.as_deref(), Some("thread-1"));
        assert_eq!(five.queued, vec![Prompt::text("waiting")]);
        assert!(!dir.path().join("chats/5.json").exists());
        assert!(dir.path().join("chats/1.json").exists());
        assert_eq!(store.load(ConvKey::private(1)), ChatState::default());
        assert_eq!(store.with_queue(), vec![ConvKey::private(5)]);
    }

    #[test]
    fn state_is_private_whatever_the_umask() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        let store = StateStore::new(&data);
        // The modes are set explicitly, so they hold under the test
        // runner's umask (usually 0022) as under any other;
        // tests/isolation.rs starts the daemon itself under 0022.
        store
            .save(ConvKey::private(5), &ChatState::default())
            .unwrap();
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&data), 0o711);
        assert_eq!(mode(&data.join("chats")), 0o700);
        assert_eq!(mode(&data.join("chats/5.5.main.json")), 0o600);
    }
}
