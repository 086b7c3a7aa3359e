//! A webhook body on its way in: streamed through the signature check into
//! an unnamed file, so an unauthenticated client costs kai a small buffer,
//! never memory in proportion to what it sends; only a body whose signature
//! matched is read back (docs/design.md, "The webhook listener's limits").
//! What all connections may spool at once is bounded too: past the budget a
//! delivery is refused at once (503) instead of filling the disk.

use std::io::SeekFrom;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use http_body_util::BodyExt;
use hyper::body::Incoming;
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{timeout_at, Instant};

use super::signature::Check;

/// Bytes all deliveries being received may hold on disk together: about
/// ten of GitHub's largest (25 MiB) at once, while typical deliveries are a
/// few kilobytes.
pub const BUDGET: u64 = 256 * 1024 * 1024;

/// The budget is counted in KiB so it fits a semaphore's permits.
const UNIT: u64 = 1024;

#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    #[error("cannot create {}: {source}", .path.display())]
    Dir {
        path: PathBuf,
        source: std::io::Error,
    },
}

/// Why a body was not taken.
#[derive(Debug)]
pub enum Refused {
    /// Its signature did not match.
    Forged,
    /// It did not arrive whole before its deadline.
    TooSlow,
    /// It ended early, ran longer than announced, or the connection broke.
    Broken(String),
    /// kai could not write or read it back (the disk).
    Io(std::io::Error),
}

pub struct Spool {
    dir: PathBuf,
    budget: Arc<Semaphore>,
}

/// A share of the budget, held while one body is received.
pub struct Reservation(#[allow(dead_code)] OwnedSemaphorePermit);

impl Spool {
    /// Spools into `<data>/github/spool` (0700); the files there have no
    /// name, so the folder stays empty whatever happens to the process.
    pub fn open(data_dir: &Path) -> Result<Spool, SpoolError> {
        let dir = data_dir.join("github").join("spool");
        crate::state::make_dir(&dir, 0o700).map_err(|source| SpoolError::Dir {
            path: dir.clone(),
            source,
        })?;
        let units = usize::try_from(BUDGET / UNIT).unwrap_or(usize::MAX);
        Ok(Spool {
            dir,
            budget: Arc::new(Semaphore::new(units)),
        })
    }

    /// Room for a body of `len` bytes, or None when the budget is spent.
    pub fn reserve(&self, len: u64) -> Option<Reservation> {
        let units = u32::try_from(len.div_ceil(UNIT).max(1)).ok()?;
        Arc::clone(&self.budget)
            .try_acquire_many_owned(units)
            .ok()
            .map(Reservation)
    }

    /// Receives a body of exactly `len` bytes by `deadline`, checking its
    /// signature as it streams; returns it only when the signature matched.
    pub async fn receive(
        &self,
        mut body: Incoming,
        len: u64,
        mut check: Check,
        deadline: Instant,
        _room: &Reservation,
    ) -> Result<Vec<u8>, Refused> {
        let dir = self.dir.clone();
        let file = tokio::task::spawn_blocking(move || tempfile::tempfile_in(dir))
            .await
            .map_err(|e| Refused::Io(std::io::Error::other(e)))?
            .map_err(Refused::Io)?;
        let mut file = tokio::fs::File::from_std(file);
        let mut received: u64 = 0;
        loop {
            let frame = match timeout_at(deadline, body.frame()).await {
                Err(_) => return Err(Refused::TooSlow),
                Ok(None) => break,
                Ok(Some(Err(e))) => return Err(Refused::Broken(e.to_string())),
                Ok(Some(Ok(frame))) => frame,
            };
            let Some(data) = frame.data_ref() else {
                continue;
            };
            received += data.len() as u64;
            if received > len {
                return Err(Refused::Broken(format!(
                    "the body is longer than its Content-Length {len}"
                )));
            }
            check.update(data);
            file.write_all(data).await.map_err(Refused::Io)?;
        }
        if received != len {
            return Err(Refused::Broken(format!(
                "the body ended after {received} of {len} bytes"
            )));
        }
        if !check.matches() {
            return Err(Refused::Forged);
        }
        // Signed by the secret's holder: now it may cost memory.
        file.flush().await.map_err(Refused::Io)?;
        file.seek(SeekFrom::Start(0)).await.map_err(Refused::Io)?;
        let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
        file.read_to_end(&mut bytes).await.map_err(Refused::Io)?;
        Ok(bytes)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_is_shared_and_comes_back() {
        let data = tempfile::tempdir().unwrap();
        let spool = Spool::open(data.path()).unwrap();
        let big = 100 * 1024 * 1024;
        let a = spool.reserve(big).unwrap();
        let b = spool.reserve(big).unwrap();
        // 200 MiB held: another 100 does not fit, a small one still does.
        assert!(spool.reserve(big).is_none());
        let small = spool.reserve(1).unwrap();
        drop(a);
        assert!(spool.reserve(big).is_some());
        drop((b, small));
        assert!(spool.reserve(BUDGET).is_some());
        assert!(spool.reserve(BUDGET + 1).is_none());
    }
}
