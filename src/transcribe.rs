//! Voice notes to text through an OpenAI-compatible transcription endpoint
//! (OpenAI itself, or a local whisper.cpp server): one multipart POST to
//! `<TRANSCRIBE_URL>/audio/transcriptions` with the recording as `file` and
//! the `model`, answered `{"text": …}`. Every way it can fail is a
//! [`TranscribeError`] worded for the user; the API key travels only in the
//! `Authorization` header and is in no error and no log line.

use std::time::Duration;

use reqwest::multipart::{Form, Part};
use serde_json::Value;

use crate::config::voice::VoiceConfig;

/// How much of an endpoint's error message is shown: enough for "invalid
/// API key" or a quota notice, never a whole HTML page.
const MAX_MESSAGE: usize = 300;

#[derive(Debug, thiserror::Error)]
pub enum TranscribeError {
    #[error("the transcription service refused the recording (HTTP {status}){}", message_suffix(.message))]
    Refused { status: u16, message: String },
    #[error("the transcription service failed (HTTP {status}){}", message_suffix(.message))]
    Failed { status: u16, message: String },
    #[error("the transcription service did not answer within {} s", .0.as_secs())]
    Timeout(Duration),
    #[error("the transcription service could not be reached: {0}")]
    Unreachable(String),
    #[error("the transcription service answered something that is not a transcript (not JSON with a `text`)")]
    NotJson,
    #[error("the transcript is empty: no speech was recognised")]
    Empty,
}

fn message_suffix(message: &str) -> String {
    if message.is_empty() {
        String::new()
    } else {
        format!(": {message}")
    }
}

/// The endpoint client; cheap to clone (reqwest's client is shared).
#[derive(Clone)]
pub struct Transcriber {
    cfg: VoiceConfig,
    client: reqwest::Client,
}

impl Transcriber {
    pub fn new(cfg: VoiceConfig) -> Self {
        Transcriber {
            cfg,
            client: reqwest::Client::new(),
        }
    }

    pub fn model(&self) -> &str {
        &self.cfg.model
    }

    /// The transcript of `bytes` (a recording named `name`, of `mime` type),
    /// trimmed; never empty.
    pub async fn transcribe(
        &self,
        name: &str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<String, TranscribeError> {
        // An odd type from Telegram must not stop the upload: the endpoint
        // reads the bytes, the type is only a hint.
        let plain = |c: char| c.is_ascii_alphanumeric() || "+-.".contains(c);
        let mime = match mime.split_once('/') {
            Some((a, b))
                if !a.is_empty() && !b.is_empty() && a.chars().chain(b.chars()).all(plain) =>
            {
                mime
            }
            _ => "application/octet-stream",
        };
        let part = Part::bytes(bytes)
            .file_name(name.to_string())
            .mime_str(mime)
            .map_err(|e| TranscribeError::Unreachable(e.without_url().to_string()))?;
        let form = Form::new()
            .part("file", part)
            .text("model", self.cfg.model.clone())
            .text("response_format", "json");
        let mut request = self
            .client
            .post(format!("{}/audio/transcriptions", self.cfg.url))
            .timeout(self.cfg.timeout)
            .multipart(form);
        if let Some(key) = &self.cfg.api_key {
            request = request.bearer_auth(key.expose());
        }
        let timeout = self.cfg.timeout;
        // reqwest's errors name the URL (which holds no secret) but never
        // the headers; `without_url` keeps them short all the same.
        let failed = |e: reqwest::Error| {
            if e.is_timeout() {
                TranscribeError::Timeout(timeout)
            } else {
                TranscribeError::Unreachable(e.without_url().to_string())
            }
        };
        let response = request.send().await.map_err(failed)?;
        let status = response.status();
        let body = response.bytes().await.map_err(failed)?;
        if !status.is_success() {
            let message = error_message(&body);
            return Err(if status.is_client_error() {
                TranscribeError::Refused {
                    status: status.as_u16(),
                    message,
                }
            } else {
                TranscribeError::Failed {
                    status: status.as_u16(),
                    message,
                }
            });
        }
        transcript(&body)
    }
}

/// The `text` of a successful answer.
fn transcript(body: &[u8]) -> Result<String, TranscribeError> {
    let v: Value = serde_json::from_slice(body).map_err(|_| TranscribeError::NotJson)?;
    let text = v
        .get("text")
        .and_then(Value::as_str)
        .ok_or(TranscribeError::NotJson)?
        .trim();
    if text.is_empty() {
        return Err(TranscribeError::Empty);
    }
    Ok(text.to_string())
}

/// What an error answer says: OpenAI's `{"error": {"message"}}`, a bare
/// `{"error": "…"}` (whisper.cpp), or the first line of plain text; cut
/// to [`MAX_MESSAGE`] characters.
fn error_message(body: &[u8]) -> String {
    let text = match serde_json::from_slice::<Value>(body) {
        Ok(v) => v
            .pointer("/error/message")
            .or_else(|| v.get("error"))
            .or_else(|| v.get("message"))
            .and_then(Value::as_str)
            .map(str::to_string)
            .unwrap_or_default(),
        Err(_) => String::from_utf8_lossy(body)
            .lines()
            .find(|l| !l.trim().is_empty())
            .unwrap_or_default()
            .to_string(),
    };
    text.trim().chars().take(MAX_MESSAGE).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_are_read_strictly() {
        assert_eq!(transcript(br#"{"text": " hello "}"#).unwrap(), "hello");
        assert!(matches!(
            transcript(br#"{"text": "  "}"#),
            Err(TranscribeError::Empty)
        ));
        assert!(matches!(
            transcript(b"<html>oops</html>"),
            Err(TranscribeError::NotJson)
        ));
        assert!(matches!(
            transcript(br#"{"transcript": "x"}"#),
            Err(TranscribeError::NotJson)
        ));
    }

    #[test]
    fn error_messages_in_every_shape() {
        let openai = br#"{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}"#;
        assert_eq!(error_message(openai), "Incorrect API key provided");
        assert_eq!(error_message(br#"{"error": "no model"}"#), "no model");
        assert_eq!(error_message(b"\nbad gateway\nmore"), "bad gateway");
        assert_eq!(error_message(&[b'x'; 1000]).len(), MAX_MESSAGE);
        let e = TranscribeError::Refused {
            status: 401,
            message: "Incorrect API key provided".into(),
        };
        assert_eq!(
            e.to_string(),
            "the transcription service refused the recording (HTTP 401): Incorrect API key provided"
        );
    }
}
