//! Waiting for `kai eval`'s probes: each result as it comes, a line of
//! progress for the person waiting, and a probe whose task was lost (a
//! panic) recorded as that probe's error, never silently missing.

use std::collections::HashMap;

use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::judge::{Arm, Choice};
use super::report::ProbeResult;

/// Waits for the probe tasks until all are done or `cancel`; (each probe's
/// result by its index, whether all ran). A task that panicked is that
/// probe's error, so a lost probe is counted and makes the run fail.
pub(super) async fn collect(
    mut tasks: JoinSet<(usize, ProbeResult)>,
    mut started: HashMap<tokio::task::Id, (usize, String, Arm)>,
    total: usize,
    cancel: &CancellationToken,
) -> (Vec<(usize, ProbeResult)>, bool) {
    let mut done: Vec<(usize, ProbeResult)> = Vec::new();
    let complete = loop {
        let r = tokio::select! {
            next = tasks.join_next_with_id() => match next {
                Some(Ok((_, r))) => r,
                Some(Err(e)) => {
                    tracing::error!("a probe task failed: {e}");
                    let Some((index, id, first)) = started.remove(&e.id()) else {
                        continue;
                    };
                    (index, ProbeResult {
                        id,
                        answer_a: None,
                        answer_b: None,
                        shown_first: first,
                        choice: Choice::Error,
                        reasoning: format!("the probe's task failed: {e}"),
                    })
                }
                None => break true,
            },
            _ = cancel.cancelled() => {
                // Dropping the tasks stops their agents (and every process
                // they started); what was judged is reported.
                tasks.abort_all();
                break false;
            }
        };
        // Progress for the person waiting (stdout is the table).
        eprintln!(
            "kai eval: {} {} ({}/{})",
            r.1.id,
            progress(&r.1),
            done.len() + 1,
            total
        );
        done.push(r);
    };
    (done, complete)
}

/// One probe's outcome, in a few words.
fn progress(r: &ProbeResult) -> String {
    match r.choice {
        Choice::A => "judged: a".into(),
        Choice::B => "judged: b".into(),
        Choice::Tie => "judged: tie".into(),
        Choice::BothWrong => "judged: both wrong".into(),
        Choice::Error => format!("failed: {}", r.reasoning),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::report::{ArmInfo, Arms, Report};

    fn judged(id: &str) -> ProbeResult {
        ProbeResult {
            id: id.into(),
            answer_a: Some("a".into()),
            answer_b: Some("b".into()),
            shown_first: Arm::A,
            choice: Choice::A,
            reasoning: "a is right".into(),
        }
    }

    /// A probe whose task panicked used to vanish from the report while the
    /// run still counted as complete with no errors (exit 0).
    #[tokio::test]
    async fn a_probe_task_that_panics_is_that_probes_error() {
        let mut tasks = JoinSet::new();
        let mut started = HashMap::new();
        let fine = tasks.spawn(async { (0, judged("p0")) });
        started.insert(fine.id(), (0, "p0".to_string(), Arm::A));
        let lost = tasks.spawn(async {
            if std::hint::black_box(true) {
                panic!("a bug in one probe");
            }
            (1, judged("p1"))
        });
        started.insert(lost.id(), (1, "p1".to_string(), Arm::B));
        let (mut done, complete) = collect(tasks, started, 2, &CancellationToken::new()).await;
        done.sort_by_key(|(i, _)| *i);
        assert!(complete);
        assert_eq!(done.len(), 2, "the lost probe is not in the results");
        let (_, p1) = &done[1];
        assert_eq!((p1.id.as_str(), p1.choice), ("p1", Choice::Error));
        assert!(p1.reasoning.contains("panicked"), "{}", p1.reasoning);
        let report = Report::new(
            Arms {
                a: info(),
                b: info(),
            },
            info(),
            7,
            done.into_iter().map(|(_, r)| r).collect(),
        );
        assert_eq!(report.totals.errors, 1, "a lost probe must fail the run");
    }

    fn info() -> ArmInfo {
        ArmInfo {
            backend: "codex".into(),
            model: "gpt-5.5".into(),
            cli_version: "codex-cli 0.169.0".into(),
        }
    }
}
