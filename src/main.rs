use std::io::{Read, Write};
use std::process::ExitCode;

use anyhow::Context;
use clap::Parser;
use kai::chat::hints;
use kai::cli::{Cli, Cmd};
use kai::config::{self, LoadOptions};
use kai::{daemon, eval, files, logging, process, systemd};
use tokio::signal::unix::{signal, SignalKind};
use tokio_util::sync::CancellationToken;

/// `kai run`'s exit status when the configuration is invalid: EX_CONFIG from
/// sysexits.h. The systemd unit lists it in `RestartPreventExitStatus=`
/// (nixos-module/lib.nix), so a broken configuration fails the unit once
/// instead of restarting it every few seconds forever.
const EXIT_CONFIG: u8 = 78;

fn main() -> ExitCode {
    let cli = Cli::parse();
    match dispatch(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kai: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn dispatch(cmd: Cmd) -> anyhow::Result<ExitCode> {
    match cmd {
        Cmd::CheckConfig {
            env_file,
            build_time,
        } => match config::load(&LoadOptions::from_process(env_file, !build_time)) {
            Ok(cfg) => {
                println!(
                    "configuration OK: backend {}, model {}, {} user(s)",
                    cfg.backend,
                    cfg.default_model,
                    cfg.users.len()
                );
                Ok(ExitCode::SUCCESS)
            }
            Err(problems) => {
                eprint!("{problems}");
                Ok(ExitCode::FAILURE)
            }
        },
        Cmd::LoginHints { env_file } => {
            let cfg = config::load(&LoadOptions::from_process(env_file, false))
                .map_err(|p| anyhow::anyhow!("{p}"))?;
            let env: hints::Env = std::env::vars().collect();
            let hints = hints::hints(&cfg, &env);
            print!("{}", hints::render(&hints));
            // Non-zero when someone must log in, so scripts and activation
            // checks can act on it.
            Ok(if hints.iter().all(hints::Hint::ok) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            })
        }
        Cmd::Eval {
            env_file,
            user,
            probes,
            against,
            judge,
            out,
            seed,
            concurrency,
            timeout,
        } => {
            logging::init();
            // No bot token is needed; the accounts are checked as each run starts.
            let cfg = match config::load(&LoadOptions::from_process(env_file, false)) {
                Ok(cfg) => cfg,
                Err(problems) => {
                    eprint!("kai eval: the configuration is invalid:\n{problems}");
                    return Ok(ExitCode::from(2));
                }
            };
            let opts = eval::Options {
                user,
                probes,
                against,
                judge,
                seed,
                concurrency,
                timeout: std::time::Duration::from_secs(timeout),
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            match runtime.block_on(eval::command(cfg, opts, &out)) {
                Ok(complete) => Ok(if complete {
                    ExitCode::SUCCESS
                } else {
                    ExitCode::FAILURE
                }),
                Err(e) => {
                    eprintln!("kai eval: {e}");
                    Ok(ExitCode::from(2))
                }
            }
        }
        Cmd::Reap { pid } => {
            let n = process::tree::kill_tree(pid, process::tree::current_uid());
            eprintln!("kai reap: killed {n} process(es) in the tree of {pid}");
            Ok(ExitCode::SUCCESS)
        }
        Cmd::InboxPut { workspace, name } => helper("inbox-put", || {
            // Read whole first (kai sends at most the download limit), so a
            // larger input is refused rather than stored cut short.
            let mut data = Vec::new();
            std::io::stdin()
                .lock()
                .take(files::MAX_DOWNLOAD + 1)
                .read_to_end(&mut data)
                .map_err(|source| files::workspace::WorkspaceError::Io {
                    what: "cannot read the file from stdin".into(),
                    source,
                })?;
            if data.len() as u64 > files::MAX_DOWNLOAD {
                return Err(files::workspace::WorkspaceError::TooBig {
                    name,
                    size: data.len() as u64,
                    limit: files::MAX_DOWNLOAD,
                });
            }
            files::workspace::inbox_put(&workspace, &name, &mut data.as_slice())
                .map(|p| format!("{}\n", p.display()).into_bytes())
        }),
        Cmd::WorkspaceRead {
            max_bytes,
            workspace,
            path,
        } => helper("workspace-read", || {
            files::workspace::read(&workspace, &path, max_bytes)
        }),
        Cmd::WorkspaceLs { workspace, dir } => helper("workspace-ls", || {
            files::workspace::list(&workspace, &dir).map(String::into_bytes)
        }),
        Cmd::ProjectDir { workspace, name } => helper("project-dir", || match name {
            Some(name) => files::project::make(&workspace, &name)
                .map(|p| format!("{}\n", p.display()).into_bytes()),
            None => files::project::list(&workspace).map(|names| {
                names
                    .iter()
                    .map(|n| format!("{n}\n"))
                    .collect::<String>()
                    .into_bytes()
            }),
        }),
        Cmd::InboxClean { days, workspace } => helper("inbox-clean", || {
            let now = std::time::SystemTime::now();
            let cleaned = files::inbox::clean(&workspace, files::inbox::days(days), now)?;
            for failure in &cleaned.failed {
                eprintln!("kai inbox-clean: could not remove {failure}");
            }
            cleaned
                .count()
                .map(|n| format!("{n}\n").into_bytes())
                .map_err(files::workspace::WorkspaceError::Cleaning)
        }),
        Cmd::Run { env_file } => {
            logging::init();
            let cfg = match config::load(&LoadOptions::from_process(env_file, true)) {
                Ok(cfg) => cfg,
                Err(problems) => {
                    eprint!("kai: refusing to start:\n{problems}");
                    return Ok(ExitCode::from(EXIT_CONFIG));
                }
            };
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(2)
                .enable_all()
                .build()
                .context("starting the async runtime")?;
            let shutdown = CancellationToken::new();
            let served = runtime.block_on(async {
                watch_signals(shutdown.clone())?;
                Ok::<_, std::io::Error>(daemon::run(cfg, shutdown).await)
            });
            match served.context("cannot install signal handlers")? {
                // A rejected token is configuration too: no restart fixes it.
                Err(e @ daemon::DaemonError::TokenRejected(_)) => {
                    eprintln!("kai: {e}");
                    Ok(ExitCode::from(EXIT_CONFIG))
                }
                r => r.map(|()| ExitCode::SUCCESS).map_err(Into::into),
            }
        }
    }
}

/// Cancels `shutdown` on SIGTERM/SIGINT, telling systemd we are stopping;
/// `daemon::run` then winds down. Each chat whose turn that cuts off
/// records it itself (`chat/recovery.rs`), so the next start tells its user.
fn watch_signals(shutdown: CancellationToken) -> std::io::Result<()> {
    let mut term = signal(SignalKind::terminate())?;
    let mut int = signal(SignalKind::interrupt())?;
    tokio::spawn(async move {
        tokio::select! {
            _ = term.recv() => tracing::info!("SIGTERM: shutting down"),
            _ = int.recv() => tracing::info!("SIGINT: shutting down"),
        }
        systemd::notify(&[
            systemd::State::Stopping,
            systemd::State::Status("stopping: interrupting running turns"),
        ]);
        shutdown.cancel();
    });
    Ok(())
}

/// Runs a file helper (run through sudo as an agent's account): its output
/// on stdout, or its refusal as one line on stderr that kai shows the user.
fn helper(
    name: &str,
    op: impl FnOnce() -> Result<Vec<u8>, files::workspace::WorkspaceError>,
) -> anyhow::Result<ExitCode> {
    match op() {
        Ok(bytes) => {
            let mut out = std::io::stdout().lock();
            out.write_all(&bytes).and_then(|()| out.flush())?;
            Ok(ExitCode::SUCCESS)
        }
        Err(e) => {
            eprintln!("kai {name}: {e}");
            Ok(ExitCode::FAILURE)
        }
    }
}
