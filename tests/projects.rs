//! Projects: `/project NAME` binds the conversation it is sent in to
//! `<workspace>/<NAME>` (made when missing) and starts it fresh there; the
//! agent's working directory — as codex tells the model — and `/ls`
//! follow. Names that could leave the workspace or hide are refused, with
//! nothing created and the binding unchanged. On the real codex CLI.

mod support;

use std::os::unix::fs::PermissionsExt;
use std::time::Duration;

use serde_json::Value;
use support::fake_telegram::Where;
use support::kai::{Kai, Options, ALICE};

const T1: i64 = 11;
const T2: i64 = 22;

async fn wait_in(kai: &Kai, topic: i64, needle: &str) -> String {
    kai.wait_nth_in(ALICE, Some(topic), needle, 0, 90).await
}

/// Sends `text` in `topic`; waits for the `n`th message there containing `needle`.
async fn command(kai: &Kai, topic: i64, text: &str, needle: &str) -> String {
    let before = kai
        .tg
        .messages_in(ALICE, Some(topic))
        .iter()
        .filter(|m| m.text.contains(needle))
        .count();
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, topic), text);
    kai.wait_nth_in(ALICE, Some(topic), needle, before, 60)
        .await
}

/// Everything codex sent the model for the user text `text`, its own
/// context (the working directory) included.
fn request_of(kai: &Kai, text: &str) -> String {
    kai.model_request(text)["input"].to_string()
}

fn project(kai: &Kai, topic: i64) -> Value {
    kai.conv_state(ALICE, ALICE, Some(topic)).expect("state")["project"].clone()
}

/// `/project api` in topic 1 and `/project web` in topic 2: each folder is
/// made (0700), each codex thread starts in its own folder, `/project`,
/// `/projects` and `/ls` say so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_topic_works_in_its_project() {
    let kai = Kai::start(Options::default()).await;
    let ws = kai.path("data/home/alice");
    let answer = command(&kai, T1, "/project api", "Project api").await;
    assert!(answer.contains("starts fresh"), "{answer}");
    command(&kai, T2, "/project web", "Project web").await;
    for name in ["api", "web"] {
        let mode = std::fs::metadata(ws.join(name))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o700, "{name}");
    }
    std::fs::write(ws.join("api/only-in-api.txt"), "x").unwrap();

    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, T1), "where am I one");
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, T2), "where am I two");
    wait_in(&kai, T1, "echo: where am I one").await;
    wait_in(&kai, T2, "echo: where am I two").await;
    let (api, web) = (
        ws.join("api").display().to_string(),
        ws.join("web").display().to_string(),
    );
    let one = request_of(&kai, "where am I one");
    let two = request_of(&kai, "where am I two");
    assert!(one.contains(&format!("<cwd>{api}</cwd>")), "{one}");
    assert!(two.contains(&format!("<cwd>{web}</cwd>")), "{two}");

    let shown = command(&kai, T1, "/project", "Project: api").await;
    assert!(shown.contains(&api), "{shown}");
    let list = command(&kai, T2, "/projects", "Projects in").await;
    assert!(list.contains("• api\n• web ← this conversation"), "{list}");
    command(&kai, T1, "/ls", "only-in-api.txt").await;
    assert_eq!(project(&kai, T1), "api");
    assert_eq!(project(&kai, T2), "web");
}

/// `/project ../x`, `.ssh`, `/etc` and a 500-character name are refused
/// with the rule; nothing is created anywhere and the binding (and the
/// conversation) stay as they were.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_project_names_are_refused_and_change_nothing() {
    let kai = Kai::start(Options::default()).await;
    command(&kai, T1, "/project api", "Project api").await;
    kai.tg
        .send_text_in(ALICE, Where::private_topic(ALICE, T1), "remember kiwi");
    wait_in(&kai, T1, "echo: remember kiwi").await;
    let ws = kai.path("data/home/alice");
    let snapshot = |dir: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    let (home_before, ws_before) = (snapshot(&kai.path("data/home")), snapshot(&ws));
    // The thread is saved as the turn ends, just after its text shows.
    let state_before = support::poll_until(Duration::from_secs(30), || {
        kai.conv_state(ALICE, ALICE, Some(T1))
            .filter(|s| s["conversation"].is_string() && s["turn_in_flight"] == false)
    })
    .await
    .expect("the turn ends and its thread is saved");
    let long = "x".repeat(500);
    for bad in ["../x", ".ssh", "/etc", long.as_str()] {
        let answer = command(
            &kai,
            T1,
            &format!("/project {bad}"),
            "is not a project name",
        )
        .await;
        assert!(
            answer.contains("1–64 characters of A-Z, a-z, 0-9")
                && answer.contains("Nothing was changed"),
            "{answer}"
        );
        assert!(
            answer.chars().count() < 400,
            "the answer quotes a bounded part: {answer}"
        );
    }
    assert_eq!(snapshot(&kai.path("data/home")), home_before);
    assert_eq!(snapshot(&ws), ws_before);
    assert!(!kai.path("data/x").exists() && !kai.path("x").exists());
    let state = kai.conv_state(ALICE, ALICE, Some(T1)).expect("state");
    assert_eq!(state["project"], "api");
    assert_eq!(state["conversation"], state_before["conversation"]);
}
