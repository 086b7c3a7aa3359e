//! The voice side of the configuration (docs/design.md, "Voice notes"): an
//! OpenAI-compatible transcription endpoint, its model, its timeout, and an
//! optional API key looked up like every other secret (a file, the systemd
//! credential, or for development the environment). With `TRANSCRIBE_URL`
//! unset voice is off, and the other keys are still checked so a typo does
//! not wait until someone turns voice on.

use std::time::Duration;

use super::problem::Problem;
use super::token::{self, Token};
use super::{Checker, Vars};

/// The `LoadCredential=` name the NixOS module passes.
pub const KEY_CREDENTIAL: &str = "transcribe-api-key";

/// The model asked for when `TRANSCRIBE_MODEL` is unset: OpenAI's smaller
/// transcription model (a local server ignores or maps the name).
pub const DEFAULT_MODEL: &str = "gpt-4o-mini-transcribe";

#[derive(Debug, Clone)]
pub struct VoiceConfig {
    /// Base URL, no trailing slash; kai POSTs `<url>/audio/transcriptions`.
    pub url: String,
    pub model: String,
    /// Limit for one transcription, request and answer.
    pub timeout: Duration,
    /// `None` when the endpoint needs none, or loaded without host checks.
    pub api_key: Option<Token>,
}

/// Reads the voice keys; `None` when `TRANSCRIBE_URL` is unset (or invalid,
/// which is reported).
pub(super) fn load(c: &mut Checker, vars: &Vars, host_checks: bool) -> Option<VoiceConfig> {
    let timeout = c.seconds("TRANSCRIBE_TIMEOUT_SECONDS", 60);
    let model = match c.get("TRANSCRIBE_MODEL") {
        Some((m, o)) if m.trim().is_empty() || m.contains(char::is_whitespace) => {
            c.problem(
                "TRANSCRIBE_MODEL",
                o,
                format!("`{m}` is not a model name (empty, or with spaces)"),
            );
            None
        }
        Some((m, _)) => Some(m),
        None => Some(DEFAULT_MODEL.to_string()),
    };
    let api_key = if host_checks {
        api_key(vars).map_err(|p| c.problems.push(p)).ok()?
    } else {
        None
    };
    c.get("TRANSCRIBE_URL")?;
    let url = c.url("TRANSCRIBE_URL", "");
    Some(VoiceConfig {
        url: url?,
        model: model?,
        timeout: timeout?,
        api_key,
    })
}

/// The key, when one is configured; an unreadable or empty file is a
/// problem rather than a silent "no key" (the endpoint would answer 401).
fn api_key(vars: &Vars) -> Result<Option<Token>, Problem> {
    let Some(found) = token::lookup(
        vars,
        "TRANSCRIBE_API_KEY_FILE",
        KEY_CREDENTIAL,
        "TRANSCRIBE_API_KEY",
        "the transcription key file ",
    ) else {
        return Ok(None);
    };
    Ok(Some(Token::new(token::non_empty(found?)?)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Origin;

    fn load_from(pairs: &[(&str, &str)], host_checks: bool) -> (Option<VoiceConfig>, Vec<String>) {
        let vars: Vars = pairs
            .iter()
            .map(|(k, v)| (k.to_string(), (v.to_string(), Origin::Environment)))
            .collect();
        let mut c = Checker {
            vars: &vars,
            problems: Vec::new(),
        };
        let v = load(&mut c, &vars, host_checks);
        (v, c.problems.iter().map(|p| p.to_string()).collect())
    }

    #[test]
    fn unset_url_means_voice_off_and_defaults_apply() {
        let (v, problems) = load_from(&[], true);
        assert!(v.is_none() && problems.is_empty(), "{problems:?}");
        let (v, problems) = load_from(&[("TRANSCRIBE_URL", "http://127.0.0.1:8178/v1/")], true);
        let v = v.unwrap();
        assert!(problems.is_empty(), "{problems:?}");
        assert_eq!(v.url, "http://127.0.0.1:8178/v1");
        assert_eq!(v.model, DEFAULT_MODEL);
        assert_eq!(v.timeout, Duration::from_secs(60));
        assert!(v.api_key.is_none());
    }

    #[test]
    fn bad_values_are_problems_even_with_voice_off() {
        let (_, problems) = load_from(&[("TRANSCRIBE_TIMEOUT_SECONDS", "0")], true);
        assert!(
            problems[0].contains("TRANSCRIBE_TIMEOUT_SECONDS"),
            "{problems:?}"
        );
        let (v, problems) = load_from(&[("TRANSCRIBE_URL", "ftp://x")], true);
        assert!(v.is_none() && problems[0].contains("TRANSCRIBE_URL"));
        let (_, problems) = load_from(
            &[("TRANSCRIBE_URL", "http://x"), ("TRANSCRIBE_API_KEY", " ")],
            true,
        );
        assert!(problems[0].contains("TRANSCRIBE_API_KEY"), "{problems:?}");
    }

    #[test]
    fn the_key_never_prints() {
        let (v, _) = load_from(
            &[
                ("TRANSCRIBE_URL", "http://x"),
                ("TRANSCRIBE_API_KEY", "sk-secret"),
            ],
            true,
        );
        let v = v.unwrap();
        assert_eq!(v.api_key.as_ref().map(Token::expose), Some("sk-secret"));
        assert!(!format!("{v:?}").contains("sk-secret"));
        let (v, _) = load_from(
            &[
                ("TRANSCRIBE_URL", "http://x"),
                ("TRANSCRIBE_API_KEY", "sk-secret"),
            ],
            false,
        );
        assert!(v.unwrap().api_key.is_none(), "no secrets at build time");
    }
}
