//! The bot token, which must never sit in the Nix store: read from a file
//! named by `TELEGRAM_BOT_TOKEN_FILE`, from the systemd credential
//! `telegram-bot-token`, or (for development) `TELEGRAM_BOT_TOKEN`. The
//! GitHub secrets are looked up the same way ([`lookup`]); the webhook
//! secret is a [`Secret`], bytes that never print themselves either.

use std::fmt;
use std::path::PathBuf;

use super::problem::{Origin, Problem};
use super::Vars;

/// The credential name the NixOS module passes with `LoadCredential=`.
pub const CREDENTIAL_NAME: &str = "telegram-bot-token";

/// A token that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub(super) fn new(secret: String) -> Self {
        Token(secret)
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

/// The webhook secret; never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        Secret(bytes.into())
    }

    /// The bytes, for the one place that signs with them (`github/signature.rs`).
    pub fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// A secret's text as found, with where it came from.
pub(super) struct Found {
    /// Trimmed.
    pub text: String,
    /// The key to name in a problem.
    pub key: String,
    pub origin: Origin,
    /// The file it was read from (`None`: the environment).
    pub path: Option<PathBuf>,
}

/// A secret from the file `file_key` names, else the systemd credential
/// `credential`, else `env_key` (development); `None` when none is set.
/// `what` names a file in a read error ("the token file ").
pub(super) fn lookup(
    vars: &Vars,
    file_key: &str,
    credential: &str,
    env_key: &str,
    what: &str,
) -> Option<Result<Found, Problem>> {
    let read = |key: &str, path: PathBuf, origin: Origin| match std::fs::read_to_string(&path) {
        Ok(text) => Ok(Found {
            text: text.trim().to_string(),
            key: key.into(),
            origin,
            path: Some(path),
        }),
        Err(e) => Err(Problem {
            key: key.into(),
            origin,
            message: format!("cannot read {what}{}: {e}", path.display()),
        }),
    };
    if let Some((path, origin)) = vars.get(file_key) {
        return Some(read(file_key, PathBuf::from(path), origin.clone()));
    }
    if let Some((dir, _)) = vars.get("CREDENTIALS_DIRECTORY") {
        let path = PathBuf::from(dir).join(credential);
        if path.exists() {
            return Some(read("CREDENTIALS_DIRECTORY", path, Origin::Environment));
        }
    }
    let (value, origin) = vars.get(env_key)?;
    Some(Ok(Found {
        text: value.trim().to_string(),
        key: env_key.into(),
        origin: origin.clone(),
        path: None,
    }))
}

/// The text of a secret that was found, or a problem naming its key when it
/// is empty (an empty file is a mistake, never "no secret").
pub(super) fn non_empty(found: Found) -> Result<String, Problem> {
    if !found.text.is_empty() {
        return Ok(found.text);
    }
    let message = match &found.path {
        Some(p) => format!("{} is empty", p.display()),
        None => "is empty".into(),
    };
    Err(Problem {
        key: found.key,
        origin: found.origin,
        message,
    })
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

pub(super) fn resolve(vars: &Vars) -> Result<Token, Problem> {
    let found = lookup(
        vars,
        "TELEGRAM_BOT_TOKEN_FILE",
        CREDENTIAL_NAME,
        "TELEGRAM_BOT_TOKEN",
        "the token file ",
    );
    if let Some(found) = found {
        let f = found?;
        return check(&f.key, &f.text, f.origin);
    }
    Err(Problem {
        key: "TELEGRAM_BOT_TOKEN_FILE".into(),
        origin: Origin::Default,
        message: format!(
            "no bot token: set TELEGRAM_BOT_TOKEN_FILE to a file holding it, pass the systemd \
             credential `{CREDENTIAL_NAME}`, or (development only) set TELEGRAM_BOT_TOKEN"
        ),
    })
}

fn check(key: &str, token: &str, origin: Origin) -> Result<Token, Problem> {
    // Telegram tokens are `<bot id>:<secret>`; catching a pasted chat id or an
    // empty file here beats a 401 loop at run time.
    let well_formed = token.split_once(':').is_some_and(|(id, secret)| {
        !id.is_empty() && id.bytes().all(|b| b.is_ascii_digit()) && !secret.is_empty()
    }) && !token.contains(char::is_whitespace);
    if well_formed {
        Ok(Token(token.to_string()))
    } else {
        Err(Problem {
            key: key.into(),
            origin,
            message: "the token is not of the form <bot id>:<secret> as given by @BotFather".into(),
        })
    }
}
