//! A CODEX_HOME for the real `codex app-server` (0.169.0) that talks only to
//! the loopback fake Responses API (see `fake_responses.rs`).
//!
//! Facts this relies on (measured with strace and the fake, see
//! /tmp/research/codex.md):
//! - `model_provider` = a custom provider with `wire_api = "responses"`;
//!   codex POSTs to `<base_url>/responses`.
//! - `requires_openai_auth = true` with no `env_key`: `account/read` answers
//!   `requiresOpenaiAuth: true`, and `account` is `{"type":"apiKey"}` when
//!   `auth.json` holds an `OPENAI_API_KEY` (sent as `Bearer` to the fake), or
//!   `null` without `auth.json` — the real "not logged in" state.
//! - `features.plugins = false` is the key that stops the only outbound
//!   attempts (git ls-remote / HTTPS to github.com for curated plugins);
//!   `features.shell_snapshot = false` stops codex running the user's login
//!   shell rc files on every thread start.
//! - `request_max_retries = 0` and `stream_max_retries = 0`: a failure fails
//!   the turn at once (defaults retry 5 × 4 times over ~24 s).

use std::path::{Path, PathBuf};

/// Model named in config.toml: in the 0.169.0 `model/list`, so no "unknown model" warnings.
pub const TEST_MODEL: &str = "gpt-6.1-sol";

/// API key written to auth.json when logged in; the fake receives `Bearer <this>`.
pub const TEST_API_KEY: &str = "sk-kai-test";

/// Writes config.toml (and anything else needed) into `dir` so the real codex app-server talks only to `base_url`, offline, with fast failure (low retries, short idle timeout), no update checks/telemetry.
/// `logged_in`: when false, leave the home in the "not logged in" state that `account/read` reports as account:null (used for login-hint tests); when true, make it usable for turns.
///
/// Logged in means an API-key `auth.json` (`account/read` → `{"type":"apiKey"}`,
/// `requiresOpenaiAuth: true`); not logged in means no `auth.json`
/// (`account: null`, `requiresOpenaiAuth: true`). Codex would still run a turn
/// against the fake without auth.json (no Authorization header); the daemon is
/// what refuses. A hung stream is failed by codex itself after
/// `stream_idle_timeout_ms` = 60 s, so daemon silence timeouts in tests must be shorter.
pub fn write_codex_home(dir: &Path, base_url: &str, logged_in: bool) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    let config = format!(
        r#"# Written by tests/support/codex_home.rs: offline codex against a loopback fake.
model = "{model}"
model_provider = "kai-fake"
approval_policy = "never"
sandbox_mode = "read-only"
check_for_update_on_startup = false

[analytics]
enabled = false

[features]
# The curated-plugins sync is the only outbound connection codex 0.169.0 tries.
plugins = false
# Avoid running the user's login shell (~/.bashrc) to snapshot it on thread start.
shell_snapshot = false

[model_providers.kai-fake]
name = "kai fake Responses API"
base_url = "{base_url}"
wire_api = "responses"
requires_openai_auth = true
request_max_retries = 0
stream_max_retries = 0
stream_idle_timeout_ms = 60000
"#,
        model = TEST_MODEL,
        base_url = toml_escape(base_url),
    );
    std::fs::write(dir.join("config.toml"), config)?;
    let auth = dir.join("auth.json");
    if logged_in {
        let body = serde_json::json!({"auth_mode": "apikey", "OPENAI_API_KEY": TEST_API_KEY});
        std::fs::write(&auth, body.to_string())?;
        restrict(&auth)?;
    } else if auth.exists() {
        std::fs::remove_file(&auth)?;
    }
    Ok(())
}

/// Environment variables the codex process needs for that home (e.g. ("CODEX_HOME", dir), an API key var if the provider wants one).
///
/// Only CODEX_HOME: the key lives in auth.json, and the provider has no `env_key`.
pub fn codex_env(dir: &Path) -> Vec<(String, String)> {
    vec![("CODEX_HOME".to_owned(), dir.display().to_string())]
}

/// Path of the pinned codex binary installed by the project's setup: $KAI_TEST_CODEX_BIN if set, else <repo>/.tools/node_modules/.bin/codex (use env!("CARGO_MANIFEST_DIR")).
pub fn codex_bin() -> PathBuf {
    match std::env::var_os("KAI_TEST_CODEX_BIN") {
        Some(bin) if !bin.is_empty() => PathBuf::from(bin),
        _ => Path::new(env!("CARGO_MANIFEST_DIR")).join(".tools/node_modules/.bin/codex"),
    }
}

/// Escapes a value for a TOML basic string.
fn toml_escape(s: &str) -> String {
    s.replace('\\', "\\\\").replace('"', "\\\"")
}

/// auth.json holds a credential: keep it owner-only like `codex login` does.
fn restrict(path: &Path) -> std::io::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
}
