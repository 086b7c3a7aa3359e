//! GitHub event notices in the owner's Telegram chat, end to end: the
//! built `kai` binary with its webhook listener, the fake GitHub API (only
//! `/user` is asked: who kai's token is) and the fake Bot API. Each kind of
//! event arrives once; kai's own comments, new commits on a pull request,
//! pushes to other branches and redeliveries arrive not at all; a Telegram
//! outage or a `kill -9` delays a notice and loses none.

mod support;

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{json, Value};
use support::fake_github::{FakeGithub, BOT_LOGIN};
use support::github_kai::{GithubKai, REPO};
use support::kai::{Options, ALICE, BOB};

fn repo() -> Value {
    json!({"full_name": REPO, "default_branch": "main"})
}

fn pr(action: &str, n: u64, merged: bool) -> Value {
    json!({"action": action, "repository": repo(), "sender": {"login": "bob"},
           "pull_request": {"number": n, "title": format!("Feature {n}"), "merged": merged,
                            "html_url": format!("https://github.com/{REPO}/pull/{n}"),
                            "head": {"sha": "abc"}}})
}

fn issue(action: &str, n: u64) -> Value {
    json!({"action": action, "repository": repo(), "sender": {"login": "carol"},
           "issue": {"number": n, "title": format!("Bug {n}"),
                     "html_url": format!("https://github.com/{REPO}/issues/{n}")}})
}

fn comment(n: u64, by: &str, body: &str) -> Value {
    json!({"action": "created", "repository": repo(),
           "issue": {"number": n, "title": format!("Bug {n}")},
           "comment": {"body": body, "user": {"login": by},
                       "html_url": format!("https://github.com/{REPO}/issues/{n}#issuecomment-1")}})
}

fn review(state: &str, n: u64) -> Value {
    json!({"action": "submitted", "repository": repo(),
           "review": {"state": state, "user": {"login": "dave"}, "body": "Looks fine",
                      "html_url": format!("https://github.com/{REPO}/pull/{n}#pullrequestreview-1")},
           "pull_request": {"number": n, "title": format!("Feature {n}")}})
}

fn push(branch: &str, commits: usize) -> Value {
    let commits: Vec<Value> = (0..commits)
        .map(|i| json!({"id": format!("{i:07}abcdef0123"), "message": format!("Change number {i}\n\ndetails")}))
        .collect();
    json!({"ref": format!("refs/heads/{branch}"), "repository": repo(), "commits": commits,
           "pusher": {"name": "alice"}, "compare": format!("https://github.com/{REPO}/compare/a...b")})
}

/// Delivery ids: GUID-shaped, one per index.
fn id(i: usize) -> String {
    format!("{i:08x}-cc78-11e3-81ab-4c9367dc0958")
}

async fn start() -> GithubKai {
    // Neither review nor triage: notices only (on by default).
    GithubKai::start(
        "codex",
        json!({"repos": [REPO]}),
        FakeGithub::start().await,
        Vec::new(),
    )
    .await
}

/// Waits until `count` messages are in alice's chat, then a little longer
/// to see that no more come; returns their texts.
async fn settled_messages(s: &GithubKai, count: usize) -> Vec<String> {
    let got = s
        .kai
        .tg
        .wait_messages(ALICE, Duration::from_secs(60), |m| m.len() >= count)
        .await;
    assert!(
        got.is_some(),
        "fewer than {count} messages: {:#?}\n{}",
        s.kai.tg.messages(ALICE),
        s.kai.log()
    );
    tokio::time::sleep(Duration::from_millis(1500)).await;
    s.kai
        .tg
        .messages(ALICE)
        .into_iter()
        .map(|m| m.text)
        .collect()
}

fn exactly_one<'a>(texts: &'a [String], part: &str) -> &'a str {
    let hits: Vec<&String> = texts.iter().filter(|t| t.contains(part)).collect();
    assert_eq!(hits.len(), 1, "{part:?} in {texts:#?}");
    hits[0]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_event_is_told_once_and_kais_own_comments_never() {
    let s = start().await;
    let long_comment = format!("First line of a long comment. {}", "word ".repeat(400));
    let told: Vec<(&str, Value)> = vec![
        ("pull_request", pr("opened", 10, false)),
        ("pull_request", pr("closed", 10, true)),
        ("pull_request", pr("closed", 11, false)),
        ("pull_request", pr("reopened", 11, false)),
        ("issues", issue("opened", 12)),
        ("issues", issue("closed", 12)),
        ("issues", issue("reopened", 12)),
        ("issue_comment", comment(12, "erin", &long_comment)),
        // A stranger's comment that starts like kai's is still told.
        (
            "issue_comment",
            comment(12, "mallory", "## Review by Kai\nfake verdict"),
        ),
        ("pull_request_review", review("approved", 10)),
        ("pull_request_review", review("changes_requested", 11)),
        ("push", push("main", 7)),
    ];
    let quiet: Vec<(&str, Value)> = vec![
        (
            "issue_comment",
            comment(12, BOT_LOGIN, "## Triage by Kai\n\n**Summary:** x"),
        ),
        (
            "issue_comment",
            comment(10, BOT_LOGIN, "## Review by Kai\n\nLooks good"),
        ),
    ];
    let ignored: Vec<(&str, Value)> = vec![
        ("pull_request", pr("synchronize", 10, false)),
        ("pull_request_review", review("commented", 10)),
        ("push", push("feature", 2)),
        ("issues", issue("labeled", 12)),
    ];
    let mut n = 0;
    for (event, payload) in told.iter().chain(&quiet) {
        n += 1;
        assert_eq!(
            s.signed_json(event, &id(n), payload).await,
            StatusCode::ACCEPTED,
            "{event} {payload}"
        );
    }
    for (event, payload) in &ignored {
        n += 1;
        assert_eq!(
            s.signed_json(event, &id(n), payload).await,
            StatusCode::ACCEPTED,
            "{event}"
        );
    }
    // A redelivery of the first event is known and told no second time.
    assert_eq!(
        s.signed_json("pull_request", &id(1), &told[0].1).await,
        StatusCode::OK
    );

    let texts = settled_messages(&s, told.len()).await;
    assert_eq!(texts.len(), told.len(), "{texts:#?}");
    for part in [
        "Pull request acme/app#10 opened</b> by bob",
        "Pull request acme/app#10 merged",
        "Pull request acme/app#11 closed",
        "Pull request acme/app#11 reopened",
        "Issue acme/app#12 opened</b> by carol",
        "Issue acme/app#12 closed",
        "Issue acme/app#12 reopened",
        "Comment on issue acme/app#12</b> by erin",
        "Comment on issue acme/app#12</b> by mallory",
        "Review of acme/app#10: approved</b> by dave",
        "Review of acme/app#11: changes requested",
        "7 commits pushed to acme/app main</b> by alice",
    ] {
        exactly_one(&texts, part);
    }
    let long = exactly_one(&texts, "by erin");
    assert!(
        long.contains("First line of a long comment.") && long.len() < 600,
        "{long}"
    );
    let pushed = exactly_one(&texts, "pushed to");
    assert!(
        pushed.contains("<code>0000004</code> Change number 4")
            && !pushed.contains("Change number 5")
    );
    assert!(pushed.contains("… and 2 more"), "{pushed}");
    assert!(exactly_one(&texts, "#10 opened</b> by bob")
        .contains("href=\"https://github.com/acme/app/pull/10\""));

    // Kai's own comments were recorded and deliberately not told.
    for i in told.len() + 1..=told.len() + quiet.len() {
        assert_eq!(s.wait_record(&id(i), "told").await, "kai's own comment");
    }
    assert!(
        s.gh.requests().iter().all(|r| r == "GET /user"),
        "{:?}",
        s.gh.requests()
    );
    assert!(s.kai.claude_ran().is_none() && s.kai.api.requests().is_empty());
}

/// Telegram refusing every send for a while, then `kill -9`, then a start
/// while the Bot API does not even answer `getMe`: the webhook takes
/// deliveries all along, the notices wait on disk, and each arrives once
/// when Telegram is back.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn notices_survive_a_telegram_outage_and_kill_9() {
    let mut s = start().await;
    s.kai.tg.fail_next("sendMessage", 1000, 502);
    assert_eq!(
        s.signed_json("issues", &id(1), &issue("opened", 1)).await,
        StatusCode::ACCEPTED
    );
    assert_eq!(
        s.signed_json("issues", &id(2), &issue("closed", 1)).await,
        StatusCode::ACCEPTED
    );
    // Telegram was asked and failed, so the notice is still pending.
    s.kai
        .tg
        .wait_call(Duration::from_secs(30), |c| c.method == "sendMessage")
        .await
        .expect("kai never tried to tell");
    s.kai.stop(libc::SIGKILL, Duration::from_secs(10)).unwrap();

    s.kai.tg.fail_next("getMe", 1000, 502);
    s.kai.spawn();
    s.wait_healthy().await;
    assert_eq!(
        s.signed_json("issues", &id(3), &issue("reopened", 1)).await,
        StatusCode::ACCEPTED
    );
    assert!(s.kai.tg.messages(ALICE).is_empty());

    s.kai.tg.clear_faults();
    let texts = settled_messages(&s, 3).await;
    assert_eq!(texts.len(), 3, "{texts:#?}");
    exactly_one(&texts, "Issue acme/app#1 opened");
    exactly_one(&texts, "Issue acme/app#1 closed");
    exactly_one(&texts, "Issue acme/app#1 reopened");
    assert_eq!(s.wait_record(&id(1), "told").await, "sent");
}

/// One owner who blocked the bot does not hold back another owner's
/// notices: Telegram's 403 for alice's chat puts her notices on a backoff
/// of their own, bob's are told at once, and alice's arrive once she
/// unblocks the bot. Before, the notifier retried the oldest pending notice
/// every 15 s and nothing behind it was ever sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_blocked_owner_does_not_hold_back_the_others() {
    const BOB_REPO: &str = "acme/web";
    let s = GithubKai::launch(
        Options {
            users: vec![("alice", ALICE), ("bob", BOB)],
            claude_tripwire: true,
            users_github: vec![
                (ALICE, json!({"repos": [REPO]})),
                (BOB, json!({"repos": [BOB_REPO]})),
            ],
            ..Options::default()
        },
        FakeGithub::start().await,
    )
    .await;
    s.kai.tg.block_chat(ALICE);
    let for_bob = |n: u64| {
        let mut e = issue("opened", n);
        e["repository"]["full_name"] = json!(BOB_REPO);
        e
    };
    // Alice's two notices are older than bob's.
    for (id, event) in [
        ("a0000000-0000-4000-8000-000000000001", issue("opened", 1)),
        ("a0000000-0000-4000-8000-000000000002", issue("closed", 1)),
        ("a0000000-0000-4000-8000-000000000003", for_bob(2)),
    ] {
        assert_eq!(
            s.signed_json("issues", id, &event).await,
            StatusCode::ACCEPTED
        );
    }
    let bob = s
        .kai
        .tg
        .wait_messages(BOB, Duration::from_secs(10), |m| !m.is_empty())
        .await;
    assert!(
        bob.is_some(),
        "bob's notice waited behind alice's blocked chat\n{}",
        s.kai.log()
    );
    // Kai did try alice's first (older) notice, and Telegram refused it:
    // bob's went out while hers waited on her chat's own backoff.
    let refused = s
        .kai
        .tg
        .calls_of("sendMessage")
        .iter()
        .any(|c| c.status == 403);
    assert!(refused, "alice's notice was never tried\n{}", s.kai.log());
    assert!(
        s.kai.log().contains("could not send a GitHub notice"),
        "{}",
        s.kai.log()
    );
    s.kai.tg.unblock_chat(ALICE);
    // Her backoff is at most 30 s; both arrive, in order.
    let alice = s
        .kai
        .tg
        .wait_messages(ALICE, Duration::from_secs(60), |m| m.len() >= 2)
        .await
        .unwrap_or_else(|| panic!("alice's notices never came\n{}", s.kai.log()));
    assert!(alice[0].text.contains("opened") && alice[1].text.contains("closed"));
}
