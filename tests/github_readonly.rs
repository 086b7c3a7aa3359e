//! A job over untrusted text (a pull request to review) runs its agent
//! read-only: the fake model answers the prompt with a shell tool call that
//! would create a file, asking codex to run it outside the sandbox, and the
//! file must not exist afterwards — with the real codex CLI and the real
//! Claude Code CLI, through the one launcher kai uses for jobs.

mod support;

use std::path::{Path, PathBuf};
use std::time::Duration;

use kai::agent::launch::{launch_read_only, Launch};
use kai::agent::{AgentEvent, Session};
use kai::catalog::{self, Backend};
use kai::process::sudo::Host;
use support::codex_home;
use support::fake_anthropic::{self, FakeAnthropic};
use support::fake_responses::{attempted_files, FakeResponses, CREATE_FILE_MARKER};

/// The tests set the agent's environment (CODEX_HOME, HOME) in this
/// process, which child processes inherit: one at a time.
static ENV: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

fn job(backend: Backend, bin: PathBuf, model: &str, dir: &Path) -> Launch {
    let me = kai::osuser::current().expect("current account");
    Launch {
        backend,
        bin,
        model: model.to_string(),
        os_user: me.name,
        own_account: true,
        dir: dir.join("scratch"),
        tmp: dir.join("tmp"),
        // A job ignores this: nothing is ever continued.
        resume: Some("an-old-conversation".into()),
    }
}

/// Runs one turn and returns its final text (or error).
async fn one_turn(mut session: Session, text: &str, model: &str) -> Result<String, String> {
    session.send(text, model).await.map_err(|e| e.to_string())?;
    let done = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            match session.next_event().await {
                Ok(AgentEvent::Done { text, error, .. }) => return error.map_or(Ok(text), Err),
                Ok(_) => {}
                Err(e) => return Err(e.to_string()),
            }
        }
    })
    .await
    .unwrap_or_else(|_| Err("the turn did not end within 120 s".into()));
    session.close().await;
    done
}

fn host() -> Host {
    Host {
        sudo: kai::process::sudo::find_sudo(),
        reaper: PathBuf::from(env!("CARGO_BIN_EXE_kai")),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_job_cannot_create_a_file_even_when_the_model_asks_to_escalate() {
    let _env = ENV.lock().await;
    let api = FakeResponses::start().await;
    let dir = tempfile::tempdir().unwrap();
    let codex_dir = dir.path().join("codex-home");
    codex_home::write_codex_home(&codex_dir, &api.base_url(), true).unwrap();
    std::env::set_var("CODEX_HOME", &codex_dir);
    let target = dir.path().join("written-by-the-model");

    let l = job(
        Backend::Codex,
        codex_home::codex_bin(),
        codex_home::TEST_MODEL,
        dir.path(),
    );
    let session = launch_read_only(&host(), &l).await.expect("launch");
    let prompt = format!("Review this. {CREATE_FILE_MARKER}{}", target.display());
    let reply = one_turn(session, &prompt, codex_home::TEST_MODEL).await;

    let requests = api.requests();
    assert!(
        requests.len() >= 2,
        "the model's tool call never came back to it: {reply:?} {requests:#?}"
    );
    for f in attempted_files(&target) {
        assert!(
            !f.exists(),
            "a read-only job wrote {}: {reply:?}\n{requests:#?}",
            f.display()
        );
    }
    // Codex ran the call (and refused what it asked for); an unknown tool
    // would prove nothing.
    let output = requests[1]["input"]
        .as_array()
        .and_then(|i| i.last())
        .map(|o| o["output"].to_string())
        .unwrap_or_default();
    assert!(!output.contains("unsupported call"), "{output}");
    eprintln!("tool output seen by the model: {output}");
    assert_eq!(reply.as_deref(), Ok("tool call done"), "{requests:#?}");
    // Ephemeral: codex kept no rollout of the conversation.
    let sessions = codex_dir.join("sessions");
    let kept = walk(&sessions);
    assert!(kept.is_empty(), "codex kept {kept:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_job_has_no_tools_and_keeps_no_session() {
    let _env = ENV.lock().await;
    let api = FakeAnthropic::start().await;
    let dir = tempfile::tempdir().unwrap();
    let home = dir.path().join("home");
    fake_anthropic::write_claude_settings(&home, &api.base_url()).unwrap();
    std::env::set_var("HOME", &home);
    let target = dir.path().join("written-by-the-model");

    let model = catalog::default_model(Backend::Claude);
    let l = job(
        Backend::Claude,
        fake_anthropic::claude_bin(),
        model,
        dir.path(),
    );
    let session = launch_read_only(&host(), &l).await.expect("launch");
    let prompt = format!("Review this. {CREATE_FILE_MARKER}{}", target.display());
    let reply = one_turn(session, &prompt, model).await;

    let requests = api.requests();
    let messages: Vec<_> = requests
        .iter()
        .filter(|r| r["messages"].as_array().is_some_and(|m| !m.is_empty()))
        .collect();
    assert!(
        messages.len() >= 2,
        "the model's tool use never came back to it: {reply:?} {requests:#?}"
    );
    // The CLI offered the model no tool at all.
    for r in &messages {
        let tools = r["tools"].as_array().map(Vec::len).unwrap_or(0);
        assert_eq!(tools, 0, "tools offered: {}", r["tools"]);
    }
    assert!(!target.exists(), "a read-only job wrote a file: {reply:?}");
    assert!(
        reply.as_deref().is_ok_and(|t| t.contains("tool call done")),
        "{reply:?}"
    );
    let transcripts: Vec<PathBuf> = walk(&home.join(".claude/projects"))
        .into_iter()
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    assert!(transcripts.is_empty(), "claude kept {transcripts:?}");
}

/// Every file below `dir` (none if it does not exist).
fn walk(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}
