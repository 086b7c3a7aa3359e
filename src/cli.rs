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
         (put it behind a TLS reverse proxy), reviews the pull requests and triages the new issues \
         of the repositories listed in users' `github` field (as each owner asks), and tells the \
         owners' chats what happens there; it then needs the webhook secret (GITHUB_WEBHOOK_SECRET_FILE, \
         else the credential `github-webhook-secret`, else GITHUB_WEBHOOK_SECRET) and a GitHub token \
         (GITHUB_TOKEN_FILE, else the credential `github-token`, else GITHUB_TOKEN).\n\
         With TRANSCRIBE_URL set, voice notes and audio files are transcribed there and the \
         transcript goes to the agent; a key, when the endpoint needs one, comes from \
         TRANSCRIBE_API_KEY_FILE, else the credential `transcribe-api-key`, else TRANSCRIBE_API_KEY.\n\
         Logging: KAI_LOG or RUST_LOG (e.g. `info`, `kai=debug`); journald under systemd.\n\n\
         The users file: {\"users\": [{\"name\", \"telegram_id\", \"os_user\", \"backend\", \"model\", \
         \"workspace\", \"github\", \"chats\", \"projects\", \"max_agents\"}]}. Each chat, and each topic of a \
         private chat or forum supergroup, is a conversation of its own (its own agent, thread, model, \
         project and queue). `chats`: group and supergroup ids where the user is served too, a \
         conversation of their own per topic (in a group without topics, only messages that mention \
         the bot or reply to it). `projects`: folders of the workspace made at activation; /project NAME \
         binds a conversation to one. `max_agents` (default 3): the most agents of the user running at \
         once; past it the least recently used idle one stops, and when all are answering a message \
         waits its turn.",
    );
    s
}

const EVAL_HELP: &str = "Example: compare alice's current model with a candidate, judged by the current one:\n\n  \
kai eval --env-file /etc/kai/env --user alice --probes examples/eval-probes.jsonl --against codex:gpt-5.5\n\n\
Run it as root or as the service account (it starts agents through the same sudo rules as the bot). \
The report's `probes` hold both answers, which arm was shown first, the choice and the judge's reason.";

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
    /// Compare two backends or models on your own questions: every probe is
    /// answered by arm A (the user's backend and model) and arm B
    /// (--against), each in a fresh read-only run as the user's OS account,
    /// then a judge picks the better answer without knowing which is which.
    /// Writes a JSON report and prints a table. Exit 0 when every probe was
    /// judged, 1 when some failed (or after Ctrl-C, with the partial report),
    /// 2 on a bad probe file or arm. Needs no bot token.
    #[command(after_long_help = EVAL_HELP)]
    Eval {
        #[arg(long, env = "KAI_ENV_FILE", value_name = "PATH")]
        env_file: Option<PathBuf>,
        /// The user (name in the users file) whose account, backend and model make arm A.
        #[arg(long, value_name = "NAME")]
        user: String,
        /// JSON lines {"id", "question", "expected"}; `#` lines are comments.
        #[arg(long, value_name = "FILE")]
        probes: PathBuf,
        /// Arm B [default: the user's backend with its default model].
        #[arg(long, value_name = "BACKEND:MODEL")]
        against: Option<String>,
        /// The judge [default: arm A].
        #[arg(long, value_name = "BACKEND:MODEL")]
        judge: Option<String>,
        /// Where the JSON report goes.
        #[arg(long, value_name = "FILE", default_value = "kai-eval-report.json")]
        out: PathBuf,
        /// Seed of the blind order; the same seed gives the same order.
        #[arg(long)]
        seed: Option<u64>,
        /// Probes run at once (each runs up to three agents in turn).
        #[arg(long, default_value_t = 2)]
        concurrency: usize,
        /// Limit of each agent call, in seconds.
        #[arg(long, default_value_t = 300, value_name = "SECONDS")]
        timeout: u64,
    },
    /// Internal: kill the process tree rooted at PID that belongs to the calling
    /// account. Kai runs it through sudo as an agent's OS user to stop that agent.
    Reap {
        /// The root of the tree (the sudo process that started the agent).
        pid: i32,
    },
    /// Internal: store stdin as a new file in WORKSPACE/inbox/ (0600, never
    /// over another) and print its path. Kai runs it through sudo as an
    /// agent's OS user for each file that user sends.
    InboxPut {
        workspace: PathBuf,
        /// A plain file name (no `/`, no leading dot).
        name: String,
    },
    /// Internal: print a file of WORKSPACE (PATH relative to it, or absolute
    /// inside it; no `..`, no symlink out) to stdout. Kai runs it through
    /// sudo as an agent's OS user for `/get`.
    WorkspaceRead {
        /// Refuse files larger than this.
        #[arg(long, value_name = "BYTES")]
        max_bytes: u64,
        workspace: PathBuf,
        path: String,
    },
    /// Internal: list a directory of WORKSPACE (its root by default) as text.
    /// Kai runs it through sudo as an agent's OS user for `/ls`.
    WorkspaceLs {
        workspace: PathBuf,
        #[arg(default_value = "")]
        dir: String,
    },
    /// Internal: with NAME, create the project folder WORKSPACE/NAME (0700)
    /// when missing and print its path; without, list the projects of
    /// WORKSPACE, one a line. Kai runs it through sudo as an agent's OS user
    /// for `/project` and `/projects`.
    ProjectDir {
        workspace: PathBuf,
        /// 1-64 characters of A-Z a-z 0-9 . _ - not starting with `.`.
        name: Option<String>,
    },
    /// Internal: remove the regular files directly in WORKSPACE/inbox/ and
    /// in each project's inbox last modified more than DAYS days ago (no
    /// symlink followed, no subfolder entered) and print how many. Kai runs
    /// it through sudo as an agent's OS user at start and once a day
    /// (INBOX_RETENTION_DAYS).
    InboxClean {
        #[arg(long, value_name = "DAYS", value_parser = clap::value_parser!(u64).range(1..))]
        days: u64,
        workspace: PathBuf,
    },
}
