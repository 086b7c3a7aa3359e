//! One message a user sent, as a chat queues it (durably, in its state
//! file, `state/mod.rs`): the text, and the files stored in the workspace's
//! inbox. The turn turns it into what the backend receives
//! (`agent/input.rs`).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

/// A file received from the user and stored in their workspace's inbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Attachment {
    /// Where it landed (absolute, inside the workspace).
    pub path: PathBuf,
    /// The image's media type (`image/jpeg`…) when the agent should see
    /// it as an image; `None` for other files, which it gets by path.
    #[serde(default)]
    pub image: Option<String>,
}

/// One message for the agent. Serialised as `{"text", "files"}`; a bare
/// string (the queue before files existed) still reads as a text message.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(from = "PromptRepr")]
pub struct Prompt {
    pub text: String,
    pub files: Vec<Attachment>,
    /// In a group, the user's message the answer replies to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply_to: Option<i32>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum PromptRepr {
    Text(String),
    Full {
        #[serde(default)]
        text: String,
        #[serde(default)]
        files: Vec<Attachment>,
        #[serde(default)]
        reply_to: Option<i32>,
    },
}

impl From<PromptRepr> for Prompt {
    fn from(r: PromptRepr) -> Self {
        match r {
            PromptRepr::Text(text) => Prompt::text(text),
            PromptRepr::Full {
                text,
                files,
                reply_to,
            } => Prompt {
                text,
                files,
                reply_to,
            },
        }
    }
}

impl Prompt {
    pub fn text(text: impl Into<String>) -> Self {
        Prompt {
            text: text.into(),
            files: Vec::new(),
            reply_to: None,
        }
    }

    /// The text the agent reads: the user's words, then where each file
    /// is, so it can open the file (or refer to the image) by path.
    pub fn agent_text(&self) -> String {
        if self.files.is_empty() {
            return self.text.clone();
        }
        let list: Vec<String> = self
            .files
            .iter()
            .map(|f| {
                let kind = if f.image.is_some() { "image" } else { "file" };
                format!("- {} ({kind})", f.path.display())
            })
            .collect();
        let head = if self.files.len() == 1 {
            "The user sent a file over Telegram; it is saved at:".to_string()
        } else {
            format!(
                "The user sent {} files over Telegram; they are saved at:",
                self.files.len()
            )
        };
        let text = if self.text.trim().is_empty() {
            String::new()
        } else {
            format!("{}\n\n", self.text)
        };
        format!("{text}[{head}\n{}]", list.join("\n"))
    }

    /// How the message is quoted back to the user (restart notices).
    pub fn shown(&self) -> String {
        match (self.text.trim().is_empty(), self.files.len()) {
            (_, 0) => self.text.clone(),
            (true, n) => format!("({n} file(s))"),
            (false, n) => format!("{} (+{n} file(s))", self.text),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_queue_written_before_files_still_reads() {
        let old: Vec<Prompt> = serde_json::from_str(
            r#"["hello", {"text": "x", "files": [{"path": "/w/inbox/a.pdf"}]}]"#,
        )
        .unwrap();
        assert_eq!(old[0], Prompt::text("hello"));
        assert_eq!(old[1].files[0].path, PathBuf::from("/w/inbox/a.pdf"));
        let back: Vec<Prompt> =
            serde_json::from_str(&serde_json::to_string(&old).unwrap()).unwrap();
        assert_eq!(back, old);
    }

    #[test]
    fn the_agent_reads_the_caption_and_the_paths() {
        let p = Prompt {
            text: "what is wrong here?".into(),
            files: vec![Attachment {
                path: "/w/inbox/x.jpg".into(),
                image: Some("image/jpeg".into()),
            }],
            reply_to: None,
        };
        let t = p.agent_text();
        assert!(
            t.starts_with("what is wrong here?\n\n[The user sent a file"),
            "{t}"
        );
        assert!(t.contains("/w/inbox/x.jpg (image)"), "{t}");
        assert_eq!(Prompt::text("hi").agent_text(), "hi");
    }
}
