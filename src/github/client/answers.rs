//! GitHub's answers, as far as a review and a triage read them: only the
//! fields kai uses, so a field GitHub adds or drops elsewhere changes
//! nothing here.

use serde::Deserialize;

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
pub(super) struct Label {
    pub(super) name: String,
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
pub(super) struct SearchAnswer {
    #[serde(default)]
    pub(super) items: Vec<Found>,
}

/// A comment on an issue or pull request.
#[derive(Debug, Clone, Deserialize)]
pub(super) struct Comment {
    #[serde(default)]
    pub(super) body: Option<String>,
    #[serde(default)]
    pub(super) html_url: Option<String>,
}
