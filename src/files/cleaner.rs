//! The inbox cleaner: a background task the daemon starts after READY that
//! cleans every configured user's inboxes (`inbox.rs`, as their account
//! through `access.rs`) right away and then once a day, until shutdown. A
//! failure is logged and retried the next day; it never stops the daemon.

use std::sync::Arc;

use tokio_util::sync::CancellationToken;

use super::access::UserFiles;
use crate::config::Config;
use crate::process::sudo::Host;

/// Starts the cleaner unless `INBOX_RETENTION_DAYS` is 0 (never).
pub fn start(cfg: Arc<Config>, host: Host, shutdown: CancellationToken) {
    let days = cfg.inbox_retention_days;
    if days == 0 {
        tracing::info!("INBOX_RETENTION_DAYS=0: the inboxes are never cleaned");
        return;
    }
    tokio::spawn(async move {
        loop {
            clean_all(&cfg, &host, days).await;
            tokio::select! {
                _ = tokio::time::sleep(super::inbox::DAY) => {}
                _ = shutdown.cancelled() => return,
            }
        }
    });
}

/// One round over every user, one at a time (a helper each: cheap, and
/// nothing else waits on it).
async fn clean_all(cfg: &Config, host: &Host, days: u64) {
    for user in &cfg.users {
        match UserFiles::new(host, user).clean_inboxes(days).await {
            Ok(0) => {
                tracing::debug!(user = %user.name, "inbox cleaning: nothing older than {days} days")
            }
            Ok(n) => tracing::info!(user = %user.name, os_user = %user.os_user,
                "inbox cleaning: removed {n} file(s) older than {days} days"),
            Err(e) => tracing::warn!(user = %user.name, os_user = %user.os_user,
                "inbox cleaning failed (tried again tomorrow): {e}"),
        }
    }
}
