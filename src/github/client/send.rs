//! One GitHub REST call, tried until it is answered: rate limits (429, or
//! 403 with no requests left) and server errors are retried with the
//! project's one backoff policy, honouring `Retry-After` up to a bound;
//! 401, 403 and 404 fail at once with GitHub's reason — no retry can fix a
//! token or a repository that is not there.

use std::time::Duration;

use reqwest::{Method, RequestBuilder, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{json, Value};

use super::{Client, ClientError, TRIES};
use crate::retry::Backoff;

/// The longest `Retry-After` honoured; beyond it the job gives up.
const MAX_RETRY_AFTER: Duration = Duration::from_secs(120);

/// The media type of GitHub's JSON answers.
pub(super) const JSON: &str = "application/vnd.github+json";

impl Client {
    /// GETs `path` and reads the JSON answer as `T`.
    pub(super) async fn get<T: DeserializeOwned>(
        &self,
        what: &str,
        path: &str,
    ) -> Result<T, ClientError> {
        let body = self.send(what, Method::GET, path, None, JSON, None).await?;
        decode(what, &body)
    }

    /// POSTs `payload` as JSON; `created` as [`Self::send`] says.
    pub(super) async fn post(
        &self,
        what: &str,
        path: &str,
        payload: &Value,
        created: Option<(&str, &str)>,
    ) -> Result<Vec<u8>, ClientError> {
        let body = Some(payload.to_string());
        self.send(what, Method::POST, path, body, JSON, created)
            .await
    }

    /// A request with kai's token and the API version GitHub documents.
    pub(super) fn request(&self, method: Method, url: &str, accept: &str) -> RequestBuilder {
        self.http
            .request(method, url)
            .bearer_auth(self.token.expose())
            .header("accept", accept)
            .header("x-github-api-version", "2022-11-28")
    }

    /// The answer's body, retried as the module says. For a post that
    /// creates a comment, `created` (the comments path and a text only that
    /// post carries) is looked up before a retry, because GitHub may have
    /// created the comment and still answered 5xx or not at all — then the
    /// answer is that comment, and the post is not repeated.
    pub(super) async fn send(
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

pub(super) fn decode<T: DeserializeOwned>(what: &str, body: &[u8]) -> Result<T, ClientError> {
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
