//! Backends and the models each accepts, from `catalog.json` — the same file
//! the Nix module reads for its evaluation-time assertions, so the two sides
//! can never disagree about what a valid model is.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;
use std::sync::OnceLock;

use serde::Deserialize;

const CATALOG_JSON: &str = include_str!("../catalog.json");

/// An agent CLI family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    Claude,
    Codex,
}

impl Backend {
    pub const ALL: [Backend; 2] = [Backend::Claude, Backend::Codex];

    pub fn as_str(self) -> &'static str {
        match self {
            Backend::Claude => "claude",
            Backend::Codex => "codex",
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Backend {
    type Err = CatalogError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "claude" => Ok(Backend::Claude),
            "codex" => Ok(Backend::Codex),
            other => Err(CatalogError::UnknownBackend(other.to_string())),
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CatalogError {
    #[error("unknown backend `{0}`; valid backends: claude, codex")]
    UnknownBackend(String),
    #[error("model `{model}` is not a {backend} model{hint}; valid {backend} models: {valid}")]
    WrongModel {
        model: String,
        backend: Backend,
        hint: String,
        valid: String,
    },
}

#[derive(Debug, Deserialize)]
struct Entry {
    default: String,
    models: Vec<String>,
    /// CLI versions the end-to-end tests run against (`scripts/test.sh`
    /// runs the matrix; the runtime and the module warn about others).
    #[serde(default)]
    tested_versions: Vec<String>,
}

fn table() -> &'static BTreeMap<Backend, Entry> {
    static TABLE: OnceLock<BTreeMap<Backend, Entry>> = OnceLock::new();
    TABLE.get_or_init(|| {
        #[derive(Deserialize)]
        struct Raw {
            claude: Entry,
            codex: Entry,
        }
        // The file is compiled in and checked by a unit test, so a parse
        // failure here can only be a build made from a broken tree.
        let raw: Raw = serde_json::from_str(CATALOG_JSON).expect("catalog.json is valid");
        BTreeMap::from([(Backend::Claude, raw.claude), (Backend::Codex, raw.codex)])
    })
}

/// The model a backend uses when nothing else is chosen.
pub fn default_model(backend: Backend) -> &'static str {
    &table()[&backend].default
}

/// Every model the backend accepts, sorted.
pub fn models(backend: Backend) -> &'static [String] {
    &table()[&backend].models
}

/// The CLI versions of `backend` the tests run against.
pub fn tested_versions(backend: Backend) -> &'static [String] {
    &table()[&backend].tested_versions
}

/// Accepts `model` only if it is in the backend's list; the error names the
/// backend the model really belongs to, if any, and the valid list.
pub fn validate(backend: Backend, model: &str) -> Result<(), CatalogError> {
    if models(backend).iter().any(|m| m == model) {
        return Ok(());
    }
    let owner = other_owner(backend, model);
    Err(CatalogError::WrongModel {
        model: model.to_string(),
        backend,
        hint: owner
            .map(|b| format!(" (it is a {b} model)"))
            .unwrap_or_default(),
        valid: models(backend).join(", "),
    })
}

/// The other backend `model` belongs to, if the catalog (or, for Claude's
/// names on codex, its naming) says so.
pub fn other_owner(backend: Backend, model: &str) -> Option<Backend> {
    Backend::ALL
        .into_iter()
        .find(|b| *b != backend && (models(*b).iter().any(|m| m == model)))
        .or_else(|| {
            (backend == Backend::Codex && looks_like_claude(model)).then_some(Backend::Claude)
        })
}

fn looks_like_claude(model: &str) -> bool {
    let m = model.to_ascii_lowercase();
    m.starts_with("claude") || ["opus", "sonnet", "haiku"].iter().any(|f| m.contains(f))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_default_is_in_its_list_and_lists_are_sorted() {
        for b in Backend::ALL {
            assert!(models(b).iter().any(|m| m == default_model(b)), "{b}");
            let mut sorted = models(b).to_vec();
            sorted.sort();
            assert_eq!(sorted, models(b), "{b} models must be sorted");
        }
    }

    #[test]
    fn claude_models_are_refused_on_codex_with_the_valid_list() {
        for m in ["opus", "sonnet", "haiku", "claude-opus-4-1", "Claude-3"] {
            let err = validate(Backend::Codex, m).unwrap_err().to_string();
            assert!(err.contains("it is a claude model"), "{err}");
            assert!(err.contains(default_model(Backend::Codex)), "{err}");
        }
    }

    #[test]
    fn codex_models_are_refused_on_claude() {
        let err = validate(Backend::Claude, default_model(Backend::Codex))
            .unwrap_err()
            .to_string();
        assert!(err.contains("it is a codex model"), "{err}");
        assert!(err.contains("sonnet"), "{err}");
    }

    #[test]
    fn the_pinned_codex_is_among_the_tested_versions() {
        // scripts/setup.sh pins the codex the tests run by default.
        let setup = include_str!("../scripts/setup.sh");
        let pinned = setup
            .lines()
            .find_map(|l| l.strip_prefix("CODEX_VERSION="))
            .expect("setup.sh pins CODEX_VERSION");
        assert!(tested_versions(Backend::Codex).iter().any(|v| v == pinned));
    }

    #[test]
    fn unknown_models_and_backends_are_refused() {
        assert!(validate(Backend::Codex, "gpt-2").is_err());
        assert!("gpt".parse::<Backend>().is_err());
        assert_eq!("codex".parse::<Backend>(), Ok(Backend::Codex));
        assert!(validate(Backend::Codex, default_model(Backend::Codex)).is_ok());
    }
}
