//! A loopback fake of the few GitHub REST endpoints a review and a triage
//! use, with pull requests, issues and labels the test puts in, comments
//! and labels it records, the search API over its issues, `/user`, and
//! faults it can inject (a status for the next N comment posts). Every request is
//! recorded as `METHOD path`, so a test can also prove nothing was asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::Router;
use serde_json::{json, Value};

pub const TOKEN: &str = "ghp_kai_test_token";
/// The login `/user` answers for [`TOKEN`]: kai's own account.
pub const BOT_LOGIN: &str = "kai-bot";

#[derive(Debug, Clone)]
pub struct FakeIssue {
    pub title: String,
    pub body: String,
}

#[derive(Debug, Clone)]
pub struct FakePr {
    pub title: String,
    pub body: String,
    pub head_sha: String,
    pub diff: String,
    pub files: Vec<&'static str>,
}

#[derive(Default)]
struct Inner {
    /// (`owner/name`, number) → pull request.
    prs: HashMap<(String, u64), FakePr>,
    /// (`owner/name`, number) → issue.
    issues: HashMap<(String, u64), FakeIssue>,
    /// `owner/name` → the repository's labels.
    repo_labels: HashMap<String, Vec<String>>,
    /// Labels on each issue.
    issue_labels: HashMap<(String, u64), Vec<String>>,
    /// Comments posted, by (`owner/name`, number), with their body.
    comments: Vec<(String, u64, String)>,
    /// Every request as `METHOD path?query`.
    requests: Vec<String>,
    /// Status to answer the next comment posts with, one per post.
    post_faults: Vec<u16>,
    /// Status to answer the next comment posts with after creating the
    /// comment all the same (GitHub's 5xx that still wrote).
    created_faults: Vec<u16>,
    /// Requests that carried a token other than [`TOKEN`].
    bad_auth: usize,
}

#[derive(Clone, Default)]
pub struct FakeGithub {
    inner: Arc<Mutex<Inner>>,
    addr: Arc<Mutex<Option<std::net::SocketAddr>>>,
}

impl FakeGithub {
    pub async fn start() -> FakeGithub {
        let fake = FakeGithub::default();
        let app = Router::new()
            .route("/repos/{o}/{r}/pulls/{n}", get(pull))
            .route("/repos/{o}/{r}/pulls/{n}/files", get(files))
            .route(
                "/repos/{o}/{r}/issues/{n}/comments",
                get(list_comments).post(post_comment),
            )
            .route("/repos/{o}/{r}/issues/{n}", get(issue))
            .route("/repos/{o}/{r}/issues/{n}/labels", post(add_labels))
            .route("/repos/{o}/{r}/labels", get(list_labels).post(create_label))
            .route("/search/issues", get(search))
            .route(
                "/user",
                get(|| async { axum::Json(json!({"login": BOT_LOGIN})) }),
            )
            .fallback(|| async { (StatusCode::NOT_FOUND, "{\"message\": \"Not Found\"}") })
            .layer(axum::middleware::from_fn_with_state(fake.clone(), record))
            .with_state(fake.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        *fake.addr.lock().unwrap() = Some(listener.local_addr().unwrap());
        tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        fake
    }

    pub fn url(&self) -> String {
        format!("http://{}", self.addr.lock().unwrap().unwrap())
    }

    pub fn add_pr(&self, repo: &str, number: u64, pr: FakePr) {
        self.inner
            .lock()
            .unwrap()
            .prs
            .insert((repo.to_string(), number), pr);
    }

    pub fn add_issue(&self, repo: &str, number: u64, title: &str, body: &str) {
        let issue = FakeIssue {
            title: title.into(),
            body: body.into(),
        };
        self.inner
            .lock()
            .unwrap()
            .issues
            .insert((repo.to_string(), number), issue);
    }

    pub fn set_repo_labels(&self, repo: &str, labels: &[&str]) {
        let labels = labels.iter().map(|l| l.to_string()).collect();
        self.inner
            .lock()
            .unwrap()
            .repo_labels
            .insert(repo.to_string(), labels);
    }

    pub fn repo_labels(&self, repo: &str) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        inner.repo_labels.get(repo).cloned().unwrap_or_default()
    }

    /// Labels added to `repo#number`, in order.
    pub fn issue_labels(&self, repo: &str, number: u64) -> Vec<String> {
        let inner = self.inner.lock().unwrap();
        let key = (repo.to_string(), number);
        inner.issue_labels.get(&key).cloned().unwrap_or_default()
    }

    /// Comment bodies posted on `repo#number`.
    pub fn comments(&self, repo: &str, number: u64) -> Vec<String> {
        self.inner
            .lock()
            .unwrap()
            .comments
            .iter()
            .filter(|(r, n, _)| r == repo && *n == number)
            .map(|(_, _, b)| b.clone())
            .collect()
    }

    pub fn requests(&self) -> Vec<String> {
        self.inner.lock().unwrap().requests.clone()
    }

    pub fn bad_auth(&self) -> usize {
        self.inner.lock().unwrap().bad_auth
    }

    /// The next posts are answered with these statuses, in order.
    pub fn fail_posts(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().post_faults = statuses.to_vec();
    }

    /// The next posts create their comment and are answered with these
    /// statuses all the same.
    pub fn fail_posts_after_creating(&self, statuses: &[u16]) {
        self.inner.lock().unwrap().created_faults = statuses.to_vec();
    }

    /// A comment someone (or an earlier run of kai) posted.
    pub fn add_comment(&self, repo: &str, number: u64, body: &str) {
        let mut inner = self.inner.lock().unwrap();
        inner
            .comments
            .push((repo.to_string(), number, body.to_string()));
    }
}

async fn record(
    State(fake): State<FakeGithub>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    {
        let mut inner = fake.inner.lock().unwrap();
        let uri = req.uri();
        let line = format!(
            "{} {}",
            req.method(),
            uri.path_and_query().map(|p| p.as_str()).unwrap_or("")
        );
        inner.requests.push(line);
        let auth = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok());
        if auth != Some(&format!("Bearer {TOKEN}")) {
            inner.bad_auth += 1;
        }
    }
    next.run(req).await
}

fn not_found() -> Response {
    (
        StatusCode::NOT_FOUND,
        axum::Json(json!({"message": "Not Found"})),
    )
        .into_response()
}

async fn pull(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
    headers: HeaderMap,
) -> Response {
    let repo = format!("{o}/{r}");
    let Some(pr) = fake
        .inner
        .lock()
        .unwrap()
        .prs
        .get(&(repo.clone(), n))
        .cloned()
    else {
        return not_found();
    };
    let accept = headers
        .get("accept")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if accept.contains("diff") {
        return pr.diff.into_response();
    }
    axum::Json(json!({
        "number": n, "title": pr.title, "body": pr.body,
        "html_url": format!("https://github.com/{repo}/pull/{n}"),
        "head": {"sha": pr.head_sha}, "user": {"login": "octocat"}
    }))
    .into_response()
}

async fn files(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
) -> Response {
    let repo = format!("{o}/{r}");
    let Some(pr) = fake.inner.lock().unwrap().prs.get(&(repo, n)).cloned() else {
        return not_found();
    };
    let list: Vec<Value> = pr
        .files
        .iter()
        .map(|f| json!({"filename": f, "status": "modified", "additions": 3, "deletions": 1}))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

/// Pages as GitHub does: `per_page` (default 30, at most 100) from `page`
/// (default 1), oldest first.
async fn list_comments(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let repo = format!("{o}/{r}");
    let num = |k: &str, default: usize| q.get(k).and_then(|v| v.parse().ok()).unwrap_or(default);
    let per_page = num("per_page", 30).clamp(1, 100);
    let page = num("page", 1).max(1);
    let list: Vec<Value> = fake
        .comments(&repo, n)
        .into_iter()
        .enumerate()
        .skip((page - 1) * per_page)
        .take(per_page)
        .map(|(i, b)| {
            json!({"id": i + 1, "body": b,
                   "html_url": format!("https://github.com/{repo}/pull/{n}#issuecomment-{}", i + 1)})
        })
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

async fn post_comment(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo = format!("{o}/{r}");
    let mut inner = fake.inner.lock().unwrap();
    if !inner.post_faults.is_empty() {
        let status = inner.post_faults.remove(0);
        let code = StatusCode::from_u16(status).unwrap();
        return (
            code,
            axum::Json(json!({"message": format!("fake {status}")})),
        )
            .into_response();
    }
    let key = (repo.clone(), n);
    if !inner.prs.contains_key(&key) && !inner.issues.contains_key(&key) {
        return not_found();
    }
    let text = body["body"].as_str().unwrap_or_default().to_string();
    inner.comments.push((repo.clone(), n, text.clone()));
    let id = inner.comments.len();
    if !inner.created_faults.is_empty() {
        let status = inner.created_faults.remove(0);
        let code = StatusCode::from_u16(status).unwrap();
        return (
            code,
            axum::Json(json!({"message": format!("fake {status} after creating")})),
        )
            .into_response();
    }
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "body": text,
            "html_url": format!("https://github.com/{repo}/pull/{n}#issuecomment-{id}")})),
    )
        .into_response()
}

async fn issue(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
) -> Response {
    let repo = format!("{o}/{r}");
    let inner = fake.inner.lock().unwrap();
    let key = (repo.clone(), n);
    let Some(i) = inner.issues.get(&key) else {
        return not_found();
    };
    let labels: Vec<Value> = inner
        .issue_labels
        .get(&key)
        .into_iter()
        .flatten()
        .map(|l| json!({"name": l}))
        .collect();
    axum::Json(json!({
        "number": n, "title": i.title, "body": i.body, "state": "open",
        "html_url": format!("https://github.com/{repo}/issues/{n}"),
        "user": {"login": "reporter"}, "labels": labels
    }))
    .into_response()
}

async fn list_labels(
    State(fake): State<FakeGithub>,
    Path((o, r)): Path<(String, String)>,
) -> Response {
    let list: Vec<Value> = fake
        .repo_labels(&format!("{o}/{r}"))
        .into_iter()
        .map(|l| json!({"name": l, "color": "ededed"}))
        .collect();
    axum::Json(Value::Array(list)).into_response()
}

async fn create_label(
    State(fake): State<FakeGithub>,
    Path((o, r)): Path<(String, String)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let name = body["name"].as_str().unwrap_or_default().to_string();
    let mut inner = fake.inner.lock().unwrap();
    let labels = inner.repo_labels.entry(format!("{o}/{r}")).or_default();
    if labels.iter().any(|l| l.eq_ignore_ascii_case(&name)) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(
                json!({"message": "Validation Failed", "errors": [{"code": "already_exists"}]}),
            ),
        )
            .into_response();
    }
    labels.push(name.clone());
    (StatusCode::CREATED, axum::Json(json!({"name": name}))).into_response()
}

/// Adds labels the way GitHub does: each must exist in the repository.
async fn add_labels(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
    axum::Json(body): axum::Json<Value>,
) -> Response {
    let repo = format!("{o}/{r}");
    let mut inner = fake.inner.lock().unwrap();
    let wanted: Vec<String> = body["labels"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|l| l.as_str().map(str::to_string))
        .collect();
    let known = inner.repo_labels.get(&repo).cloned().unwrap_or_default();
    if let Some(unknown) = wanted.iter().find(|w| !known.contains(w)) {
        return (
            StatusCode::UNPROCESSABLE_ENTITY,
            axum::Json(json!({"message": format!("label {unknown} does not exist")})),
        )
            .into_response();
    }
    let on = inner.issue_labels.entry((repo, n)).or_default();
    for w in wanted {
        if !on.contains(&w) {
            on.push(w);
        }
    }
    let list: Vec<Value> = on.iter().map(|l| json!({"name": l})).collect();
    axum::Json(Value::Array(list)).into_response()
}

/// `q` is `w1 OR w2 … repo:o/r is:issue`: issues of that repository whose
/// title has any of the words.
async fn search(
    State(fake): State<FakeGithub>,
    axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let q = q.get("q").cloned().unwrap_or_default();
    let repo = q
        .split_whitespace()
        .find_map(|w| w.strip_prefix("repo:"))
        .unwrap_or_default()
        .to_string();
    let words: Vec<String> = q
        .split_whitespace()
        .filter(|w| !w.contains(':') && *w != "OR")
        .map(str::to_lowercase)
        .collect();
    let inner = fake.inner.lock().unwrap();
    let mut items: Vec<(u64, Value)> = inner
        .issues
        .iter()
        .filter(|((r, _), i)| {
            *r == repo
                && words
                    .iter()
                    .any(|w| i.title.to_lowercase().contains(w.as_str()))
        })
        .map(|((_, n), i)| (*n, json!({"number": n, "title": i.title, "state": "open"})))
        .collect();
    items.sort_by_key(|(n, _)| *n);
    let items: Vec<Value> = items.into_iter().map(|(_, v)| v).take(10).collect();
    axum::Json(json!({"total_count": items.len(), "items": items})).into_response()
}
