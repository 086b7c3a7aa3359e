//! What is kept of one accepted delivery: the job it asks for, the notice
//! for the owner, and for each of them whether it is done — the JSON of one
//! file in the queue — and the views the worker and the notifier take of
//! the pending ones.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

use crate::github::events::Event;

/// What a delivery asks for. Only what the job needs is kept, never the
/// whole payload (GitHub sends up to 25 MiB).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Job {
    pub kind: JobKind,
    /// `owner/name`.
    pub repo: String,
    pub number: u64,
    /// The head commit the event was about (a review's newest head).
    #[serde(default)]
    pub head_sha: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum JobKind {
    Review,
    Triage,
}

/// What one delivery asks of kai: a job, a notice, or both.
#[derive(Debug, Clone)]
pub struct Work {
    pub job: Option<Job>,
    pub notice: Option<Event>,
}

/// One delivery's file. Every field but the first two defaults, so records
/// written by an older kai (a bare job, before notices) still read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(super) struct Record {
    id: String,
    /// Arrival order (nanoseconds since the epoch, made unique).
    seq: u64,
    /// The agent job the delivery asks for, if any.
    #[serde(default)]
    job: Option<Job>,
    /// `None` while the job is pending; what became of it once done.
    #[serde(default)]
    outcome: Option<String>,
    /// What the owner is to be told, if anything.
    #[serde(default)]
    notice: Option<Event>,
    /// `None` while the notice is pending; what became of it once done.
    #[serde(default)]
    told: Option<String>,
    /// What the owner is told about the finished job.
    #[serde(default)]
    summary: Option<String>,
    /// `None` while the summary is pending; what became of it once done.
    #[serde(default)]
    summary_told: Option<String>,
}

impl Record {
    /// A delivery just accepted: nothing of it done yet.
    pub(super) fn new(id: &str, seq: u64, work: Work) -> Self {
        Record {
            id: id.to_string(),
            seq,
            job: work.job,
            outcome: None,
            notice: work.notice,
            told: None,
            summary: None,
            summary_told: None,
        }
    }

    /// Its job is done, `outcome` saying how; `summary`, if any, is what
    /// its owner is to be told of it.
    pub(super) fn finish(&mut self, outcome: &str, summary: Option<String>) {
        self.outcome = Some(outcome.to_string());
        if summary.is_some() {
            self.summary = summary;
        }
    }

    /// `tell` was told (or given up on), `outcome` saying how.
    pub(super) fn mark_told(&mut self, tell: &Tell, outcome: &str) {
        let outcome = Some(outcome.to_string());
        match tell {
            Tell::Event(_) => self.told = outcome,
            Tell::Summary { .. } => self.summary_told = outcome,
        }
    }

    /// Where it stands in arrival order (ties, which `seq` prevents within
    /// one run, broken by id).
    pub(super) fn arrival(&self) -> (u64, &str) {
        (self.seq, &self.id)
    }

    #[cfg(test)]
    pub(super) fn outcome(&self) -> Option<&str> {
        self.outcome.as_deref()
    }

    #[cfg(test)]
    pub(super) fn told(&self) -> Option<&str> {
        self.told.as_deref()
    }

    fn job_pending(&self) -> bool {
        self.job.is_some() && self.outcome.is_none()
    }

    fn notice_pending(&self) -> bool {
        self.notice.is_some() && self.told.is_none()
    }

    fn summary_pending(&self) -> bool {
        self.summary.is_some() && self.summary_told.is_none()
    }

    /// Nothing of it waits any more: it is kept only to know its id.
    pub(super) fn all_done(&self) -> bool {
        !self.job_pending() && !self.notice_pending() && !self.summary_pending()
    }

    /// Its job, if that waits to run.
    pub(super) fn pending_job(self) -> Option<Pending> {
        if !self.job_pending() {
            return None;
        }
        Some(Pending {
            job: self.job?,
            id: self.id,
            seq: self.seq,
        })
    }

    /// What of it waits to be told: the event, then the job's summary.
    pub(super) fn pending_notices(&self) -> impl Iterator<Item = PendingNotice> + '_ {
        let event = self
            .notice
            .as_ref()
            .filter(|_| self.notice_pending())
            .map(|e| Tell::Event(e.clone()));
        let summary = match (&self.job, &self.summary) {
            (Some(job), Some(text)) if self.summary_pending() => Some(Tell::Summary {
                repo: job.repo.clone(),
                text: text.clone(),
            }),
            _ => None,
        };
        event.into_iter().chain(summary).map(|tell| PendingNotice {
            id: self.id.clone(),
            tell,
        })
    }
}

/// A delivery whose job waits to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pending {
    pub id: String,
    pub seq: u64,
    pub job: Job,
}

impl Pending {
    /// How long ago the delivery arrived.
    pub fn age(&self) -> Duration {
        Duration::from_nanos(now_nanos().saturating_sub(self.seq))
    }
}

/// Something of a delivery that waits to be told to the repo's owner.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingNotice {
    pub id: String,
    pub tell: Tell,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Tell {
    /// An event in the repository (if its owner wants notices).
    Event(Event),
    /// How the delivery's job ended (always told).
    Summary { repo: String, text: String },
}

/// The clock as a delivery's `seq` counts it.
pub(super) fn now_nanos() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_nanos() as u64)
        .unwrap_or(0)
}
