//! The probe file: JSON lines `{"id", "question", "expected"}`, blank lines
//! and `#` comments skipped. Every problem is reported with its line, and
//! one bad line refuses the whole file (exit 2), since a half-read file
//! would compare arms on questions nobody chose.

use std::collections::BTreeSet;

use serde::Deserialize;

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Probe {
    pub id: String,
    pub question: String,
    /// What a good answer says, for the judge.
    pub expected: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("line {line}: {message}")]
pub struct ProbeError {
    pub line: usize,
    pub message: String,
}

/// Every probe of `text`, or every problem with its line.
pub fn parse(text: &str) -> Result<Vec<Probe>, Vec<ProbeError>> {
    let mut probes = Vec::new();
    let mut errors = Vec::new();
    let mut ids = BTreeSet::new();
    for (i, raw) in text.lines().enumerate() {
        let line = i + 1;
        let trimmed = raw.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let err = |message: String| ProbeError { line, message };
        match serde_json::from_str::<Probe>(trimmed) {
            Err(e) => errors.push(err(format!(
                "not a probe ({e}); write {{\"id\": …, \"question\": …, \"expected\": …}}"
            ))),
            Ok(p) if p.id.trim().is_empty() => errors.push(err("`id` is empty".into())),
            Ok(p) if p.question.trim().is_empty() => {
                errors.push(err(format!("probe `{}`: `question` is empty", p.id)))
            }
            Ok(p) if !ids.insert(p.id.clone()) => {
                errors.push(err(format!("probe id `{}` is used twice", p.id)))
            }
            Ok(p) => probes.push(p),
        }
    }
    if probes.is_empty() && errors.is_empty() {
        errors.push(ProbeError {
            line: 0,
            message: "the file holds no probe".into(),
        });
    }
    if errors.is_empty() {
        Ok(probes)
    } else {
        Err(errors)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn probes_comments_and_blank_lines() {
        let text = "# team questions\n\n{\"id\": \"p1\", \"question\": \"q?\", \"expected\": \"a\"}\n  # indented comment\n{\"id\": \"p2\", \"question\": \"r?\", \"expected\": \"\"}\n";
        let p = parse(text).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[1].id, "p2");
    }

    #[test]
    fn every_bad_line_is_named() {
        let text = "{\"id\": \"p1\", \"question\": \"q\", \"expected\": \"a\"}\n{\"id\": \"p1\", \"question\": \"q\", \"expected\": \"a\"}\nnot json\n{\"id\": \"p3\", \"question\": \"q\"}\n{\"id\": \"p4\", \"question\": \"q\", \"expected\": \"a\", \"extra\": 1}\n{\"id\": \"\", \"question\": \"q\", \"expected\": \"a\"}\n";
        let errs = parse(text).unwrap_err();
        let lines: Vec<usize> = errs.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![2, 3, 4, 5, 6], "{errs:?}");
        assert!(errs[0].message.contains("used twice"));
        assert!(errs[2].message.contains("expected"), "{}", errs[2]);
        assert!(errs[3].message.contains("extra"), "{}", errs[3]);
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert!(parse("# nothing\n\n").is_err());
    }
}
