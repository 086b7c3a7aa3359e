//! The few GitHub REST calls a review and a triage need, as typed
//! `reqwest` calls on `GITHUB_API_URL`: the pull request, its diff and
//! changed files, the issue, the repository's labels, related issues from
//! the search API, earlier Kai comments, adding labels and posting the
//! comment; and who kai is, so its own comments are never told. Rate limits (429, or 403 with no
//! requests left) and server errors are retried with the project's one
//! backoff policy; 401, 403 and 404 fail the job at once with the reason —
//! no retry can fix a token or a repository that is not there.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::Deserialize;
use serde_json::json;

use crate::config::github::GithubToken;
use crate::retry::Backoff;

/// How many times one call is tried before the job gives up.
const TRIES: usize = 5;
/// One request's limit; a diff of a big PR takes a while.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// The longest `Retry-After` honoured; beyond it the job gives up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);
/// GitHub's first page of changed files; more are not needed to review.
pub const FILES_PER_PAGE: usize = 100;

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("cannot build the HTTP client: {0}")]
    Build(String),
    #[error("GitHub refused {what}: {status} {message}")]
    Refused {
        what: String,
        status: u16,
        message: String,
    },
    #[error("GitHub did not answer {what} after {TRIES} tries: {last}")]
    GaveUp { what: String, last: String },
    #[error("GitHub's answer to {what} was not understood: {detail}")]
    Decode { what: String, detail: String },
}

#[derive(Debug, Clone, Deserialize)]
pub struct PullRequest {
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    pub head: Head,
    pub user: Login,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Head {
    pub sha: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Login {
    pub login: String,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ChangedFile {
    pub filename: String,
    pub status: String,
    #[serde(default)]
    pub additions: u64,
    #[serde(default)]
    pub deletions: u64,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Issue {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub body: Option<String>,
    pub html_url: String,
    pub user: Login,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Label {
    pub name: String,
}

/// One search hit: an issue that may be related.
#[derive(Debug, Clone, Deserialize)]
pub struct Found {
    pub number: u64,
    pub title: String,
    #[serde(default)]
    pub state: String,
}

#[derive(Debug, Clone, Deserialize)]
struct SearchAnswer {
    #[serde(default)]
    items: Vec<Found>,
}

/// The most labels of a repository read (GitHub's largest page).
pub const LABELS_PER_PAGE: usize = 100;
/// Related issues asked of the search API.
pub const RELATED_CAP: usize = 10;

#[derive(Debug, Clone, Deserialize)]
struct Comment {
    #[serde(default)]
    body: Option<String>,
    #[serde(default)]
    html_url: Option<String>,
}

#[derive(Clone)]
pub struct Client {
    http: reqwest::Client,
    base: String,
    token: GithubToken,
}

impl Client {
    pub fn new(base: &str, token: GithubToken) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .user_agent(concat!("kai/", env!("CARGO_PKG_VERSION")))
            .timeout(HTTP_TIMEOUT)
            .build()
            .map_err(|e| ClientError::Build(e.to_string()))?;
        Ok(Client {
            http,
            base: base.trim_end_matches('/').to_string(),
            token,
        })
    }

    pub async fn pull(&self, repo: &str, n: u64) -> Result<PullRequest, ClientError> {
        let what = format!("pull request {repo}#{n}");
        let body = self
            .call(
                &what,
                Method::GET,
                &format!("/repos/{repo}/pulls/{n}"),
                None,
                JSON,
            )
            .await?;
        decode(&what, &body)
    }

    /// The unified diff of the pull request.
    pub async fn diff(&self, repo: &str, n: u64) -> Result<String, ClientError> {
        let what = format!("the diff of {repo}#{n}");
        let path = format!("/repos/{repo}/pulls/{n}");
        let body = self
            .call(
                &what,
                Method::GET,
                &path,
                None,
                "application/vnd.github.diff",
            )
            .await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// The first page of changed files.
    pub async fn files(&self, repo: &str, n: u64) -> Result<Vec<ChangedFile>, ClientError> {
        let what = format!("the files of {repo}#{n}");
        let path = format!("/repos/{repo}/pulls/{n}/files?per_page={FILES_PER_PAGE}");
        let body = self.call(&what, Method::GET, &path, None, JSON).await?;
        decode(&what, &body)
    }

    /// Bodies of earlier comments that start with `marker`, oldest first.
    pub async fn comments_starting(
        &self,
        repo: &str,
        n: u64,
        marker: &str,
    ) -> Result<Vec<String>, ClientError> {
        Ok(self
            .issue_comments(repo, n)
            .await?
            .into_iter()
            .filter_map(|c| c.body)
            .filter(|b| b.starts_with(marker))
            .collect())
    }

    pub async fn issue(&self, repo: &str, n: u64) -> Result<Issue, ClientError> {
        let what = format!("issue {repo}#{n}");
        let path = format!("/repos/{repo}/issues/{n}");
        let body = self.call(&what, Method::GET, &path, None, JSON).await?;
        decode(&what, &body)
    }

    /// The names of the repository's labels (the first page).
    pub async fn labels(&self, repo: &str) -> Result<Vec<String>, ClientError> {
        let what = format!("the labels of {repo}");
        let path = format!("/repos/{repo}/labels?per_page={LABELS_PER_PAGE}");
        let body = self.call(&what, Method::GET, &path, None, JSON).await?;
        let labels: Vec<Label> = decode(&what, &body)?;
        Ok(labels.into_iter().map(|l| l.name).collect())
    }

    /// Creates a label; one that exists already (422) is no error.
    pub async fn create_label(
        &self,
        repo: &str,
        name: &str,
        color: &str,
    ) -> Result<(), ClientError> {
        let what = format!("creating the label {name:?} in {repo}");
        let path = format!("/repos/{repo}/labels");
        let payload = json!({ "name": name, "color": color });
        match self
            .call(&what, Method::POST, &path, Some(payload.to_string()), JSON)
            .await
        {
            Ok(_) => Ok(()),
            Err(ClientError::Refused { status: 422, .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Adds labels to an issue (those it has stay).
    pub async fn add_labels(
        &self,
        repo: &str,
        n: u64,
        labels: &[String],
    ) -> Result<(), ClientError> {
        let what = format!("labels for {repo}#{n}");
        let path = format!("/repos/{repo}/issues/{n}/labels");
        let payload = json!({ "labels": labels });
        self.call(&what, Method::POST, &path, Some(payload.to_string()), JSON)
            .await
            .map(|_| ())
    }

    /// Up to [`RELATED_CAP`] issues of `repo` matching any of `words`
    /// (plain alphanumeric words: nothing a title says can become a search
    /// qualifier that reaches another repository).
    pub async fn search_issues(
        &self,
        repo: &str,
        words: &[String],
    ) -> Result<Vec<Found>, ClientError> {
        let what = format!("related issues in {repo}");
        let words: Vec<&str> = words
            .iter()
            .map(String::as_str)
            .filter(|w| !w.is_empty() && w.chars().all(|c| c.is_ascii_alphanumeric()))
            .collect();
        if words.is_empty() {
            return Ok(Vec::new());
        }
        let q = format!("{} repo:{repo} is:issue", words.join(" OR "));
        let path = format!(
            "/search/issues?q={}&per_page={RELATED_CAP}",
            query_escape(&q)
        );
        let body = self.call(&what, Method::GET, &path, None, JSON).await?;
        let answer: SearchAnswer = decode(&what, &body)?;
        Ok(answer.items)
    }

    /// The login of the token's account.
    pub async fn login(&self) -> Result<String, ClientError> {
        let what = "the token's account".to_string();
        let body = self.call(&what, Method::GET, "/user", None, JSON).await?;
        let me: Login = decode(&what, &body)?;
        Ok(me.login)
    }

    /// Posts a comment for delivery `key`; returns its URL. The comment
    /// ends with [`delivery_mark`], so a post GitHub created but did not
    /// confirm is found rather than posted twice.
    pub async fn comment(
        &self,
        repo: &str,
        n: u64,
        key: &str,
        text: &str,
    ) -> Result<String, ClientError> {
        let what = format!("a comment on {repo}#{n}");
        let path = format!("/repos/{repo}/issues/{n}/comments");
        let mark = delivery_mark(key);
        let payload = json!({ "body": format!("{text}\n\n{mark}") });
        let body = self
            .call_checked(
                &what,
                Method::POST,
                &path,
                Some(payload.to_string()),
                JSON,
                Some((&path, &mark)),
            )
            .await?;
        let c: Comment = decode(&what, &body)?;
        Ok(c.html_url.unwrap_or_default())
    }

    /// The URL of the comment kai posted for delivery `key` on `repo#n`,
    /// if there is one: a job cut off between posting and recording is not
    /// posted again.
    pub async fn posted_for(
        &self,
        repo: &str,
        n: u64,
        key: &str,
    ) -> Result<Option<String>, ClientError> {
        let comments = self.issue_comments(repo, n).await?;
        Ok(marked(comments, &delivery_mark(key)))
    }

    /// The first page (100) of comments on an issue or pull request.
    async fn issue_comments(&self, repo: &str, n: u64) -> Result<Vec<Comment>, ClientError> {
        let what = format!("the comments of {repo}#{n}");
        let path = format!("/repos/{repo}/issues/{n}/comments?per_page=100");
        let body = self.call(&what, Method::GET, &path, None, JSON).await?;
        decode(&what, &body)
    }

    /// A request with kai's token and the API version GitHub documents.
    fn request(&self, method: Method, url: &str, accept: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header("accept", accept)
            .header("x-github-api-version", "2022-11-28")
    }

    /// One look (no retries) for a comment containing `needle`.
    async fn find_comment(&self, comments_path: &str, needle: &str) -> Option<String> {
        let url = format!("{}{comments_path}?per_page=100", self.base);
        let resp = self.request(Method::GET, &url, JSON).send().await.ok()?;
        if !resp.status().is_success() {
            return None;
        }
        let comments: Vec<Comment> = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
        marked(comments, needle)
    }

    async fn call(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<String>,
        accept: &str,
    ) -> Result<Vec<u8>, ClientError> {
        self.call_checked(what, method, path, body, accept, None)
            .await
    }

    /// [`Self::call`] for a post that creates a comment: before a retry,
    /// `created` (the comments path and a text only that post carries) is
    /// looked up, because GitHub may have created the comment and still
    /// answered 5xx or not at all — then the answer is that comment, and
    /// the post is not repeated.
    async fn call_checked(
        &self,
        what: &str,
        method: Method,
        path: &str,
        body: Option<String>,
        accept: &str,
        created: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, ClientError> {
        let url = format!("{}{path}", self.base);
        let request = || -> RequestBuilder {
            let r = self.request(method.clone(), &url, accept);
            match &body {
                Some(b) => r.header("content-type", "application/json").body(b.clone()),
                None => r,
            }
        };
        let mut backoff = Backoff::new(Duration::from_millis(500));
        let mut last = String::new();
        for attempt in 1..=TRIES {
            let wait = match request().send().await {
                Err(e) => {
                    last = e.to_string();
                    backoff.step()
                }
                Ok(resp) => {
                    let status = resp.status();
                    let retry_after = retry_after(&resp);
                    let rate_limited = status == StatusCode::TOO_MANY_REQUESTS
                        || (status == StatusCode::FORBIDDEN && out_of_requests(&resp));
                    let bytes = resp.bytes().await.map(|b| b.to_vec());
                    if status.is_success() {
                        return bytes.map_err(|e| ClientError::GaveUp {
                            what: what.into(),
                            last: e.to_string(),
                        });
                    }
                    let message = bytes.as_deref().map(github_message).unwrap_or_default();
                    if !(rate_limited || status.is_server_error()) {
                        return Err(ClientError::Refused {
                            what: what.into(),
                            status: status.as_u16(),
                            message,
                        });
                    }
                    last = format!("{status} {message}");
                    match retry_after {
                        Some(d) if d > MAX_RETRY_AFTER => break,
                        Some(d) => d,
                        None => backoff.step(),
                    }
                }
            };
            if attempt < TRIES {
                tracing::warn!("GitHub: {what} failed ({last}); retrying in {wait:?}");
                tokio::time::sleep(wait).await;
                if let Some((comments, needle)) = created {
                    if let Some(url) = self.find_comment(comments, needle).await {
                        tracing::info!("GitHub: {what} had been created after all: {url}");
                        return Ok(json!({ "html_url": url }).to_string().into_bytes());
                    }
                }
            }
        }
        Err(ClientError::GaveUp {
            what: what.into(),
            last,
        })
    }
}

const JSON: &str = "application/vnd.github+json";

/// The hidden last line of every comment kai posts: the delivery it
/// answers. Delivery ids are GUIDs only the repository's admins see, so a
/// stranger cannot write one in advance to make kai skip a job.
pub fn delivery_mark(key: &str) -> String {
    format!("<!-- kai-delivery {key} -->")
}

/// The URL of the first comment whose body contains `needle`.
fn marked(comments: Vec<Comment>, needle: &str) -> Option<String> {
    comments
        .into_iter()
        .find(|c| c.body.as_deref().is_some_and(|b| b.contains(needle)))
        .map(|c| c.html_url.unwrap_or_default())
}

/// `s` as a URL query value: unreserved characters as they are, a space
/// as `+`, everything else percent-encoded.
fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

fn decode<T: serde::de::DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ClientError> {
    serde_json::from_slice(body).map_err(|e| ClientError::Decode {
        what: what.into(),
        detail: e.to_string(),
    })
}

/// GitHub's own words for an error (`{"message": …}`), short.
fn github_message(body: &[u8]) -> String {
    let m = serde_json::from_slice::<serde_json::Value>(body)
        .ok()
        .and_then(|v| v["message"].as_str().map(str::to_string))
        .unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    m.chars().take(200).collect()
}

fn retry_after(resp: &reqwest::Response) -> Option<Duration> {
    let secs = resp
        .headers()
        .get("retry-after")?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()?;
    Some(Duration::from_secs(secs))
}

/// A 403 that is a rate limit rather than a refusal.
fn out_of_requests(resp: &reqwest::Response) -> bool {
    resp.headers()
        .get("x-ratelimit-remaining")
        .and_then(|v| v.to_str().ok())
        == Some("0")
}

#[cfg(test)]
mod tests {
    use super::query_escape;

    #[test]
    fn a_search_query_is_escaped() {
        assert_eq!(
            query_escape("crash OR parser repo:acme/app.js is:issue"),
            "crash+OR+parser+repo%3Aacme%2Fapp.js+is%3Aissue"
        );
    }
}
