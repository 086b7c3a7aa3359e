//! One record's file, written whole or not at all: a temporary file beside
//! it, fsync, rename over it, fsync of the directory — so a `kill -9` or a
//! power loss leaves either the old content or the new, never half. A
//! leftover `.tmp` is a write that never finished (the queue removes it at
//! start). Files are 0600: PR titles are not everybody's business.

use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;

use super::record::Record;
use super::DeliveriesError;

/// Writes `record` to `path` in `dir` so that `path` holds either the old
/// or the whole new content, even across a crash or power loss.
pub(super) fn write(dir: &Path, path: &Path, record: &Record) -> Result<(), DeliveriesError> {
    let err = |source| DeliveriesError::Io {
        path: path.to_path_buf(),
        source,
    };
    let tmp = path.with_extension("tmp");
    let bytes = serde_json::to_vec(record).map_err(|e| err(e.into()))?;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .map_err(err)?;
    f.write_all(&bytes).map_err(err)?;
    f.sync_all().map_err(err)?;
    std::fs::rename(&tmp, path).map_err(err)?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(err)
}

/// The record in `path`; `None` when it is missing or not a record.
pub(super) fn read(path: &Path) -> Option<Record> {
    let bytes = std::fs::read(path).ok()?;
    serde_json::from_slice(&bytes).ok()
}
