//! The webhook server: `POST /github/webhook` and `GET /healthz`. A
//! delivery is answered as soon as it is checked and written down; the
//! review, triage or notice runs afterwards, so GitHub's 10-second limit is never at the
//! mercy of an agent. The signature is checked before anything else
//! (headers, JSON, the disk) looks at the request.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use tokio::sync::Notify;

use super::deliveries::{Accepted, Deliveries, Job, JobKind, Work};
use super::events::{self, Happening, IssueAction, PrAction};
use super::signature;
use crate::config::token::Secret;
use crate::config::Config;

/// GitHub sends at most 25 MiB; anything bigger is answered 413.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;

/// What the handlers share.
pub struct Intake {
    pub secret: Secret,
    pub deliveries: Arc<Deliveries>,
    /// Who owns which repository, and what they want of it.
    pub cfg: Arc<Config>,
    /// Wakes the job worker when a job was accepted.
    pub wake_jobs: Arc<Notify>,
    /// Wakes the notifier when a notice was accepted.
    pub wake_notices: Arc<Notify>,
}

pub fn router(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/github/webhook", post(webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(intake)
}

async fn webhook(
    State(intake): State<Arc<Intake>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, &'static str) {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if !signature::verify(&intake.secret, header("x-hub-signature-256"), &body) {
        tracing::warn!("refused a webhook delivery with a missing or wrong signature");
        return (StatusCode::UNAUTHORIZED, "bad signature\n");
    }
    let event = header("x-github-event").unwrap_or_default().to_string();
    let delivery = header("x-github-delivery").unwrap_or_default().to_string();
    if event == "ping" {
        tracing::info!(delivery, "GitHub webhook ping");
        return (StatusCode::OK, "pong\n");
    }
    let intake2 = Arc::clone(&intake);
    // JSON of up to 25 MiB and an fsync: off the async threads.
    let outcome =
        tokio::task::spawn_blocking(move || accept(&intake2, &event, &delivery, &body)).await;
    match outcome {
        Ok(Answer::Accepted(work)) => {
            if work.job.is_some() {
                intake.wake_jobs.notify_one();
            }
            if work.notice.is_some() {
                intake.wake_notices.notify_one();
            }
            (StatusCode::ACCEPTED, "accepted\n")
        }
        Ok(Answer::Duplicate) => (StatusCode::OK, "already accepted\n"),
        Ok(Answer::Ignored) => (StatusCode::ACCEPTED, "ignored\n"),
        Ok(Answer::Bad(why)) => {
            tracing::warn!("refused a webhook delivery: {why}");
            (StatusCode::BAD_REQUEST, "bad delivery\n")
        }
        Ok(Answer::Failed(why)) => {
            tracing::error!("could not record a webhook delivery: {why}");
            (StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n")
        }
        Err(e) => {
            tracing::error!("the webhook handler failed: {e}");
            (StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n")
        }
    }
}

enum Answer {
    /// Recorded; says which halves there are to wake.
    Accepted(Work),
    Duplicate,
    Ignored,
    Bad(String),
    Failed(String),
}

/// Decides about one signed delivery and records it when it means work.
fn accept(intake: &Intake, event: &str, delivery: &str, body: &[u8]) -> Answer {
    let e = match events::parse(event, body) {
        Ok(Some(e)) => e,
        Ok(None) => {
            tracing::debug!(
                event,
                delivery,
                "ignored a GitHub event or action kai does not handle"
            );
            return Answer::Ignored;
        }
        Err(why) => return Answer::Bad(why),
    };
    let Some((user, owner)) =
        super::owner(&intake.cfg, &e.repo).and_then(|u| Some((u, u.github.as_ref()?)))
    else {
        tracing::info!(
            repo = e.repo,
            delivery,
            "ignored an event for a repository nobody owns"
        );
        return Answer::Ignored;
    };
    let job = |kind, number, head_sha| Job {
        kind,
        repo: e.repo.clone(),
        number,
        head_sha,
    };
    let job = match &e.what {
        Happening::PullRequest {
            action: PrAction::Opened | PrAction::Reopened | PrAction::Synchronize,
            number,
            head_sha,
            ..
        } if owner.review => Some(job(JobKind::Review, *number, Some(head_sha.clone()))),
        Happening::Issue {
            action: IssueAction::Opened,
            number,
            ..
        } if owner.triage => Some(job(JobKind::Triage, *number, None)),
        _ => None,
    };
    let notice = (owner.notify && super::event_notice::is_told(&e.what)).then(|| e.clone());
    if job.is_none() && notice.is_none() {
        tracing::debug!(repo = e.repo, delivery, user = %user.name, "nothing to do for this event");
        return Answer::Ignored;
    }
    let work = Work { job, notice };
    match intake.deliveries.accept(delivery, work.clone()) {
        Ok(Accepted::New) => {
            tracing::info!(repo = e.repo, event, delivery, user = %user.name,
                job = ?work.job.as_ref().map(|j| j.kind), notice = work.notice.is_some(),
                "accepted a delivery");
            Answer::Accepted(work)
        }
        Ok(Accepted::Duplicate) => {
            tracing::info!(delivery, "a delivery kai already accepted came again");
            Answer::Duplicate
        }
        Err(super::deliveries::DeliveriesError::BadId(id)) => {
            Answer::Bad(format!("X-GitHub-Delivery `{id}`"))
        }
        Err(e) => Answer::Failed(e.to_string()),
    }
}
