//! Which pending job the worker runs next, and which it need not run at
//! all: a burst of events for one pull request is one review, of its
//! newest head.

use super::record::Pending;

/// What the worker does next: run `run`, and mark `superseded` done
/// without running them — older events for the same pull request, whose
/// head the newest one replaces (a burst of `synchronize` is one review).
#[derive(Debug, PartialEq, Eq)]
pub struct Batch {
    pub run: Pending,
    pub superseded: Vec<Pending>,
}

/// The oldest pending job and every other pending job for the same pull
/// request, folded into the newest of them.
pub fn next_batch(pending: &[Pending]) -> Option<Batch> {
    let first = pending.first()?;
    let same = |p: &&Pending| {
        p.job.kind == first.job.kind
            && p.job.repo == first.job.repo
            && p.job.number == first.job.number
    };
    let mut group: Vec<Pending> = pending.iter().filter(same).cloned().collect();
    let run = group.pop()?;
    Some(Batch {
        run,
        superseded: group,
    })
}
