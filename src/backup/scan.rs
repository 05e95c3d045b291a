//! Walking the backup roots: finding backup directories, reading them (through the pure
//! [`record::assess`](super::record::assess)) and caching what was read so that rescans are cheap.
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
//! [`MAX_DEPTH`] levels) and stops at a backup directory: one in the seed's backup layout
//! (`full/backup_*`, `incremental/incremental_*`), or one holding a file only mariabackup
//! leaves (checkpoints, info, `backup-my.cnf`, `ib_logfile0`, `ibdata1`, ...). It never reads
//! the data files, except to measure the size of the newest complete backup of each type.
//!
//! I/O errors (an unreadable root or directory or file) are scan errors, reported with the
//! path: the backup's state is then unknown, which is not the same as failed.
//!
//! This file owns the cache, the three modes and the walk; its parts live beside it:
//! `read` (one directory through its descriptor: stamp, listing, small files), `parallel`
//! (the worker pool of a round) and `running` (backups a live mariabackup is writing).

mod parallel;
mod read;
mod running;
mod verified;

use std::collections::{HashMap, HashSet};
use std::ffi::OsStr;
use std::fs;
use std::hash::{BuildHasherDefault, Hasher};
use std::io;
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use jiff::tz::TimeZone;
use rustix::fs::AtFlags;

use parallel::run_parallel;
pub use parallel::MAX_THREADS;
use read::{open_dir, read_dir, Stamp};
use running::mark_in_progress;
pub use running::{backup_target, running_backup_targets};
use verified::VerifiedCache;

use super::chain::{self, ChainReport};
use super::snapshot::{BackupSnapshot, ScanError};
use super::{Backup, BackupType};
use crate::collected::Collected;
use crate::unix_time;

/// How deep below a root the walk looks for backup directories.
pub const MAX_DEPTH: usize = 8;
/// At most this many directories of one round keep their descriptor open for their
/// children to be opened relative to it (the rest are opened by path): the soft limit on
/// open files is often 1024. Lowered to a quarter of the soft limit in force ([`held_dirs`]).
const MAX_HELD_DIRS: usize = 256;

/// How many directory descriptors the scan may hold: [`MAX_HELD_DIRS`], at most a quarter of
/// the soft open-file limit (the process needs the rest: the files read, threads, sockets).
fn held_dirs() -> usize {
    static HELD: std::sync::OnceLock<usize> = std::sync::OnceLock::new();
    *HELD.get_or_init(|| {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit with a valid pointer to a rlimit struct.
        let soft = if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } == 0 {
            usize::try_from(lim.rlim_cur).unwrap_or(usize::MAX)
        } else {
            1024
        };
        MAX_HELD_DIRS.min(soft / 4)
    })
}
/// An entry whose newest change (ctime) is less than this before it was read may have
/// changed again within the same timestamp tick: the quick verification re-reads it.
pub const RACY_WINDOW: Duration = Duration::from_secs(2);
/// Backups whose directory or files changed within this window have their files' stamps
/// compared by every quick verification (a freshly written backup is the one whose
/// metadata a script may still rewrite in place, e.g. after verifying it).
pub const RECENT_WINDOW: Duration = Duration::from_secs(3600);
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
    /// The verification records beside the backups.
    verified: VerifiedCache,
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
            verified: VerifiedCache::default(),
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

    /// Every directory the last scan visited (roots, containers, backup directories, the
    /// verification records' directories): what a watcher should watch.
    pub fn directories(&self) -> impl Iterator<Item = &Path> {
        self.cache
            .keys()
            .map(PathBuf::as_path)
            .chain(self.verified.directories())
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
            // Descriptors are kept as the directories are read (all results of a round exist
            // at once): past the budget a container's descriptor is closed at once.
            let budget = std::sync::atomic::AtomicUsize::new(held_dirs());
            let keep_within_budget = |mut done: Done| {
                let wanted = matches!(
                    &done.result,
                    Ok(Cached::Container { children, .. }) if !children.is_empty()
                );
                let granted = wanted
                    && budget
                        .fetch_update(
                            std::sync::atomic::Ordering::AcqRel,
                            std::sync::atomic::Ordering::Acquire,
                            |left| left.checked_sub(1),
                        )
                        .is_ok();
                if !granted {
                    done.fd = None;
                }
                done
            };
            for done in run_parallel(jobs, work, |job| {
                keep_within_budget(process(job, dirty, tz, racy_window))
            }) {
                dirs_read += usize::from(done.read);
                match done.result {
                    Ok(entry) => {
                        match &entry {
                            Cached::Container { children, .. } => {
                                // The descriptor (if this directory was read and it fit
                                // the budget) opens the children relative to it.
                                let fd = done.fd.map(Arc::new);
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
            if fds.len() < held_dirs() {
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
        let verifications = self.verified.refresh(&backups, verify, &mut errors);
        BackupSnapshot {
            roots: self.options.roots.clone(),
            backups,
            chain,
            errors,
            dirs_read,
            verifications,
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

/// Sum of the lengths of every file below `path` (symbolic links not followed).
pub(crate) fn tree_size(path: &Path) -> io::Result<u64> {
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

#[cfg(test)]
mod tests;
