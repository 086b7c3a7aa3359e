//! What a signed webhook delivery says happened, reduced to what kai acts
//! on or tells the owner: pull requests opened, closed, merged, reopened or
//! pushed to; issues opened, closed or reopened; comments; reviews that
//! approve or ask for changes; pushes to the default branch. Everything
//! else is `None` (answered `202` and ignored). Only the few fields kai
//! uses are kept — cut to what a Telegram line shows — because the event is
//! written to disk before the answer and GitHub sends up to 25 MiB. This
//! file is what is kept (the delivery queue stores it as it is); reading
//! GitHub's payloads into it is `parse.rs`.

mod parse;

use serde::{Deserialize, Serialize};

pub use parse::parse;

/// The most of a comment or review body kept for the notification.
pub const BODY_CAP: usize = 300;
/// Commits of a push listed by name; the rest are counted.
pub const PUSH_LIST_CAP: usize = 5;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// `owner/name`, as GitHub spells it.
    pub repo: String,
    pub what: Happening,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Happening {
    PullRequest {
        action: PrAction,
        number: u64,
        title: String,
        url: String,
        by: String,
        head_sha: String,
    },
    Issue {
        action: IssueAction,
        number: u64,
        title: String,
        url: String,
        by: String,
    },
    Comment {
        number: u64,
        on_pull_request: bool,
        title: String,
        url: String,
        by: String,
        /// The first [`BODY_CAP`] characters.
        body: String,
        /// The whole body starts with one of kai's own markers.
        kai_marked: bool,
    },
    Review {
        number: u64,
        title: String,
        url: String,
        by: String,
        approved: bool,
        body: String,
    },
    Push {
        branch: String,
        by: String,
        compare_url: String,
        /// Up to [`PUSH_LIST_CAP`] commits: short sha and first line.
        commits: Vec<(String, String)>,
        /// All commits of the push, listed or not.
        total: usize,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PrAction {
    Opened,
    Reopened,
    /// New commits on the PR: reviewed again, not told.
    Synchronize,
    Closed,
    Merged,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum IssueAction {
    Opened,
    Closed,
    Reopened,
}

/// The first lines of every comment kai posts.
pub const KAI_MARKERS: [&str; 2] = [super::review::MARKER, super::triage::MARKER];
