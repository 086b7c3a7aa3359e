//! The webhook server: `POST /github/webhook` and `GET /healthz`. A
//! delivery is answered as soon as it is checked and written down; the
//! review, triage or notice runs afterwards, so GitHub's 10-second limit is
//! never at the mercy of an agent. The port faces the internet: what a
//! request costs kai before its signature matched is bounded (design.md,
//! "The webhook listener's limits"). Its headers are judged first (method,
//! path, the signature's shape, `Content-Length`, the event and delivery
//! names); then its body streams through the signature check into the
//! spool, and only a signed body is parsed or recorded. The connections
//! themselves are `listener.rs`'s.

use std::sync::Arc;
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Bytes, Incoming};
use hyper::header::{HeaderMap, CONTENT_LENGTH, RETRY_AFTER};
use hyper::{Method, Request, Response, StatusCode};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::deliveries::{self, Accepted, Deliveries, Job, JobKind, Work};
use super::events::{self, Happening, IssueAction, PrAction};
use super::signature::Check;
use super::spool::{Refused, Spool};
use crate::config::token::Secret;
use crate::config::Config;
use crate::logging::Throttle;

/// GitHub sends at most 25 MiB; anything bigger is answered 413.
pub const BODY_LIMIT: u64 = 25 * 1024 * 1024;

/// How long a body may take to arrive once its headers did. GitHub itself
/// gives up on a delivery after 10 s; a sender slower than this (for a
/// 25 MiB body, 1.25 MiB/s) is dropped.
pub const BODY_TIMEOUT: Duration = Duration::from_secs(20);

/// What the handlers share.
pub struct Intake {
    pub secret: Secret,
    pub deliveries: Arc<Deliveries>,
    /// Where bodies wait while their signature is checked.
    pub spool: Spool,
    /// Who owns which repository, and what they want of it.
    pub cfg: Arc<Config>,
    /// Wakes the job worker when a job was accepted.
    pub wake_jobs: Arc<Notify>,
    /// Wakes the notifier when a notice was accepted.
    pub wake_notices: Arc<Notify>,
    /// Refusals are logged, but a flood of them is not a flood of lines.
    pub refusals: Throttle,
}

pub type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, text: &'static str) -> Reply {
    let mut r = Response::new(Full::new(Bytes::from_static(text.as_bytes())));
    *r.status_mut() = status;
    r
}

/// Answers one request; the listener calls it once its headers are in.
pub async fn handle(intake: &Intake, req: Request<Incoming>) -> Reply {
    match (req.method(), req.uri().path()) {
        (&Method::GET, "/healthz") => return reply(StatusCode::OK, "ok\n"),
        (&Method::POST, "/github/webhook") => {}
        (_, "/healthz" | "/github/webhook") => {
            return reply(StatusCode::METHOD_NOT_ALLOWED, "method not allowed\n")
        }
        _ => return reply(StatusCode::NOT_FOUND, "not found\n"),
    }
    let head = match Head::judge(&intake.secret, req.headers()) {
        Ok(head) => head,
        Err((status, why)) => {
            refused(intake, status, why);
            return reply(status, why);
        }
    };
    let Some(room) = intake.spool.reserve(head.len) else {
        refused(
            intake,
            StatusCode::SERVICE_UNAVAILABLE,
            "the spool budget is spent (too many bodies arriving at once)",
        );
        let mut r = reply(StatusCode::SERVICE_UNAVAILABLE, "busy, try again\n");
        r.headers_mut()
            .insert(RETRY_AFTER, hyper::header::HeaderValue::from_static("10"));
        return r;
    };
    let deadline = Instant::now() + BODY_TIMEOUT;
    let received = intake
        .spool
        .receive(req.into_body(), head.len, head.check, deadline, &room)
        .await;
    drop(room);
    let body = match received {
        Ok(body) => body,
        Err(Refused::Forged) => {
            refused(intake, StatusCode::UNAUTHORIZED, "a wrong signature");
            return reply(StatusCode::UNAUTHORIZED, "bad signature\n");
        }
        Err(Refused::TooSlow) => {
            refused(
                intake,
                StatusCode::REQUEST_TIMEOUT,
                "its body came too slowly",
            );
            return reply(StatusCode::REQUEST_TIMEOUT, "body too slow\n");
        }
        Err(Refused::Broken(why)) => {
            tracing::debug!("a webhook body did not arrive whole: {why}");
            return reply(StatusCode::BAD_REQUEST, "incomplete body\n");
        }
        Err(Refused::Io(e)) => {
            tracing::error!("could not spool a webhook body: {e}");
            return reply(StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n");
        }
    };
    let (event, delivery) = (head.event, head.delivery);
    if event == "ping" {
        tracing::info!(delivery, "GitHub webhook ping");
        return reply(StatusCode::OK, "pong\n");
    }
    answer(intake, event, delivery, body).await
}

/// Logs a refusal, at most a line every few seconds however many come.
fn refused(intake: &Intake, status: StatusCode, why: &str) {
    if let Some(more) = intake.refusals.allow() {
        tracing::warn!(
            status = status.as_u16(),
            "refused a webhook request: {why} ({more} more refused since the last such line)"
        );
    }
}

/// What the headers promise, judged before a byte of the body is read.
struct Head {
    check: Check,
    len: u64,
    event: String,
    delivery: String,
}

impl Head {
    fn judge(secret: &Secret, headers: &HeaderMap) -> Result<Head, (StatusCode, &'static str)> {
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let check = Check::new(secret, header("x-hub-signature-256"))
            .ok_or((StatusCode::UNAUTHORIZED, "bad signature\n"))?;
        let len = headers
            .get(CONTENT_LENGTH)
            .ok_or((StatusCode::LENGTH_REQUIRED, "Content-Length required\n"))?
            .to_str()
            .ok()
            .and_then(|v| v.parse::<u64>().ok())
            .ok_or((StatusCode::BAD_REQUEST, "bad Content-Length\n"))?;
        if len > BODY_LIMIT {
            return Err((StatusCode::PAYLOAD_TOO_LARGE, "body over 25 MiB\n"));
        }
        let event = header("x-github-event")
            .filter(|e| is_event_name(e))
            .ok_or((StatusCode::BAD_REQUEST, "bad X-GitHub-Event\n"))?;
        let delivery = header("x-github-delivery")
            .filter(|d| deliveries::is_delivery_id(d))
            .ok_or((StatusCode::BAD_REQUEST, "bad X-GitHub-Delivery\n"))?;
        Ok(Head {
            check,
            len,
            event: event.to_string(),
            delivery: delivery.to_string(),
        })
    }
}

/// GitHub's event names: `pull_request`, `issue_comment`, `ping`, …
fn is_event_name(e: &str) -> bool {
    (1..=64).contains(&e.len()) && e.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

/// Decides about a signed delivery (off the async threads: JSON of up to
/// 25 MiB and an fsync) and wakes whoever has work.
async fn answer(intake: &Intake, event: String, delivery: String, body: Vec<u8>) -> Reply {
    let cfg = Arc::clone(&intake.cfg);
    let deliveries = Arc::clone(&intake.deliveries);
    let outcome =
        tokio::task::spawn_blocking(move || accept(&cfg, &deliveries, &event, &delivery, &body))
            .await;
    match outcome {
        Ok(Answer::Accepted(work)) => {
            if work.job.is_some() {
                intake.wake_jobs.notify_one();
            }
            if work.notice.is_some() {
                intake.wake_notices.notify_one();
            }
            reply(StatusCode::ACCEPTED, "accepted\n")
        }
        Ok(Answer::Duplicate) => reply(StatusCode::OK, "already accepted\n"),
        Ok(Answer::Ignored) => reply(StatusCode::ACCEPTED, "ignored\n"),
        Ok(Answer::Bad(why)) => {
            tracing::warn!("refused a webhook delivery: {why}");
            reply(StatusCode::BAD_REQUEST, "bad delivery\n")
        }
        Ok(Answer::Failed(why)) => {
            tracing::error!("could not record a webhook delivery: {why}");
            reply(StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n")
        }
        Err(e) => {
            tracing::error!("the webhook handler failed: {e}");
            reply(StatusCode::INTERNAL_SERVER_ERROR, "not recorded\n")
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
fn accept(
    cfg: &Config,
    deliveries: &Deliveries,
    event: &str,
    delivery: &str,
    body: &[u8],
) -> Answer {
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
        super::owner(cfg, &e.repo).and_then(|u| Some((u, u.github.as_ref()?)))
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
    match deliveries.accept(delivery, work.clone()) {
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
