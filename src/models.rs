//! The models a user can pick: what their installed CLI offers right now
//! (codex `model/list`, asked of their running agent or of a short-lived
//! one under their account), else the catalog (`catalog.json`), which is
//! also what `check-config` uses since no agent runs at build time.

use std::time::Duration;

use crate::agent::launch::{self, Launch};
use crate::agent::Session;
use crate::catalog::{self, Backend};
use crate::process::sudo::Host;

/// How long `/models` and `/model` wait for the CLI before using the catalog.
const ASK_LIMIT: Duration = Duration::from_secs(20);

/// A list of models and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Models {
    pub backend: Backend,
    pub list: Vec<String>,
    /// `None` when the installed CLI answered; else why the catalog did.
    pub fallback: Option<String>,
}

impl Models {
    fn catalog(backend: Backend, why: String) -> Self {
        Models {
            backend,
            list: catalog::models(backend).to_vec(),
            fallback: Some(why),
        }
    }

    /// Accepts a model the list offers. A refusal names the backend the
    /// model belongs to when it is another one's (the catalog knows) and
    /// the valid list.
    pub fn check(&self, model: &str) -> Result<(), String> {
        if self.list.iter().any(|m| m == model) {
            return Ok(());
        }
        match catalog::validate(self.backend, model) {
            // Another backend's model, or unknown to the catalog too: the
            // catalog's message says which.
            Err(e) if self.fallback.is_some() => Err(e.to_string()),
            Err(e) if catalog::other_owner(self.backend, model).is_some() => Err(e.to_string()),
            _ => Err(format!(
                "model `{model}` is not offered by the installed {}; its models: {}",
                self.backend,
                self.list.join(", ")
            )),
        }
    }

    /// The `/models` answer, marking the user's current model.
    pub fn render(&self, current: &str) -> String {
        let source = match &self.fallback {
            None => format!("offered by the installed {}", self.backend),
            Some(why) => format!("from kai's catalog, since {why}"),
        };
        let lines: Vec<String> = self
            .list
            .iter()
            .map(|m| {
                let mark = if m == current { " ← current" } else { "" };
                format!("• {m}{mark}")
            })
            .collect();
        format!("{} models ({source}):\n{}", self.backend, lines.join("\n"))
    }
}

/// Asks the running agent if there is one, else a short-lived one started
/// as `spec` says; falls back to the catalog with the reason.
pub async fn current(
    backend: Backend,
    session: Option<&mut Session>,
    host: &Host,
    spec: Option<&Launch>,
) -> Models {
    let asked = match (session, spec) {
        (Some(s), _) => tokio::time::timeout(ASK_LIMIT, s.models())
            .await
            .map(|r| r.map(|r| r.map_err(|e| e.to_string()))),
        (None, Some(spec)) => tokio::time::timeout(ASK_LIMIT, launch::list_models(host, spec))
            .await
            .map(|r| r.map_err(|e| e.to_string()).transpose()),
        (None, None) => Ok(None),
    };
    match asked {
        Ok(Some(Ok(list))) if !list.is_empty() => Models {
            backend,
            list,
            fallback: None,
        },
        Ok(Some(Ok(_))) => {
            Models::catalog(backend, format!("the installed {backend} listed no model"))
        }
        Ok(Some(Err(e))) => {
            tracing::warn!("could not ask the agent for its models: {e}");
            Models::catalog(
                backend,
                format!("the installed {backend} could not be asked ({e})"),
            )
        }
        Ok(None) => Models::catalog(backend, format!("{backend} has no model listing")),
        Err(_) => Models::catalog(
            backend,
            format!(
                "the installed {backend} did not answer within {} s",
                ASK_LIMIT.as_secs()
            ),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn live(list: &[&str]) -> Models {
        Models {
            backend: Backend::Codex,
            list: list.iter().map(|m| m.to_string()).collect(),
            fallback: None,
        }
    }

    #[test]
    fn the_live_list_decides_and_other_backends_are_named() {
        let m = live(&["gpt-6.2-sol", "gpt-5.5"]);
        assert!(m.check("gpt-6.2-sol").is_ok(), "a model the catalog lacks");
        let err = m.check("gpt-6.1-sol").unwrap_err();
        assert!(
            err.contains("not offered by the installed codex") && err.contains("gpt-6.2-sol"),
            "{err}"
        );
        let err = m.check("opus").unwrap_err();
        assert!(err.contains("it is a claude model"), "{err}");
    }

    #[test]
    fn the_catalog_answers_when_the_cli_cannot() {
        let m = Models::catalog(Backend::Codex, "test".into());
        assert!(m.check(catalog::default_model(Backend::Codex)).is_ok());
        assert!(m.check("gpt-6.2-sol").is_err());
        assert!(m
            .render("gpt-5.5")
            .contains("from kai's catalog, since test"));
        assert!(m.render("gpt-5.5").contains("• gpt-5.5 ← current"));
    }
}
