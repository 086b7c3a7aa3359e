//! The one worker that runs accepted jobs (reviews and triages), oldest
//! first, one at a time (agent turns are heavy; GitHub does not wait for
//! them anyway). A
//! delivery stays pending until its outcome is written, so one cut off by
//! a crash or a restart runs again on the next start.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use super::client::Client;
use super::deliveries::{next_batch, Deliveries, Job, JobKind};
use super::job_summary::{self, Outcome};
use super::owner;
use super::review::{self, ReviewInput, MARKER};
use crate::agent::launch::Launch;
use crate::agent::oneshot::{one_turn, OneShotError};
use crate::config::{Config, User};
use crate::process::sudo::Host;

/// A job waits this long after the newest event for its pull request, so
/// a burst of pushes is reviewed once, at its last head.
const SETTLE: Duration = Duration::from_secs(2);

pub struct Worker {
    pub cfg: Arc<Config>,
    pub client: Client,
    pub deliveries: Arc<Deliveries>,
    pub host: Host,
    pub wake: Arc<Notify>,
    /// Wakes the notifier when a job's summary is ready.
    pub tell: Arc<Notify>,
    pub job_timeout: Duration,
}

impl Worker {
    pub async fn run(self, shutdown: CancellationToken) {
        loop {
            let deliveries = Arc::clone(&self.deliveries);
            let pending = tokio::task::spawn_blocking(move || deliveries.pending())
                .await
                .unwrap_or_default();
            let Some(batch) = next_batch(&pending) else {
                tokio::select! {
                    _ = self.wake.notified() => continue,
                    _ = shutdown.cancelled() => return,
                }
            };
            let age = batch.run.age();
            if age < SETTLE {
                tokio::select! {
                    _ = tokio::time::sleep(SETTLE - age) => continue,
                    _ = shutdown.cancelled() => return,
                }
            }
            for s in &batch.superseded {
                self.finish(&s.id, &format!("superseded by {}", batch.run.id));
            }
            let job = batch.run.job.clone();
            let outcome = tokio::select! {
                o = self.run_job(&batch.run.id, &job) => o,
                // Left pending: it runs again after the restart.
                _ = shutdown.cancelled() => return,
            };
            let Some(outcome) = outcome else {
                self.finish(
                    &batch.run.id,
                    "the repository's owner no longer wants this job",
                );
                continue;
            };
            let record = match &outcome {
                Outcome::Posted { comment_url, .. } => format!("posted {comment_url}"),
                Outcome::Failed { why, .. } => format!("failed: {why}"),
            };
            // The notifier tells the owner, also after a Telegram outage
            // or a restart; this worker goes on with the next job.
            let text = job_summary::summary(job.kind, &job.repo, job.number, &outcome);
            match self
                .deliveries
                .finish_and_tell(&batch.run.id, &record, text)
            {
                Ok(()) => self.tell.notify_one(),
                Err(e) => {
                    tracing::error!(delivery = %batch.run.id, "could not mark a delivery done: {e}")
                }
            }
        }
    }

    fn finish(&self, id: &str, outcome: &str) {
        if let Err(e) = self.deliveries.finish(id, outcome) {
            tracing::error!(delivery = id, "could not mark a delivery done: {e}");
        }
    }

    /// Runs one job; `None` when its repository's owner no longer has
    /// that kind of job switched on.
    async fn run_job(&self, key: &str, job: &Job) -> Option<Outcome> {
        let owner = owner(&self.cfg, &job.repo)?;
        let gh = owner.github.as_ref()?;
        let span = |kind: &str| {
            tracing::info_span!("github_job", kind, repo = %job.repo, number = job.number,
                user = %owner.name, os_user = %owner.os_user, chat = owner.telegram_id)
        };
        Some(match job.kind {
            JobKind::Review if gh.review => {
                self.review(key, job, owner)
                    .instrument(span("review"))
                    .await
            }
            JobKind::Triage if gh.triage => {
                self.triage(key, job, owner)
                    .instrument(span("triage"))
                    .await
            }
            JobKind::Review | JobKind::Triage => return None,
        })
    }

    /// `key` is the delivery id, which the comment carries.
    async fn review(&self, key: &str, job: &Job, owner: &User) -> Outcome {
        let (repo, n) = (job.repo.as_str(), job.number);
        let gh = |e: super::client::ClientError| format!("GitHub error: {e}");
        let pr = match self.client.pull(repo, n).await {
            Ok(pr) => pr,
            Err(e) => return failed(None, gh(e)),
        };
        // Posted before a crash cut the record short: done, not again.
        match self.client.posted_for(repo, n, key).await {
            Ok(Some(url)) => return posted_before(&pr.title, &pr.html_url, url),
            Ok(None) => {}
            Err(e) => return failed(Some(&pr), gh(e)),
        }
        let fetched = async {
            let diff = self.client.diff(repo, n).await?;
            let files = self.client.files(repo, n).await?;
            let earlier = self.client.comments_starting(repo, n, MARKER).await?;
            Ok::<_, super::client::ClientError>((diff, files, earlier))
        };
        let (diff, files, earlier) = match fetched.await {
            Ok(f) => f,
            Err(e) => return failed(Some(&pr), gh(e)),
        };
        let input = ReviewInput {
            repo,
            number: n,
            pr: &pr,
            diff: &diff,
            files: &files,
            earlier: &earlier,
        };
        let prompt = review::prompt(&input, &review::new_boundary());
        tracing::info!(bytes = prompt.len(), "reviewing");
        let text = match self.agent_turn(owner, &prompt).await {
            Err(why) => return failed(Some(&pr), agent_failure(&why)),
            Ok(text) => text,
        };
        // Only a whole review is posted; nothing was posted before this.
        match self
            .client
            .comment(repo, n, key, &review::comment(&text))
            .await
        {
            Ok(url) => {
                tracing::info!(comment = %url, "review posted");
                Outcome::Posted {
                    title: pr.title.clone(),
                    url: pr.html_url.clone(),
                    comment_url: url,
                    detail: None,
                }
            }
            Err(e) => failed(Some(&pr), gh(e)),
        }
    }

    /// One read-only, ephemeral turn as the owner's account, in their
    /// scratch (tmp) directory — never their workspace.
    pub(super) async fn agent_turn(
        &self,
        owner: &User,
        prompt: &str,
    ) -> Result<String, OneShotError> {
        let bin = self.cfg.agent_bin(owner.backend).ok_or_else(|| {
            OneShotError::Start(format!("no {} binary is configured", owner.backend))
        })?;
        let l = Launch::scratch(&self.cfg, owner, owner.backend, bin, &owner.model);
        one_turn(&self.host, &l, prompt, self.job_timeout).await
    }
}

fn failed(pr: Option<&super::client::PullRequest>, why: String) -> Outcome {
    tracing::warn!("no review posted: {why}");
    Outcome::Failed {
        title: pr.map(|p| p.title.clone()),
        url: pr.map(|p| p.html_url.clone()),
        why,
    }
}

/// A job whose comment a cut-off run had posted already.
pub(super) fn posted_before(title: &str, url: &str, comment_url: String) -> Outcome {
    tracing::info!(comment = %comment_url, "posted by an earlier run that was cut off; not posting again");
    Outcome::Posted {
        title: title.to_string(),
        url: url.to_string(),
        comment_url,
        detail: Some("(posted before kai restarted)".into()),
    }
}

/// Why an agent turn gave no answer, for the owner.
pub(super) fn agent_failure(why: &OneShotError) -> String {
    match why {
        OneShotError::Timeout(limit) => format!(
            "timeout: the agent did not finish within {} s",
            limit.as_secs()
        ),
        other => format!("agent error: {other}"),
    }
}
