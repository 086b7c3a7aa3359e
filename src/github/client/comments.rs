//! Kai's comments on an issue or pull request: each one answers a delivery
//! and carries that delivery's mark, so it is posted once — a post GitHub
//! created but did not confirm, or a job cut off between posting and
//! recording, is found instead of posted again — and earlier ones (a
//! review's previous rounds) can be read back.

use reqwest::Method;
use serde_json::json;

use super::answers::Comment;
use super::send::{decode, JSON};
use super::{Client, ClientError};

/// Comments asked for per page (GitHub's most).
const COMMENTS_PER_PAGE: usize = 100;
/// Pages read at most: kai's own comment is among the newest, which come
/// last (GitHub lists oldest first), so every page up to this bound is read.
const MAX_COMMENT_PAGES: usize = 30;

/// The hidden last line of every comment kai posts: the delivery it
/// answers. Delivery ids are GUIDs only the repository's admins see, so a
/// stranger cannot write one in advance to make kai skip a job.
pub fn delivery_mark(key: &str) -> String {
    format!("<!-- kai-delivery {key} -->")
}

impl Client {
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
            .post(&what, &path, &payload, Some((&path, &mark)))
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

    /// The comments on an issue or pull request, every page (up to
    /// [`MAX_COMMENT_PAGES`]), oldest first.
    async fn issue_comments(&self, repo: &str, n: u64) -> Result<Vec<Comment>, ClientError> {
        let what = format!("the comments of {repo}#{n}");
        let mut all = Vec::new();
        for page in 1..=MAX_COMMENT_PAGES {
            let path = format!(
                "/repos/{repo}/issues/{n}/comments?per_page={COMMENTS_PER_PAGE}&page={page}"
            );
            let got: Vec<Comment> = self.get(&what, &path).await?;
            let last = got.len() < COMMENTS_PER_PAGE;
            all.extend(got);
            if last {
                break;
            }
        }
        Ok(all)
    }

    /// One look (no retries) for a comment containing `needle`, between
    /// the tries of a post: every page, as `issue_comments` reads them.
    pub(super) async fn find_comment(&self, comments_path: &str, needle: &str) -> Option<String> {
        for page in 1..=MAX_COMMENT_PAGES {
            let url = format!(
                "{}{comments_path}?per_page={COMMENTS_PER_PAGE}&page={page}",
                self.base
            );
            let resp = self.request(Method::GET, &url, JSON).send().await.ok()?;
            if !resp.status().is_success() {
                return None;
            }
            let got: Vec<Comment> = serde_json::from_slice(&resp.bytes().await.ok()?).ok()?;
            let last = got.len() < COMMENTS_PER_PAGE;
            if let Some(url) = marked(got, needle) {
                return Some(url);
            }
            if last {
                break;
            }
        }
        None
    }
}

/// The URL of the first comment whose body contains `needle`.
fn marked(comments: Vec<Comment>, needle: &str) -> Option<String> {
    comments
        .into_iter()
        .find(|c| c.body.as_deref().is_some_and(|b| b.contains(needle)))
        .map(|c| c.html_url.unwrap_or_default())
}
