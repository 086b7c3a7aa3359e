//! The environment every process kai starts begins with: an allow-list,
//! so the bot token and anything else of the daemon's never reaches an
//! agent or a helper.

use std::path::Path;
use std::process::Stdio;

use tokio::process::Command;

/// Variables an agent may inherit from the daemon, whatever the account:
/// locale, time zone, proxies and CA bundles. Never the bot token.
const PASS_ALWAYS: &[&str] = &[
    "LANG",
    "LC_ALL",
    "LC_CTYPE",
    "TZ",
    "HTTP_PROXY",
    "HTTPS_PROXY",
    "NO_PROXY",
    "http_proxy",
    "https_proxy",
    "no_proxy",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "NIX_SSL_CERT_FILE",
];

/// Variables that only make sense for the daemon's own account: another
/// account gets its own HOME, PATH (sudo's secure_path) and agent config.
const PASS_SAME_ACCOUNT: &[&str] = &[
    "PATH",
    "HOME",
    "USER",
    "LOGNAME",
    "CODEX_HOME",
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "CLAUDE_CONFIG_DIR",
    "KAI_TEST_API_KEY",
];

/// The environment a child of kai starts with: the allow-listed variables
/// that are set, and with `same_account` (a process under the daemon's own
/// account) also those that only make sense there. Nothing else of the
/// daemon's environment (the bot token in development, systemd's
/// credentials directory) ever reaches a child.
pub fn child_env(same_account: bool) -> Vec<(String, String)> {
    let same: &[&str] = if same_account { PASS_SAME_ACCOUNT } else { &[] };
    PASS_ALWAYS
        .iter()
        .chain(same)
        .filter_map(|k| std::env::var(k).ok().map(|v| (k.to_string(), v)))
        .collect()
}

/// A command for a helper kai runs under its own account (the codex version
/// probe): the same allow-listed environment as an agent of that account.
pub fn clean_command(program: &Path) -> Command {
    let mut c = Command::new(program);
    c.env_clear()
        .envs(child_env(true))
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}
