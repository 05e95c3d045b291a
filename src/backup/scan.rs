//! Walking the backup roots: finding backup directories, reading them (through the pure
//! [`record::assess`]) and caching what was read so that rescans are cheap.
//!
//! Every directory visited is cached with a stamp (mtime, ctime, inode, size) of itself and,
//! for a backup directory, of the few files quorate reads in it. A rescan in
//! [`ScanMode::Verify`] stats those and re-reads only what changed; a rescan in
//! [`ScanMode::Trust`] re-reads only the directories a file-system watcher named and trusts
//! the cache for the rest (no system call at all for an unchanged tree).
//!
//! The walk is breadth-first, one round per depth; the directories of a round are read by up
//! to [`MAX_THREADS`] threads, each directory through one descriptor (its files opened
//! relative to it): on a 2-core VM a path lookup costs more than parsing the files.
//!
//! The walk descends into ordinary directories (not hidden ones, not symbolic links, at most
//! [`MAX_DEPTH`] levels) and stops at a backup directory: one in the seed's layout
//! (`full/backup_*`, `incremental/incremental_*`), or one holding a file only mariabackup
//! leaves (checkpoints, info, `backup-my.cnf`, `ib_logfile0`, `ibdata1`, ...). It never reads
//! the data files, except to measure the size of the newest complete backup of each type.
//!
//! I/O errors (an unreadable root or directory or file) are scan errors, reported with the
//! path: the backup's state is then unknown, which is not the same as failed.

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fmt;
use std::fs;
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use jiff::tz::TimeZone;
use rustix::fs::{AtFlags, Dir, FileType, Mode, OFlags, Stat};

use super::chain::{self, ChainReport};
use super::record::{self, DirContents};
use super::{Backup, BackupType, Status};

/// How deep below a root the walk looks for backup directories.
pub const MAX_DEPTH: usize = 8;
/// The files quorate reads are a few hundred bytes; anything larger is cut here.
const MAX_FILE: usize = 1 << 20;
/// Below this many directories to read or verify, one thread does it.
const PARALLEL_MIN: usize = 64;
/// At most this many threads read directories (the scan is bound by system calls).
pub const MAX_THREADS: usize = 4;

const CHECKPOINTS: [&str; 2] = ["mariadb_backup_checkpoints", "xtrabackup_checkpoints"];
const INFO: [&str; 2] = ["mariadb_backup_info", "xtrabackup_info"];
const INFO_QP: [&str; 2] = ["mariadb_backup_info.qp", "xtrabackup_info.qp"];
const METADATA: &str = "backup_metadata.json";
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

/// What to scan and how to read times.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    pub roots: Vec<PathBuf>,
    /// The zone mariabackup's local times are read in (the host's).
    pub tz: TimeZone,
}

/// How much to trust the cache.
#[derive(Debug, Clone, Copy)]
pub enum ScanMode<'a> {
    /// Stat every cached directory and file; re-read what changed. The periodic rescan.
    Verify,
    /// Re-read only these directories (named by a watcher); trust the cache for the rest.
    Trust(&'a HashSet<PathBuf>),
}

/// A path that could not be read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScanError {
    pub path: PathBuf,
    pub message: String,
}

impl fmt::Display for ScanError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.path.display(), self.message)
    }
}

impl ScanError {
    fn io(path: &Path, what: &str, e: impl Into<io::Error>) -> ScanError {
        ScanError {
            path: path.to_path_buf(),
            message: format!("cannot {what}: {}", e.into()),
        }
    }
}

/// The result of one scan.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub roots: Vec<PathBuf>,
    /// Every backup found, sorted by path (bytewise). Failed backups that a running
    /// mariabackup is writing have [`Status::InProgress`].
    pub backups: Vec<Arc<Backup>>,
    pub chain: ChainReport,
    pub errors: Vec<ScanError>,
    pub finished_at: SystemTime,
    pub duration: Duration,
    /// Directories read (not merely verified) by this scan.
    pub dirs_read: usize,
}

impl ScanReport {
    /// Every root and directory could be read.
    pub fn success(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether some backup is being written right now.
    pub fn any_in_progress(&self) -> bool {
        self.backups.iter().any(|b| b.status == Status::InProgress)
    }
}

/// Reads `roots` once, without a cache: what `quorate check` needs.
pub fn scan_once(roots: &[PathBuf], tz: &TimeZone) -> ScanReport {
    Scanner::new(ScanOptions {
        roots: roots.to_vec(),
        tz: tz.clone(),
    })
    .scan(ScanMode::Verify)
}

/// What identifies a version of a file or directory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Stamp {
    mtime: (i64, i64),
    ctime: (i64, i64),
    ino: u64,
    size: u64,
}

impl Stamp {
    // The field types of `struct stat` differ between targets; all fit in i64/u64.
    #[allow(clippy::unnecessary_cast)]
    fn of(st: &Stat) -> Stamp {
        Stamp {
            mtime: (st.st_mtime as i64, st.st_mtime_nsec as i64),
            ctime: (st.st_ctime as i64, st.st_ctime_nsec as i64),
            ino: st.st_ino as u64,
            size: st.st_size as u64,
        }
    }

    fn current(path: &Path) -> Option<Stamp> {
        rustix::fs::stat(path).ok().map(|st| Stamp::of(&st))
    }

    fn modified(&self) -> Option<SystemTime> {
        let (secs, nanos) = self.mtime;
        let nanos = u32::try_from(nanos).ok()?;
        if secs >= 0 {
            SystemTime::UNIX_EPOCH.checked_add(Duration::new(secs.unsigned_abs(), nanos))
        } else {
            SystemTime::UNIX_EPOCH
                .checked_sub(Duration::from_secs(secs.unsigned_abs()))?
                .checked_add(Duration::from_nanos(u64::from(nanos)))
        }
    }
}

#[derive(Debug)]
enum Cached {
    Container {
        stamp: Stamp,
        /// Subdirectories, sorted; shared with the walk's frontier.
        children: Arc<[PathBuf]>,
    },
    Backup {
        stamp: Stamp,
        /// The files read, by name, with their stamps when read.
        files: Vec<(&'static str, Stamp)>,
        backup: Arc<Backup>,
    },
}

impl Cached {
    fn unchanged(&self, path: &Path) -> bool {
        match self {
            Cached::Container { stamp, .. } => Stamp::current(path) == Some(*stamp),
            Cached::Backup { stamp, files, .. } => {
                Stamp::current(path) == Some(*stamp)
                    && files
                        .iter()
                        .all(|(name, s)| Stamp::current(&path.join(name)) == Some(*s))
            }
        }
    }
}

/// The scanner and its cache. Not shared: the monitor thread owns one.
#[derive(Debug)]
pub struct Scanner {
    options: ScanOptions,
    cache: HashMap<PathBuf, Cached>,
    /// Measured sizes by path, with the directory stamp they were measured at.
    sizes: HashMap<PathBuf, (Stamp, u64)>,
    /// The last scan's backups (before the in-progress and size overlays), chain verdict and
    /// errors, reused as they are when a scan reads nothing.
    previous: Option<Previous>,
}

#[derive(Debug)]
struct Previous {
    backups: Vec<Arc<Backup>>,
    chain: ChainReport,
    errors: Vec<ScanError>,
}

/// One directory to look at in a round of the walk.
struct Job {
    path: PathBuf,
    depth: usize,
    cached: Option<Cached>,
}

/// What looking at it gave.
struct Done {
    path: PathBuf,
    depth: usize,
    result: Result<Cached, ScanError>,
    read: bool,
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Scanner {
        Scanner {
            options,
            cache: HashMap::new(),
            sizes: HashMap::new(),
            previous: None,
        }
    }

    pub fn options(&self) -> &ScanOptions {
        &self.options
    }

    /// Changes roots or zone; the cache is dropped when the zone changes (times depend on it).
    pub fn set_options(&mut self, options: ScanOptions) {
        if options.tz != self.options.tz {
            self.cache.clear();
        }
        self.previous = None;
        self.options = options;
    }

    /// Every directory the last scan visited (roots, containers, backup directories): what a
    /// watcher should watch.
    pub fn directories(&self) -> impl Iterator<Item = &Path> {
        self.cache.keys().map(PathBuf::as_path)
    }

    /// The cached directories to re-read after a change at `path`: the path itself if it is
    /// one, and its parent if that is one (a directory that was created or removed changes
    /// its parent's list). Empty when the change is outside what the scanner knows.
    pub fn directories_changed_by(&self, path: &Path) -> Vec<PathBuf> {
        [Some(path), path.parent()]
            .into_iter()
            .flatten()
            .filter(|p| self.cache.contains_key(*p))
            .map(Path::to_path_buf)
            .collect()
    }

    /// Scans the roots: a breadth-first walk, one round per depth, the directories of a
    /// round read (or verified) by several threads.
    pub fn scan(&mut self, mode: ScanMode<'_>) -> ScanReport {
        let started = Instant::now();
        if let (ScanMode::Trust(dirty), Some(previous)) = (mode, &self.previous) {
            if dirty.is_empty() {
                // Nothing named as changed: the cache stands as it is; only the overlays
                // (running processes, the newest backups' sizes) are looked at again.
                let mut backups = previous.backups.clone();
                let chain = previous.chain.clone();
                let errors = previous.errors.clone();
                return self.finish(&mut backups, chain, errors, false, 0, started);
            }
        }
        let mut next: HashMap<PathBuf, Cached> = HashMap::with_capacity(self.cache.len());
        let mut walked = Vec::new();
        let mut errors = Vec::new();
        let mut dirs_read = 0;
        // Lists of directories to look at, with their depth: the roots, then each
        // container's (shared) list of subdirectories.
        let mut frontier: Vec<(Arc<[PathBuf]>, usize)> =
            vec![(distinct_roots(&self.options.roots).into(), 0)];
        while !frontier.is_empty() {
            let mut jobs = Vec::new();
            for (list, depth) in frontier.drain(..) {
                for path in list.iter() {
                    // The cache's own key moves on to the next cache: no allocation.
                    let (path, cached) = match self.cache.remove_entry(path.as_path()) {
                        Some((key, cached)) => (key, Some(cached)),
                        None => (path.clone(), None),
                    };
                    jobs.push(Job {
                        path,
                        depth,
                        cached,
                    });
                }
            }
            let tz = &self.options.tz;
            let work = match mode {
                ScanMode::Verify => jobs.len(),
                ScanMode::Trust(dirty) => jobs
                    .iter()
                    .filter(|j| j.cached.is_none() || dirty.contains(&j.path))
                    .count(),
            };
            for done in run_jobs(jobs, work, |job| process(job, mode, tz)) {
                dirs_read += usize::from(done.read);
                match done.result {
                    Ok(entry) => {
                        match &entry {
                            Cached::Container { children, .. } => {
                                frontier.push((Arc::clone(children), done.depth + 1));
                            }
                            Cached::Backup { backup, .. } => walked.push(Arc::clone(backup)),
                        }
                        next.insert(done.path, entry);
                    }
                    Err(e) => errors.push(e),
                }
            }
        }
        self.cache = next;

        // Nothing read means the very same backups as last time (a directory can only
        // appear or vanish through a re-read of its parent): keep their order and chain.
        let (raw, chain) = match self.previous.take() {
            Some(previous) if dirs_read == 0 => (previous.backups, previous.chain),
            _ => {
                // Bytewise: comparing paths component by component costs more than the
                // whole walk of an unchanged tree.
                walked.sort_unstable_by(|a, b| {
                    a.path
                        .as_os_str()
                        .as_bytes()
                        .cmp(b.path.as_os_str().as_bytes())
                });
                let chain = chain::check(walked.iter().map(|b| b.as_ref()));
                (walked, chain)
            }
        };
        let mut backups = raw.clone();
        self.previous = Some(Previous {
            backups: raw,
            chain: chain.clone(),
            errors: errors.clone(),
        });
        let verify = matches!(mode, ScanMode::Verify);
        self.finish(&mut backups, chain, errors, verify, dirs_read, started)
    }

    /// Applies the overlays (in progress, measured sizes) and builds the report.
    fn finish(
        &mut self,
        backups: &mut Vec<Arc<Backup>>,
        chain: ChainReport,
        mut errors: Vec<ScanError>,
        verify: bool,
        dirs_read: usize,
        started: Instant,
    ) -> ScanReport {
        mark_in_progress(backups);
        self.measure_newest(backups, verify, &mut errors);
        ScanReport {
            roots: self.options.roots.clone(),
            backups: std::mem::take(backups),
            chain,
            errors,
            finished_at: SystemTime::now(),
            duration: started.elapsed(),
            dirs_read,
        }
    }

    /// Measures the newest complete backup of each type (cached by directory stamp; always
    /// re-measured on a verifying scan, which is also when files below the top level may
    /// have changed without the top directory's stamp moving).
    fn measure_newest(
        &mut self,
        backups: &mut [Arc<Backup>],
        verify: bool,
        errors: &mut Vec<ScanError>,
    ) {
        let mut keep = HashMap::new();
        for kind in BackupType::ALL {
            let Some(index) = newest_complete(backups, kind) else {
                continue;
            };
            let path = backups[index].path.clone();
            let Some(stamp) = Stamp::current(&path) else {
                continue;
            };
            let size = match self.sizes.get(&path) {
                Some((s, size)) if *s == stamp && !verify => Some(*size),
                _ => match tree_size(&path) {
                    Ok(size) => Some(size),
                    Err(e) => {
                        errors.push(ScanError::io(&path, "measure size", e));
                        None
                    }
                },
            };
            if let Some(size) = size {
                keep.insert(path, (stamp, size));
                let mut measured = (*backups[index]).clone();
                measured.measured_size = Some(size);
                backups[index] = Arc::new(measured);
            }
        }
        self.sizes = keep;
    }
}

/// Runs `f` on every job, on several threads when there is enough `work`; keeps the order.
fn run_jobs(jobs: Vec<Job>, work: usize, f: impl Fn(Job) -> Done + Sync) -> Vec<Done> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads < 2 || work < PARALLEL_MIN {
        return jobs.into_iter().map(f).collect();
    }
    let chunk = jobs.len().div_ceil(threads);
    let mut chunks: Vec<Vec<Job>> = Vec::with_capacity(threads);
    let mut jobs = jobs.into_iter();
    loop {
        let c: Vec<Job> = jobs.by_ref().take(chunk).collect();
        if c.is_empty() {
            break;
        }
        chunks.push(c);
    }
    let f = &f;
    std::thread::scope(|scope| {
        let handles: Vec<_> = chunks
            .into_iter()
            .map(|c| scope.spawn(move || c.into_iter().map(f).collect::<Vec<Done>>()))
            .collect();
        handles
            .into_iter()
            .flat_map(|h| match h.join() {
                Ok(done) => done,
                // Nothing in `process` panics on input; re-raise a bug where it happened.
                Err(panic) => std::panic::resume_unwind(panic),
            })
            .collect()
    })
}

/// Uses the cached entry when the mode allows, else reads the directory.
fn process(job: Job, mode: ScanMode<'_>, tz: &TimeZone) -> Done {
    let fresh = job.cached.filter(|c| match mode {
        ScanMode::Trust(dirty) => !dirty.contains(&job.path),
        ScanMode::Verify => c.unchanged(&job.path),
    });
    let (result, read) = match fresh {
        Some(c) => (Ok(c), false),
        None => (read_dir(&job.path, job.depth, tz), true),
    };
    Done {
        path: job.path,
        depth: job.depth,
        result,
        read,
    }
}

/// Reads a directory through one descriptor: a backup directory whole (its few small files
/// opened relative to it), another one as a list of subdirectories.
fn read_dir(path: &Path, depth: usize, tz: &TimeZone) -> Result<Cached, ScanError> {
    let fd = rustix::fs::open(
        path,
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )
    .map_err(|e| ScanError::io(path, "read directory", e))?;
    // The stamp is taken before listing, so a change during the listing shows next time.
    let stamp = Stamp::of(&rustix::fs::fstat(&fd).map_err(|e| ScanError::io(path, "stat", e))?);
    let mut dir = Dir::new(fd).map_err(|e| ScanError::io(path, "read directory", e))?;
    // (name, is a directory: None when the file system left d_type unknown)
    let mut listed: Vec<(Vec<u8>, Option<bool>)> = Vec::new();
    for entry in dir.by_ref() {
        let entry = entry.map_err(|e| ScanError::io(path, "read directory", e))?;
        let name = entry.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let is_dir = match entry.file_type() {
            FileType::Directory => Some(true),
            FileType::Unknown => None,
            _ => Some(false),
        };
        listed.push((name.to_vec(), is_dir));
    }
    let dirfd = dir
        .fd()
        .map_err(|e| ScanError::io(path, "read directory", e))?;
    let names: Vec<(Vec<u8>, bool)> = listed
        .into_iter()
        .map(|(name, is_dir)| {
            // Ask without following links, as d_type would have said.
            let is_dir = is_dir.unwrap_or_else(|| {
                rustix::fs::statat(dirfd, OsStr::from_bytes(&name), AtFlags::SYMLINK_NOFOLLOW)
                    .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
            });
            (name, is_dir)
        })
        .collect();
    let has = |n: &str| names.iter().any(|(name, _)| name == n.as_bytes());
    let layout_kind = layout_kind(path);
    let is_backup = layout_kind.is_some()
        || CHECKPOINTS
            .iter()
            .chain(&INFO)
            .chain(&INFO_QP)
            .chain(&[METADATA])
            .chain(&OTHER_MARKERS)
            .any(|m| has(m));
    if !is_backup {
        let mut children: Vec<&[u8]> = if depth < MAX_DEPTH {
            names
                .iter()
                .filter(|(name, is_dir)| *is_dir && !name.starts_with(b"."))
                .map(|(name, _)| name.as_slice())
                .collect()
        } else {
            Vec::new()
        };
        children.sort_unstable();
        let children: Vec<PathBuf> = children
            .into_iter()
            .map(|name| path.join(OsStr::from_bytes(name)))
            .collect();
        return Ok(Cached::Container {
            stamp,
            children: children.into(),
        });
    }

    let mut contents = DirContents {
        path: path.to_path_buf(),
        layout_kind,
        dir_mtime: stamp.modified(),
        has_delta: names.iter().any(|(n, d)| !d && n.ends_with(b".delta")),
        has_qp: names.iter().any(|(n, d)| !d && n.ends_with(b".qp")),
        ..DirContents::default()
    };
    let mut files = Vec::new();
    let mut read = |name: &'static str| -> Result<Option<String>, ScanError> {
        if !has(name) {
            return Ok(None);
        }
        match read_small(dirfd, name) {
            Ok(Some((text, s))) => {
                files.push((name, s));
                Ok(Some(text))
            }
            Ok(None) => Ok(None),
            Err(e) => Err(ScanError::io(&path.join(name), "read", e)),
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
        if contents.compressed_info_mtime.is_none() && has(name) {
            let st = rustix::fs::statat(dirfd, name, AtFlags::empty())
                .map_err(|e| ScanError::io(&path.join(name), "stat", e))?;
            let s = Stamp::of(&st);
            files.push((name, s));
            contents.compressed_info_mtime = s.modified();
        }
    }
    let backup = record::assess(&contents, tz);
    Ok(Cached::Backup {
        stamp,
        files,
        backup: Arc::new(backup),
    })
}

/// A small file's text and stamp, opened relative to its directory; `None` if it vanished.
fn read_small(dirfd: impl AsFd, name: &str) -> io::Result<Option<(String, Stamp)>> {
    let fd: OwnedFd =
        match rustix::fs::openat(dirfd, name, OFlags::RDONLY | OFlags::CLOEXEC, Mode::empty()) {
            Ok(fd) => fd,
            Err(rustix::io::Errno::NOENT) => return Ok(None),
            Err(e) => return Err(e.into()),
        };
    let stamp = Stamp::of(&rustix::fs::fstat(&fd)?);
    // Read what fstat announced (plus one byte, to notice a file that grew meanwhile).
    let want = usize::try_from(stamp.size)
        .unwrap_or(MAX_FILE)
        .min(MAX_FILE)
        + 1;
    let mut bytes = vec![0u8; want];
    let mut len = 0;
    while len < want {
        let n = rustix::io::read(&fd, &mut bytes[len..])?;
        len += n;
        // Stopping at the announced size saves the read that would return 0.
        if n == 0 || len as u64 == stamp.size {
            break;
        }
    }
    bytes.truncate(len.min(MAX_FILE));
    // UTF-8 (always, for mariabackup's files) is taken as it is, without a copy.
    let text = String::from_utf8(bytes)
        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned());
    Ok(Some((text, stamp)))
}

/// The roots without repeats and without roots inside other roots (whose directories the
/// walk reaches anyway): no directory is visited twice.
fn distinct_roots(roots: &[PathBuf]) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = Vec::new();
    for root in roots {
        let inside_other = roots.iter().any(|r| r != root && root.starts_with(r));
        if !inside_other && !out.contains(root) {
            out.push(root.clone());
        }
    }
    out
}

/// Index of the newest complete backup of `kind`.
fn newest_complete(backups: &[Arc<Backup>], kind: BackupType) -> Option<usize> {
    backups
        .iter()
        .enumerate()
        .filter(|(_, b)| b.kind == kind && b.is_complete())
        .max_by_key(|(_, b)| b.time)
        .map(|(i, _)| i)
}

/// The type the seed's layout gives a directory: `full/backup_*` or
/// `incremental/incremental_*`.
fn layout_kind(path: &Path) -> Option<BackupType> {
    let name = path.file_name().and_then(OsStr::to_str)?;
    let parent = path.parent()?.file_name().and_then(OsStr::to_str)?;
    match parent {
        "full" if name.starts_with("backup_") => Some(BackupType::Full),
        "incremental" if name.starts_with("incremental_") => Some(BackupType::Incremental),
        _ => None,
    }
}

/// Sum of the lengths of every file below `path` (symbolic links not followed).
fn tree_size(path: &Path) -> io::Result<u64> {
    let mut total = 0u64;
    let mut stack = vec![path.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in fs::read_dir(&dir)? {
            let entry = entry?;
            let kind = entry.file_type()?;
            if kind.is_dir() {
                stack.push(entry.path());
            } else if kind.is_file() {
                total = total.saturating_add(entry.metadata()?.len());
            }
        }
    }
    Ok(total)
}

/// Marks failed backups that a mariabackup process on this host is writing as in progress.
fn mark_in_progress(backups: &mut [Arc<Backup>]) {
    if !backups.iter().any(|b| b.failure().is_some()) {
        return;
    }
    let targets = running_backup_targets();
    if targets.is_empty() {
        return;
    }
    for b in backups.iter_mut().filter(|b| b.failure().is_some()) {
        let canonical = fs::canonicalize(&b.path).unwrap_or_else(|_| b.path.clone());
        if targets.contains(&canonical) || targets.contains(&b.path) {
            let mut running = (**b).clone();
            running.status = Status::InProgress;
            *b = Arc::new(running);
        }
    }
}

/// Target directories of the `mariabackup --backup` processes running on this host.
pub fn running_backup_targets() -> HashSet<PathBuf> {
    let mut out = HashSet::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in procs.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(target) = backup_target(&args) else {
            continue;
        };
        let target = if target.is_relative() {
            match fs::read_link(entry.path().join("cwd")) {
                Ok(cwd) => cwd.join(target),
                Err(_) => continue,
            }
        } else {
            target
        };
        let target = record::normalize(&target);
        out.insert(fs::canonicalize(&target).unwrap_or(target));
    }
    out
}

/// The `--target-dir` of a `mariabackup --backup` command line (argv), if it is one.
pub fn backup_target(args: &[String]) -> Option<PathBuf> {
    let program = Path::new(args.first()?).file_name()?.to_str()?;
    if !matches!(program, "mariabackup" | "mariadb-backup" | "xtrabackup") {
        return None;
    }
    if !args.iter().any(|a| a == "--backup") {
        return None;
    }
    let joined = args[1..].join(" ");
    super::parse::command_option(&joined, "--target-dir").map(PathBuf::from)
}

#[cfg(test)]
mod tests;
