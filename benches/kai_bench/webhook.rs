//! [5] Webhook accept latency: a burst of signed `pull_request` deliveries,
//! each a new delivery id (so each is checked, parsed and written with
//! fsync before its `202`), sent back to back over one keep-alive
//! connection while a review runs: the real codex CLI streaming a slow
//! reply from the fake Responses API for PR #1. The time is the client's,
//! request written → status read.

use std::time::{Duration, Instant};

use kai::config::token::Secret;
use kai::github::signature::sign;
use serde_json::json;

use crate::support::fake_github::{FakeGithub, FakePr, TOKEN};
use crate::support::fake_responses::SLOW_MARKER;
use crate::support::kai::{Kai, Options, ALICE};

const SECRET: &str = "bench secret";
const REPO: &str = "acme/app";

pub struct Accept {
    pub latencies: Vec<Duration>,
    /// Answers other than 202 (should be none).
    pub refused: usize,
    /// Whether the review was still running when the burst ended.
    pub review_overlapped: bool,
}

pub async fn run(deliveries: usize, review_secs: u64) -> Accept {
    let gh = FakeGithub::start().await;
    gh.add_pr(
        REPO,
        1,
        FakePr {
            title: "A slow review".into(),
            body: format!("{SLOW_MARKER}{review_secs}"),
            head_sha: "0123abcd".into(),
            diff: "+x\n".into(),
            files: vec!["x"],
        },
    );
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let kai = Kai::start(Options {
        users_github: vec![(ALICE, json!({"repos": [REPO], "review": true}))],
        extra_env: vec![
            ("KAI_LOG".into(), "info".into()),
            ("GITHUB_WEBHOOK_LISTEN".into(), format!("127.0.0.1:{port}")),
            ("GITHUB_API_URL".into(), gh.url()),
            ("GITHUB_WEBHOOK_SECRET".into(), SECRET.into()),
            ("GITHUB_TOKEN".into(), TOKEN.into()),
        ],
        ..Options::default()
    })
    .await;
    let http = reqwest::Client::new();
    let url = format!("http://127.0.0.1:{port}/github/webhook");
    let secret = Secret::new(SECRET);
    let post = |id: String, number: u64| {
        let body = json!({"action": "opened", "number": number, "repository": {"full_name": REPO},
                          "pull_request": {"number": number, "head": {"sha": "0123abcd"}}})
        .to_string();
        http.post(&url)
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", id)
            .header("x-hub-signature-256", sign(&secret, body.as_bytes()))
            .header("content-type", "application/json")
            .body(body)
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    while http
        .get(format!("http://127.0.0.1:{port}/healthz"))
        .send()
        .await
        .is_err()
    {
        assert!(
            Instant::now() < deadline,
            "no webhook server\n{}",
            kai.log()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Start the review and wait until the model is streaming it.
    let first = post("00000000-0000-4000-8000-000000000000".into(), 1)
        .send()
        .await
        .expect("first delivery");
    assert_eq!(first.status().as_u16(), 202, "{}", kai.log());
    while kai.api.requests().is_empty() {
        assert!(
            Instant::now() < deadline,
            "the review never reached the model\n{}",
            kai.log()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let mut latencies = Vec::with_capacity(deliveries);
    let mut refused = 0;
    for i in 0..deliveries {
        // Other pull requests, so none is a duplicate of another.
        let req = post(
            format!("{:08x}-0000-4000-8000-000000000001", i + 1),
            1000 + i as u64,
        );
        let t = Instant::now();
        match req.send().await {
            Ok(r) if r.status().as_u16() == 202 => latencies.push(t.elapsed()),
            _ => refused += 1,
        }
    }
    let review_overlapped = gh.comments(REPO, 1).is_empty();
    Accept {
        latencies,
        refused,
        review_overlapped,
    }
}
