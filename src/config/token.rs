//! The bot token, which must never sit in the Nix store: read from a file
//! named by `TELEGRAM_BOT_TOKEN_FILE`, from the systemd credential
//! `telegram-bot-token`, or (for development) `TELEGRAM_BOT_TOKEN`.

use std::fmt;
use std::path::{Path, PathBuf};

use super::problem::{Origin, Problem};
use super::Vars;

/// The credential name the NixOS module passes with `LoadCredential=`.
pub const CREDENTIAL_NAME: &str = "telegram-bot-token";

/// A token that never prints itself.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(String);

impl Token {
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

pub(super) fn resolve(vars: &Vars) -> Result<Token, Problem> {
    if let Some((path, origin)) = vars.get("TELEGRAM_BOT_TOKEN_FILE") {
        return read_file("TELEGRAM_BOT_TOKEN_FILE", Path::new(path), origin.clone());
    }
    if let Some((dir, _)) = vars.get("CREDENTIALS_DIRECTORY") {
        let path = PathBuf::from(dir).join(CREDENTIAL_NAME);
        if path.exists() {
            return read_file("CREDENTIALS_DIRECTORY", &path, Origin::Environment);
        }
    }
    if let Some((value, origin)) = vars.get("TELEGRAM_BOT_TOKEN") {
        return check("TELEGRAM_BOT_TOKEN", value.trim(), origin.clone());
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

fn read_file(key: &str, path: &Path, origin: Origin) -> Result<Token, Problem> {
    match std::fs::read_to_string(path) {
        Ok(text) => check(key, text.trim(), origin),
        Err(e) => Err(Problem {
            key: key.into(),
            origin,
            message: format!("cannot read the token file {}: {e}", path.display()),
        }),
    }
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
