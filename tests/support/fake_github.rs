//! A loopback fake of the few GitHub REST endpoints a review uses, with
//! pull requests the test puts in, comments it records, and faults it can
//! inject (a status for the next N comment posts). Every request is
//! recorded as `METHOD path`, so a test can also prove nothing was asked.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde_json::{json, Value};

pub const TOKEN: &str = "ghp_kai_test_token";

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
    /// Comments posted, by (`owner/name`, number), with their body.
    comments: Vec<(String, u64, String)>,
    /// Every request as `METHOD path?query`.
    requests: Vec<String>,
    /// Status to answer the next comment posts with, one per post.
    post_faults: Vec<u16>,
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

async fn list_comments(
    State(fake): State<FakeGithub>,
    Path((o, r, n)): Path<(String, String, u64)>,
) -> Response {
    let repo = format!("{o}/{r}");
    let list: Vec<Value> = fake
        .comments(&repo, n)
        .into_iter()
        .enumerate()
        .map(|(i, b)| json!({"id": i + 1, "body": b}))
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
    if !inner.prs.contains_key(&(repo.clone(), n)) {
        return not_found();
    }
    let text = body["body"].as_str().unwrap_or_default().to_string();
    inner.comments.push((repo.clone(), n, text.clone()));
    let id = inner.comments.len();
    (
        StatusCode::CREATED,
        axum::Json(json!({"id": id, "body": text,
            "html_url": format!("https://github.com/{repo}/pull/{n}#issuecomment-{id}")})),
    )
        .into_response()
}
