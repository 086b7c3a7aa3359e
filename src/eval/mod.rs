//! `kai eval`: does another backend or model answer the questions my team
//! really asks as well as the current one? Every probe is answered twice —
//! arm A with the user's backend and model, arm B with the candidate — each
//! in a fresh, read-only, one-turn run through the user's OS account (the
//! same launcher and sudo rules as chats), then a judge picks the better
//! answer without knowing which arm wrote which.

mod gather;
pub mod judge;
pub(crate) mod probes;
pub(crate) mod report;

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::agent::codex::version::cli_version;
use crate::agent::launch::Launch;
use crate::agent::oneshot::one_turn;
use crate::catalog::{self, Backend};
use crate::config::{Config, User};
use crate::process::sudo::{find_sudo, Host};
use judge::{Arm, Choice};
use report::{ArmInfo, Arms, ProbeResult, Report};

/// What `kai eval` was asked.
#[derive(Debug, Clone)]
pub struct Options {
    pub user: String,
    pub probes: PathBuf,
    /// `BACKEND:MODEL` of arm B; default: the user's backend's default model.
    pub against: Option<String>,
    /// `BACKEND:MODEL` of the judge; default: arm A.
    pub judge: Option<String>,
    pub seed: Option<u64>,
    pub concurrency: usize,
    /// Limit of each agent call (an answer or a verdict).
    pub timeout: Duration,
}

/// Refusals before anything runs (exit 2).
#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error("no user `{user}` in the users file; its users: {known}")]
    NoUser { user: String, known: String },
    #[error("{0}")]
    Side(String),
    #[error("cannot read the probe file {path}: {source}", path = .path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot find the kai executable (needed to stop agents run as other users): {0}")]
    SelfPath(std::io::Error),
    #[error("cannot write the report to {path}: {source}", path = .path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the probe file {path} is not valid:\n{}", .errors.iter().map(|e| format!("  {e}")).collect::<Vec<_>>().join("\n"), path = .path.display())]
    Probes {
        path: PathBuf,
        errors: Vec<probes::ProbeError>,
    },
}

/// `kai eval` from start to finish: runs until done or Ctrl-C, writes the
/// report to `out`, prints the table. `Ok(true)` when every probe was
/// judged.
pub async fn command(cfg: Config, opts: Options, out: &Path) -> Result<bool, EvalError> {
    let host = Host {
        sudo: find_sudo(),
        reaper: std::env::current_exe().map_err(EvalError::SelfPath)?,
    };
    let cancel = CancellationToken::new();
    let on_ctrl_c = cancel.clone();
    tokio::spawn(async move {
        if tokio::signal::ctrl_c().await.is_ok() {
            eprintln!("kai eval: interrupted; writing the partial report");
            on_ctrl_c.cancel();
        }
    });
    let outcome = run(Arc::new(cfg), host, opts, cancel).await?;
    let write = |source| EvalError::Write {
        path: out.to_path_buf(),
        source,
    };
    let json = serde_json::to_string_pretty(&outcome.report).map_err(|e| write(e.into()))?;
    std::fs::write(out, json + "\n").map_err(write)?;
    print!("{}", outcome.report.table(outcome.asked));
    println!("\nreport: {}", out.display());
    Ok(outcome.complete && outcome.report.totals.errors == 0)
}

/// One side of the comparison, or the judge: a backend, its model, its CLI.
#[derive(Debug, Clone)]
struct Side {
    backend: Backend,
    model: String,
    bin: PathBuf,
}

impl Side {
    /// `BACKEND:MODEL`, checked against the catalog and the configured
    /// binaries (a codex-only install has no claude arm and no claude judge).
    fn parse(spec: &str, what: &str, cfg: &Config) -> Result<Side, EvalError> {
        let (b, model) = spec.split_once(':').ok_or_else(|| {
            EvalError::Side(format!(
                "{what} `{spec}`: write BACKEND:MODEL, e.g. codex:{}",
                catalog::default_model(Backend::Codex)
            ))
        })?;
        let backend: Backend = b
            .parse()
            .map_err(|e| EvalError::Side(format!("{what} `{spec}`: {e}")))?;
        catalog::validate(backend, model)
            .map_err(|e| EvalError::Side(format!("{what} `{spec}`: {e}")))?;
        Side::of(backend, model, what, cfg)
    }

    fn of(backend: Backend, model: &str, what: &str, cfg: &Config) -> Result<Side, EvalError> {
        let key = match backend {
            Backend::Codex => "CODEX_BIN",
            Backend::Claude => "CLAUDE_BIN",
        };
        let bin = cfg.agent_bin(backend).ok_or_else(|| {
            EvalError::Side(format!(
                "{what} is on {backend}, but this install sets no {key}: it can only run the backends it is configured for"
            ))
        })?;
        Ok(Side {
            backend,
            model: model.to_string(),
            bin: bin.to_path_buf(),
        })
    }

    fn launch(&self, user: &User, cfg: &Config) -> Launch {
        Launch::scratch(cfg, user, self.backend, &self.bin, &self.model)
    }

    async fn info(&self) -> ArmInfo {
        let cli_version = cli_version(&self.bin, Duration::from_secs(15))
            .await
            .unwrap_or_else(|| "unknown".into());
        ArmInfo {
            backend: self.backend.to_string(),
            model: self.model.clone(),
            cli_version,
        }
    }
}

/// The report, and whether every probe was run (false after Ctrl-C).
pub struct Outcome {
    pub report: Report,
    pub complete: bool,
    pub asked: usize,
}

/// Checks everything, then runs the probes (at most `concurrency` at once)
/// until done or `cancel`.
pub async fn run(
    cfg: Arc<Config>,
    host: Host,
    opts: Options,
    cancel: CancellationToken,
) -> Result<Outcome, EvalError> {
    let user = cfg
        .users
        .iter()
        .find(|u| u.name == opts.user)
        .cloned()
        .ok_or_else(|| EvalError::NoUser {
            user: opts.user.clone(),
            known: cfg
                .users
                .iter()
                .map(|u| u.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        })?;
    let a = Side::of(user.backend, &user.model, "arm a (the user's)", &cfg)?;
    let b = match &opts.against {
        Some(spec) => Side::parse(spec, "--against", &cfg)?,
        None => Side::of(
            user.backend,
            catalog::default_model(user.backend),
            "arm b",
            &cfg,
        )?,
    };
    let judge = match &opts.judge {
        Some(spec) => Side::parse(spec, "--judge", &cfg)?,
        None => a.clone(),
    };
    let text = std::fs::read_to_string(&opts.probes).map_err(|source| EvalError::Read {
        path: opts.probes.clone(),
        source,
    })?;
    let probes = probes::parse(&text).map_err(|errors| EvalError::Probes {
        path: opts.probes.clone(),
        errors,
    })?;
    let seed = opts.seed.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0)
    });
    let arms = Arms {
        a: a.info().await,
        b: b.info().await,
    };
    let judge_info = judge.info().await;

    let limit = Arc::new(Semaphore::new(opts.concurrency.max(1)));
    let shared = Arc::new((cfg, host, user, a, b, judge, opts.timeout));
    let mut tasks = JoinSet::new();
    let mut started = HashMap::new();
    for (index, probe) in probes.iter().cloned().enumerate() {
        let (limit, shared) = (Arc::clone(&limit), Arc::clone(&shared));
        let (id, first) = (probe.id.clone(), judge::shown_first(seed, index));
        let task = tasks.spawn(async move {
            let _slot = limit.acquire_owned().await;
            let (cfg, host, user, a, b, judge, timeout) = &*shared;
            let result = one_probe(cfg, host, user, [a, b, judge], &probe, first, *timeout).await;
            (index, result)
        });
        started.insert(task.id(), (index, id, first));
    }
    let (mut done, complete) = gather::collect(tasks, started, probes.len(), &cancel).await;
    done.sort_by_key(|(i, _)| *i);
    let results = done.into_iter().map(|(_, r)| r).collect();
    Ok(Outcome {
        report: Report::new(arms, judge_info, seed, results),
        complete,
        asked: probes.len(),
    })
}

/// Both answers and the verdict for one probe; a failure anywhere is this
/// probe's error, never the run's.
async fn one_probe(
    cfg: &Config,
    host: &Host,
    user: &User,
    [a, b, judge]: [&Side; 3],
    probe: &probes::Probe,
    first: Arm,
    timeout: Duration,
) -> ProbeResult {
    let ask = |side: &Side, prompt: String| {
        let l = side.launch(user, cfg);
        async move {
            one_turn(host, &l, &prompt, timeout)
                .await
                .map_err(|e| e.to_string())
        }
    };
    let (answer_a, answer_b) = tokio::join!(
        ask(a, probe.question.clone()),
        ask(b, probe.question.clone())
    );
    let mut result = ProbeResult {
        id: probe.id.clone(),
        answer_a: answer_a.as_ref().ok().cloned(),
        answer_b: answer_b.as_ref().ok().cloned(),
        shown_first: first,
        choice: Choice::Error,
        reasoning: String::new(),
    };
    let (ta, tb) = match (answer_a, answer_b) {
        (Ok(ta), Ok(tb)) => (ta, tb),
        (Err(e), _) => {
            result.reasoning = format!("arm a failed: {e}");
            return result;
        }
        (_, Err(e)) => {
            result.reasoning = format!("arm b failed: {e}");
            return result;
        }
    };
    let (one, two) = match first {
        Arm::A => (&ta, &tb),
        Arm::B => (&tb, &ta),
    };
    match ask(judge, judge::prompt(probe, one, two)).await {
        Err(e) => result.reasoning = format!("the judge failed: {e}"),
        Ok(text) => match judge::verdict(&text, first) {
            Ok((choice, reason)) => {
                result.choice = choice;
                result.reasoning = reason;
            }
            Err(e) => result.reasoning = e,
        },
    }
    result
}
