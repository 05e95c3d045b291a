//! Walking the backup roots: finding backup directories, reading them (through the pure
//! [`record::assess`]) and caching what was read so that rescans are cheap.
//!
//! Every directory visited is cached with a stamp (mtime, ctime, inode, size) of itself and,
//! for a backup directory, of the few files quorate reads in it. Three kinds of rescan:
//!
//! - [`ScanMode::Verify`] (full verification) stats every cached directory and every file
//!   read, and re-reads what changed. It sees every change, including a file rewritten in
//!   place.
//! - [`ScanMode::QuickVerify`] (the periodic verification) stats every container directory
//!   (the roots, `full/`, `incremental/`, ...) and the backups that are incomplete or changed
//!   within the recent window ([`RECENT_WINDOW`]), those with their files. It relies on POSIX
//!   directory semantics: creating, removing or renaming an entry (a file, or a subdirectory
//!   such as a new backup) changes the mtime and ctime of the directory holding it. So it
//!   sees backups appear, complete, get annotated and disappear. A complete backup settled
//!   for longer than the recent window is not looked at: a file added, removed or rewritten
//!   inside it by hand waits for a full verification (the monitor runs one at least hourly)
//!   or the file watcher (at once).
//! - [`ScanMode::Trust`] re-reads only the directories a file-system watcher named and
//!   trusts the cache for the rest (no system call at all for an unchanged tree).
//!
//! File-system timestamps tick coarsely (a jiffy on Linux without multigrain timestamps; the
//! server's clock on NFS): a directory changed in the same tick as it was read keeps the
//! stamp that was read. So an entry whose newest change was less than [`RACY_WINDOW`] before
//! it was read is re-read by the next quick verification instead of trusted (as git treats
//! "racily clean" index entries).
//!
//! The walk is breadth-first, one round per depth; the directories of a round are read by up
//! to [`MAX_THREADS`] threads taking batches from a shared queue, each directory through one
//! descriptor opened relative to its parent's (its files opened relative to it): on a 2-core
//! VM a path lookup costs more than parsing the files.
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

use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::mem::MaybeUninit;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use jiff::tz::TimeZone;
use rustix::fs::{AtFlags, FileType, Mode, OFlags, RawDir, Stat};

use super::chain::{self, ChainReport};
use super::record::{self, DirContents};
use super::snapshot::{BackupSnapshot, ScanError};
use super::{Backup, BackupType, Status};
use crate::collected::Collected;
use crate::unix_time;

/// How deep below a root the walk looks for backup directories.
pub const MAX_DEPTH: usize = 8;
/// The files quorate reads are a few hundred bytes; anything larger is cut here.
const MAX_FILE: usize = 1 << 20;
/// Below this many directories to read or verify, one thread does it.
const PARALLEL_MIN: usize = 64;
/// At most this many threads read directories (the scan is bound by system calls).
pub const MAX_THREADS: usize = 4;
/// Directories a worker takes from the shared queue at a time: small enough that a thread
/// descheduled by other load does not hold up the round, large enough to keep the queue's
/// lock cold.
const BATCH: usize = 32;
/// At most this many directories of one round keep their descriptor open for their
/// children to be opened relative to it (the rest are opened by path): the soft limit on
/// open files is often 1024.
const MAX_HELD_DIRS: usize = 256;
/// An entry whose newest change (ctime) is less than this before it was read may have
/// changed again within the same timestamp tick: the quick verification re-reads it.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);
/// Backups whose directory or files changed within this window have their files' stamps
/// compared by every quick verification (a freshly written backup is the one whose
/// metadata a script may still rewrite in place, e.g. after verifying it).
pub const RECENT_WINDOW: Duration = Duration::from_secs(3600);
/// getdents buffer: a backup directory's listing fits in one call.
const DIRENT_BUF: usize = 8192;

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
    /// Full verification: stat every cached directory and every file read; re-read what
    /// changed. Sees in-place rewrites of any backup's files.
    Verify,
    /// The periodic verification: stat the containers, and the backups that are incomplete
    /// or changed within [`RECENT_WINDOW`] with their files read; re-read what changed and
    /// what was read within [`RACY_WINDOW`] of its last change. Does not look inside a
    /// settled backup (complete, older than the window; see the module comment).
    QuickVerify,
    /// Re-read only these directories (named by a watcher); trust the cache for the rest.
    Trust(&'a HashSet<PathBuf>),
}

/// Reads `roots` once, without a cache: what `quorate check` needs.
pub fn scan_once(roots: &[PathBuf], tz: &TimeZone) -> Collected<BackupSnapshot> {
    let mut scanner = Scanner::new(ScanOptions {
        roots: roots.to_vec(),
        tz: tz.clone(),
    });
    Collected::measure_blocking(|| scanner.scan(ScanMode::Verify))
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
        unix_time::from_pair(self.mtime)
    }

    /// The last change of contents or metadata (ctime cannot be set back, unlike mtime).
    fn changed(&self) -> Option<SystemTime> {
        unix_time::from_pair(self.ctime)
    }
}

/// Whether the newest of `stamps` changed within `window` before `at` (or after it, or at
/// a time that cannot be placed: both taken as recent, the safe side).
fn changed_within<'a>(
    stamps: impl IntoIterator<Item = &'a Stamp>,
    at: SystemTime,
    window: Duration,
) -> bool {
    stamps
        .into_iter()
        .any(|s| s.changed().is_none_or(|t| t + window > at))
}

/// The cache's map. Its keys are the scanner's own directory paths, hashed thousands of
/// times per verification: a multiply-rotate hash (as rustc's FxHash) instead of SipHash,
/// whose resistance to chosen keys buys nothing against names that only whoever writes the
/// backup roots can choose.
type PathMap<V> = HashMap<PathBuf, V, BuildHasherDefault<PathHasher>>;

#[derive(Debug, Default, Clone, Copy)]
struct PathHasher(u64);

impl PathHasher {
    fn add(&mut self, word: u64) {
        self.0 = (self.0.rotate_left(5) ^ word).wrapping_mul(0x51_7c_c1_b7_27_22_0a_95);
    }
}

impl Hasher for PathHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in chunks.by_ref() {
            let mut word = [0u8; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0u8; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.add(u64::from_le_bytes(word) ^ ((rest.len() as u64) << 59));
        }
    }

    fn write_usize(&mut self, n: usize) {
        self.add(n as u64);
    }

    fn finish(&self) -> u64 {
        self.0
    }
}

#[derive(Debug)]
enum Cached {
    Container {
        stamp: Stamp,
        /// Subdirectories, sorted; shared with the walk's frontier.
        children: Arc<[PathBuf]>,
        /// Read within [`RACY_WINDOW`] of its last change.
        racy: bool,
    },
    Backup {
        stamp: Stamp,
        /// The files read, by name, with their stamps when read.
        files: Vec<(&'static str, Stamp)>,
        backup: Arc<Backup>,
        /// `backup.is_complete()`, kept here so that verifying does not touch the record.
        complete: bool,
        /// The newest ctime among the directory and the files read, (seconds, nanoseconds).
        newest_change: (i64, i64),
        /// Read within [`RACY_WINDOW`] of the last change of it or of a file read.
        racy: bool,
    },
}

/// How closely a verification looks at the cached backups' files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Depth {
    /// Every file read.
    Files,
    /// Directories; files only of incomplete and recently changed backups.
    Directories,
}

/// The scanner and its cache. Not shared: the monitor thread owns one.
#[derive(Debug)]
pub struct Scanner {
    options: ScanOptions,
    cache: PathMap<Cached>,
    /// Measured sizes by path, with the directory stamp they were measured at.
    sizes: HashMap<PathBuf, (Stamp, u64)>,
    /// The last scan's backups (before the in-progress and size overlays), chain verdict and
    /// errors, reused as they are when a scan reads nothing.
    previous: Option<Previous>,
    /// [`RECENT_WINDOW`], changeable for measurements.
    recent_window: Duration,
    /// [`RACY_WINDOW`]; tests set it to zero to see the stamp rules alone at work.
    racy_window: Duration,
}

/// One scan's backups (sorted, before the overlays), chain verdict, errors and overlay facts.
#[derive(Debug, Clone)]
struct Previous {
    backups: Vec<Arc<Backup>>,
    chain: ChainReport,
    errors: Vec<ScanError>,
    overlay: Overlay,
}

/// What the overlays need to know of a list of backups, found once per list: looking it up
/// again touches every record, which costs more than verifying an unchanged tree.
#[derive(Debug, Clone, Copy)]
struct Overlay {
    /// Index of the newest complete backup of each of [`BackupType::ALL`].
    newest: [Option<usize>; 2],
    /// Some backup failed (it may be in progress).
    any_failed: bool,
}

impl Overlay {
    fn of(backups: &[Arc<Backup>]) -> Overlay {
        Overlay {
            newest: BackupType::ALL.map(|kind| newest_complete(backups, kind)),
            any_failed: backups.iter().any(|b| b.failure().is_some()),
        }
    }
}

/// One directory to look at in a round of the walk.
struct Job {
    path: PathBuf,
    depth: usize,
    cached: Option<Cached>,
    /// The parent directory's descriptor, when it was kept open: the directory is opened
    /// relative to it (one path component to look up instead of the whole path).
    parent: Option<Arc<OwnedFd>>,
}

/// What looking at it gave.
struct Done {
    path: PathBuf,
    depth: usize,
    result: Result<Cached, ScanError>,
    read: bool,
    /// A container's own descriptor, for its children.
    fd: Option<OwnedFd>,
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Scanner {
        Scanner {
            options,
            cache: PathMap::default(),
            sizes: HashMap::new(),
            previous: None,
            recent_window: RECENT_WINDOW,
            racy_window: RACY_WINDOW,
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

    /// Sets how long after its last change a backup's files are still compared by every
    /// quick verification (default [`RECENT_WINDOW`]). The benchmark sets zero to measure
    /// a tree whose backups are all older than that, which a freshly built one cannot be.
    pub fn set_recent_window(&mut self, window: Duration) {
        self.recent_window = window;
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

    /// Scans the roots: the verifying modes first find the cached directories that changed
    /// (stats only); then a breadth-first walk, one round per depth, re-reads those and the
    /// directories not cached, the directories of a round read by several threads.
    pub fn scan(&mut self, mode: ScanMode<'_>) -> BackupSnapshot {
        let found;
        let dirty: &HashSet<PathBuf> = match mode {
            ScanMode::Trust(dirty) => dirty,
            ScanMode::Verify => {
                found = self.changed(Depth::Files);
                &found
            }
            ScanMode::QuickVerify => {
                found = self.changed(Depth::Directories);
                &found
            }
        };
        let verify = matches!(mode, ScanMode::Verify);
        if let Some(previous) = &self.previous {
            // A verification retries what could not be read; a watcher's scan does not (no
            // event came from it).
            let retry = !matches!(mode, ScanMode::Trust(_)) && !previous.errors.is_empty();
            if dirty.is_empty() && !retry {
                // Nothing changed: the cache stands as it is; only the overlays (running
                // processes, the newest backups' sizes) are looked at again.
                let again = previous.clone();
                return self.finish(again, verify, 0);
            }
        }
        let (walked, errors, dirs_read) = self.walk(dirty);

        // Nothing read means the very same backups as last time (a directory can only
        // appear or vanish through a re-read of its parent): keep their order and chain.
        let (raw, chain, overlay) = match self.previous.take() {
            Some(previous) if dirs_read == 0 => {
                (previous.backups, previous.chain, previous.overlay)
            }
            _ => {
                let mut walked = walked;
                // Bytewise: comparing paths component by component costs more than the
                // whole walk of an unchanged tree.
                walked.sort_unstable_by(|a, b| {
                    a.path
                        .as_os_str()
                        .as_bytes()
                        .cmp(b.path.as_os_str().as_bytes())
                });
                let chain = chain::check(walked.iter().map(|b| b.as_ref()));
                let overlay = Overlay::of(&walked);
                (walked, chain, overlay)
            }
        };
        let scanned = Previous {
            backups: raw,
            chain,
            errors,
            overlay,
        };
        self.previous = Some(scanned.clone());
        self.finish(scanned, verify, dirs_read)
    }

    /// The breadth-first walk: re-reads the directories in `dirty` and those not cached,
    /// takes the rest from the cache. Returns the backups found, the errors and how many
    /// directories were read.
    fn walk(&mut self, dirty: &HashSet<PathBuf>) -> (Vec<Arc<Backup>>, Vec<ScanError>, usize) {
        let mut next: PathMap<Cached> =
            PathMap::with_capacity_and_hasher(self.cache.len(), Default::default());
        let mut walked = Vec::new();
        let mut errors = Vec::new();
        let mut dirs_read = 0;
        // Lists of directories to look at, with their depth and their parent's descriptor:
        // the roots, then each container's (shared) list of subdirectories.
        type Frontier = Vec<(Arc<[PathBuf]>, usize, Option<Arc<OwnedFd>>)>;
        let mut frontier: Frontier = vec![(distinct_roots(&self.options.roots).into(), 0, None)];
        let racy_window = self.racy_window;
        while !frontier.is_empty() {
            let mut jobs = Vec::new();
            for (list, depth, parent) in frontier.drain(..) {
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
                        parent: parent.clone(),
                    });
                }
            }
            let tz = &self.options.tz;
            let work = jobs
                .iter()
                .filter(|j| j.cached.is_none() || dirty.contains(&j.path))
                .count();
            let mut held = 0;
            for done in run_parallel(jobs, work, |job| process(job, dirty, tz, racy_window)) {
                dirs_read += usize::from(done.read);
                match done.result {
                    Ok(entry) => {
                        match &entry {
                            Cached::Container { children, .. } => {
                                // Keep the descriptor (if this directory was read) for the
                                // children, within the bound on open descriptors.
                                let fd = done
                                    .fd
                                    .filter(|_| !children.is_empty() && held < MAX_HELD_DIRS)
                                    .map(Arc::new);
                                held += usize::from(fd.is_some());
                                frontier.push((Arc::clone(children), done.depth + 1, fd));
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
        (walked, errors, dirs_read)
    }

    /// The cached directories whose stamps changed, or whose files' stamps changed where
    /// `depth` looks at files, or that were read racily (quick verification). The cache
    /// holds exactly what the last walk reached from the roots, so it is verified as it
    /// lies in memory (no lookup per directory): the containers (few) first, each opened
    /// once on this thread; then the backup directories, by several threads, each stat'ed
    /// relative to its parent's descriptor.
    fn changed(&self, depth: Depth) -> HashSet<PathBuf> {
        let now = SystemTime::now();
        let recent_since = now
            .checked_sub(self.recent_window)
            .map_or((i64::MIN, 0), unix_time::to_pair);
        let quick = depth == Depth::Directories;
        let mut dirty = HashSet::new();
        // Descriptors of the containers, found by path bytes (a backup directory's path is
        // its container's path joined with its name).
        let mut fds: Vec<OwnedFd> = Vec::new();
        let mut parents: HashMap<&[u8], usize, BuildHasherDefault<PathHasher>> = HashMap::default();
        let mut backups: Vec<(&Path, &Cached)> = Vec::with_capacity(self.cache.len());
        for (path, cached) in &self.cache {
            let Cached::Container { stamp, racy, .. } = cached else {
                backups.push((path, cached));
                continue;
            };
            let Ok(fd) = open_dir(path, None) else {
                // Gone or unreadable: the re-read says which.
                dirty.insert(path.clone());
                continue;
            };
            let same = rustix::fs::fstat(&fd).is_ok_and(|st| Stamp::of(&st) == *stamp);
            if !same || (quick && *racy) {
                dirty.insert(path.clone());
            }
            if fds.len() < MAX_HELD_DIRS {
                parents.insert(path.as_os_str().as_bytes(), fds.len());
                fds.push(fd);
            }
        }
        let work = backups.len();
        let changed = run_parallel(backups, work, |(path, cached)| {
            // Split at the last '/' by hand: `Path::parent` parses components, which cost
            // more here than the system call. A path not in the form `join` made finds no
            // parent and is stat'ed by path.
            let bytes = path.as_os_str().as_bytes();
            let relative = bytes.iter().rposition(|b| *b == b'/').and_then(|slash| {
                let fd = fds.get(*parents.get(&bytes[..slash])?)?;
                Some((fd, OsStr::from_bytes(&bytes[slash + 1..])))
            });
            backup_changed(path, cached, relative, depth, recent_since).then_some(path)
        });
        dirty.extend(changed.into_iter().flatten().map(Path::to_path_buf));
        dirty
    }

    /// Applies the overlays (in progress, measured sizes) and builds the report.
    fn finish(&mut self, scanned: Previous, verify: bool, dirs_read: usize) -> BackupSnapshot {
        let Previous {
            mut backups,
            chain,
            mut errors,
            overlay,
        } = scanned;
        if overlay.any_failed {
            mark_in_progress(&mut backups);
        }
        self.measure_newest(&mut backups, overlay, verify, &mut errors);
        BackupSnapshot {
            roots: self.options.roots.clone(),
            backups,
            chain,
            errors,
            dirs_read,
        }
    }

    /// Measures the newest complete backup of each type (cached by directory stamp; always
    /// re-measured on a verifying scan, which is also when files below the top level may
    /// have changed without the top directory's stamp moving).
    fn measure_newest(
        &mut self,
        backups: &mut [Arc<Backup>],
        overlay: Overlay,
        verify: bool,
        errors: &mut Vec<ScanError>,
    ) {
        let mut keep = HashMap::new();
        // Marking backups in progress leaves complete ones as they are: the indices stand.
        for index in overlay.newest.into_iter().flatten() {
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

/// Runs `f` on every item, on up to [`MAX_THREADS`] threads (the calling one included) when
/// there is enough `work`; keeps the order. Workers take batches from a shared queue, so a
/// thread that other load on the machine holds up does not hold up the whole round.
fn run_parallel<T: Send, R: Send>(items: Vec<T>, work: usize, f: impl Fn(T) -> R + Sync) -> Vec<R> {
    let threads = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(MAX_THREADS);
    if threads < 2 || work < PARALLEL_MIN {
        return items.into_iter().map(f).collect();
    }
    let mut batches: Vec<(usize, Vec<T>)> = Vec::with_capacity(items.len().div_ceil(BATCH));
    let mut items = items.into_iter();
    loop {
        let batch: Vec<T> = items.by_ref().take(BATCH).collect();
        if batch.is_empty() {
            break;
        }
        batches.push((batches.len(), batch));
    }
    let count = batches.len();
    let queue = Mutex::new(batches.into_iter());
    let worker = || {
        let mut out: Vec<(usize, Vec<R>)> = Vec::new();
        loop {
            let next = match queue.lock() {
                Ok(mut q) => q.next(),
                Err(p) => p.into_inner().next(),
            };
            let Some((index, batch)) = next else {
                return out;
            };
            out.push((index, batch.into_iter().map(&f).collect()));
        }
    };
    let mut done: Vec<(usize, Vec<R>)> = std::thread::scope(|scope| {
        let helpers: Vec<_> = (1..threads).map(|_| scope.spawn(worker)).collect();
        let mut done = worker();
        for h in helpers {
            match h.join() {
                Ok(part) => done.extend(part),
                // Nothing the workers run panics on input; re-raise a bug where it happened.
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
        done
    });
    debug_assert_eq!(done.len(), count);
    done.sort_unstable_by_key(|(index, _)| *index);
    done.into_iter().flat_map(|(_, results)| results).collect()
}

/// Uses the cached entry unless it is dirty, else reads the directory.
fn process(job: Job, dirty: &HashSet<PathBuf>, tz: &TimeZone, racy_window: Duration) -> Done {
    let fresh = job.cached.filter(|_| !dirty.contains(&job.path));
    let (result, read, fd) = match fresh {
        Some(c) => (Ok(c), false, None),
        None => match read_dir(&job.path, job.parent.as_deref(), job.depth, tz, racy_window) {
            Ok((cached, fd)) => (Ok(cached), true, fd),
            Err(e) => (Err(e), true, None),
        },
    };
    Done {
        path: job.path,
        depth: job.depth,
        result,
        read,
        fd,
    }
}

/// Opens a directory: relative to its parent's descriptor when there is one (without
/// following a symbolic link, as the listing's d_type did not), else by path (a root may be
/// a symbolic link).
fn open_dir(path: &Path, parent: Option<&OwnedFd>) -> rustix::io::Result<OwnedFd> {
    let flags = OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC;
    match (parent, path.file_name()) {
        (Some(parent), Some(name)) => {
            rustix::fs::openat(parent, name, flags | OFlags::NOFOLLOW, Mode::empty())
        }
        _ => rustix::fs::open(path, flags, Mode::empty()),
    }
}

/// Whether a cached backup directory changed (see [`Scanner::changed`]): its own stamp,
/// then the stamps of the files read when `depth` says so or the backup is incomplete or
/// changed at or after `recent_since`.
fn backup_changed(
    path: &Path,
    cached: &Cached,
    relative: Option<(&OwnedFd, &OsStr)>,
    depth: Depth,
    recent_since: (i64, i64),
) -> bool {
    let Cached::Backup {
        stamp,
        files,
        complete,
        newest_change,
        racy,
        ..
    } = cached
    else {
        return true;
    };
    if depth == Depth::Directories && *racy {
        return true;
    }
    let recent = *newest_change >= recent_since;
    if depth == Depth::Directories && *complete && !recent {
        // Settled: a complete backup that has not changed within the recent window. Backups
        // change by being created (a new directory: its container's stamp), completed (they
        // were incomplete: looked at), annotated right after (recent: looked at) and deleted
        // or renamed (the container's stamp). What is left — a file added, removed or
        // rewritten inside an old backup by hand — waits for the full verification (at least
        // hourly) or the file watcher, which sees it at once.
        return false;
    }
    let current = match relative {
        Some((parent, name)) => rustix::fs::statat(parent, name, AtFlags::SYMLINK_NOFOLLOW),
        None => rustix::fs::stat(path),
    };
    if !current.is_ok_and(|st| Stamp::of(&st) == *stamp) {
        return true;
    }
    let look_at_files = depth == Depth::Files || !*complete || recent;
    if !look_at_files {
        return false;
    }
    // "<backup dir>/<file>" relative to the parent: two components to look up.
    let mut rel = PathBuf::new();
    files.iter().any(|(file, s)| {
        rel.as_mut_os_string().clear();
        let current = match relative {
            Some((parent, name)) => {
                rel.push(name);
                rel.push(file);
                rustix::fs::statat(parent, &rel, AtFlags::empty())
            }
            None => rustix::fs::stat(path.join(file)),
        };
        !current.is_ok_and(|st| Stamp::of(&st) == *s)
    })
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
            FileType::Directory => listing.subdirs.push(name.to_vec()),
            // The file system left d_type unknown: asked below, without following links.
            FileType::Unknown => unknown.push(name.to_vec()),
            _ => listing.add_file(name),
        }
    }
    for name in unknown {
        let is_dir = rustix::fs::statat(fd, OsStr::from_bytes(&name), AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory);
        if is_dir {
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
fn read_dir(
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
        match read_small(&fd, name) {
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
    BackupType::ALL.into_iter().find(|t| {
        parent == t.as_str()
            && name
                .strip_prefix(t.seed_prefix())
                .is_some_and(|rest| rest.starts_with('_'))
    })
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
