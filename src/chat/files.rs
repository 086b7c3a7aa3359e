//! The chat's side of files: storing what the user sent in their inbox
//! (as their account) before it is queued or answered, handing the agent
//! its images, and `/get` and `/ls`. Part of the chat's actor (`chat/mod.rs`).

use tokio::time::Instant;

use super::{Chat, Input, Upload};
use crate::agent::input::{TurnImage, TurnInput};
use crate::catalog::Backend;
use crate::files::access::FileError;
use crate::files::{name, MAX_INLINE_IMAGE, MAX_PHOTO, MAX_UPLOAD};
use crate::state::prompt::{Attachment, Prompt};

/// How long a media group waits for its next part: Telegram sends each
/// photo of an album as a message of its own, usually within a second.
const ALBUM_SETTLE: std::time::Duration = std::time::Duration::from_millis(1500);

impl Chat {
    /// Holds the parts of a media group until it is complete, and returns
    /// what to handle now, in the order it came: a part of the group being
    /// gathered nothing; a part of a new group the finished one; anything
    /// else the finished group (if any) first, then itself — so a message
    /// sent right after an album is never answered before it.
    pub(super) fn gather(&mut self, input: Input) -> Vec<Input> {
        let group = match &input {
            Input::Upload(u) => u.group.clone(),
            _ => None,
        };
        match (group, input) {
            (Some(g), Input::Upload(part)) => {
                if let Some((album, due)) = self.album.as_mut() {
                    if album.group.as_deref() == Some(g.as_str()) {
                        // Telegram puts the caption on one part, usually the first.
                        if album.caption.is_empty() {
                            album.caption = part.caption;
                        }
                        album.files.extend(part.files);
                        *due = Instant::now() + ALBUM_SETTLE;
                        tracing::debug!(parts = album.files.len(), "holding a media group part");
                        return Vec::new();
                    }
                }
                let done = self.album.take().map(|(a, _)| Input::Upload(a));
                tracing::debug!(parts = part.files.len(), "holding a media group part");
                self.album = Some((part, Instant::now() + ALBUM_SETTLE));
                done.into_iter().collect()
            }
            (_, input) => {
                let done = self.album.take().map(|(a, _)| Input::Upload(a));
                done.into_iter().chain([input]).collect()
            }
        }
    }

    /// When the media group being gathered is complete (far off when none is).
    pub(super) fn album_due(&self) -> Instant {
        self.album
            .as_ref()
            .map(|(_, due)| *due)
            .unwrap_or_else(|| Instant::now() + std::time::Duration::from_secs(86_400))
    }

    /// The gathered media group, stored, as one message.
    pub(super) async fn finish_album(&mut self) -> Option<Prompt> {
        let (album, _) = self.album.take()?;
        tracing::info!(files = album.files.len(), "a media group is complete");
        self.receive(album).await
    }

    /// Downloads what the user sent and stores it in their inbox as their
    /// account, at once (also mid-turn: the queue then holds paths, not
    /// Telegram's file ids, which expire). A file that cannot be taken is
    /// explained; `None` when nothing was stored, so no turn runs on a
    /// caption whose file is missing.
    pub(super) async fn receive(&mut self, upload: Upload) -> Option<Prompt> {
        let mut files = Vec::new();
        let mut problems = Vec::new();
        for remote in &upload.files {
            let stored = match self.shared.tg.download(remote).await {
                Ok(bytes) => {
                    let name = name::inbox_name(&remote.name, std::time::SystemTime::now());
                    self.files
                        .put(&name, bytes)
                        .await
                        .map_err(|e| self.file_problem(e))
                }
                Err(e) => {
                    tracing::warn!("could not receive a file: {e}");
                    Err(e.to_string())
                }
            };
            match stored {
                Ok(path) => {
                    tracing::info!(path = %path.display(), "stored a received file");
                    files.push(Attachment {
                        path,
                        image: remote.image.clone(),
                    });
                }
                Err(why) => problems.push(why),
            }
        }
        if !problems.is_empty() {
            let what = if files.is_empty() {
                "Nothing was passed to the agent."
            } else {
                "The agent gets the rest."
            };
            self.say(format!("⚠️ {}\n{what}", problems.join("\n")));
        }
        if files.is_empty() {
            return None;
        }
        Some(Prompt {
            text: upload.caption,
            files,
            reply_to: upload.reply_to,
        })
    }

    /// What the user reads when a file operation failed (the operator
    /// finds a missing sudo rule in the log).
    pub(super) fn file_problem(&self, e: FileError) -> String {
        match e {
            FileError::Sudo {
                command,
                os_user,
                detail,
            } => {
                tracing::error!(os_user, "sudo refused `{command}` as {os_user}: {detail}; the sudoers contract rule for {os_user} must allow it");
                format!("I am not allowed to handle files as `{os_user}`: the sudoers rule lacks `{command}`. Ask the operator.")
            }
            FileError::Workspace(e) => e.to_string(),
            FileError::Refused(why) => why,
            other => {
                tracing::error!("file operation failed: {other}");
                other.to_string()
            }
        }
    }

    /// What the agent receives for `prompt`: its text with the files' paths,
    /// and the images (for Claude Code, their bytes, read as the user).
    pub(super) async fn turn_input(&self, prompt: &Prompt) -> TurnInput {
        let mut images = Vec::new();
        for f in &prompt.files {
            let Some(media_type) = &f.image else { continue };
            let data = if self.user.backend == Backend::Claude {
                let path = f.path.display().to_string();
                match self.files.read(&path, MAX_INLINE_IMAGE).await {
                    Ok(bytes) => Some(bytes),
                    Err(e) => {
                        tracing::warn!("passing {path} by path only: {e}");
                        None
                    }
                }
            } else {
                None
            };
            images.push(TurnImage {
                path: f.path.clone(),
                media_type: media_type.clone(),
                data,
            });
        }
        TurnInput {
            text: prompt.agent_text(),
            images,
        }
    }

    /// `/get PATH`: reads the file as the user and queues its upload.
    pub(super) async fn get(&mut self, path: &str) {
        match self.files.read(path, MAX_UPLOAD).await {
            Ok(bytes) => {
                let file = std::path::Path::new(path.trim());
                let name = file
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_else(|| "file".into());
                let ext = file
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase())
                    .unwrap_or_default();
                let photo = matches!(ext.as_str(), "jpg" | "jpeg" | "png" | "webp")
                    && bytes.len() as u64 <= MAX_PHOTO;
                tracing::info!(size = bytes.len(), photo, "sending {path}");
                self.outbox.send_file(name, bytes, photo);
            }
            Err(e) => {
                let why = self.file_problem(e);
                self.say(format!("❌ {why}"));
            }
        }
    }

    /// `/ls [DIR]`: a workspace directory, listed as the user.
    pub(super) async fn ls(&mut self, dir: Option<&str>) {
        match self.files.list(dir.unwrap_or("")).await {
            Ok(listing) => self.say(listing),
            Err(e) => {
                let why = self.file_problem(e);
                self.say(format!("❌ {why}"));
            }
        }
    }
}
