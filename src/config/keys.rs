//! The keys of the env file, with what each means (`--help` prints them),
//! and the secrets that never belong in it. `nixos-module/lib/files.nix`
//! writes a subset of these keys; tests/nix_golden.rs keeps the two equal.

/// Keys the env file may hold, with what each means (shown by `--help`).
pub const KEYS: &[(&str, &str)] = &[
    (
        "AGENT_BACKEND",
        "`claude` or `codex`: the default backend [default: claude]",
    ),
    (
        "DEFAULT_MODEL",
        "model for the default backend [default: the backend's catalog default]",
    ),
    (
        "CODEX_BIN",
        "absolute path of the codex binary; required when any user is on codex",
    ),
    (
        "CODEX_VERSION",
        "codex CLI version the install was built against (drift warning)",
    ),
    (
        "CLAUDE_BIN",
        "absolute path of the claude binary; required when any user is on claude",
    ),
    (
        "TELEGRAM_API_URL",
        "Bot API base URL [default: https://api.telegram.org]",
    ),
    (
        "KAI_USERS_FILE",
        "path of the users file [default: /etc/kai/users.json]",
    ),
    (
        "KAI_DATA_DIR",
        "state, per-user workspaces and tmp [default: /var/lib/kai]",
    ),
    (
        "AGENT_TIMEOUT_SECONDS",
        "agent silence after which a turn fails [default: 120]",
    ),
    (
        "AGENT_IDLE_SECONDS",
        "an agent idle this long is stopped; its conversation resumes on the next message [default: 900]",
    ),
    (
        "INBOX_RETENTION_DAYS",
        "files users sent are removed from the inboxes (the workspace's and each project's) this many days after they last changed, as the user's account, at start and once a day; 0 = never [default: 30]",
    ),
    (
        "TELEGRAM_BOT_TOKEN_FILE",
        "file holding the bot token (never put the token itself in the env file)",
    ),
    (
        "GITHUB_WEBHOOK_LISTEN",
        "host:port of the GitHub webhook server [default: unset = no server, no GitHub work]",
    ),
    (
        "GITHUB_API_URL",
        "GitHub REST API base URL [default: https://api.github.com]",
    ),
    (
        "GITHUB_JOB_TIMEOUT_SECONDS",
        "limit for one review or triage run [default: 900]",
    ),
    (
        "GITHUB_WEBHOOK_SECRET_FILE",
        "file holding the webhook secret (never the secret itself in the env file)",
    ),
    (
        "GITHUB_TOKEN_FILE",
        "file holding the GitHub token (never the token itself in the env file)",
    ),
    (
        "TRANSCRIBE_URL",
        "base URL of an OpenAI-compatible transcription API; voice notes are sent to <url>/audio/transcriptions [default: unset = voice is off]",
    ),
    (
        "TRANSCRIBE_MODEL",
        "transcription model [default: gpt-4o-mini-transcribe]",
    ),
    (
        "TRANSCRIBE_TIMEOUT_SECONDS",
        "limit for transcribing one voice note [default: 60]",
    ),
    (
        "TRANSCRIBE_API_KEY_FILE",
        "file holding the transcription API key, if the endpoint needs one (never the key itself in the env file)",
    ),
];

/// Secrets that may come from the environment (development) but never from
/// the env file, which lives in the Nix store; with where they belong. Each
/// is also read from the file its `<NAME>_FILE` key names.
pub const SECRETS: &[(&str, &str)] = &[
    (
        "TELEGRAM_BOT_TOKEN",
        "use TELEGRAM_BOT_TOKEN_FILE or the `telegram-bot-token` credential",
    ),
    (
        "GITHUB_WEBHOOK_SECRET",
        "use GITHUB_WEBHOOK_SECRET_FILE or the `github-webhook-secret` credential",
    ),
    (
        "GITHUB_TOKEN",
        "use GITHUB_TOKEN_FILE or the `github-token` credential",
    ),
    (
        "TRANSCRIBE_API_KEY",
        "use TRANSCRIBE_API_KEY_FILE or the `transcribe-api-key` credential",
    ),
];

/// Whether `key` belongs in the environment but never in the env file:
/// a secret (development only) or systemd's credentials directory.
pub(super) fn env_only(key: &str) -> bool {
    key == "CREDENTIALS_DIRECTORY" || SECRETS.iter().any(|(k, _)| *k == key)
}
