//! Files in both directions on the codex backend, end to end: the built
//! `kai`, the real codex CLI against the fake Responses API, and the fake
//! Bot API serving `getFile` and downloads and taking multipart uploads.
//! Every agent runs as this test's own account (single-account mode, the
//! file moves in-process); `tests/claude_e2e.rs` covers the same through
//! sudo with real accounts, as root.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::{json, Value};
use support::fake_telegram::FileMessage;
use support::kai::{Kai, Options, ALICE};

/// A 16x16 JPEG (CPython's test data, test_email/data/python.jpg).
const PHOTO: &[u8] = include_bytes!("support/photo.jpg");

fn photo(caption: Option<&str>, group: Option<&str>) -> FileMessage<'static> {
    FileMessage {
        kind: "photo",
        bytes: PHOTO.to_vec(),
        file_name: None,
        mime_type: None,
        caption: caption.map(|c| Box::leak(c.to_string().into_boxed_str()) as &str),
        media_group_id: group.map(|g| Box::leak(g.to_string().into_boxed_str()) as &str),
    }
}

fn document(
    name: &'static str,
    bytes: Vec<u8>,
    caption: Option<&'static str>,
) -> FileMessage<'static> {
    FileMessage {
        kind: "document",
        bytes,
        file_name: Some(name),
        mime_type: Some("application/pdf"),
        caption,
        media_group_id: None,
    }
}

fn workspace(kai: &Kai) -> PathBuf {
    kai.path("data/home/alice")
}

/// The files in alice's inbox, sorted.
fn inbox(kai: &Kai) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(workspace(kai).join("inbox"))
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// The `input_image` items of a Responses API request (data URLs).
fn images(body: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for item in body["input"].as_array().into_iter().flatten() {
        for part in item["content"].as_array().into_iter().flatten() {
            if part["type"] == "input_image" {
                found.push(part["image_url"].as_str().unwrap_or_default().to_string());
            }
        }
    }
    found
}

/// The request whose last user text contains `needle`.
fn request_with(kai: &Kai, needle: &str) -> Option<Value> {
    kai.api
        .requests()
        .into_iter()
        .find(|r| support::fake_responses::last_user_text(r).is_some_and(|t| t.contains(needle)))
}

fn name_of(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

/// A photo with a caption lands in the inbox, reaches the model as an
/// image with the caption and its path; `/ls` shows it and `/get` sends
/// exactly those bytes back (as a photo), and a workspace document back as
/// a document.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_photo_reaches_the_model_as_an_image_and_get_sends_files_back() {
    let kai = Kai::start(Options::default()).await;
    kai.tg
        .send_file(ALICE, photo(Some("what is in this picture?"), None));
    kai.wait_text(ALICE, 90, |t| t.contains("echo: what is in this picture?"))
        .await;
    let stored = inbox(&kai);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), PHOTO);
    let name = name_of(&stored[0]);
    assert!(
        name.len() > 16 && name[..8].chars().all(|c| c.is_ascii_digit()),
        "timestamped: {name}"
    );
    assert!(name.ends_with(".jpg"), "{name}");

    let request = request_with(&kai, "what is in this picture?").expect("no model request");
    let text = support::fake_responses::last_user_text(&request).unwrap();
    assert!(
        text.contains(&stored[0].display().to_string()),
        "the path is in the prompt: {text}"
    );
    let imgs = images(&request);
    assert_eq!(imgs.len(), 1, "one image in the request: {request:#}");
    assert_eq!(
        imgs[0],
        format!(
            "data:image/jpeg;base64,{}",
            base64::Engine::encode(&base64::engine::general_purpose::STANDARD, PHOTO)
        ),
        "the photo itself reaches the model"
    );

    kai.tg.send_text(ALICE, "/ls inbox");
    kai.wait_any(ALICE, 30, |t| t.contains(&name)).await;

    kai.tg.send_text(ALICE, &format!("/get inbox/{name}"));
    let up = kai.tg.wait_uploads(1, Duration::from_secs(30)).await;
    let up = up.unwrap_or_else(|| {
        panic!(
            "no upload: {:#?}\n{:#?}",
            kai.tg.calls_of("sendPhoto"),
            kai.tg.messages(ALICE)
        )
    });
    assert_eq!(up[0].method, "sendPhoto");
    assert_eq!(up[0].bytes, PHOTO, "/get sends the exact bytes");

    let report: Vec<u8> = (0..=255u8).cycle().take(300_000).collect();
    std::fs::write(workspace(&kai).join("report.bin"), &report).unwrap();
    kai.tg.send_text(ALICE, "/get report.bin");
    let up = kai
        .tg
        .wait_uploads(2, Duration::from_secs(30))
        .await
        .expect("no upload");
    assert_eq!(up[1].method, "sendDocument");
    assert_eq!(up[1].name, "report.bin");
    assert!(up[1].bytes == report, "/get sends the exact bytes");
}

/// `/get` stays inside the workspace: `..`, an absolute path outside and a
/// symlink leading out are refused, and nothing is uploaded.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_refuses_paths_that_leave_the_workspace() {
    let kai = Kai::start(Options::default()).await;
    std::fs::create_dir_all(workspace(&kai)).unwrap();
    std::os::unix::fs::symlink("/etc/passwd", workspace(&kai).join("escape")).unwrap();
    kai.tg.send_text(ALICE, "/get ../../etc/passwd");
    kai.wait_any(ALICE, 30, |t| t.contains("goes up with `..`"))
        .await;
    kai.tg.send_text(ALICE, "/get escape");
    kai.wait_any(ALICE, 30, |t| {
        t.contains("`escape` is outside your workspace")
    })
    .await;
    kai.tg.send_text(ALICE, "/get /etc/passwd");
    kai.wait_any(ALICE, 30, |t| {
        t.contains("`/etc/passwd` is outside your workspace")
    })
    .await;
    kai.tg.send_text(ALICE, "/ls ..");
    kai.wait_any(ALICE, 30, |t| t.contains("`..` goes up"))
        .await;
    kai.tg.send_text(ALICE, "/get missing.txt");
    kai.wait_any(ALICE, 30, |t| t.contains("`missing.txt` does not exist"))
        .await;
    assert!(kai.tg.uploads().is_empty(), "{:?}", kai.tg.uploads().len());
}

/// Telegram's limits give clear answers: a 21 MB document is refused
/// before it is downloaded, a 51 MB workspace file is not uploaded; a
/// voice note without a transcription endpoint is "voice is off"; none of
/// them reaches the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_and_unsupported_kinds_are_explained() {
    let kai = Kai::start(Options::default()).await;
    let big = vec![7u8; 21 * 1024 * 1024];
    kai.tg
        .send_file(ALICE, document("huge.pdf", big, Some("read this")));
    let said = kai.wait_any(ALICE, 60, |t| t.contains("huge.pdf")).await;
    assert!(
        said.contains("21.0 MB") && said.contains("up to 20.0 MB"),
        "{said}"
    );
    assert!(said.contains("Nothing was passed to the agent"), "{said}");
    assert!(
        kai.tg.calls_of("getFile").is_empty(),
        "refused by the size in the message, before getFile"
    );

    kai.tg.send_file(
        ALICE,
        FileMessage {
            kind: "voice",
            bytes: vec![1, 2, 3],
            file_name: None,
            mime_type: None,
            caption: None,
            media_group_id: None,
        },
    );
    // Voice is off here (no TRANSCRIBE_URL): tests/voice_e2e.rs has the rest.
    kai.wait_any(ALICE, 30, |t| {
        t.contains("Voice is off") && t.contains("TRANSCRIBE_URL")
    })
    .await;

    let ws = workspace(&kai);
    std::fs::create_dir_all(&ws).unwrap();
    let f = std::fs::File::create(ws.join("big.bin")).unwrap();
    f.set_len(51 * 1024 * 1024).unwrap();
    kai.tg.send_text(ALICE, "/get big.bin");
    let said = kai.wait_any(ALICE, 30, |t| t.contains("big.bin")).await;
    assert!(
        said.contains("51.0 MB") && said.contains("50.0 MB"),
        "{said}"
    );

    // Nothing reached the model, and the chat still works.
    kai.tg.send_text(ALICE, "still here");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: still here"))
        .await;
    assert_eq!(
        kai.api.requests().len(),
        1,
        "only the text reached the model"
    );
    assert!(kai.tg.uploads().is_empty());
    assert!(inbox(&kai).is_empty(), "{:?}", inbox(&kai));
}

/// Three photos sent at once (one media group, the caption on the first)
/// are one turn with three images; none is lost. A text sent right after
/// an album does not overtake it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_media_group_of_three_photos_is_one_turn() {
    let kai = Kai::start(Options::default()).await;
    // One batch, as Telegram delivers an album: the test does not depend
    // on how fast the parts follow each other.
    kai.tg.send_files(
        ALICE,
        vec![
            photo(Some("compare these"), Some("album-1")),
            photo(None, Some("album-1")),
            photo(None, Some("album-1")),
        ],
    );
    kai.wait_text(ALICE, 90, |t| t.contains("echo: compare these"))
        .await;
    kai.wait_idle(ALICE).await;
    assert_eq!(inbox(&kai).len(), 3, "{:?}", inbox(&kai));
    let turns: Vec<Value> = kai
        .api
        .requests()
        .into_iter()
        .filter(|r| {
            support::fake_responses::last_user_text(r).is_some_and(|t| t.contains("compare these"))
        })
        .collect();
    assert_eq!(turns.len(), 1, "one turn for the group");
    assert_eq!(images(&turns[0]).len(), 3, "three images in it");
    let text = support::fake_responses::last_user_text(&turns[0]).unwrap();
    for f in inbox(&kai) {
        assert!(text.contains(&f.display().to_string()), "{text}");
    }
    let echoes = kai
        .tg
        .messages(ALICE)
        .iter()
        .filter(|m| m.text.contains("echo:"))
        .count();
    assert_eq!(echoes, 1, "{:#?}", kai.tg.messages(ALICE));

    // An album followed at once by a text (what a client sends for a long
    // caption): the album is one turn, answered before the text.
    kai.tg.send_files(
        ALICE,
        vec![
            photo(Some("second album"), Some("album-2")),
            photo(None, Some("album-2")),
        ],
    );
    kai.tg.send_text(ALICE, "and a long explanation");
    kai.wait_any(ALICE, 90, |t| t.contains("echo: and a long explanation"))
        .await;
    let asked: Vec<String> = kai
        .api
        .requests()
        .iter()
        .filter_map(support::fake_responses::last_user_text)
        .collect();
    let album = asked.iter().position(|t| t.contains("second album"));
    let text = asked
        .iter()
        .position(|t| t.contains("and a long explanation"));
    assert!(
        album.is_some() && album < text,
        "the album first: {asked:#?}"
    );
    let second = request_with(&kai, "second album").unwrap();
    // Its own message holds its two images (the first album's are in the
    // thread's history, resent before it).
    let own = second["input"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|i| i.to_string().contains("second album"))
        .unwrap();
    assert_eq!(images(&json!({"input": [own]})).len(), 2, "{own:#}");
    assert_eq!(inbox(&kai).len(), 5);
}

/// A document sent while a reply runs is stored at once and queued, like
/// text, durably with its path: the daemon killed (-9) before answering
/// it answers it after its restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_file_sent_during_a_reply_is_queued_across_a_restart() {
    let mut kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 60");
    kai.wait_any(ALICE, 60, |t| t.contains("slow part")).await;
    kai.tg.send_file(
        ALICE,
        document(
            "notes.pdf",
            b"%PDF-1.4 notes".to_vec(),
            Some("summarise the notes"),
        ),
    );
    kai.wait_any(ALICE, 30, |t| t.contains("Queued")).await;
    let state = kai.chat_state(ALICE).expect("no chat state");
    let queued = &state["queued"][0];
    assert_eq!(queued["text"], "summarise the notes", "{state:#}");
    let path = queued["files"][0]["path"]
        .as_str()
        .expect("the path is queued")
        .to_string();
    assert_eq!(std::fs::read(&path).unwrap(), b"%PDF-1.4 notes");

    kai.stop(libc::SIGKILL, Duration::from_secs(10))
        .expect("kill -9");
    kai.spawn();
    kai.wait_any(ALICE, 90, |t| t.contains("echo: summarise the notes"))
        .await;
    let request = request_with(&kai, "summarise the notes").unwrap();
    let text = support::fake_responses::last_user_text(&request).unwrap();
    assert!(text.contains(&path), "{text}");
    assert!(images(&request).is_empty(), "a PDF is not an image");
}

/// SIGTERM while a media group is still being gathered (its parts taken
/// from Telegram, the settle time not over): the album is stored and
/// queued, and the next start answers it as one turn. A slow reply runs
/// first, so whichever comes first — the settle or the signal — the album
/// ends up in the durable queue, never dropped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_album_arriving_at_shutdown_is_answered_after_the_restart() {
    let mut kai = Kai::start(Options::default()).await;
    kai.tg.send_text(ALICE, "slow 60");
    kai.wait_any(ALICE, 60, |t| t.contains("slow part")).await;
    kai.tg.send_files(
        ALICE,
        vec![
            photo(Some("album at shutdown"), Some("album-9")),
            photo(None, Some("album-9")),
        ],
    );
    // The chat holds both parts (its debug log says so per part).
    let held = || Some(()).filter(|_| kai.log().matches("holding a media group part").count() >= 2);
    let held = support::poll_until(Duration::from_secs(30), held).await;
    assert!(
        held.is_some(),
        "the chat never held the album\n{}",
        kai.log()
    );
    kai.stop(libc::SIGTERM, Duration::from_secs(30))
        .expect("SIGTERM");
    let state = kai.chat_state(ALICE).expect("no chat state");
    let queued = state["queued"].as_array().cloned().unwrap_or_default();
    assert_eq!(queued.len(), 1, "{state:#}");
    assert_eq!(
        queued[0]["files"].as_array().map(Vec::len),
        Some(2),
        "{state:#}"
    );

    kai.spawn();
    kai.wait_any(ALICE, 90, |t| t.contains("echo: album at shutdown"))
        .await;
    let request = request_with(&kai, "album at shutdown").unwrap();
    let own = request["input"]
        .as_array()
        .unwrap()
        .iter()
        .rfind(|i| i.to_string().contains("album at shutdown"))
        .unwrap()
        .clone();
    assert_eq!(images(&json!({"input": [own]})).len(), 2);
}
