//! Reading one directory of a backup root through descriptors: its stamp, its listing
//! (getdents with d_type, on a stack buffer) and, for a backup directory, the few small files
//! mariabackup and the seed's backup script leave, opened relative to it. What the scanner
//! caches about a directory ([`Cached`]) is built here; deciding what to re-read is the
//! scanner's.

use std::ffi::OsStr;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::tz::TimeZone;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, Stat};

use super::{Cached, MAX_DEPTH};
use crate::backup::record::{self, DirContents};
use crate::backup::snapshot::ScanError;
use crate::backup::BackupType;
use crate::unix_time;

/// The files quorate reads are a few hundred bytes; a larger one is refused with an error.
const MAX_FILE: u64 = crate::bounded::SMALL_FILE_CAP;
/// getdents buffer: a backup directory's listing fits in one call.
const DIRENT_BUF: usize = 8192;

const CHECKPOINTS: [&str; 2] = ["mariadb_backup_checkpoints", "xtrabackup_checkpoints"];
const INFO: [&str; 2] = ["mariadb_backup_info", "xtrabackup_info"];
const INFO_QP: [&str; 2] = ["mariadb_backup_info.qp", "xtrabackup_info.qp"];
const METADATA: &str = "backup_metadata.json";
/// The files whose text is read.
const READ_FILES: [&str; 5] = [CHECKPOINTS[0], CHECKPOINTS[1], INFO[0], INFO[1], METADATA];
/// Files whose presence alone makes a directory a (possibly failed) mariabackup target.
const OTHER_MARKERS: [&str; 9] = [
    "backup-my.cnf",
    "backup-my.cnf.qp",
    "ib_logfile0",
    "ib_logfile0.qp",
    "xtrabackup_logfile",
    "ibdata1",
    "ibdata1.qp",
    "ibdata1.delta",
    "mariadb_backup_binlog_info",
];
/// Every name the listing of a directory is matched against, in one table: bit `i` of a
/// directory's [`Listing::known`] says whether `KNOWN[i]` is there.
const KNOWN: [&str; 16] = [
    CHECKPOINTS[0],
    CHECKPOINTS[1],
    INFO[0],
    INFO[1],
    INFO_QP[0],
    INFO_QP[1],
    METADATA,
    OTHER_MARKERS[0],
    OTHER_MARKERS[1],
    OTHER_MARKERS[2],
    OTHER_MARKERS[3],
    OTHER_MARKERS[4],
    OTHER_MARKERS[5],
    OTHER_MARKERS[6],
    OTHER_MARKERS[7],
    OTHER_MARKERS[8],
];

/// What identifies a version of a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Stamp {
    pub(super) mtime: (i64, i64),
    pub(super) ctime: (i64, i64),
    pub(super) ino: u64,
    pub(super) size: u64,
}

impl Stamp {
    // The field types of `struct stat` differ between targets; all fit in i64/u64.
    #[allow(clippy::unnecessary_cast)]
    pub(super) fn of(st: &Stat) -> Stamp {
        Stamp {
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
            ino: st.st_ino as u64,
            size: st.st_size as u64,
        }
    }

    /// The stamp of an open file's metadata (as [`Stamp::of`] its `fstat`).
    pub(super) fn of_metadata(meta: &std::fs::Metadata) -> Stamp {
        use std::os::unix::fs::MetadataExt;
        Stamp {
            mtime: (meta.mtime(), meta.mtime_nsec()),
            ctime: (meta.ctime(), meta.ctime_nsec()),
            ino: meta.ino(),
            size: meta.size(),
        }
    }

    pub(super) fn current(path: &Path) -> Option<Stamp> {
        rustix::fs::stat(path).ok().map(|st| Stamp::of(&st))
    }

    pub(super) fn modified(&self) -> Option<SystemTime> {
        unix_time::from_pair(self.mtime)
    }

    /// The last change of contents or metadata (ctime cannot be set back, unlike mtime).
    pub(super) fn changed(&self) -> Option<SystemTime> {
        unix_time::from_pair(self.ctime)
    }
}

/// Whether the newest of `stamps` changed within `window` before `at` (or after it, or at
/// a time that cannot be placed: both taken as recent, the safe side).
pub(super) fn changed_within<'a>(
    stamps: impl IntoIterator<Item = &'a Stamp>,
    at: SystemTime,
    window: Duration,
) -> bool {
    stamps
        .into_iter()
        .any(|s| s.changed().is_none_or(|t| t + window > at))
}

/// Opens a directory: relative to its parent's descriptor when there is one (without
/// following a symbolic link, as the listing's d_type did not), else by path (a root may be
/// a symbolic link).
pub(super) fn open_dir(path: &Path, parent: Option<&OwnedFd>) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match (parent, path.file_name()) {
        (Some(parent), Some(name)) => {
            rustix::fs::openat(parent, name, flags | OFlags::NOFOLLOW, Mode::empty())
        }
        _ => rustix::fs::open(path, flags, Mode::empty()),
    }
}

/// A directory's listing, as much of it as the scan needs.
struct Listing {
    /// Bit `i`: a non-directory entry named `KNOWN[i]` is there.
    known: u32,
    /// Subdirectory names (not symbolic links to directories).
    subdirs: Vec<Vec<u8>>,
    has_delta: bool,
    has_qp: bool,
}

impl Listing {
    fn has(&self, name: &str) -> bool {
        KNOWN
            .iter()
            .position(|k| *k == name)
            .is_some_and(|i| self.known & (1 << i) != 0)
    }

    fn has_any(&self) -> bool {
        self.known != 0
    }
}

/// Lists a directory through its descriptor with a buffer on the stack (getdents, d_type).
fn list(fd: &OwnedFd) -> rustix::io::Result<Listing> {
    let mut buf = [MaybeUninit::<u8>::uninit(); DIRENT_BUF];
    let mut raw = RawDir::new(fd, &mut buf);
    let mut listing = Listing {
        known: 0,
        subdirs: Vec::new(),
        has_delta: false,
        has_qp: false,
    };
    let mut unknown: Vec<Vec<u8>> = Vec::new();
    while let Some(entry) = raw.next() {
        let entry = entry?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        match entry.file_type() {
            // A directory named like a file quorate reads is that file gone wrong: reading it
            // gives an error naming it (not a backup that looks killed midway).
            FileType::Directory if READ_FILES.iter().any(|f| f.as_bytes() == name) => {
                listing.add_file(name)
            }
            FileType::Directory => listing.subdirs.push(name.to_vec()),
            // The file system left d_type unknown: asked below, without following links.
            FileType::Unknown => unknown.push(name.to_vec()),
            _ => listing.add_file(name),
        }
    }
    for name in unknown {
        let is_dir = rustix::fs::statat(fd, OsStr::from_bytes(&name), AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory);
        if is_dir && !READ_FILES.iter().any(|f| f.as_bytes() == name.as_slice()) {
            listing.subdirs.push(name);
        } else {
            listing.add_file(&name);
        }
    }
    Ok(listing)
}

impl Listing {
    fn add_file(&mut self, name: &[u8]) {
        if let Some(i) = KNOWN.iter().position(|k| k.as_bytes() == name) {
            self.known |= 1 << i;
        }
        self.has_delta |= name.ends_with(b".delta");
        self.has_qp |= name.ends_with(b".qp");
    }
}

/// Reads a directory through one descriptor: a backup directory whole (its few small files
/// opened relative to it), another one as a list of subdirectories. A container's
/// descriptor is returned for its children.
pub(super) fn read_dir(
    path: &Path,
    parent: Option<&OwnedFd>,
    depth: usize,
    tz: &TimeZone,
    racy_window: Duration,
) -> Result<(Cached, Option<OwnedFd>), ScanError> {
    // Before the stamps are taken: a change after this instant has a later ctime.
    let read_at = SystemTime::now();
    let fd = open_dir(path, parent).map_err(|e| ScanError::io(path, "read directory", e))?;
    // The stamp is taken before listing, so a change during the listing shows next time.
    let stamp = Stamp::of(&rustix::fs::fstat(&fd).map_err(|e| ScanError::io(path, "stat", e))?);
    let listing = list(&fd).map_err(|e| ScanError::io(path, "read directory", e))?;
    let layout_kind = layout_kind(path);
    if layout_kind.is_none() && !listing.has_any() {
        let mut children: Vec<Vec<u8>> = if depth < MAX_DEPTH {
            listing
                .subdirs
                .into_iter()
                .filter(|name| !name.starts_with(b"."))
                .collect()
        } else {
            Vec::new()
        };
        children.sort_unstable();
        let children: Vec<PathBuf> = children
            .into_iter()
            .map(|name| path.join(OsStr::from_bytes(&name)))
            .collect();
        let racy = changed_within([&stamp], read_at, racy_window);
        return Ok((
            Cached::Container {
                stamp,
                children: children.into(),
                racy,
            },
            Some(fd),
        ));
    }

    let mut contents = DirContents {
        path: path.to_path_buf(),
        layout_kind,
        dir_mtime: stamp.modified(),
        has_delta: listing.has_delta,
        has_qp: listing.has_qp,
        ..DirContents::default()
    };
    let mut files = Vec::new();
    let mut read = |name: &'static str| -> Result<Option<String>, ScanError> {
        if !listing.has(name) {
            return Ok(None);
        }
        match read_small(&fd, path, name) {
            Ok(Some((text, s))) => {
                files.push((name, s));
                Ok(Some(text))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(ScanError {
                path: path.join(name),
                message: format!("cannot read: {}", e.reason()),
            }),
        }
    };
    // The 11.x names win when both exist (mariadb_backup_* is listed first).
    for name in CHECKPOINTS {
        if contents.checkpoints.is_none() {
            contents.checkpoints = read(name)?;
            contents.mariadb_names |= contents.checkpoints.is_some() && name.starts_with("mariadb");
        }
    }
    for name in INFO {
        if contents.info.is_none() {
            contents.info = read(name)?;
        }
    }
    contents.metadata = read(METADATA)?;
    for name in INFO_QP {
        if contents.compressed_info_mtime.is_none() && listing.has(name) {
            let st = rustix::fs::statat(&fd, name, AtFlags::empty())
                .map_err(|e| ScanError::io(&path.join(name), "stat", e))?;
            let s = Stamp::of(&st);
            files.push((name, s));
            contents.compressed_info_mtime = s.modified();
        }
    }
    let backup = record::assess(&contents, tz);
    let stamps = || std::iter::once(&stamp).chain(files.iter().map(|(_, s)| s));
    let racy = changed_within(stamps(), read_at, racy_window);
    let newest_change = stamps().map(|s| s.ctime).max().unwrap_or(stamp.ctime);
    Ok((
        Cached::Backup {
            stamp,
            files,
            complete: backup.is_complete(),
            backup: Arc::new(backup),
            newest_change,
            racy,
        },
        None,
    ))
}

/// A small file's text and stamp, opened relative to its directory; `None` if it vanished. A
/// FIFO, a device or a file over [`MAX_FILE`] is an error naming it (see [`crate::bounded`]).
fn read_small(
    dirfd: impl AsFd,
    dir: &Path,
    name: &str,
) -> Result<Option<(String, Stamp)>, crate::bounded::ReadError> {
    let Some((bytes, meta)) = crate::bounded::read_at(dirfd, name, &dir.join(name), MAX_FILE)?
    else {
        return Ok(None);
    };
    // UTF-8 (always, for mariabackup's files) is taken as it is, without a copy.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Some((text, Stamp::of_metadata(&meta))))
}

/// The type the seed's backup layout gives a directory: `full/backup_*` or
/// `incremental/incremental_*`.
pub(super) fn layout_kind(path: &Path) -> Option<BackupType> {
    let name = path.file_name().and_then(OsStr::to_str)?;
    let parent = path.parent()?.file_name().and_then(OsStr::to_str)?;
    BackupType::ALL.into_iter().find(|t| {
        parent == t.as_str()
            && name
                .strip_prefix(t.seed_prefix())
                .is_some_and(|rest| rest.starts_with('_'))
    })
}
