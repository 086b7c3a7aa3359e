//! GitHub automation inside `kai run` (docs/design.md, "GitHub automation"):
//! a webhook server that checks, records and answers deliveries at once;
//! one worker that turns them into pull request reviews and issue triages
//! by the owning user's agent, posted on GitHub and summed up in their
//! Telegram chat (`job_summary.rs`); and a notifier (`notice_sender.rs`)
//! that tells the owner what happens in their repositories
//! (`event_notice.rs`). Nothing here knows codex from claude:
//! `agent::launch` does.

pub mod client;
pub(crate) mod deliveries;
pub mod event_notice;
pub mod events;
pub(crate) mod job_summary;
pub mod listener;
pub(crate) mod notice_sender;
pub(crate) mod review;
pub mod signature;
pub mod spool;
pub mod triage;
mod triage_job;
pub mod webhook;
pub(crate) mod worker;

use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::config::Config;
use crate::process::sudo::Host;
use crate::telegram::api::Telegram;

#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("GITHUB_WEBHOOK_LISTEN: cannot listen on {addr}: {source}")]
    Bind {
        addr: std::net::SocketAddr,
        source: std::io::Error,
    },
    #[error("the GitHub webhook secret or token was not loaded")]
    NoSecret,
    #[error(transparent)]
    Deliveries(#[from] deliveries::DeliveriesError),
    #[error(transparent)]
    Client(#[from] client::ClientError),
    #[error(transparent)]
    Spool(#[from] spool::SpoolError),
}

/// Starts the webhook server and the worker when GITHUB_WEBHOOK_LISTEN is
/// set; both stop on `shutdown`. Pending deliveries of an earlier run are
/// picked up at once.
pub async fn start(
    cfg: Arc<Config>,
    host: Host,
    tg: Telegram,
    shutdown: CancellationToken,
) -> Result<Option<JoinHandle<()>>, GithubError> {
    let Some(gh) = cfg.github.clone() else {
        return Ok(None);
    };
    let (Some(secret), Some(token)) = (gh.webhook_secret.clone(), gh.token.clone()) else {
        return Err(GithubError::NoSecret);
    };
    let deliveries = Arc::new(deliveries::Deliveries::open(&cfg.data_dir)?);
    let wake_jobs = Arc::new(Notify::new());
    let wake_notices = Arc::new(Notify::new());
    let intake = Arc::new(webhook::Intake {
        secret,
        deliveries: Arc::clone(&deliveries),
        spool: spool::Spool::open(&cfg.data_dir)?,
        cfg: Arc::clone(&cfg),
        wake_jobs: Arc::clone(&wake_jobs),
        wake_notices: Arc::clone(&wake_notices),
        refusals: crate::logging::Throttle::new(std::time::Duration::from_secs(5)),
    });
    let listener = tokio::net::TcpListener::bind(gh.listen)
        .await
        .map_err(|source| GithubError::Bind {
            addr: gh.listen,
            source,
        })?;
    // The address bound, not the one asked for: with port 0 the kernel
    // picks one, and the log is where an operator (or a test) learns it.
    let bound = listener.local_addr().unwrap_or(gh.listen);
    let cap = listener::own_connection_cap();
    tracing::info!(listen = %bound, api = %gh.api_url, max_connections = cap,
        "GitHub webhook server listening");
    let server = listener::serve(listener, intake, cap, shutdown.clone());
    let client = client::Client::new(&gh.api_url, token)?;
    let notifier = notice_sender::Notifier {
        cfg: Arc::clone(&cfg),
        client: client.clone(),
        deliveries: Arc::clone(&deliveries),
        tg,
        wake: Arc::clone(&wake_notices),
    };
    let worker = worker::Worker {
        client,
        cfg,
        deliveries,
        host,
        wake: wake_jobs,
        tell: wake_notices,
        job_timeout: gh.job_timeout,
    };
    Ok(Some(tokio::spawn(async move {
        let work = tokio::spawn(worker.run(shutdown.clone()));
        let tell = tokio::spawn(notifier.run(shutdown));
        server.await;
        let _ = work.await;
        let _ = tell.await;
    })))
}

/// The user who owns `repo` (a repository belongs to one user), as the
/// webhook, the worker and the notifier each ask.
pub fn owner<'a>(cfg: &'a Config, repo: &str) -> Option<&'a crate::config::User> {
    cfg.users.iter().find(|u| {
        u.github
            .as_ref()
            .is_some_and(|g| g.repos.iter().any(|r| r.eq_ignore_ascii_case(repo)))
    })
}
