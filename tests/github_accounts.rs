//! A review runs as its owner's OS account through the same sudo rule as
//! that owner's chats, and no other: the daemon runs as the service
//! account, the only sudoers lines are the contract's (codex and the kai
//! reaper as the agent account), and the review's model requests come from
//! the codex home of the agent account. Needs root and sudo (CI has both;
//! with CI=true a missing one fails the test, elsewhere it is skipped).

mod support;

use std::path::PathBuf;
use std::time::Duration;

use kai::config::token::Secret;
use kai::github::signature::sign;
use serde_json::json;
use support::accounts::{self, SudoersFile, AGENT_A, SERVICE};
use support::codex_home;
use support::fake_github::{FakeGithub, FakePr, TOKEN};
use support::fake_responses::{self, FakeResponses};
use support::github_kai::bound_ports;
use support::kai::{Kai, Options, ALICE};
use support::poll_until;

const SECRET: &str = "accounts test secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_review_runs_as_the_owners_account_with_the_chat_sudo_rule() {
    if let Some(why) = accounts::unavailable() {
        assert!(
            std::env::var("CI").as_deref() != Ok("true"),
            "cannot run in CI: {why}"
        );
        println!("SKIPPED: {why}");
        return;
    }
    let _lock = accounts::hold().await;
    accounts::remove_stale_sudoers();
    let svc = accounts::ensure(SERVICE);
    let agent = accounts::ensure(AGENT_A);
    accounts::kill_leftovers(&[&agent]);
    let kai_bin = PathBuf::from(env!("CARGO_BIN_EXE_kai"));
    // Exactly the chats' rule: nothing added for reviews.
    let sudoers = SudoersFile::write(
        "github",
        &[accounts::contract_line(
            &svc.name,
            &agent.name,
            &codex_home::codex_bin(),
            &kai_bin,
        )],
    );
    let check = sudoers.visudo_check();
    assert!(check.status.success(), "visudo: {check:?}");

    let gh = FakeGithub::start().await;
    gh.add_pr(
        "acme/app",
        1,
        FakePr {
            title: "As whom?".into(),
            body: "plain".into(),
            head_sha: "0123abcd".into(),
            diff: "+x // accounts-diff-marker\n".into(),
            files: vec!["x"],
        },
    );
    // The agent account's own codex home points at its own fake: a request
    // there can only come from codex running as that account.
    let agent_api = FakeResponses::start().await;
    let kai = Kai::start(Options {
        run_as: Some(svc.name.clone()),
        os_users: vec![(ALICE, agent.name.clone())],
        users_github: vec![(ALICE, json!({"repos": ["acme/app"], "review": true}))],
        extra_env: vec![
            // Port 0: the log says which one kai bound.
            ("GITHUB_WEBHOOK_LISTEN".into(), "127.0.0.1:0".into()),
            ("GITHUB_API_URL".into(), gh.url()),
            ("GITHUB_WEBHOOK_SECRET".into(), SECRET.into()),
            ("GITHUB_TOKEN".into(), TOKEN.into()),
        ],
        ..Options::default()
    })
    .await;
    let codex_dir = agent.home.join(".codex");
    let _ = std::fs::remove_dir_all(&codex_dir);
    codex_home::write_codex_home(&codex_dir, &agent_api.base_url(), true).unwrap();
    accounts::chown(&codex_dir, &agent, true);
    accounts::own_dir(&kai.path("data/tmp").join(&agent.name), &agent);
    accounts::own_dir(&kai.path("data/home/alice"), &agent);

    let port = poll_until(Duration::from_secs(30), || {
        bound_ports(&kai.log()).first().copied()
    })
    .await
    .unwrap_or_else(|| panic!("the webhook server never listened\n{}", kai.log()));
    let http = reqwest::Client::new();
    let body = json!({"action": "opened", "number": 1, "repository": {"full_name": "acme/app"},
                      "pull_request": {"number": 1, "head": {"sha": "0123abcd"}}})
    .to_string();
    let mut status = None;
    for _ in 0..300 {
        let r = http
            .post(format!("http://127.0.0.1:{port}/github/webhook"))
            .header("x-github-event", "pull_request")
            .header("x-github-delivery", "abcdef01-0000-4000-8000-000000000000")
            .header(
                "x-hub-signature-256",
                sign(&Secret::new(SECRET), body.as_bytes()),
            )
            .body(body.clone())
            .send()
            .await;
        if let Ok(r) = r {
            status = Some(r.status().as_u16());
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(status, Some(202), "{}", kai.log());

    let comments = poll_until(Duration::from_secs(120), || {
        Some(gh.comments("acme/app", 1)).filter(|c| !c.is_empty())
    })
    .await
    .unwrap_or_default();
    assert_eq!(comments.len(), 1, "{}", kai.log());
    assert!(comments[0].starts_with("## Review by Kai"), "{comments:?}");
    let requests = agent_api.requests();
    let prompt = requests
        .first()
        .and_then(fake_responses::last_user_text)
        .unwrap_or_default();
    assert!(prompt.contains("accounts-diff-marker"), "{requests:#?}");
    assert!(
        kai.api.requests().is_empty(),
        "the review ran with the daemon's codex home"
    );
    // Its working directory was the account's tmp dir, never the workspace
    // (codex tells the model its cwd).
    let sent = requests[0].to_string();
    let tmp = kai.path("data/tmp").join(&agent.name);
    assert!(sent.contains(&tmp.display().to_string()), "{sent}");
    assert!(!sent.contains("data/home/alice"), "{sent}");
    drop(kai);
    accounts::kill_leftovers(&[&agent]);
}
