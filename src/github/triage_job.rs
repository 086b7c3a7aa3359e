//! One triage, from the issue to the comment: context from GitHub (the
//! issue, the repository's labels, related issues by title words), one
//! read-only agent turn, the strict parse with one retry that states the
//! parse error, then labels and one `## Triage by Kai` comment. Nothing
//! is changed on GitHub unless a whole triage came back; the issue itself
//! is never closed, edited or relabelled.

use super::client::{ClientError, Found, Issue};
use super::deliveries::Job;
use super::job_summary::Outcome;
use super::review::new_boundary;
use super::triage::{self, Triage, TriageInput};
use super::worker::{agent_failure, posted_before, Worker};
use crate::config::User;

impl Worker {
    /// `key` is the delivery id, which the comment carries.
    pub(super) async fn triage(&self, key: &str, job: &Job, owner: &User) -> Outcome {
        let (repo, n) = (job.repo.as_str(), job.number);
        let gh = |e: ClientError| format!("GitHub error: {e}");
        let issue = match self.client.issue(repo, n).await {
            Ok(i) => i,
            Err(e) => return failed(None, gh(e)),
        };
        // A triage posted before a crash cut its record short is not
        // posted again.
        match self.client.posted_for(repo, n, key).await {
            Ok(Some(url)) => return posted_before(&issue.title, &issue.html_url, url),
            Ok(None) => {}
            Err(e) => return failed(Some(&issue), gh(e)),
        }
        let labels = match self.client.labels(repo).await {
            Ok(l) => l,
            Err(e) => return failed(Some(&issue), gh(e)),
        };
        // Related issues help but are not needed: the search API has its
        // own, tighter rate limit.
        let related: Vec<Found> = match self
            .client
            .search_issues(repo, &triage::search_words(&issue.title))
            .await
        {
            Ok(found) => found.into_iter().filter(|f| f.number != n).collect(),
            Err(e) => {
                tracing::warn!("triage goes on without related issues: {e}");
                Vec::new()
            }
        };
        let input = TriageInput {
            repo,
            issue: &issue,
            labels: &labels,
            related: &related,
        };
        let t = match self.ask(owner, &input).await {
            Ok(t) => t,
            Err(why) => return failed(Some(&issue), why),
        };
        let t = triage::keep_candidates(t, n, &related);
        let plan = triage::plan_labels(&t.labels, &labels);
        if !plan.dropped.is_empty() {
            tracing::info!(dropped = ?plan.dropped, "labels the repository lacks were not applied");
        }
        let applied = async {
            for (name, color) in &plan.create {
                self.client.create_label(repo, name, color).await?;
            }
            if !plan.add.is_empty() {
                self.client.add_labels(repo, n, &plan.add).await?;
            }
            self.client
                .comment(repo, n, key, &triage::comment(&t, &plan))
                .await
        };
        match applied.await {
            Ok(comment_url) => {
                tracing::info!(comment = %comment_url, labels = ?plan.add, "triage posted");
                let labels = if plan.add.is_empty() {
                    "none".to_string()
                } else {
                    plan.add.join(", ")
                };
                Outcome::Posted {
                    title: issue.title.clone(),
                    url: issue.html_url.clone(),
                    comment_url,
                    detail: Some(format!(
                        "Priority: {} · labels: {labels}\n{}",
                        t.priority.as_str(),
                        t.summary.trim()
                    )),
                }
            }
            Err(e) => failed(Some(&issue), gh(e)),
        }
    }

    /// The agent's triage: one turn, and one more stating what was wrong
    /// when the first answer is not a triage.
    async fn ask(&self, owner: &User, input: &TriageInput<'_>) -> Result<Triage, String> {
        let boundary = new_boundary();
        let mut retry: Option<String> = None;
        for attempt in 1..=2 {
            let prompt = triage::prompt(input, &boundary, retry.as_deref());
            tracing::info!(bytes = prompt.len(), attempt, "triaging");
            let text = self
                .agent_turn(owner, &prompt)
                .await
                .map_err(|e| agent_failure(&e))?;
            match triage::parse(&text) {
                Ok(t) => return Ok(t),
                Err(why) => {
                    tracing::warn!(attempt, "the agent's answer is not a triage: {why}");
                    retry = Some(why);
                }
            }
        }
        Err(format!(
            "the agent answered twice without a valid triage; the last problem: {}",
            retry.unwrap_or_default()
        ))
    }
}

fn failed(issue: Option<&Issue>, why: String) -> Outcome {
    tracing::warn!("no triage posted: {why}");
    Outcome::Failed {
        title: issue.map(|i| i.title.clone()),
        url: issue.map(|i| i.html_url.clone()),
        why,
    }
}
