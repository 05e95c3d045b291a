//! Reading a small file from outside (state files, secrets, defaults files, backup files, the
//! configuration) so that nothing in it can stop or swamp quorate: the file is opened with
//! `O_NONBLOCK` (opening a FIFO without a writer returns at once instead of waiting), its type is
//! checked on the open descriptor (a FIFO, a device or a directory is refused: it may block or
//! never end), its announced size is checked against a cap before anything is read (a sparse
//! 2 GB file costs one `fstat`), and at most the cap plus one byte is read (a file that grows
//! meanwhile is caught too). Every error names the file, and the cap when it was exceeded.
//!
//! The caps are chosen per kind of file by the caller; [`SMALL_FILE_CAP`] is the one the files
//! quorate reads (a few hundred bytes each) share.

use std::fs::File;
use std::io::{self, Read};
use std::os::fd::OwnedFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// The cap for the small files quorate reads: grastate.dat, gvwstate.dat, secret, password and
/// defaults files, mariabackup's files, peers' `/galera/state` answers. Each is well under 64 KiB.
pub const SMALL_FILE_CAP: u64 = 1 << 20;

/// The cap for the configuration file.
pub const CONFIG_FILE_CAP: u64 = 4 << 20;

/// Why a file was not read. Displayed as `cannot read PATH: ` and [`ReadError::reason`].
#[derive(Debug)]
pub enum ReadError {
    Io { path: PathBuf, source: io::Error },
    NotRegular { path: PathBuf, kind: &'static str },
    TooLarge { path: PathBuf, cap: u64 },
}

impl std::fmt::Display for ReadError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (ReadError::Io { path, .. }
        | ReadError::NotRegular { path, .. }
        | ReadError::TooLarge { path, .. }) = self;
        write!(f, "cannot read {}: {}", path.display(), self.reason())
    }
}

impl std::error::Error for ReadError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            ReadError::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl ReadError {
    /// What went wrong, without the file's name (for messages that name it already).
    pub fn reason(&self) -> String {
        match self {
            ReadError::Io { source, .. } => source.to_string(),
            ReadError::NotRegular { kind, .. } => {
                format!("it is {kind}, not a regular file (reading it could block or never end)")
            }
            ReadError::TooLarge { cap, .. } => {
                format!("it is larger than the limit of {cap} bytes")
            }
        }
    }

    /// The file does not exist (callers often treat that as "absent", not as an error).
    pub fn is_not_found(&self) -> bool {
        matches!(self, ReadError::Io { source, .. } if source.kind() == io::ErrorKind::NotFound)
    }

    fn io(path: &Path, source: io::Error) -> ReadError {
        ReadError::Io {
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The whole file at `path`, at most `cap` bytes.
pub fn read(path: &Path, cap: u64) -> Result<Vec<u8>, ReadError> {
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
        .open(path)
        .map_err(|e| ReadError::io(path, e))?;
    read_open(file, path, cap).map(|(bytes, _)| bytes)
}

/// [`read`] as UTF-8 text (invalid UTF-8 is an error naming the file).
pub fn read_to_string(path: &Path, cap: u64) -> Result<String, ReadError> {
    let bytes = read(path, cap)?;
    String::from_utf8(bytes).map_err(|e| {
        ReadError::io(
            path,
            io::Error::new(io::ErrorKind::InvalidData, e.utf8_error()),
        )
    })
}

/// The file `name` relative to the directory `dir` (not following a final symbolic link is the
/// caller's choice of `extra_flags`), at most `cap` bytes, with its metadata; `None` if it does
/// not exist. `path` names the file in errors.
pub fn read_at(
    dir: impl std::os::fd::AsFd,
    name: &str,
    path: &Path,
    cap: u64,
) -> Result<Option<(Vec<u8>, std::fs::Metadata)>, ReadError> {
    use rustix::fs::{Mode, OFlags};
    let flags = OFlags::RDONLY | OFlags::CLOEXEC | OFlags::NONBLOCK;
    let fd: OwnedFd = match rustix::fs::openat(dir, name, flags, Mode::empty()) {
        Ok(fd) => fd,
        Err(rustix::io::Errno::NOENT) => return Ok(None),
        Err(e) => return Err(ReadError::io(path, e.into())),
    };
    read_open(File::from(fd), path, cap).map(Some)
}

/// Checks an open file's type and size, then reads at most `cap` bytes of it.
fn read_open(file: File, path: &Path, cap: u64) -> Result<(Vec<u8>, std::fs::Metadata), ReadError> {
    let meta = file.metadata().map_err(|e| ReadError::io(path, e))?;
    let kind = meta.file_type();
    if !kind.is_file() {
        let kind = if kind.is_fifo() {
            "a FIFO"
        } else if kind.is_char_device() {
            "a character device"
        } else if kind.is_block_device() {
            "a block device"
        } else if kind.is_dir() {
            "a directory"
        } else if kind.is_socket() {
            "a socket"
        } else {
            "not a regular file"
        };
        return Err(ReadError::NotRegular {
            path: path.to_path_buf(),
            kind,
        });
    }
    let too_large = || ReadError::TooLarge {
        path: path.to_path_buf(),
        cap,
    };
    if meta.len() > cap {
        return Err(too_large());
    }
    // The announced size (the file may have changed since fstat), plus one byte to notice growth.
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len()).unwrap_or(0) + 1);
    file.take(cap + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| ReadError::io(path, e))?;
    if bytes.len() as u64 > cap {
        return Err(too_large());
    }
    Ok((bytes, meta))
}

/// Test support: makes a FIFO at `path` (no writer: opening it for reading without
/// `O_NONBLOCK` would block for ever) and a sparse file of `len` bytes (no disk used).
#[cfg(test)]
pub(crate) mod test_files {
    use std::path::Path;

    pub(crate) fn fifo(path: &Path) {
        let c = std::ffi::CString::new(path.as_os_str().as_encoded_bytes()).expect("path");
        // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0, "mkfifo");
    }

    pub(crate) fn sparse(path: &Path, len: u64) {
        std::fs::File::create(path)
            .and_then(|f| f.set_len(len))
            .expect("sparse file");
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Runs `f` on a thread and fails if it does not return within two seconds (a FIFO opened
    /// without O_NONBLOCK would block forever).
    fn quickly<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> T {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(f());
        });
        rx.recv_timeout(Duration::from_secs(2))
            .expect("the read did not return within 2 s")
    }

    #[test]
    fn a_fifo_is_refused_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("grastate.dat");
        crate::bounded::test_files::fifo(&fifo);
        let e = quickly(move || read(&fifo, SMALL_FILE_CAP)).expect_err("fifo");
        let text = e.to_string();
        assert!(
            text.contains("grastate.dat") && text.contains("FIFO"),
            "{text}"
        );
    }

    #[test]
    fn a_device_and_a_directory_are_refused() {
        let e = quickly(|| read(Path::new("/dev/zero"), SMALL_FILE_CAP)).expect_err("device");
        assert!(
            e.to_string()
                .contains("/dev/zero: it is a character device"),
            "{e}"
        );
        let dir = tempfile::tempdir().expect("tempdir");
        let e = read(dir.path(), SMALL_FILE_CAP).expect_err("directory");
        assert!(e.to_string().contains("a directory"), "{e}");
    }

    #[test]
    fn a_sparse_2gb_file_is_refused_without_reading_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let big = dir.path().join("grastate.dat");
        crate::bounded::test_files::sparse(&big, 2 << 30);
        let started = Instant::now();
        let e = read(&big, SMALL_FILE_CAP).expect_err("too large");
        assert!(started.elapsed() < Duration::from_secs(1));
        let text = e.to_string();
        assert!(
            text.contains("grastate.dat") && text.contains("1048576 bytes"),
            "{text}"
        );
    }

    #[test]
    fn small_files_are_read_and_absent_ones_told_apart() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = dir.path().join("f");
        std::fs::write(&file, "seqno: 5\n").expect("write");
        assert_eq!(read_to_string(&file, 64).expect("read"), "seqno: 5\n");
        let e = read(&file, 4).expect_err("over the cap");
        assert!(matches!(e, ReadError::TooLarge { cap: 4, .. }), "{e}");
        let e = read(&dir.path().join("missing"), 64).expect_err("missing");
        assert!(e.is_not_found(), "{e}");
        let d = File::open(dir.path()).expect("dir");
        assert!(read_at(&d, "missing", &file, 64).expect("ok").is_none());
        let (bytes, _) = read_at(&d, "f", &file, 64).expect("ok").expect("some");
        assert_eq!(bytes, b"seqno: 5\n");
    }
}
