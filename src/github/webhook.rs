//! The webhook server: `POST /github/webhook` and `GET /healthz`. A
//! delivery is answered as soon as it is checked and written down; the
//! review runs afterwards, so GitHub's 10-second limit is never at the
//! mercy of an agent. The signature is checked before anything else
//! (headers, JSON, the disk) looks at the request.

use std::collections::HashMap;
use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{DefaultBodyLimit, State};
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::Router;
use serde::Deserialize;
use tokio::sync::Notify;

use super::deliveries::{Accepted, Deliveries, Job, JobKind};
use super::signature::{self, Secret};

/// GitHub sends at most 25 MiB; anything bigger is answered 413.
pub const BODY_LIMIT: usize = 25 * 1024 * 1024;

/// What the handlers share.
pub struct Intake {
    pub secret: Secret,
    pub deliveries: Arc<Deliveries>,
    /// Lower-cased `owner/name` of each repo whose PRs are reviewed.
    pub reviewed: HashMap<String, String>,
    /// Wakes the worker when a delivery was accepted.
    pub wake: Arc<Notify>,
}

pub fn router(intake: Arc<Intake>) -> Router {
    Router::new()
        .route("/github/webhook", post(webhook))
        .route("/healthz", get(|| async { "ok\n" }))
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .with_state(intake)
}

/// The parts of a `pull_request` payload kai reads; serde skips the rest.
#[derive(Deserialize)]
struct PullRequestEvent {
    action: String,
    repository: Repository,
    pull_request: PullRequestRef,
}

#[derive(Deserialize)]
struct Repository {
    full_name: String,
}

#[derive(Deserialize)]
struct PullRequestRef {
    number: u64,
    head: Head,
}

#[derive(Deserialize)]
struct Head {
    sha: String,
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
        Ok(Answer::Accepted) => {
            intake.wake.notify_one();
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
    Accepted,
    Duplicate,
    Ignored,
    Bad(String),
    Failed(String),
}

/// Decides about one signed delivery and records it when it means work.
fn accept(intake: &Intake, event: &str, delivery: &str, body: &[u8]) -> Answer {
    if event != "pull_request" {
        tracing::debug!(
            event,
            delivery,
            "ignored a GitHub event kai does not handle"
        );
        return Answer::Ignored;
    }
    let e: PullRequestEvent = match serde_json::from_slice(body) {
        Ok(e) => e,
        Err(err) => return Answer::Bad(format!("pull_request payload: {err}")),
    };
    if !matches!(e.action.as_str(), "opened" | "reopened" | "synchronize") {
        tracing::debug!(action = e.action, delivery, "ignored a pull_request action");
        return Answer::Ignored;
    }
    let repo = e.repository.full_name;
    let Some(owner) = intake.reviewed.get(&repo.to_ascii_lowercase()) else {
        tracing::info!(
            repo,
            delivery,
            "ignored an event for a repository nobody reviews"
        );
        return Answer::Ignored;
    };
    let job = Job {
        kind: JobKind::Review,
        repo: repo.clone(),
        number: e.pull_request.number,
        head_sha: Some(e.pull_request.head.sha),
    };
    match intake.deliveries.accept(delivery, job) {
        Ok(Accepted::New) => {
            tracing::info!(repo, pr = e.pull_request.number, delivery, user = %owner, "accepted a review");
            Answer::Accepted
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
