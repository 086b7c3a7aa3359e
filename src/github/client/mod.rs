//! The few GitHub REST calls a review and a triage need, as typed
//! `reqwest` calls on `GITHUB_API_URL`: the pull request, its diff and
//! changed files, the issue, the repository's labels, related issues from
//! the search API, adding labels; earlier Kai comments and posting one
//! (`comments.rs`); and who kai is, so its own comments are never told.
//! How each call is tried and retried is `send.rs`; what the answers hold,
//! `answers.rs`.

mod answers;
mod comments;
mod send;

use std::time::Duration;

use reqwest::Method;
use serde_json::json;

use crate::config::github::GithubToken;

pub use answers::{ChangedFile, Found, Head, Issue, Login, PullRequest};
pub use comments::delivery_mark;

use answers::{Label, SearchAnswer};

/// How many times one call is tried before the job gives up.
const TRIES: usize = 5;
/// One request's limit; a diff of a big PR takes a while.
const HTTP_TIMEOUT: Duration = Duration::from_secs(60);
/// GitHub's first page of changed files; more are not needed to review.
pub const FILES_PER_PAGE: usize = 100;
/// The most labels of a repository read (GitHub's largest page).
pub const LABELS_PER_PAGE: usize = 100;
/// Related issues asked of the search API.
pub const RELATED_CAP: usize = 10;

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
        self.get(&what, &format!("/repos/{repo}/pulls/{n}")).await
    }

    /// The unified diff of the pull request.
    pub async fn diff(&self, repo: &str, n: u64) -> Result<String, ClientError> {
        let what = format!("the diff of {repo}#{n}");
        let path = format!("/repos/{repo}/pulls/{n}");
        let accept = "application/vnd.github.diff";
        let body = self
            .send(&what, Method::GET, &path, None, accept, None)
            .await?;
        Ok(String::from_utf8_lossy(&body).into_owned())
    }

    /// The first page of changed files.
    pub async fn files(&self, repo: &str, n: u64) -> Result<Vec<ChangedFile>, ClientError> {
        let what = format!("the files of {repo}#{n}");
        let path = format!("/repos/{repo}/pulls/{n}/files?per_page={FILES_PER_PAGE}");
        self.get(&what, &path).await
    }

    pub async fn issue(&self, repo: &str, n: u64) -> Result<Issue, ClientError> {
        let what = format!("issue {repo}#{n}");
        self.get(&what, &format!("/repos/{repo}/issues/{n}")).await
    }

    /// The names of the repository's labels (the first page).
    pub async fn labels(&self, repo: &str) -> Result<Vec<String>, ClientError> {
        let what = format!("the labels of {repo}");
        let path = format!("/repos/{repo}/labels?per_page={LABELS_PER_PAGE}");
        let labels: Vec<Label> = self.get(&what, &path).await?;
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
        match self.post(&what, &path, &payload, None).await {
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
        self.post(&what, &path, &payload, None).await.map(|_| ())
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
        let answer: SearchAnswer = self.get(&what, &path).await?;
        Ok(answer.items)
    }

    /// The login of the token's account.
    pub async fn login(&self) -> Result<String, ClientError> {
        let me: Login = self.get("the token's account", "/user").await?;
        Ok(me.login)
    }
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
