//! The maintenance file on disk: read (size-capped, never blocking on a FIFO, bounded in time
//! for `quorate serve`), and replaced atomically under a lock by `quorate maintenance`.
//!
//! A reader sees the old file or the new one, never a torn one: the new text is written to a
//! temporary file in the same directory, synced, renamed over the file, and the directory is
//! synced (so the change survives a power loss). When no record is left the file is removed:
//! its existence alone means maintenance to older readers and to HAProxy setups that test it.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::record::{self, Contents, Document};

/// Why the maintenance file could not be locked or written.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot lock the directory {} of the maintenance file: {error}", dir.display())]
    Lock { dir: PathBuf, error: std::io::Error },
    #[error("cannot write {}: {error}", path.display())]
    Write {
        path: PathBuf,
        error: std::io::Error,
    },
}

/// The file's contents. A file that exists but cannot be read (permissions, a FIFO, too large)
/// is [`Contents::Invalid`]: it exists, so the node it concerns is in maintenance.
pub fn read(path: &Path) -> Contents {
    match crate::bounded::read(path, crate::bounded::SMALL_FILE_CAP) {
        Ok(bytes) => record::parse(&bytes),
        Err(e) if e.is_not_found() => Contents::Absent,
        Err(e) => Contents::Invalid(e.to_string()),
    }
}

/// [`read`] on a blocking thread, within `timeout` (the file system may hang); the error says
/// that no answer came.
pub async fn read_within(path: &Path, timeout: Duration) -> Result<Contents, String> {
    let owned = path.to_path_buf();
    match tokio::time::timeout(timeout, tokio::task::spawn_blocking(move || read(&owned))).await {
        Ok(Ok(contents)) => Ok(contents),
        Ok(Err(e)) => Err(format!("reading {} failed: {e}", path.display())),
        Err(_) => Err(format!(
            "no answer from {} within {timeout:?}",
            path.display()
        )),
    }
}

/// An exclusive flock(2) on the file's directory, held while the value lives: `on` and `off`
/// read, change and write the file one at a time (two nodes' records share one file).
#[derive(Debug)]
pub struct Lock {
    _dir: File,
}

impl Lock {
    /// Waits for the lock of `path`'s directory.
    pub fn acquire(path: &Path) -> Result<Lock, StoreError> {
        let dir = parent(path);
        let lock = || -> std::io::Result<File> {
            let d = File::open(&dir)?;
            rustix::fs::flock(&d, rustix::fs::FlockOperation::LockExclusive)?;
            Ok(d)
        };
        lock()
            .map(|d| Lock { _dir: d })
            .map_err(|error| StoreError::Lock { dir, error })
    }
}

/// Replaces the file with `doc` (removes it when `doc` has no record), durably. Take the
/// [`Lock`] first.
pub fn write(path: &Path, doc: &Document) -> Result<(), StoreError> {
    let dir = parent(path);
    let err = |p: &Path| {
        let p = p.to_path_buf();
        move |error| StoreError::Write { path: p, error }
    };
    if doc.nodes.is_empty() {
        match std::fs::remove_file(path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
            Err(e) => return Err(err(path)(e)),
        }
        return sync_dir(&dir).map_err(err(&dir));
    }
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}.tmp", std::process::id()));
    let text = record::render(doc);
    let written = OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        // Readable by `quorate serve`'s user whoever runs the command; it holds no secret.
        .mode(0o644)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(text.as_bytes())?;
            f.sync_all()
        })
        .and_then(|()| std::fs::rename(&tmp, path));
    if let Err(e) = written {
        // Our own temporary file: the maintenance file itself is untouched.
        let _ = std::fs::remove_file(&tmp);
        return Err(err(path)(e));
    }
    sync_dir(&dir).map_err(err(&dir))
}

fn parent(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// fsync(2) on a directory: a rename or removal in it is durable only once it is synced.
fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir).and_then(|d| d.sync_all())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::maintenance::record::Record;

    #[test]
    fn written_read_back_and_removed_when_empty() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("maintenance.json");
        assert_eq!(read(&path), Contents::Absent);
        let _lock = Lock::acquire(&path).expect("lock");
        let mut doc = Document::default();
        doc.nodes.insert(
            "n2".into(),
            Record {
                reason: "r".into(),
                since: 1,
                expires: 2,
                desync: false,
                by: None,
            },
        );
        write(&path, &doc).expect("write");
        assert_eq!(read(&path), Contents::Records(doc.clone()));
        // Nothing but the file is left in the directory.
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("ls")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("maintenance.json")]);
        write(&path, &Document::default()).expect("remove");
        assert_eq!(read(&path), Contents::Absent);
        write(&path, &Document::default()).expect("already absent");
    }

    #[test]
    fn a_file_that_cannot_be_read_means_maintenance() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("maintenance");
        crate::bounded::test_files::fifo(&path);
        let c = read(&path);
        assert!(
            matches!(&c, Contents::Invalid(why) if why.contains("FIFO")),
            "{c:?}"
        );
        assert!(record::judge(&c, "n1", 0).is_active());
    }
}
