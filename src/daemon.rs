//! `kai run`: start the GitHub webhook server (when configured) at once,
//! so deliveries are taken even while Telegram is down; connect to
//! Telegram, tell systemd we are ready only once the Bot API answered,
//! serve until told to stop (`main` cancels the token on SIGTERM/SIGINT),
//! then stop every chat and every agent before returning.

use std::sync::atomic::AtomicUsize;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::agent::codex::version::{self, CodexVersion};
use crate::agent::launch::{runs_as_root, LaunchError};
use crate::catalog::Backend;
use crate::chat::{recovery, Shared};
use crate::config::Config;
use crate::process::sudo::{find_sudo, Host};
use crate::retry::Backoff;
use crate::router::Router;
use crate::state::StateStore;
use crate::systemd;
use crate::telegram::address::BotIdentity;
use crate::telegram::api::{Telegram, TelegramError};
use crate::telegram::commands::MENU;

#[derive(Debug, thiserror::Error)]
pub enum DaemonError {
    #[error(transparent)]
    Telegram(#[from] TelegramError),
    #[error("cannot find the kai executable (needed to stop agents run as other users): {0}")]
    SelfPath(std::io::Error),
    #[error("no bot token was loaded")]
    NoToken,
    #[error(transparent)]
    Github(#[from] crate::github::GithubError),
    /// The Bot API answered 401: retrying cannot help, the operator must
    /// fix the token (a configuration error, so systemd does not restart).
    #[error("the Bot API at {0} rejected the bot token (401 Unauthorized): check the token file or credential `telegram-bot-token`")]
    TokenRejected(String),
}

/// Serves until `shutdown` is cancelled (by `main` on SIGTERM/SIGINT, or
/// by a test driving the daemon in-process), then stops every chat, every
/// agent and the GitHub tasks before returning. A chat whose turn that cuts
/// off records it itself (`chat/recovery.rs`), so the next start tells its
/// user.
pub async fn run(cfg: Config, shutdown: CancellationToken) -> Result<(), DaemonError> {
    let store = StateStore::new(&cfg.data_dir);
    let token = cfg.token.clone().ok_or(DaemonError::NoToken)?;
    let tg = Telegram::new(token.expose(), &cfg.telegram_api_url)?;
    let cfg = Arc::new(cfg);
    let host = Host {
        sudo: find_sudo(),
        reaper: std::env::current_exe().map_err(DaemonError::SelfPath)?,
    };
    // GitHub does not redeliver on its own: a delivery refused while
    // Telegram is unreachable would be lost. Summaries and notices wait in
    // the Telegram client's retries and on disk instead.
    let github =
        crate::github::start(Arc::clone(&cfg), host.clone(), tg.clone(), shutdown.clone()).await?;

    systemd::status("connecting to Telegram");
    let bot = match connect(&tg, &cfg.telegram_api_url, &shutdown).await {
        Ok(Some(bot)) => bot,
        Ok(None) => {
            systemd::notify(&[systemd::State::Stopping]);
            stop_github(github).await;
            return Ok(());
        }
        Err(e) => {
            tracing::error!("{e}");
            systemd::status(&format!("stopped: {e}"));
            return Err(e);
        }
    };
    tracing::info!(bot = %bot.username, users = cfg.users.len(), backend = %cfg.backend, "connected to Telegram");
    warn_claude_as_root(&cfg);
    systemd::notify(&[systemd::State::Ready, systemd::State::Status("ready")]);
    // Off the start path: the cleaner runs beside the bot, never before it.
    crate::files::cleaner::start(Arc::clone(&cfg), host.clone(), shutdown.clone());

    // systemd's watchdog runs from READY=1: the check must leave the
    // polling loop (which pings) time to start well within the period.
    let probe_limit =
        systemd::watchdog_interval().map_or(PROBE_LIMIT, |w| (w / 3).min(PROBE_LIMIT));
    let codex = codex_version(&cfg, probe_limit).await;
    let shared = Arc::new(Shared {
        store,
        tg: tg.clone(),
        shutdown: shutdown.clone(),
        active_sessions: AtomicUsize::new(0),
        codex,
        host,
        transcriber: cfg.voice.clone().map(crate::transcribe::Transcriber::new),
        cfg,
        me: bot,
        slots: Default::default(),
    });
    {
        let tg = tg.clone();
        tokio::spawn(async move { tg.set_commands(MENU).await });
    }
    shared.store.migrate();
    recovery::tell_interrupted(&shared).await;

    let mut router = Router::new(Arc::clone(&shared));
    for (key, user) in recovery::queued(&shared) {
        router.open(key, user);
    }
    router.run(systemd::watchdog_interval()).await;
    stop_github(github).await;
    tracing::info!("stopped");
    Ok(())
}

/// Waits (bounded) for the GitHub server, worker and notifier to stop once
/// shutdown was signalled; a job cut off stays pending for the next start.
async fn stop_github(github: Option<tokio::task::JoinHandle<()>>) {
    if let Some(g) = github {
        let _ = tokio::time::timeout(Duration::from_secs(10), g).await;
    }
}

/// `getMe` until it answers (with backoff) or we are told to stop; a
/// rejected token ends it at once, since no retry can fix it. No watchdog
/// pings here: systemd arms the watchdog only after READY=1, and before
/// that `TimeoutStartSec` bounds the wait.
async fn connect(
    tg: &Telegram,
    url: &str,
    shutdown: &CancellationToken,
) -> Result<Option<BotIdentity>, DaemonError> {
    let mut backoff = Backoff::new(Duration::from_millis(500));
    loop {
        let wait = tokio::select! {
            r = tg.get_me() => match r {
                Ok(me) => return Ok(Some(me)),
                Err(e) if e.is_token_rejected() => return Err(DaemonError::TokenRejected(url.to_string())),
                Err(e) => {
                    let wait = backoff.step();
                    tracing::warn!("the Bot API at {url} did not answer getMe ({e}); retrying in {wait:?}");
                    systemd::status(&format!("retrying Telegram ({url}) in {}s: {e}", wait.as_secs()));
                    wait
                }
            },
            _ = shutdown.cancelled() => return Ok(None),
        };
        tokio::select! {
            _ = tokio::time::sleep(wait) => {}
            _ = shutdown.cancelled() => return Ok(None),
        }
    }
}

/// The longest the codex version probe may take at start.
const PROBE_LIMIT: Duration = Duration::from_secs(10);

/// Checks the installed codex when some user is on it.
async fn codex_version(cfg: &Config, limit: Duration) -> Option<CodexVersion> {
    let bin = cfg.codex_bin.as_ref()?;
    if !cfg.users.iter().any(|u| u.backend == Backend::Codex) {
        return None;
    }
    let v = version::check(bin, cfg.codex_version.as_deref(), limit).await;
    tracing::info!("{}", v.status);
    for w in &v.warnings {
        tracing::warn!("{w}");
    }
    Some(v)
}

/// Claude Code will not hold a conversation as root: an operator who runs
/// kai as root with a claude user on the service account (the quick start
/// on a root shell) learns it here, not from the first chat.
fn warn_claude_as_root(cfg: &Config) {
    for u in cfg.users.iter().filter(|u| u.backend == Backend::Claude) {
        if runs_as_root(u.is_service_user, &u.os_user) {
            tracing::warn!(user = %u.name, os_user = %u.os_user,
                "{}; their chats are answered with this until then (reviews, triage and eval \
                 still run, read-only)",
                LaunchError::ClaudeAsRoot(u.os_user.clone()));
        }
    }
}
