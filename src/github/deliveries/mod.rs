//! The durable, deduplicated queue of accepted webhook deliveries, one JSON
//! file per `X-GitHub-Delivery` in `$KAI_DATA_DIR/github/deliveries` (dirs
//! 0700, files 0600: PR titles are not everybody's business). What a file
//! holds is `record.rs`; how it is written is `file.rs`; which pending job
//! runs next is `batch.rs`.
//!
//! A delivery is written before the webhook answers `202`, so a `kill -9`
//! right after the answer loses nothing: the next start finds it pending
//! and runs it. Its file stays after the work is done, marked done, so a
//! redelivery of the same id — also after a restart — is recognised and
//! never run twice.

mod batch;
mod file;
mod record;

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

pub use batch::next_batch;
pub use record::{Job, JobKind, Pending, PendingNotice, Tell, Work};

use file::read;
use record::{now_nanos, Record};

/// Done records older than this are removed at start: GitHub lets an
/// operator redeliver for a few days, not for a month.
const KEEP_DONE: Duration = Duration::from_secs(30 * 24 * 3600);

#[derive(Debug, PartialEq, Eq)]
pub enum Accepted {
    New,
    /// This delivery id was accepted before (pending or done).
    Duplicate,
}

#[derive(Debug, thiserror::Error)]
pub enum DeliveriesError {
    #[error("`{0}` is not a delivery id (expected a GUID)")]
    BadId(String),
    #[error("cannot write {}: {source}", .path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
}

pub struct Deliveries {
    dir: PathBuf,
    /// Accepting is check-then-write, marking done is read-modify-write,
    /// and the worker and the notifier mark one record's two halves: one
    /// writer at a time, so two copies of one delivery arriving together are
    /// still one and neither half's mark is lost.
    write_lock: Mutex<()>,
    last_seq: AtomicU64,
}

impl Deliveries {
    /// Opens (creating) the queue under `data_dir` and drops old done records.
    pub fn open(data_dir: &Path) -> Result<Self, DeliveriesError> {
        let dir = data_dir.join("github").join("deliveries");
        crate::state::make_dir(&dir, 0o700).map_err(|source| DeliveriesError::Io {
            path: dir.clone(),
            source,
        })?;
        let d = Deliveries {
            dir,
            write_lock: Mutex::new(()),
            last_seq: AtomicU64::new(0),
        };
        d.prune();
        Ok(d)
    }

    /// Records a delivery durably unless its id was seen before.
    pub fn accept(&self, id: &str, work: Work) -> Result<Accepted, DeliveriesError> {
        if !is_delivery_id(id) {
            return Err(DeliveriesError::BadId(id.chars().take(80).collect()));
        }
        let _one = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.path(id);
        if path.exists() {
            return Ok(Accepted::Duplicate);
        }
        let record = Record::new(id, self.next_seq(), work);
        file::write(&self.dir, &path, &record)?;
        Ok(Accepted::New)
    }

    /// Deliveries whose job is pending, oldest first.
    pub fn pending(&self) -> Vec<Pending> {
        self.records()
            .into_iter()
            .filter_map(Record::pending_job)
            .collect()
    }

    /// Notices and job summaries not yet told, oldest delivery first.
    pub fn pending_notices(&self) -> Vec<PendingNotice> {
        self.records()
            .iter()
            .flat_map(Record::pending_notices)
            .collect()
    }

    /// Marks a delivery's job done; the record stays on disk so a
    /// redelivery is known.
    pub fn finish(&self, id: &str, outcome: &str) -> Result<(), DeliveriesError> {
        self.update(id, |r| r.finish(outcome, None))
    }

    /// Marks a delivery's job done and keeps `summary` for its owner,
    /// in one write: a crash cannot leave a finished job untold.
    pub fn finish_and_tell(
        &self,
        id: &str,
        outcome: &str,
        summary: String,
    ) -> Result<(), DeliveriesError> {
        self.update(id, |r| r.finish(outcome, Some(summary)))
    }

    /// Marks what was told of a delivery done (sent, or why not).
    pub fn told(&self, id: &str, tell: &Tell, outcome: &str) -> Result<(), DeliveriesError> {
        self.update(id, |r| r.mark_told(tell, outcome))
    }

    fn update(&self, id: &str, change: impl FnOnce(&mut Record)) -> Result<(), DeliveriesError> {
        let _one = self.write_lock.lock().unwrap_or_else(|p| p.into_inner());
        let path = self.path(id);
        let Some(mut record) = read(&path) else {
            return Ok(());
        };
        change(&mut record);
        file::write(&self.dir, &path, &record)
    }

    /// What became of a delivery's job: `None` if unknown or still pending.
    #[cfg(test)]
    pub fn outcome(&self, id: &str) -> Option<String> {
        read(&self.path(id))?.outcome().map(str::to_string)
    }

    /// What became of a delivery's notice: `None` if unknown or pending.
    #[cfg(test)]
    pub fn told_outcome(&self, id: &str) -> Option<String> {
        read(&self.path(id))?.told().map(str::to_string)
    }

    fn path(&self, id: &str) -> PathBuf {
        self.dir.join(format!("{id}.json"))
    }

    fn next_seq(&self) -> u64 {
        let now = now_nanos();
        // Strictly increasing even when the clock is coarse or steps back.
        let mut prev = self.last_seq.load(Ordering::Relaxed);
        loop {
            let seq = now.max(prev + 1);
            match self
                .last_seq
                .compare_exchange(prev, seq, Ordering::Relaxed, Ordering::Relaxed)
            {
                Ok(_) => return seq,
                Err(p) => prev = p,
            }
        }
    }

    /// Every record, oldest first.
    fn records(&self) -> Vec<Record> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<Record> = entries
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|x| x == "json"))
            .filter_map(|p| read(&p))
            .collect();
        out.sort_by(|a, b| a.arrival().cmp(&b.arrival()));
        out
    }

    fn prune(&self) {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return;
        };
        for e in entries.flatten() {
            let p = e.path();
            let is_tmp = p.extension().is_some_and(|x| x == "tmp");
            let old = e
                .metadata()
                .and_then(|m| m.modified())
                .ok()
                .and_then(|t| t.elapsed().ok())
                .is_some_and(|age| age > KEEP_DONE);
            // A temporary file is a write that never finished: its delivery
            // was never answered 202, so GitHub counts it failed.
            let done = || read(&p).is_some_and(|r| r.all_done());
            if is_tmp || (old && done()) {
                let _ = std::fs::remove_file(&p);
            }
        }
    }
}

/// GitHub's delivery ids are GUIDs; anything else could name another file.
pub fn is_delivery_id(id: &str) -> bool {
    (1..=64).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_hexdigit() || b == b'-')
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    fn job(repo: &str, number: u64, sha: &str) -> Work {
        Work {
            job: Some(Job {
                kind: JobKind::Review,
                repo: repo.into(),
                number,
                head_sha: Some(sha.into()),
            }),
            notice: None,
        }
    }

    const A: &str = "72d3162e-cc78-11e3-81ab-4c9367dc0958";

    #[test]
    fn a_delivery_is_accepted_once_also_after_a_restart() {
        let data = tempfile::tempdir().unwrap();
        let q = Deliveries::open(data.path()).unwrap();
        assert_eq!(q.accept(A, job("o/r", 1, "a")).unwrap(), Accepted::New);
        assert_eq!(
            q.accept(A, job("o/r", 1, "a")).unwrap(),
            Accepted::Duplicate
        );
        assert_eq!(q.pending().len(), 1);
        drop(q);

        // A restart finds it pending; once done, it is still known.
        let q = Deliveries::open(data.path()).unwrap();
        assert_eq!(q.pending()[0].id, A);
        q.finish(A, "posted").unwrap();
        assert!(q.pending().is_empty());
        drop(q);
        let q = Deliveries::open(data.path()).unwrap();
        assert_eq!(
            q.accept(A, job("o/r", 1, "a")).unwrap(),
            Accepted::Duplicate
        );
        assert_eq!(q.outcome(A).as_deref(), Some("posted"));
        assert!(q.pending().is_empty());
    }

    #[test]
    fn files_are_private_and_ids_cannot_name_other_files() {
        let data = tempfile::tempdir().unwrap();
        let q = Deliveries::open(data.path()).unwrap();
        q.accept(A, job("o/r", 1, "a")).unwrap();
        let dir = data.path().join("github/deliveries");
        let mode = |p: &Path| std::fs::metadata(p).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode(&dir), 0o700);
        assert_eq!(mode(&dir.join(format!("{A}.json"))), 0o600);
        for bad in ["../../etc/passwd", "", "a/b", &"a".repeat(65), "x y"] {
            assert!(
                matches!(
                    q.accept(bad, job("o/r", 1, "a")),
                    Err(DeliveriesError::BadId(_))
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn pending_is_in_arrival_order_and_a_burst_folds_into_its_newest() {
        let data = tempfile::tempdir().unwrap();
        let q = Deliveries::open(data.path()).unwrap();
        let ids: Vec<String> = (0..4).map(|i| format!("{i}{}", &A[1..])).collect();
        q.accept(&ids[0], job("o/r", 7, "h1")).unwrap();
        q.accept(&ids[1], job("o/other", 2, "x")).unwrap();
        q.accept(&ids[2], job("o/r", 7, "h2")).unwrap();
        q.accept(&ids[3], job("o/r", 7, "h3")).unwrap();
        let pending = q.pending();
        let order: Vec<&str> = pending.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(order, ids.iter().map(String::as_str).collect::<Vec<_>>());

        let batch = next_batch(&pending).unwrap();
        assert_eq!(batch.run.job.head_sha.as_deref(), Some("h3"));
        let gone: Vec<&str> = batch.superseded.iter().map(|p| p.id.as_str()).collect();
        assert_eq!(gone, vec![ids[0].as_str(), ids[2].as_str()]);
        for p in &batch.superseded {
            q.finish(&p.id, "superseded").unwrap();
        }
        q.finish(&batch.run.id, "posted").unwrap();
        let next = next_batch(&q.pending()).unwrap();
        assert_eq!(next.run.id, ids[1]);
        assert!(next.superseded.is_empty());
        assert_eq!(next_batch(&[]), None);
    }

    #[test]
    fn a_job_and_a_notice_are_done_separately_and_old_records_still_read() {
        use crate::github::events::{Event, Happening, IssueAction};
        let data = tempfile::tempdir().unwrap();
        let q = Deliveries::open(data.path()).unwrap();
        let event = Event {
            repo: "o/r".into(),
            what: Happening::Issue {
                action: IssueAction::Opened,
                number: 3,
                title: "t".into(),
                url: String::new(),
                by: "x".into(),
            },
        };
        let mut work = job("o/r", 3, "");
        work.notice = Some(event.clone());
        q.accept(A, work).unwrap();
        assert_eq!(q.pending().len(), 1);
        let told = Tell::Event(event.clone());
        assert_eq!(q.pending_notices()[0].tell, told);
        q.told(A, &told, "sent").unwrap();
        assert!(q.pending_notices().is_empty());
        assert_eq!(q.pending().len(), 1, "telling does not finish the job");
        q.finish_and_tell(A, "posted", "Triaged o/r#3".into())
            .unwrap();
        assert_eq!(q.told_outcome(A).as_deref(), Some("sent"));
        assert!(q.pending().is_empty());
        // The job's summary waits until it was told, also across a restart.
        drop(q);
        let q = Deliveries::open(data.path()).unwrap();
        let summary = Tell::Summary {
            repo: "o/r".into(),
            text: "Triaged o/r#3".into(),
        };
        assert_eq!(q.pending_notices()[0].tell, summary);
        q.told(A, &summary, "sent").unwrap();
        assert!(q.pending_notices().is_empty());

        // A record written before notices existed: a bare job, still pending.
        let old =
            r#"{"id":"1","seq":5,"job":{"kind":"review","repo":"o/r","number":1,"head_sha":"a"}}"#;
        std::fs::write(data.path().join("github/deliveries/1.json"), old).unwrap();
        let pending = q.pending();
        assert_eq!(pending.len(), 1);
        assert_eq!(pending[0].job.number, 1);
        assert!(q.pending_notices().is_empty());
    }
}
