//! GitHub automation inside `kai run` (docs/design.md, "GitHub automation"):
//! a webhook server that checks, records and answers deliveries at once,
//! and one worker that turns them into pull request reviews by the owning
//! user's agent, posted as a comment and summed up in their Telegram chat.
//! Nothing here knows codex from claude: `agent::launch` does.

pub mod client;
pub mod deliveries;
pub mod notify;
pub mod review;
pub mod signature;
pub mod triage;
pub mod webhook;
pub mod worker;

use std::collections::HashMap;
use std::sync::Arc;

use tokio::sync::Notify;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use crate::agent::launch::Host;
use crate::config::Config;
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
    let wake = Arc::new(Notify::new());
    let reviewed: HashMap<String, String> = cfg
        .users
        .iter()
        .filter_map(|u| Some((u, u.github.as_ref().filter(|g| g.review)?)))
        .flat_map(|(u, g)| {
            g.repos
                .iter()
                .map(|r| (r.to_ascii_lowercase(), u.name.clone()))
        })
        .collect();
    let intake = Arc::new(webhook::Intake {
        secret,
        deliveries: Arc::clone(&deliveries),
        reviewed,
        wake: Arc::clone(&wake),
    });
    let listener = tokio::net::TcpListener::bind(gh.listen)
        .await
        .map_err(|source| GithubError::Bind {
            addr: gh.listen,
            source,
        })?;
    tracing::info!(listen = %gh.listen, api = %gh.api_url, "GitHub webhook server listening");
    let server = {
        let shutdown = shutdown.clone();
        axum::serve(listener, webhook::router(intake))
            .with_graceful_shutdown(async move { shutdown.cancelled().await })
    };
    let worker = worker::Worker {
        client: client::Client::new(&gh.api_url, token)?,
        cfg,
        deliveries,
        host,
        tg,
        wake,
        job_timeout: gh.job_timeout,
    };
    Ok(Some(tokio::spawn(async move {
        let work = tokio::spawn(worker.run(shutdown));
        if let Err(e) = server.await {
            tracing::error!("the GitHub webhook server stopped: {e}");
        }
        let _ = work.await;
    })))
}
