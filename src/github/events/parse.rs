//! Reading a delivery: GitHub's webhook payloads, as far as kai reads
//! them — one shape per event, with only the fields kept — and their
//! reduction to an [`Event`], each text cut to what a Telegram line shows.
//! GitHub always sends these fields; defaults keep a hand-written test
//! delivery short.

use serde::Deserialize;

use super::{Event, Happening, IssueAction, PrAction, BODY_CAP, KAI_MARKERS, PUSH_LIST_CAP};

#[derive(Deserialize)]
struct Repository {
    full_name: String,
    #[serde(default)]
    default_branch: String,
}

#[derive(Deserialize, Default)]
struct User {
    #[serde(default)]
    login: String,
}

#[derive(Deserialize)]
struct PullRequestPayload {
    action: String,
    repository: Repository,
    pull_request: PullRequest,
    #[serde(default)]
    sender: User,
}

#[derive(Deserialize)]
struct PullRequest {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    merged: bool,
    #[serde(default)]
    head: Head,
}

#[derive(Deserialize, Default)]
struct Head {
    #[serde(default)]
    sha: String,
}

#[derive(Deserialize)]
struct IssuesPayload {
    action: String,
    repository: Repository,
    issue: Issue,
    #[serde(default)]
    sender: User,
}

#[derive(Deserialize)]
struct Issue {
    number: u64,
    #[serde(default)]
    title: String,
    #[serde(default)]
    html_url: String,
    /// Present when the "issue" is a pull request.
    #[serde(default)]
    pull_request: Option<serde_json::Value>,
}

#[derive(Deserialize)]
struct CommentPayload {
    action: String,
    repository: Repository,
    issue: Issue,
    comment: Comment,
}

#[derive(Deserialize)]
struct Comment {
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    user: User,
}

#[derive(Deserialize)]
struct ReviewPayload {
    action: String,
    repository: Repository,
    review: Review,
    pull_request: PullRequest,
}

#[derive(Deserialize)]
struct Review {
    state: String,
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: String,
    #[serde(default)]
    user: User,
}

#[derive(Deserialize)]
struct PushPayload {
    #[serde(rename = "ref")]
    git_ref: String,
    repository: Repository,
    #[serde(default)]
    commits: Vec<Commit>,
    #[serde(default)]
    compare: String,
    #[serde(default)]
    pusher: Pusher,
    #[serde(default)]
    deleted: bool,
}

#[derive(Deserialize)]
struct Commit {
    id: String,
    #[serde(default)]
    message: String,
}

#[derive(Deserialize, Default)]
struct Pusher {
    #[serde(default)]
    name: String,
}

/// The most of a title kept.
const TITLE_CAP: usize = 200;

/// What `event` (the `X-GitHub-Event` header) with `body` says happened;
/// `Ok(None)` for events and actions kai neither acts on nor tells.
pub fn parse(event: &str, body: &[u8]) -> Result<Option<Event>, String> {
    let bad = |e: serde_json::Error| format!("{event} payload: {e}");
    let (repo, what) = match event {
        "pull_request" => {
            let p: PullRequestPayload = serde_json::from_slice(body).map_err(bad)?;
            let action = match p.action.as_str() {
                "opened" => PrAction::Opened,
                "reopened" => PrAction::Reopened,
                "synchronize" => PrAction::Synchronize,
                "closed" if p.pull_request.merged => PrAction::Merged,
                "closed" => PrAction::Closed,
                _ => return Ok(None),
            };
            let pr = p.pull_request;
            let what = Happening::PullRequest {
                action,
                number: pr.number,
                title: cut(&pr.title, TITLE_CAP),
                url: pr.html_url,
                by: p.sender.login,
                head_sha: pr.head.sha,
            };
            (p.repository.full_name, what)
        }
        "issues" => {
            let p: IssuesPayload = serde_json::from_slice(body).map_err(bad)?;
            let action = match p.action.as_str() {
                "opened" => IssueAction::Opened,
                "closed" => IssueAction::Closed,
                "reopened" => IssueAction::Reopened,
                _ => return Ok(None),
            };
            let what = Happening::Issue {
                action,
                number: p.issue.number,
                title: cut(&p.issue.title, TITLE_CAP),
                url: p.issue.html_url,
                by: p.sender.login,
            };
            (p.repository.full_name, what)
        }
        "issue_comment" => {
            let p: CommentPayload = serde_json::from_slice(body).map_err(bad)?;
            if p.action != "created" {
                return Ok(None);
            }
            let body = p.comment.body.unwrap_or_default();
            let what = Happening::Comment {
                number: p.issue.number,
                on_pull_request: p.issue.pull_request.is_some(),
                title: cut(&p.issue.title, TITLE_CAP),
                url: p.comment.html_url,
                by: p.comment.user.login,
                kai_marked: KAI_MARKERS.iter().any(|m| body.starts_with(m)),
                body: cut(&body, BODY_CAP),
            };
            (p.repository.full_name, what)
        }
        "pull_request_review" => {
            let p: ReviewPayload = serde_json::from_slice(body).map_err(bad)?;
            let approved = match (
                p.action.as_str(),
                p.review.state.to_ascii_lowercase().as_str(),
            ) {
                ("submitted", "approved") => true,
                ("submitted", "changes_requested") => false,
                _ => return Ok(None),
            };
            let what = Happening::Review {
                number: p.pull_request.number,
                title: cut(&p.pull_request.title, TITLE_CAP),
                url: p.review.html_url,
                by: p.review.user.login,
                approved,
                body: cut(&p.review.body.unwrap_or_default(), BODY_CAP),
            };
            (p.repository.full_name, what)
        }
        "push" => {
            let p: PushPayload = serde_json::from_slice(body).map_err(bad)?;
            let branch = p.git_ref.strip_prefix("refs/heads/").unwrap_or_default();
            // Only the default branch, and not its deletion.
            if p.deleted || branch.is_empty() || branch != p.repository.default_branch {
                return Ok(None);
            }
            let commits = p
                .commits
                .iter()
                .take(PUSH_LIST_CAP)
                .map(|c| {
                    let first = c.message.lines().next().unwrap_or_default();
                    (c.id.chars().take(7).collect(), cut(first, 100))
                })
                .collect();
            let what = Happening::Push {
                branch: branch.to_string(),
                by: p.pusher.name,
                compare_url: p.compare,
                commits,
                total: p.commits.len(),
            };
            (p.repository.full_name, what)
        }
        _ => return Ok(None),
    };
    Ok(Some(Event { repo, what }))
}

/// `s` cut to `max` characters, with `…` when something was cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        return s.to_string();
    }
    let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse_json(event: &str, v: serde_json::Value) -> Option<Event> {
        parse(event, v.to_string().as_bytes()).unwrap()
    }

    const REPO: &str = r#"{"full_name": "acme/app", "default_branch": "main"}"#;

    fn repo() -> serde_json::Value {
        serde_json::from_str(REPO).unwrap()
    }

    #[test]
    fn a_closed_pull_request_is_merged_or_closed() {
        let pr = |merged| {
            json!({"action": "closed", "repository": repo(), "sender": {"login": "bob"},
                   "pull_request": {"number": 4, "title": "T", "html_url": "u", "merged": merged,
                                    "head": {"sha": "abc"}}})
        };
        let action = |e: Option<Event>| match e.unwrap().what {
            Happening::PullRequest { action, .. } => action,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            action(parse_json("pull_request", pr(true))),
            PrAction::Merged
        );
        assert_eq!(
            action(parse_json("pull_request", pr(false))),
            PrAction::Closed
        );
        let labeled = json!({"action": "labeled", "repository": repo(),
                             "pull_request": {"number": 4}});
        assert_eq!(parse_json("pull_request", labeled), None);
    }

    #[test]
    fn a_push_counts_only_on_the_default_branch_and_lists_five_commits() {
        let commits: Vec<_> = (0..8)
            .map(|i| json!({"id": format!("{i}234567890abcdef"), "message": format!("commit {i}\n\nbody")}))
            .collect();
        let push = |r: &str| {
            json!({"ref": r, "repository": repo(), "commits": commits, "compare": "c",
                   "pusher": {"name": "alice"}})
        };
        let Some(Event {
            what: Happening::Push { commits, total, .. },
            ..
        }) = parse_json("push", push("refs/heads/main"))
        else {
            panic!("no push")
        };
        assert_eq!(total, 8);
        assert_eq!(commits.len(), PUSH_LIST_CAP);
        assert_eq!(commits[0], ("0234567".to_string(), "commit 0".to_string()));
        assert_eq!(parse_json("push", push("refs/heads/feature")), None);
        assert_eq!(parse_json("push", push("refs/tags/main")), None);
    }

    #[test]
    fn comments_are_cut_and_kai_markers_are_seen_on_the_whole_body() {
        let long = format!("## Triage by Kai\n{}", "x".repeat(5000));
        let c = json!({"action": "created", "repository": repo(),
                       "issue": {"number": 2, "title": "T", "pull_request": {"url": "u"}},
                       "comment": {"body": long, "html_url": "u", "user": {"login": "kai-bot"}}});
        let Some(Event {
            what:
                Happening::Comment {
                    body,
                    kai_marked,
                    on_pull_request,
                    ..
                },
            ..
        }) = parse_json("issue_comment", c)
        else {
            panic!("no comment")
        };
        assert!(kai_marked && on_pull_request);
        assert_eq!(body.chars().count(), BODY_CAP);
        assert!(body.ends_with('…'));
    }

    #[test]
    fn only_approving_or_blocking_reviews_are_told() {
        let r = |state: &str| {
            json!({"action": "submitted", "repository": repo(),
                   "review": {"state": state, "user": {"login": "carol"}},
                   "pull_request": {"number": 9, "title": "T"}})
        };
        assert!(parse_json("pull_request_review", r("approved")).is_some());
        assert!(parse_json("pull_request_review", r("changes_requested")).is_some());
        assert_eq!(parse_json("pull_request_review", r("commented")), None);
    }

    #[test]
    fn unknown_events_are_ignored_and_broken_payloads_named() {
        assert_eq!(parse("star", b"{}").unwrap(), None);
        let err = parse("issues", b"{\"action\": 1}").unwrap_err();
        assert!(err.starts_with("issues payload:"), "{err}");
    }
}
