//! The command line. `--help` is the operator's first documentation, so it
//! lists every configuration key and where the token may come from.

use std::path::PathBuf;

use clap::{Parser, Subcommand};

use crate::config::KEYS;

fn keys_help() -> String {
    let mut s = String::from(
        "Configuration comes from the environment; --env-file (or KAI_ENV_FILE) loads a file \
         first, and a variable already in the environment wins over the file.\n\nKeys:\n",
    );
    for (k, v) in KEYS {
        s.push_str(&format!("  {k:<24} {v}\n"));
    }
    s.push_str(
        "\nThe bot token is read from TELEGRAM_BOT_TOKEN_FILE, else the systemd credential \
         `telegram-bot-token` ($CREDENTIALS_DIRECTORY), else TELEGRAM_BOT_TOKEN (development).\n\
         With GITHUB_WEBHOOK_LISTEN set, kai serves POST /github/webhook and GET /healthz there \
         (put it behind a TLS reverse proxy) and reviews the pull requests of the repositories \
         listed in users' `github` field; it then needs the webhook secret (GITHUB_WEBHOOK_SECRET_FILE, \
         else the credential `github-webhook-secret`, else GITHUB_WEBHOOK_SECRET) and a GitHub token \
         (GITHUB_TOKEN_FILE, else the credential `github-token`, else GITHUB_TOKEN).\n\
         Logging: KAI_LOG or RUST_LOG (e.g. `info`, `kai=debug`); journald under systemd.",
    );
    s
}

#[derive(Debug, Parser)]
#[command(
    name = "kai",
    version,
    about = "Telegram gateway to coding agents (Codex CLI, Claude Code), each user under their own OS account",
    after_long_help = keys_help()
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Cmd,
}

#[derive(Debug, Subcommand)]
pub enum Cmd {
    /// Run the bot (as a systemd Type=notify service or in a terminal).
    #[command(after_long_help = keys_help())]
    Run {
        /// Env file to load before the environment (systemd EnvironmentFile format).
        #[arg(long, env = "KAI_ENV_FILE", value_name = "PATH")]
        env_file: Option<PathBuf>,
    },
    /// Validate the configuration like `run` would, print every problem, exit non-zero on any.
    #[command(after_long_help = keys_help())]
    CheckConfig {
        #[arg(long, env = "KAI_ENV_FILE", value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// Build-time check (the Nix module runs it on the generated files): the
        /// secret and the OS accounts do not exist yet, so the token and the
        /// account lookups are skipped; everything else is checked.
        #[arg(long)]
        build_time: bool,
    },
    /// For each OS account and agent in use: logged in or not, and the command
    /// that account runs to log in. Exits 1 when some account must log in.
    LoginHints {
        #[arg(long, env = "KAI_ENV_FILE", value_name = "PATH")]
        env_file: Option<PathBuf>,
    },
    /// Internal: kill the process tree rooted at PID that belongs to the calling
    /// account. Kai runs it through sudo as an agent's OS user to stop that agent.
    Reap {
        /// The root of the tree (the sudo process that started the agent).
        pid: i32,
    },
}
