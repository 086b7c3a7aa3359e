//! Files over the Bot API: what a message carries (photo, document, a
//! recording to transcribe, or a kind Kai does not take), downloading it (`getFile`, then
//! `/file/bot<token>/<path>`) under the 20 MB limit, and sending a file
//! back as a photo or a document (multipart upload).

use std::future::IntoFuture;

use teloxide::payloads::{SendDocumentSetters, SendPhotoSetters};
use teloxide::requests::Requester;
use teloxide::types::{ChatId, FileId, InputFile, Message};
use teloxide::RequestError;

use super::api::{Place, Telegram};
use crate::files::workspace::mb;
use crate::files::MAX_DOWNLOAD;

/// A file a user sent, not yet downloaded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Remote {
    pub file_id: String,
    /// Its size as Telegram reports it, when it does.
    pub size: Option<u64>,
    /// The sender's file name, or one made up for a photo.
    pub name: String,
    /// The media type when the agent should see it as an image.
    pub image: Option<String>,
}

/// What a message that is not text brings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Media {
    Files(Vec<Remote>),
    /// A voice note or an audio file, to be transcribed; with its media type.
    Recording(Remote, String),
    /// A kind Kai does not take yet, named for the user ("voice notes").
    Unsupported(&'static str),
}

/// Image types both agents accept as images; other files go by path.
const IMAGE_TYPES: &[&str] = &["image/jpeg", "image/png", "image/gif", "image/webp"];

/// The files of a message without text: a photo (its largest size) or a
/// document; anything else is named as unsupported.
pub fn media(m: &Message) -> Media {
    if let Some(sizes) = m.photo() {
        // Telegram lists the sizes smallest first; take the largest it
        // will let us download.
        let best = sizes
            .iter()
            .rev()
            .find(|p| known(p.file.size).is_none_or(|s| s <= MAX_DOWNLOAD))
            .or(sizes.last());
        return match best {
            Some(p) => Media::Files(vec![Remote {
                file_id: p.file.id.0.clone(),
                size: known(p.file.size),
                name: format!("photo-{}.jpg", p.file.unique_id.0),
                image: Some("image/jpeg".into()),
            }]),
            None => Media::Unsupported("empty photos"),
        };
    }
    if let Some(d) = m.document() {
        let mime = d.mime_type.as_ref().map(|m| m.essence_str().to_string());
        let image = mime.filter(|t| IMAGE_TYPES.contains(&t.as_str()));
        return Media::Files(vec![Remote {
            file_id: d.file.id.0.clone(),
            size: known(d.file.size),
            name: d
                .file_name
                .clone()
                .unwrap_or_else(|| format!("document-{}", d.file.unique_id.0)),
            image,
        }]);
    }
    if let Some(v) = m.voice() {
        let mime = v.mime_type.as_ref().map(|m| m.essence_str().to_string());
        let mime = mime.unwrap_or_else(|| "audio/ogg".into());
        return Media::Recording(
            Remote {
                file_id: v.file.id.0.clone(),
                size: known(v.file.size),
                name: format!("voice-{}.{}", v.file.unique_id.0, extension(&mime)),
                image: None,
            },
            mime,
        );
    }
    if let Some(a) = m.audio() {
        let mime = a.mime_type.as_ref().map(|m| m.essence_str().to_string());
        let mime = mime.unwrap_or_else(|| "audio/mpeg".into());
        let name = a
            .file_name
            .clone()
            .unwrap_or_else(|| format!("audio-{}.{}", a.file.unique_id.0, extension(&mime)));
        return Media::Recording(
            Remote {
                file_id: a.file.id.0.clone(),
                size: known(a.file.size),
                name,
                image: None,
            },
            mime,
        );
    }
    Media::Unsupported(if m.sticker().is_some() {
        "Stickers"
    } else if m.video_note().is_some() {
        "Video messages"
    } else if m.video().is_some() {
        "Videos"
    } else if m.animation().is_some() {
        "GIFs"
    } else {
        "Messages of this kind"
    })
}

/// A file name extension for a recording's type, so the endpoint (which
/// may go by the name) and the agent can tell what it is.
fn extension(mime: &str) -> &'static str {
    match mime {
        "audio/ogg" | "audio/opus" => "ogg",
        "audio/mpeg" | "audio/mp3" => "mp3",
        "audio/mp4" | "audio/m4a" | "audio/x-m4a" => "m4a",
        "audio/wav" | "audio/x-wav" | "audio/wave" => "wav",
        "audio/webm" => "webm",
        "audio/flac" | "audio/x-flac" => "flac",
        _ => "audio",
    }
}

/// teloxide reports an unknown size as `u32::MAX`.
fn known(size: u32) -> Option<u64> {
    (size != u32::MAX).then_some(u64::from(size))
}

#[derive(Debug, thiserror::Error)]
pub enum DownloadError {
    #[error("`{name}` is {}: Telegram lets bots download files up to {}", mb(*.size), mb(MAX_DOWNLOAD))]
    TooBig { name: String, size: u64 },
    #[error("Telegram would not hand out `{name}`: {source}")]
    GetFile { name: String, source: RequestError },
    #[error("downloading `{name}` failed: {detail}")]
    Transfer { name: String, detail: String },
}

impl Telegram {
    /// Downloads a file the user sent, refusing it before the transfer
    /// when Telegram says it is over the limit, and during it otherwise.
    pub async fn download(&self, f: &Remote) -> Result<Vec<u8>, DownloadError> {
        let too_big = |size| DownloadError::TooBig {
            name: f.name.clone(),
            size,
        };
        if let Some(size) = f.size.filter(|s| *s > MAX_DOWNLOAD) {
            return Err(too_big(size));
        }
        let file = self
            .persist("getFile", || {
                self.files_bot()
                    .get_file(FileId(f.file_id.clone()))
                    .into_future()
            })
            .await
            .map_err(|source| {
                // Telegram's own refusal of a big file, when the message had no size.
                match &source {
                    RequestError::Api(e) if e.to_string().contains("too big") => {
                        too_big(f.size.unwrap_or(MAX_DOWNLOAD + 1))
                    }
                    _ => DownloadError::GetFile {
                        name: f.name.clone(),
                        source,
                    },
                }
            })?;
        if let Some(size) = known(file.meta.size).filter(|s| *s > MAX_DOWNLOAD) {
            return Err(too_big(size));
        }
        // The URL is built here rather than by teloxide's `download_file`,
        // which percent-encodes the `/` in Telegram's file paths
        // (`photos/file_1.jpg`). reqwest's errors carry the URL, and with
        // it the token: they are shown `without_url`.
        let bot = self.files_bot();
        let url = format!(
            "{}/file/bot{}/{}",
            bot.api_url().as_str().trim_end_matches('/'),
            bot.token(),
            file.path
        );
        let failed = |e: reqwest::Error| DownloadError::Transfer {
            name: f.name.clone(),
            detail: e.without_url().to_string(),
        };
        let mut response = bot
            .client()
            .get(url)
            .send()
            .await
            .and_then(reqwest::Response::error_for_status)
            .map_err(failed)?;
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(failed)? {
            if (bytes.len() + chunk.len()) as u64 > MAX_DOWNLOAD {
                return Err(too_big((bytes.len() + chunk.len()) as u64));
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    /// Sends `bytes` as a photo (when `photo`) or a document named `name`;
    /// a photo Telegram refuses goes again as a document.
    pub async fn send_file(
        &self,
        to: Place,
        name: &str,
        bytes: Vec<u8>,
        photo: bool,
    ) -> Result<(), RequestError> {
        let bot = self.files_bot();
        let input = || InputFile::memory(bytes.clone()).file_name(name.to_string());
        if photo {
            match self
                .persist("sendPhoto", || {
                    let mut req = bot.send_photo(ChatId(to.chat), input());
                    if let Some(t) = to.thread_id() {
                        req = req.message_thread_id(t);
                    }
                    req.into_future()
                })
                .await
            {
                Ok(_) => return Ok(()),
                Err(e) => tracing::info!(
                    "Telegram refused {name} as a photo ({e}); sending it as a document"
                ),
            }
        }
        self.persist("sendDocument", || {
            let mut req = bot
                .send_document(ChatId(to.chat), input())
                // Sent as the file it is, not converted (Telegram turns some types into media).
                .disable_content_type_detection(true);
            if let Some(t) = to.thread_id() {
                req = req.message_thread_id(t);
            }
            req.into_future()
        })
        .await
        .map(|_| ())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn message(extra: serde_json::Value) -> Message {
        let mut m = json!({"message_id": 1, "date": 0,
            "chat": {"id": 5, "type": "private", "first_name": "A"},
            "from": {"id": 5, "is_bot": false, "first_name": "A"}});
        for (k, v) in extra.as_object().unwrap() {
            m[k] = v.clone();
        }
        serde_json::from_value(m).unwrap()
    }

    fn meta(id: &str, size: u64) -> serde_json::Value {
        json!({"file_id": id, "file_unique_id": format!("u{id}"), "file_size": size})
    }

    #[test]
    fn a_photo_is_its_largest_downloadable_size() {
        let mut small = meta("small", 100);
        small["width"] = json!(90);
        small["height"] = json!(90);
        let mut big = meta("big", 30 * 1024 * 1024);
        big["width"] = json!(9000);
        big["height"] = json!(9000);
        let mut mid = meta("mid", 5000);
        mid["width"] = json!(800);
        mid["height"] = json!(800);
        let m = message(json!({"photo": [small, mid, big], "caption": "look"}));
        let Media::Files(files) = media(&m) else {
            panic!()
        };
        assert_eq!(files[0].file_id, "mid");
        assert_eq!(files[0].image.as_deref(), Some("image/jpeg"));
        assert_eq!(files[0].name, "photo-umid.jpg");
    }

    #[test]
    fn documents_keep_their_name_and_images_are_told_apart() {
        let mut pdf = meta("d", 10);
        pdf["file_name"] = json!("report.pdf");
        pdf["mime_type"] = json!("application/pdf");
        let Media::Files(f) = media(&message(json!({"document": pdf}))) else {
            panic!()
        };
        assert_eq!(
            (f[0].name.as_str(), f[0].image.clone(), f[0].size),
            ("report.pdf", None, Some(10))
        );
        let mut png = meta("p", 10);
        png["mime_type"] = json!("image/png");
        let Media::Files(f) = media(&message(json!({"document": png}))) else {
            panic!()
        };
        assert_eq!(
            (f[0].name.as_str(), f[0].image.as_deref()),
            ("document-up", Some("image/png"))
        );
    }

    #[test]
    fn other_kinds_are_named() {
        let mut voice = meta("v", 10);
        voice["duration"] = json!(3);
        voice["mime_type"] = json!("audio/ogg");
        assert_eq!(
            media(&message(json!({"voice": voice}))),
            Media::Recording(
                Remote {
                    file_id: "v".into(),
                    size: Some(10),
                    name: "voice-uv.ogg".into(),
                    image: None
                },
                "audio/ogg".into()
            )
        );
        let mut audio = meta("a", 10);
        audio["duration"] = json!(3);
        audio["file_name"] = json!("talk.m4a");
        audio["mime_type"] = json!("audio/mp4");
        assert!(matches!(
            media(&message(json!({"audio": audio}))),
            Media::Recording(r, t) if r.name == "talk.m4a" && t == "audio/mp4"
        ));
        let loc = json!({"location": {"latitude": 1.0, "longitude": 2.0}});
        assert_eq!(
            media(&message(loc)),
            Media::Unsupported("Messages of this kind")
        );
    }
}
