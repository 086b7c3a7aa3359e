//! The GitHub side of the configuration (docs/design.md, "GitHub automation"):
//! the listener, the API, the job limit and the two secrets. Each user's
//! `github` field is read and checked with the users file (`users.rs`);
//! its tests are here, beside the rest of the GitHub settings. With `GITHUB_WEBHOOK_LISTEN` unset there is no server
//! and no GitHub work at all.

use std::net::SocketAddr;
use std::time::Duration;

use super::problem::{Origin, Problem};
use super::token::{self, Secret, Token};
use super::{Checker, User, Vars};

/// `LoadCredential=` names the NixOS module passes.
pub const SECRET_CREDENTIAL: &str = "github-webhook-secret";
pub const TOKEN_CREDENTIAL: &str = "github-token";

/// The GitHub token: a [`Token`] like the bot's, never printed.
pub type GithubToken = Token;

#[derive(Debug, Clone)]
pub struct GithubConfig {
    pub listen: SocketAddr,
    /// REST base URL, no trailing slash.
    pub api_url: String,
    /// Limit for one review or triage run.
    pub job_timeout: Duration,
    /// `None` only when loaded without host checks (build time).
    pub webhook_secret: Option<Secret>,
    pub token: Option<GithubToken>,
}

/// Reads the GitHub keys; `None` when the listener is unset (or invalid,
/// which is reported).
pub(super) fn load(
    c: &mut Checker,
    vars: &Vars,
    users: &[User],
    host_checks: bool,
) -> Option<GithubConfig> {
    let api_url = c.url("GITHUB_API_URL", "https://api.github.com");
    let job_timeout = c.seconds("GITHUB_JOB_TIMEOUT_SECONDS", 900);
    let Some((listen, origin)) = c.get("GITHUB_WEBHOOK_LISTEN") else {
        // Repos listed with nobody listening would silently never be
        // reviewed: say so.
        for u in users.iter().filter(|u| u.github.is_some()) {
            c.problem(
                "GITHUB_WEBHOOK_LISTEN",
                Origin::Default,
                format!(
                    "user `{}` lists GitHub repositories, but GITHUB_WEBHOOK_LISTEN is not set, so no \
                     webhook would ever reach kai; set it to host:port",
                    u.name
                ),
            );
        }
        return None;
    };
    let listen = match listen.parse::<SocketAddr>() {
        Ok(a) => Some(a),
        Err(_) => {
            c.problem(
                "GITHUB_WEBHOOK_LISTEN",
                origin,
                format!("`{listen}` is not host:port (e.g. 127.0.0.1:8787)"),
            );
            None
        }
    };
    let (webhook_secret, token) = if host_checks {
        let webhook = secret(
            vars,
            "GITHUB_WEBHOOK_SECRET_FILE",
            SECRET_CREDENTIAL,
            "GITHUB_WEBHOOK_SECRET",
        );
        let token = secret(vars, "GITHUB_TOKEN_FILE", TOKEN_CREDENTIAL, "GITHUB_TOKEN");
        let webhook = webhook.map_err(|p| c.problems.push(p)).ok();
        let token = token.map_err(|p| c.problems.push(p)).ok();
        (webhook.map(Secret::new), token.map(Token::new))
    } else {
        (None, None)
    };
    Some(GithubConfig {
        listen: listen?,
        api_url: api_url?,
        job_timeout: job_timeout?,
        webhook_secret,
        token,
    })
}

/// A secret from, in this order, the file `file_key` names, the systemd
/// credential, or (development) the variable `env_key`.
fn secret(vars: &Vars, file_key: &str, credential: &str, env_key: &str) -> Result<String, Problem> {
    if let Some(found) = token::lookup(vars, file_key, credential, env_key, "") {
        return token::non_empty(found?);
    }
    Err(Problem {
        key: file_key.into(),
        origin: Origin::Default,
        message: format!(
            "required because GITHUB_WEBHOOK_LISTEN is set: set {file_key} to a file holding it, pass \
             the systemd credential `{credential}`, or (development only) set {env_key}"
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::super::users::parse;

    fn fields(text: &str) -> Vec<(String, String)> {
        parse(text)
            .unwrap_err()
            .into_iter()
            .map(|e| (e.field, e.message))
            .collect()
    }

    #[test]
    fn a_repo_owned_twice_is_an_error_naming_both() {
        let errs = fields(
            r#"{"users": [
              {"name": "alice", "telegram_id": 1, "github": {"repos": ["acme/app", "acme/lib"], "review": true}},
              {"name": "bob", "telegram_id": 2, "github": {"repos": ["ACME/App"], "review": true}}
            ]}"#,
        );
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert_eq!(errs[0].0, "users[1].github.repos[0]");
        assert!(errs[0].1.contains("users[0] (`alice`)"), "{errs:?}");
    }

    #[test]
    fn bad_repos_and_unknown_fields_are_named() {
        let errs = fields(
            r#"{"users": [
              {"name": "alice", "telegram_id": 1, "github": {"repos": ["acme", "a/b/c", "ok/x", "ok/x"], "triage": true}},
              {"name": "bob", "telegram_id": 2, "github": {"repos": []}}
            ]}"#,
        );
        let names: Vec<&str> = errs.iter().map(|(f, _)| f.as_str()).collect();
        assert_eq!(
            names,
            vec![
                "users[0].github.repos[0]",
                "users[0].github.repos[1]",
                "users[0].github.repos[3]",
                "users[1].github.repos",
            ],
            "{errs:?}"
        );
        let errs =
            fields(r#"{"users": [{"name": "a", "telegram_id": 1, "github": {"repo": []}}]}"#);
        assert!(errs[0].1.contains("unknown field `repo`"), "{errs:?}");
    }

    #[test]
    fn null_and_valid_github_fields_parse() {
        let users = parse(
            r#"{"users": [
              {"name": "alice", "telegram_id": 1, "github": {"repos": ["acme/app.js"], "review": true, "triage": true}},
              {"name": "bob", "telegram_id": 2, "github": null},
              {"name": "carol", "telegram_id": 3, "github": {"repos": ["acme/lib"], "notify": false}}
            ]}"#,
        )
        .unwrap();
        let alice = users[0].github.as_ref().unwrap();
        assert_eq!(alice.repos, vec!["acme/app.js"]);
        // Notifications are on unless switched off; jobs are off unless on.
        assert!(alice.triage && alice.notify);
        let carol = users[2].github.as_ref().unwrap();
        assert!(!carol.notify && !carol.review && !carol.triage);
        assert!(users[1].github.is_none());
    }
}
