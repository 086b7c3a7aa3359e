//! The installed codex, checked once at start: its version against the one
//! the install was built against (`CODEX_VERSION`, the module records the
//! packaged version) and against the versions the end-to-end tests run
//! (`tested_versions` in `catalog.json`, which the module reads too). Both
//! answers go to the log and to `/status`; neither stops kai.

use std::path::Path;
use std::time::Duration;

use crate::catalog::{self, Backend};
use crate::process::env::clean_command;

/// What `/status` and the log say about the installed codex.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CodexVersion {
    /// `Codex version: …` for `/status`.
    pub status: String,
    /// Warnings, each also logged: a drifted or untested version.
    pub warnings: Vec<String>,
}

/// What an agent CLI's `--version` says (bounded by `limit`), trimmed;
/// `None` when it did not answer.
pub async fn cli_version(bin: &Path, limit: Duration) -> Option<String> {
    let out = tokio::time::timeout(limit, clean_command(bin).arg("--version").output()).await;
    match out {
        Ok(Ok(o)) if o.status.success() => {
            Some(String::from_utf8_lossy(&o.stdout).trim().to_string())
        }
        _ => None,
    }
}

/// Runs `codex --version` (bounded by `limit`) and judges the answer.
pub async fn check(bin: &Path, expected: Option<&str>, limit: Duration) -> CodexVersion {
    match cli_version(bin, limit).await {
        Some(answer) => judge(bin, &answer, expected),
        None => CodexVersion {
            status: format!(
                "Codex version: unknown ({} --version did not answer)",
                bin.display()
            ),
            warnings: vec![format!(
                "could not run `{} --version` to check the codex version",
                bin.display()
            )],
        },
    }
}

/// The judgement on one `--version` answer (`codex-cli 0.169.0`).
fn judge(bin: &Path, answer: &str, expected: Option<&str>) -> CodexVersion {
    let found = answer.trim();
    let version = found.split_whitespace().last().unwrap_or_default();
    let tested = catalog::tested_versions(Backend::Codex);
    let mut warnings = Vec::new();
    if let Some(expected) = expected.filter(|e| *e != version) {
        warnings.push(format!(
            "codex version drift: CODEX_VERSION is {expected} but {} reports `{found}`; the app-server protocol may differ",
            bin.display()
        ));
    }
    let status = if tested.iter().any(|t| t == version) {
        format!("Codex version: {version} (tested)")
    } else {
        let list = tested.join(", ");
        warnings.push(format!(
            "codex {version} is untested: kai's end-to-end tests run codex {list}"
        ));
        format!("Codex version: {version} (untested; tested: {list})")
    };
    CodexVersion { status, warnings }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tested_untested_and_drift() {
        let bin = Path::new("/bin/codex");
        let ok = judge(bin, "codex-cli 0.169.0\n", Some("0.169.0"));
        assert_eq!(ok.status, "Codex version: 0.169.0 (tested)");
        assert!(ok.warnings.is_empty());

        let odd = judge(bin, "codex-cli 0.150.1", Some("0.169.0"));
        assert!(
            odd.status
                .contains("0.150.1 (untested; tested: 0.148.0, 0.169.0"),
            "{odd:?}"
        );
        assert_eq!(odd.warnings.len(), 2, "{odd:?}");
        assert!(odd.warnings[0].contains("CODEX_VERSION is 0.169.0"));

        let unrecorded = judge(bin, "codex-cli 0.148.0", None);
        assert!(unrecorded.warnings.is_empty(), "{unrecorded:?}");
    }
}
