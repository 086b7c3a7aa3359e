//! GitHub pull request review end to end: the built `kai` binary with its
//! webhook listener, a loopback fake of the GitHub REST API, the real codex
//! CLI (or, for a claude owner, the real Claude Code CLI) against the model
//! fakes, and the fake Telegram Bot API for the owner's summary.

mod support;

use std::path::Path;
use std::time::Duration;

use kai::config::token::Secret;
use kai::github::client::delivery_mark;
use kai::github::signature::sign;
use reqwest::StatusCode;
use serde_json::json;
use support::fake_anthropic;
use support::fake_github::{FakeGithub, FakePr};
use support::fake_responses::{self, attempted_files, CREATE_FILE_MARKER};
use support::github_kai::{GithubKai as Setup, REPO};
use support::kai::ALICE;

const DIFF_LINE: &str = "+let answer = 42; // kai-diff-marker";

/// Kai with alice reviewing REPO (on `backend`; notices off: these tests
/// are about reviews), PR #1 in the fake, and `body` as its description.
async fn start(backend: &'static str, body: &str) -> Setup {
    start_with(backend, body, Vec::new()).await
}

async fn start_with(backend: &'static str, body: &str, env: Vec<(String, String)>) -> Setup {
    let gh = FakeGithub::start().await;
    gh.add_pr(
        REPO,
        1,
        FakePr {
            title: "Answer the question".into(),
            body: body.into(),
            head_sha: "0123abcd".into(),
            diff: format!("diff --git a/src/lib.rs b/src/lib.rs\n@@ -1 +1 @@\n{DIFF_LINE}\n"),
            files: vec!["src/lib.rs"],
        },
    );
    let github = json!({"repos": [REPO], "review": true, "notify": false});
    Setup::start(backend, github, gh, env).await
}

fn pr_event(action: &str, repo: &str, number: u64, sha: &str) -> Vec<u8> {
    json!({"action": action, "number": number, "repository": {"full_name": repo},
           "pull_request": {"number": number, "title": "x", "head": {"sha": sha}}})
    .to_string()
    .into_bytes()
}

/// A signed `pull_request` delivery for REPO#number.
async fn signed(s: &Setup, id: &str, action: &str, number: u64) -> StatusCode {
    s.deliver(
        "pull_request",
        id,
        pr_event(action, REPO, number, "0123abcd"),
        Some(""),
    )
    .await
}

const D1: &str = "11111111-cc78-11e3-81ab-4c9367dc0958";
const D2: &str = "22222222-cc78-11e3-81ab-4c9367dc0958";
const D3: &str = "33333333-cc78-11e3-81ab-4c9367dc0958";

fn assert_no_file_written(target: &Path) {
    for f in attempted_files(target) {
        assert!(!f.exists(), "the review agent wrote {}", f.display());
    }
}

/// The whole path on codex: one comment carrying the model's text, the
/// model saw the diff, the owner's chat gets the summary, the model's
/// attempt to write a file fails, redeliveries (also after a restart) do
/// nothing, and `claude` never runs.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn codex_owner_gets_one_review_comment_and_a_summary() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("pwned");
    let body = format!("Please review. {CREATE_FILE_MARKER}{}", target.display());
    let mut s = start("codex", &body).await;

    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    let comments = s.wait_comments(1, 1).await;
    assert!(
        comments[0].starts_with("## Review by Kai\n"),
        "{comments:?}"
    );
    assert!(comments[0].contains("tool call done"), "{comments:?}");
    let summary = s
        .kai
        .wait_any(ALICE, 60, |t| t.contains("acme/app#1"))
        .await;
    assert!(
        summary.contains("Answer the question")
            && summary.contains("https://github.com/acme/app/pull/1")
            && summary.contains("Review posted"),
        "{summary}"
    );
    // The model saw the diff, between boundaries, in one fresh thread.
    let requests = s.kai.api.requests();
    let prompt = fake_responses::last_user_text(&requests[0]).unwrap();
    assert!(
        prompt.contains(DIFF_LINE) && prompt.contains("BEGIN KAI-UNTRUSTED-"),
        "{prompt}"
    );
    assert_no_file_written(&target);
    assert_eq!(s.gh.bad_auth(), 0, "every GitHub call carries the token");

    // The same delivery again, and again after a restart: no new work.
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::OK);
    s.kai.stop(libc::SIGKILL, Duration::from_secs(10));
    s.kai.spawn();
    s.wait_healthy().await;
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::OK);
    // A new delivery for another PR proves the worker ran past it.
    assert_eq!(signed(&s, D2, "opened", 404).await, StatusCode::ACCEPTED);
    s.wait_done(D2).await;
    assert_eq!(s.gh.comments(REPO, 1).len(), 1);
    assert!(s.kai.claude_ran().is_none(), "{:?}", s.kai.claude_ran());
}

/// A wrong or missing signature is 401 and nothing else happens; ping,
/// unknown events, a repo nobody owns and events its owner does not want
/// (triage and notices off) are answered and ignored; a body
/// over GitHub's 25 MiB is 413.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn only_signed_deliveries_for_owned_repos_do_anything() {
    let s = start("codex", "plain").await;
    let body = pr_event("opened", REPO, 1, "0123abcd");
    let wrong = sign(&Secret::new("not the secret"), &body);
    assert_eq!(
        s.deliver("pull_request", D1, body.clone(), Some(&wrong))
            .await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.deliver("pull_request", D1, body.clone(), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        s.deliver("ping", D2, b"{}".to_vec(), Some("")).await,
        StatusCode::OK
    );
    assert_eq!(
        s.deliver("ping", D2, b"{}".to_vec(), None).await,
        StatusCode::UNAUTHORIZED
    );
    let unowned = pr_event("opened", "someone/else", 1, "x");
    assert_eq!(
        s.deliver("pull_request", D2, unowned, Some("")).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        s.deliver(
            "pull_request",
            D2,
            pr_event("closed", REPO, 1, "x"),
            Some("")
        )
        .await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        s.signed_json(
            "issues",
            D2,
            &json!({"action": "opened", "repository": {"full_name": REPO}, "issue": {"number": 1}})
        )
        .await,
        StatusCode::ACCEPTED
    );
    let huge = vec![b' '; 25 * 1024 * 1024 + 1];
    assert_eq!(
        s.deliver("pull_request", D2, huge, Some("")).await,
        StatusCode::PAYLOAD_TOO_LARGE
    );
    // A job waits 2 s before it runs, so a short look would see nothing
    // either way. Instead a real job goes last: jobs run one at a time,
    // oldest first, so once it is done any job the deliveries above had
    // queued has run. PR #404 is unknown to GitHub: its job fails at its
    // first request, with no agent turn, and the owner is told.
    assert_eq!(signed(&s, D3, "opened", 404).await, StatusCode::ACCEPTED);
    assert!(s.wait_done(D3).await.starts_with("failed"));
    s.kai
        .wait_any(ALICE, 60, |t| t.contains("acme/app#404"))
        .await;
    // Its last write: until then a temporary file may sit beside it.
    s.wait_record(D3, "summary_told").await;
    // Nothing but that job reached GitHub, the model, Telegram or the disk.
    let requests = s.gh.requests();
    assert!(
        requests.iter().all(|r| r.contains("/pulls/404")),
        "{requests:#?}"
    );
    assert!(s.kai.api.requests().is_empty());
    let told = s.kai.tg.messages(ALICE);
    assert!(
        told.iter().all(|m| m.text.contains("acme/app#404")),
        "{told:#?}"
    );
    let dir = s.kai.path("data/github/deliveries");
    let kept: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(kept, vec![format!("{D3}.json")], "{}", dir.display());
}

/// `kill -9` right after the 202: the delivery was on disk, so the next
/// start reviews it — exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_delivery_survives_kill_9_right_after_its_202() {
    let mut s = start("codex", "plain").await;
    assert_eq!(signed(&s, D3, "opened", 1).await, StatusCode::ACCEPTED);
    s.kai.stop(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    assert!(s.gh.comments(REPO, 1).is_empty());
    s.kai.spawn();
    s.wait_healthy().await;
    s.wait_comments(1, 1).await;
    assert!(s.wait_done(D3).await.starts_with("posted"));
    assert_eq!(signed(&s, D3, "opened", 1).await, StatusCode::OK);
    assert_eq!(s.gh.comments(REPO, 1).len(), 1);
}

/// A 500 on posting is retried into one comment; a pull request GitHub
/// does not know (404) is reported in the owner's chat with no comment.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn github_errors_are_retried_or_reported() {
    let s = start("codex", "plain").await;
    s.gh.fail_posts(&[500]);
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    s.wait_comments(1, 1).await;
    let posts =
        s.gh.requests()
            .iter()
            .filter(|r| r.starts_with("POST "))
            .count();
    assert_eq!(posts, 2, "{:?}", s.gh.requests());

    assert_eq!(signed(&s, D2, "reopened", 404).await, StatusCode::ACCEPTED);
    let why = s
        .kai
        .wait_any(ALICE, 60, |t| t.contains("acme/app#404"))
        .await;
    assert!(
        why.contains("No review posted") && why.contains("404"),
        "{why}"
    );
    assert!(s.wait_done(D2).await.starts_with("failed"));
    assert!(s.gh.comments(REPO, 404).is_empty());
    assert_eq!(s.gh.comments(REPO, 1).len(), 1);
}

/// A comment GitHub created but answered 5xx for is found before the
/// retry, not posted twice; a review an earlier run posted (cut off before
/// it was recorded) is not run or posted again.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_is_posted_once_whatever_github_answered() {
    let s = start("codex", "plain").await;
    s.gh.fail_posts_after_creating(&[502]);
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    assert!(s.wait_done(D1).await.starts_with("posted"));
    let comments = s.gh.comments(REPO, 1);
    assert_eq!(comments.len(), 1, "{comments:?}");
    assert!(comments[0].ends_with(&delivery_mark(D1)), "{comments:?}");
    let posts = |s: &Setup| {
        s.gh.requests()
            .iter()
            .filter(|r| r.starts_with("POST "))
            .count()
    };
    assert_eq!(posts(&s), 1, "{:?}", s.gh.requests());

    let earlier = format!(
        "## Review by Kai\n\nfrom before the crash\n\n{}",
        delivery_mark(D2)
    );
    s.gh.add_comment(REPO, 1, &earlier);
    let asked = s.kai.api.requests().len();
    assert_eq!(signed(&s, D2, "synchronize", 1).await, StatusCode::ACCEPTED);
    assert!(s.wait_done(D2).await.starts_with("posted"));
    assert_eq!(s.gh.comments(REPO, 1).len(), 2, "no third comment");
    assert_eq!(posts(&s), 1);
    assert_eq!(s.kai.api.requests().len(), asked, "the agent ran again");
    let told = s
        .kai
        .wait_any(ALICE, 60, |t| t.contains("posted before kai restarted"))
        .await;
    assert!(told.contains("acme/app#1"), "{told}");
}

/// Kai's comment is found past GitHub's first page: on a pull request with
/// 150 comments, the one an earlier run posted for this delivery (the
/// newest, so on the second page) means the job is done, not run and
/// posted again. Before, only the first 100 comments were read.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_comment_past_the_first_page_is_still_found() {
    let s = start("codex", "plain").await;
    for i in 0..150 {
        s.gh.add_comment(REPO, 1, &format!("comment {i} by a busy team"));
    }
    let earlier = format!(
        "## Review by Kai\n\nfrom before the crash\n\n{}",
        delivery_mark(D1)
    );
    s.gh.add_comment(REPO, 1, &earlier);
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    assert!(s.wait_done(D1).await.starts_with("posted"));
    assert_eq!(
        s.gh.comments(REPO, 1).len(),
        151,
        "a second review was posted"
    );
    assert!(s.kai.api.requests().is_empty(), "the agent ran again");
    s.kai
        .wait_any(ALICE, 60, |t| t.contains("posted before kai restarted"))
        .await;
    // The look after a post GitHub created but answered 502 for reads
    // every page too: one comment, not two.
    s.gh.fail_posts_after_creating(&[502]);
    assert_eq!(signed(&s, D2, "synchronize", 1).await, StatusCode::ACCEPTED);
    assert!(s.wait_done(D2).await.starts_with("posted"));
    let comments = s.gh.comments(REPO, 1);
    assert_eq!(comments.len(), 152, "the review was posted twice");
    assert!(comments[151].ends_with(&delivery_mark(D2)));
}

/// A claude owner's review runs on the real Claude Code CLI, with no tools.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claude_owner_review_runs_on_claude_without_tools() {
    let dir = tempfile::tempdir().unwrap();
    let target = dir.path().join("pwned");
    let body = format!("Please review. {CREATE_FILE_MARKER}{}", target.display());
    let s = start("claude", &body).await;
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    let comments = s.wait_comments(1, 1).await;
    assert!(
        comments[0].starts_with("## Review by Kai\n"),
        "{comments:?}"
    );
    assert!(comments[0].contains("tool call done"), "{comments:?}");
    assert_no_file_written(&target);
    let requests = s.kai.claude_api.requests();
    let saw_diff = requests
        .iter()
        .any(|r| fake_anthropic::last_user_text(r).is_some_and(|t| t.contains(DIFF_LINE)));
    assert!(saw_diff, "{requests:#?}");
    assert!(s.kai.api.requests().is_empty(), "codex was asked");
    s.kai
        .wait_any(ALICE, 60, |t| {
            t.contains("acme/app#1") && t.contains("Review posted")
        })
        .await;
}

/// A burst of pushes to one pull request is one review, of the newest
/// event; the others are marked superseded by it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_of_pushes_is_reviewed_once() {
    let s = start("codex", "plain").await;
    let ids: Vec<String> = (1..=5)
        .map(|i| format!("{i:08x}-aaaa-4000-8000-000000000000"))
        .collect();
    for (i, id) in ids.iter().enumerate() {
        let body = pr_event("synchronize", REPO, 1, &format!("sha{i}"));
        assert_eq!(
            s.deliver("pull_request", id, body, Some("")).await,
            StatusCode::ACCEPTED
        );
    }
    let newest = ids.last().unwrap();
    assert!(s.wait_done(newest).await.starts_with("posted"));
    for id in &ids[..4] {
        assert_eq!(s.wait_done(id).await, format!("superseded by {newest}"));
    }
    assert_eq!(s.gh.comments(REPO, 1).len(), 1);
    assert_eq!(s.kai.api.requests().len(), 1, "one agent turn");
}

/// A review that runs out of time posts nothing, and the owner is told.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_out_of_time_posts_nothing() {
    let body = format!("{}30", fake_responses::SLOW_MARKER);
    let s = start_with(
        "codex",
        &body,
        vec![("GITHUB_JOB_TIMEOUT_SECONDS".into(), "3".into())],
    )
    .await;
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    let why = s
        .kai
        .wait_any(ALICE, 90, |t| t.contains("acme/app#1"))
        .await;
    assert!(
        why.contains("No review posted") && why.contains("timeout"),
        "{why}"
    );
    assert!(s.wait_done(D1).await.starts_with("failed: timeout"));
    assert!(s.gh.comments(REPO, 1).is_empty());
    assert!(
        s.gh.requests().iter().all(|r| !r.starts_with("POST ")),
        "{:?}",
        s.gh.requests()
    );
}

/// The owner's summary is kept with the delivery until Telegram took it:
/// a review finished during a Telegram outage and a `kill -9` is still
/// told, once, after the restart.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_summary_survives_a_telegram_outage_and_kill_9() {
    let mut s = start("codex", "plain").await;
    s.kai.tg.fail_next("sendMessage", 1000, 502);
    assert_eq!(signed(&s, D1, "opened", 1).await, StatusCode::ACCEPTED);
    assert!(s.wait_done(D1).await.starts_with("posted"));
    s.kai.stop(libc::SIGKILL, Duration::from_secs(10)).unwrap();
    s.kai.tg.clear_faults();
    s.kai.spawn();
    s.wait_healthy().await;
    s.kai
        .wait_any(ALICE, 60, |t| t.contains("Review posted"))
        .await;
    assert_eq!(s.wait_record(D1, "summary_told").await, "sent");
    let told = s.kai.tg.messages(ALICE);
    let summaries = told
        .iter()
        .filter(|m| m.text.contains("Review posted"))
        .count();
    assert_eq!(summaries, 1, "{told:#?}");
    assert_eq!(s.gh.comments(REPO, 1).len(), 1);
}
