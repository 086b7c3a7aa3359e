//! Voice notes end to end: the built `kai`, the real codex CLI against the
//! fake Responses API, the fake Bot API serving the recording, and a
//! loopback fake of an OpenAI-compatible transcription endpoint
//! (`support/fake_transcribe.rs`). What the user reads, what the endpoint
//! and the model receive, and what never reaches a log.

mod support;

use std::path::PathBuf;

use support::fake_responses::last_user_text;
use support::fake_telegram::FileMessage;
use support::fake_transcribe::{Answer, FakeTranscribe};
use support::kai::{Kai, Options, ALICE};

/// What the key file holds; it must appear in no log line.
const KEY: &str = "sk-voice-test-7f3a9c";

/// A recording's bytes: every byte value, so nothing is re-encoded on the way.
fn recording() -> Vec<u8> {
    (0..4096u32).map(|i| (i * 7 % 256) as u8).collect()
}

fn voice(bytes: Vec<u8>) -> FileMessage<'static> {
    FileMessage {
        kind: "voice",
        bytes,
        file_name: None,
        mime_type: None,
        caption: None,
        media_group_id: None,
    }
}

/// kai with voice on, pointed at `fake`, the key in a file.
async fn start(fake: &FakeTranscribe, timeout_secs: u64) -> Kai {
    let key_dir = tempfile::tempdir().unwrap().keep();
    let key_file = key_dir.join("transcribe-key");
    std::fs::write(&key_file, format!("{KEY}\n")).unwrap();
    let env = |k: &str, v: String| (k.to_string(), v);
    Kai::start(Options {
        extra_env: vec![
            env("TRANSCRIBE_URL", fake.url()),
            env("TRANSCRIBE_MODEL", "whisper-test-model".into()),
            env("TRANSCRIBE_API_KEY_FILE", key_file.display().to_string()),
            env("TRANSCRIBE_TIMEOUT_SECONDS", timeout_secs.to_string()),
        ],
        ..Options::default()
    })
    .await
}

fn inbox(kai: &Kai) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(kai.path("data/home/alice/inbox"))
        .map(|d| d.filter_map(|e| Some(e.ok()?.path())).collect())
        .unwrap_or_default();
    files.sort();
    files
}

/// A voice note sent while a reply runs: its exact bytes and the model
/// reach the endpoint (with the key as a bearer token), the transcript is
/// shown to the user at once, the message waits its turn, and then reaches
/// the model as the user's text with the note that it was spoken and where
/// the recording is. The key is in no log line.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_voice_note_is_transcribed_shown_queued_and_answered() {
    let fake = FakeTranscribe::start().await;
    fake.answer(Answer::Text(" please list the files ".into()));
    let kai = start(&fake, 30).await;

    kai.tg.send_text(ALICE, "slow 4");
    kai.wait_any(ALICE, 90, |t| t.contains("slow part")).await;
    kai.tg.send_file(ALICE, voice(recording()));

    let shown = kai
        .wait_any(ALICE, 60, |t| t.contains("Transcript of your recording"))
        .await;
    assert_eq!(
        shown,
        "🎙 Transcript of your recording:\n> please list the files"
    );
    kai.wait_any(ALICE, 30, |t| t.starts_with("⏳ Queued"))
        .await;
    kai.wait_any(ALICE, 90, |t| t.starts_with("echo: please list the files"))
        .await;

    let seen = fake.seen();
    assert_eq!(seen.len(), 1, "{seen:?}");
    assert_eq!(seen[0].path, "/v1/audio/transcriptions");
    assert_eq!(seen[0].file, recording(), "the recording's exact bytes");
    assert_eq!(seen[0].model.as_deref(), Some("whisper-test-model"));
    assert_eq!(
        seen[0].authorization.as_deref(),
        Some(format!("Bearer {KEY}").as_str())
    );

    let stored = inbox(&kai);
    assert_eq!(stored.len(), 1, "{stored:?}");
    assert_eq!(std::fs::read(&stored[0]).unwrap(), recording());
    let asked = kai
        .api
        .requests()
        .iter()
        .filter_map(last_user_text)
        .find(|t| t.contains("please list the files"))
        .expect("the transcript reached the model");
    assert!(asked.starts_with("please list the files\n\n"), "{asked}");
    assert!(asked.contains("The user spoke this message"), "{asked}");
    assert!(asked.contains(&stored[0].display().to_string()), "{asked}");
    assert!(!kai.log().contains(KEY), "the key is in the log");
}

/// Every way the endpoint can fail is a clear answer, nothing reaches the
/// model, and each recording stays in the inbox; the key stays out of the
/// log and out of every answer.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn endpoint_failures_are_explained_and_reach_no_model() {
    let fake = FakeTranscribe::start().await;
    let kai = start(&fake, 3).await;
    let cases: Vec<(Answer, Vec<&str>)> = vec![
        (
            Answer::Status(500, "upstream exploded".into()),
            vec!["transcription service failed (HTTP 500)", "upstream exploded"],
        ),
        (
            Answer::Status(
                401,
                r#"{"error": {"message": "Incorrect API key provided", "type": "invalid_request_error"}}"#
                    .into(),
            ),
            vec!["refused the recording (HTTP 401)", "Incorrect API key provided"],
        ),
        (Answer::Hang, vec!["did not answer within 3 s"]),
        (Answer::Garbage, vec!["not a transcript"]),
        (
            Answer::Text("   ".into()),
            vec!["transcript is empty", "no speech was recognised"],
        ),
    ];
    for (i, (answer, expected)) in cases.into_iter().enumerate() {
        fake.answer(answer.clone());
        kai.tg.send_file(ALICE, voice(vec![i as u8; 100]));
        let said = kai
            .wait_any(ALICE, 60, |t| {
                t.contains("could not transcribe") && expected.iter().all(|e| t.contains(e))
            })
            .await;
        assert!(said.contains("Nothing was passed to the agent"), "{said}");
        assert!(said.contains("/inbox/"), "{answer:?}: {said}");
        assert!(!said.contains(KEY), "{said}");
        assert_eq!(
            inbox(&kai).len(),
            i + 1,
            "{answer:?}: the recording is kept"
        );
    }
    assert_eq!(fake.seen().len(), 5);
    assert!(kai.api.requests().is_empty(), "nothing reached the model");
    assert!(!kai.log().contains(KEY), "the key is in the log");
    // The chat still works.
    kai.tg.send_text(ALICE, "still here");
    kai.wait_text(ALICE, 90, |t| t.contains("echo: still here"))
        .await;
}

/// Without `TRANSCRIBE_URL` a voice note is answered "voice is off", naming
/// the key that turns it on; nothing is downloaded or sent to the model.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_an_endpoint_voice_is_off() {
    let kai = Kai::start(Options::default()).await;
    kai.tg.send_file(ALICE, voice(recording()));
    let said = kai
        .wait_any(ALICE, 60, |t| t.contains("Voice is off"))
        .await;
    assert!(said.contains("TRANSCRIBE_URL"), "{said}");
    // The chat handles its inputs in order: once a later text is answered,
    // the voice note has been dealt with, without a download.
    kai.tg.send_text(ALICE, "after the voice note");
    kai.wait_any(ALICE, 90, |t| t.contains("echo: after the voice note"))
        .await;
    assert!(kai.tg.calls_of("getFile").is_empty());
    assert!(inbox(&kai).is_empty());
    let asked: Vec<_> = kai
        .api
        .requests()
        .iter()
        .filter_map(last_user_text)
        .collect();
    assert_eq!(
        asked,
        ["after the voice note"],
        "only the later text reached the model"
    );
}
