//! The eval report: the JSON of the contract (docs/design.md, "kai eval")
//! and the table printed for a person.

use serde::Serialize;

use super::judge::{Arm, Choice};

/// One side of the comparison, or the judge.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ArmInfo {
    pub backend: String,
    pub model: String,
    /// What the CLI's `--version` said.
    pub cli_version: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Arms {
    pub a: ArmInfo,
    pub b: ArmInfo,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    pub a: usize,
    pub b: usize,
    pub tie: usize,
    pub both_wrong: usize,
    pub errors: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProbeResult {
    pub id: String,
    /// `None` when that arm failed (the reason is in `reasoning`).
    pub answer_a: Option<String>,
    pub answer_b: Option<String>,
    pub shown_first: Arm,
    pub choice: Choice,
    /// The judge's one line, or what went wrong.
    pub reasoning: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub schema: u32,
    pub arms: Arms,
    pub judge: ArmInfo,
    /// The seed of the blind order (`--seed` repeats it).
    pub seed: u64,
    pub totals: Totals,
    pub probes: Vec<ProbeResult>,
}

impl Report {
    pub fn new(arms: Arms, judge: ArmInfo, seed: u64, probes: Vec<ProbeResult>) -> Self {
        let mut totals = Totals::default();
        for p in &probes {
            match p.choice {
                Choice::A => totals.a += 1,
                Choice::B => totals.b += 1,
                Choice::Tie => totals.tie += 1,
                Choice::BothWrong => totals.both_wrong += 1,
                Choice::Error => totals.errors += 1,
            }
        }
        Report {
            schema: 1,
            arms,
            judge,
            seed,
            totals,
            probes,
        }
    }

    /// The table for stdout.
    pub fn table(&self, expected: usize) -> String {
        let arm = |name: &str, a: &ArmInfo| {
            format!("{name}: {} {} ({})", a.backend, a.model, a.cli_version)
        };
        let t = &self.totals;
        let mut out = format!(
            "{}\n{}\njudge: {} {} (blind, seed {})\n\n\
             wins a: {}   wins b: {}   ties: {}   both wrong: {}   errors: {}   ({} of {} probes judged)\n\n",
            arm("a", &self.arms.a),
            arm("b", &self.arms.b),
            self.judge.backend,
            self.judge.model,
            self.seed,
            t.a,
            t.b,
            t.tie,
            t.both_wrong,
            t.errors,
            self.probes.len() - t.errors,
            expected
        );
        let width = self
            .probes
            .iter()
            .map(|p| p.id.chars().count())
            .max()
            .unwrap_or(2)
            .max(2);
        out.push_str(&format!("{:<width$}  first  choice      reason\n", "id"));
        for p in &self.probes {
            let first = match p.shown_first {
                Arm::A => "a",
                Arm::B => "b",
            };
            let choice = match p.choice {
                Choice::A => "a",
                Choice::B => "b",
                Choice::Tie => "tie",
                Choice::BothWrong => "both wrong",
                Choice::Error => "error",
            };
            let reason: String = p.reasoning.chars().take(100).collect();
            out.push_str(&format!(
                "{:<width$}  {first:<5}  {choice:<10}  {reason}\n",
                p.id
            ));
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn info(m: &str) -> ArmInfo {
        ArmInfo {
            backend: "codex".into(),
            model: m.into(),
            cli_version: "codex-cli 0.169.0".into(),
        }
    }

    fn probe(id: &str, choice: Choice) -> ProbeResult {
        ProbeResult {
            id: id.into(),
            answer_a: Some("x".into()),
            answer_b: None,
            shown_first: Arm::B,
            choice,
            reasoning: "because".into(),
        }
    }

    #[test]
    fn totals_json_and_table() {
        let r = Report::new(
            Arms {
                a: info("m1"),
                b: info("m2"),
            },
            info("m1"),
            42,
            vec![
                probe("p1", Choice::A),
                probe("p2", Choice::Error),
                probe("p3", Choice::BothWrong),
            ],
        );
        assert_eq!(
            r.totals,
            Totals {
                a: 1,
                b: 0,
                tie: 0,
                both_wrong: 1,
                errors: 1
            }
        );
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema"], 1);
        assert_eq!(json["probes"][1]["choice"], "error");
        assert_eq!(json["probes"][0]["shown_first"], "b");
        assert_eq!(json["probes"][2]["choice"], "both_wrong");
        assert!(json["probes"][0]["answer_b"].is_null());
        let table = r.table(3);
        assert!(
            table.contains("wins a: 1") && table.contains("errors: 1"),
            "{table}"
        );
        assert!(table.contains("p2  b      error"), "{table}");
    }
}
