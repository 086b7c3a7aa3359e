//! The chat's side of voice notes and audio files: stored in the inbox like
//! any file, transcribed through the configured endpoint (`transcribe.rs`),
//! the transcript shown to the user and queued for the agent as the
//! message's text. Any failure is explained and nothing reaches the agent;
//! the recording stays in the inbox. Part of the chat's actor (`chat/mod.rs`).

use std::path::Path;

use super::{Chat, Recording};
use crate::files::name;
use crate::state::prompt::Prompt;

/// What the user reads when no endpoint is configured: which key turns
/// voice on, for the operator.
pub(super) const VOICE_OFF: &str = "🎙 Voice is off on this Kai, so this recording did not reach the agent. \
     The operator turns it on by setting TRANSCRIBE_URL (services.kai.voice.url in the NixOS module) \
     to an OpenAI-compatible transcription endpoint.";

impl Chat {
    /// Stores and transcribes a recording; the message for the agent, or
    /// `None` when nothing should reach it (the user was told why).
    pub(super) async fn voice(&mut self, r: Recording) -> Option<Prompt> {
        let Some(transcriber) = self.shared.transcriber.clone() else {
            tracing::info!("a recording arrived while voice is off; told the user");
            self.say(VOICE_OFF);
            return None;
        };
        let bytes = match self.shared.tg.download(&r.file).await {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!("could not receive a recording: {e}");
                self.say(format!("⚠️ {e}\nNothing was passed to the agent."));
                return None;
            }
        };
        let stored = name::inbox_name(&r.file.name, std::time::SystemTime::now());
        let path = match self.files.put(&stored, bytes.clone()).await {
            Ok(p) => p,
            Err(e) => {
                let why = self.file_problem(e);
                self.say(format!("⚠️ {why}\nNothing was passed to the agent."));
                return None;
            }
        };
        tracing::info!(path = %path.display(), model = transcriber.model(), "stored a recording; transcribing it");
        match transcriber.transcribe(&r.file.name, &r.mime, bytes).await {
            Ok(text) => {
                tracing::info!(chars = text.chars().count(), "transcribed a recording");
                self.say(shown(&text));
                Some(Prompt {
                    reply_to: r.reply_to,
                    ..Prompt::text(for_agent(&r.caption, &text, &path))
                })
            }
            Err(e) => {
                tracing::warn!(path = %path.display(), "transcription failed: {e}");
                self.say(format!(
                    "⚠️ I could not transcribe your recording: {e}.\nNothing was passed to the agent; \
                     the recording is kept at {}.",
                    path.display()
                ));
                None
            }
        }
    }
}

/// The transcript as the user sees it: marked, and quoted line by line.
fn shown(text: &str) -> String {
    let quoted: Vec<String> = text.lines().map(|l| format!("> {l}")).collect();
    format!("🎙 Transcript of your recording:\n{}", quoted.join("\n"))
}

/// The message the agent reads: the transcript as the user's words, then
/// a note that they were spoken and where the recording is.
fn for_agent(caption: &str, text: &str, path: &Path) -> String {
    let caption = if caption.trim().is_empty() {
        String::new()
    } else {
        format!(" The recording's caption: {}", caption.trim())
    };
    format!(
        "{text}\n\n[The user spoke this message: the text above is a machine transcript of a recording \
         they sent over Telegram, saved at {}.{caption}]",
        path.display()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_transcript_is_marked_and_quoted() {
        assert_eq!(
            shown("first\nsecond"),
            "🎙 Transcript of your recording:\n> first\n> second"
        );
        let t = for_agent("", "run the tests", Path::new("/w/inbox/v.ogg"));
        assert!(t.starts_with("run the tests\n\n[The user spoke this message"));
        assert!(t.contains("saved at /w/inbox/v.ogg.]"), "{t}");
        let t = for_agent("urgent", "x", Path::new("/p"));
        assert!(t.contains("The recording's caption: urgent]"), "{t}");
    }
}
