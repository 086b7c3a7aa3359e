//! The triage agent's answer (docs/design.md, "GitHub automation"): one
//! JSON object with labels, a priority, a possible duplicate, related
//! issues, a summary, the next action and what is missing. The agent read a
//! stranger's issue, so its answer is parsed strictly: a fenced block or
//! prose around the object is tolerated, anything else is an error that
//! names what is wrong (and is shown to the agent on its one retry).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Priority {
    Low,
    Medium,
    High,
    Critical,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Triage {
    pub labels: Vec<String>,
    pub priority: Priority,
    pub duplicate_of: Option<u64>,
    pub related: Vec<u64>,
    pub summary: String,
    pub next_action: String,
    pub missing_info: Vec<String>,
}

/// The longest label GitHub accepts.
pub const MAX_LABEL: usize = 50;

/// The triage in `text`, or why there is none.
pub fn parse(text: &str) -> Result<Triage, String> {
    let object = match (text.find('{'), text.rfind('}')) {
        (Some(s), Some(e)) if s < e => &text[s..=e],
        _ => return Err("the answer holds no JSON object".into()),
    };
    let t: Triage = serde_json::from_str(object)
        .map_err(|e| format!("the JSON object is not a triage: {e}"))?;
    if let Some(l) = t
        .labels
        .iter()
        .find(|l| l.trim().is_empty() || l.chars().count() > MAX_LABEL || l.contains(['\n', '\r']))
    {
        return Err(format!(
            "label {l:?} is not a label (1-{MAX_LABEL} characters on one line)"
        ));
    }
    if t.summary.trim().is_empty() {
        return Err("`summary` is empty".into());
    }
    Ok(t)
}

#[cfg(test)]
mod tests {
    use super::*;

    const OK: &str = r#"{"labels": ["bug"], "priority": "high", "duplicate_of": null,
        "related": [3, 4], "summary": "Crash on start", "next_action": "reproduce",
        "missing_info": ["version"]}"#;

    #[test]
    fn a_triage_with_or_without_a_fence() {
        let t = parse(OK).unwrap();
        assert_eq!(t.priority, Priority::High);
        assert_eq!(t.related, vec![3, 4]);
        let fenced = format!("Here it is:\n```json\n{OK}\n```\n");
        assert_eq!(parse(&fenced).unwrap(), t);
    }

    #[test]
    fn wrong_types_and_values_are_errors() {
        for (bad, why) in [
            ("no json here", "no JSON object"),
            (&OK.replace("\"high\"", "\"urgent\"") as &str, "urgent"),
            (&OK.replace("[\"bug\"]", "[1]"), "invalid type"),
            (&OK.replace("null", "\"7\""), "invalid type"),
            (&OK.replace("[3, 4]", "[-3]"), "invalid"),
            (&OK.replace("\"Crash on start\"", "\"  \""), "summary"),
            (&OK.replace("[\"bug\"]", "[\"\"]"), "not a label"),
            (
                &OK.replace("\"missing_info\"", "\"extra\": 1, \"missing_info\""),
                "unknown field",
            ),
        ] {
            let err = parse(bad).unwrap_err();
            assert!(err.contains(why), "{bad}: {err}");
        }
    }
}
