//! Walking the backup roots: finding backup directories, reading them (through the pure
//! [`record::assess`]) and caching what was read so that rescans are cheap.
//!
//! Every directory visited is cached with a stamp (mtime, ctime, inode, size) of itself and,
//! for a backup directory, of the few files quorate reads in it. A rescan in
//! [`ScanMode::Verify`] stats those and re-reads only what changed; a rescan in
//! [`ScanMode::Trust`] re-reads only the directories a file-system watcher named and trusts
//! the cache for the rest (no system call at all for an unchanged tree).
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
use std::fs::{self, File};
use std::io::{self, Read};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

use jiff::tz::TimeZone;

use super::chain::{self, ChainReport};
use super::record::{self, DirContents};
use super::{Backup, BackupType, Status};

/// How deep below a root the walk looks for backup directories.
pub const MAX_DEPTH: usize = 8;
/// The files quorate reads are a few hundred bytes; anything larger is cut here.
const MAX_FILE: u64 = 1 << 20;

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
    fn io(path: &Path, what: &str, e: &io::Error) -> ScanError {
        ScanError {
            path: path.to_path_buf(),
            message: format!("cannot {what}: {e}"),
        }
    }
}

/// The result of one scan.
#[derive(Debug, Clone)]
pub struct ScanReport {
    pub roots: Vec<PathBuf>,
    /// Every backup found, sorted by path. Failed backups that a running mariabackup is
    /// writing have [`Status::InProgress`].
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
    fn of(m: &fs::Metadata) -> Stamp {
        Stamp {
            mtime: (m.mtime(), m.mtime_nsec()),
            ctime: (m.ctime(), m.ctime_nsec()),
            ino: m.ino(),
            size: m.size(),
        }
    }

    fn current(path: &Path) -> Option<Stamp> {
        fs::metadata(path).ok().map(|m| Stamp::of(&m))
    }
}

#[derive(Debug)]
enum Cached {
    Container {
        stamp: Stamp,
        children: Vec<PathBuf>,
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
}

struct Walk<'a> {
    mode: ScanMode<'a>,
    next: HashMap<PathBuf, Cached>,
    backups: Vec<Arc<Backup>>,
    errors: Vec<ScanError>,
    dirs_read: usize,
}

impl Scanner {
    pub fn new(options: ScanOptions) -> Scanner {
        Scanner {
            options,
            cache: HashMap::new(),
            sizes: HashMap::new(),
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
        self.options = options;
    }

    /// Every directory the last scan visited (roots, containers, backup directories): what a
    /// watcher should watch.
    pub fn directories(&self) -> impl Iterator<Item = &Path> {
        self.cache.keys().map(PathBuf::as_path)
    }

    /// The cached directory a changed `path` belongs to: itself if it is one, else its parent
    /// if that is one. `None` means the change is outside what the scanner knows.
    pub fn directory_of(&self, path: &Path) -> Option<PathBuf> {
        if self.cache.contains_key(path) {
            return Some(path.to_path_buf());
        }
        path.parent()
            .filter(|p| self.cache.contains_key(*p))
            .map(Path::to_path_buf)
    }

    /// Scans the roots.
    pub fn scan(&mut self, mode: ScanMode<'_>) -> ScanReport {
        let started = Instant::now();
        let mut walk = Walk {
            mode,
            next: HashMap::with_capacity(self.cache.len()),
            backups: Vec::new(),
            errors: Vec::new(),
            dirs_read: 0,
        };
        let roots = self.options.roots.clone();
        for root in &roots {
            self.visit(root, 0, &mut walk);
        }
        self.cache = walk.next;
        let mut backups = walk.backups;
        backups.sort_by(|a, b| a.path.cmp(&b.path));
        backups.dedup_by(|a, b| a.path == b.path);

        mark_in_progress(&mut backups);
        let verify = matches!(mode, ScanMode::Verify);
        self.measure_newest(&mut backups, verify, &mut walk.errors);

        let chain = chain::check(backups.iter().map(|b| b.as_ref()));
        ScanReport {
            roots,
            backups,
            chain,
            errors: walk.errors,
            finished_at: SystemTime::now(),
            duration: started.elapsed(),
            dirs_read: walk.dirs_read,
        }
    }

    fn visit(&mut self, path: &Path, depth: usize, walk: &mut Walk<'_>) {
        if walk.next.contains_key(path) {
            return; // reached twice (overlapping roots)
        }
        let cached = self.cache.remove(path).filter(|c| match walk.mode {
            ScanMode::Trust(dirty) => !dirty.contains(path),
            ScanMode::Verify => c.unchanged(path),
        });
        let entry = match cached {
            Some(c) => c,
            None => {
                walk.dirs_read += 1;
                match self.read_dir(path, depth) {
                    Ok(c) => c,
                    Err(e) => {
                        walk.errors.push(e);
                        return;
                    }
                }
            }
        };
        match &entry {
            Cached::Container { children, .. } => {
                let children = children.clone();
                walk.next.insert(path.to_path_buf(), entry);
                for child in &children {
                    self.visit(child, depth + 1, walk);
                }
            }
            Cached::Backup { backup, .. } => {
                walk.backups.push(Arc::clone(backup));
                walk.next.insert(path.to_path_buf(), entry);
            }
        }
    }

    /// Reads a directory: a backup directory is read whole, another one is listed.
    fn read_dir(&self, path: &Path, depth: usize) -> Result<Cached, ScanError> {
        // The stamp is taken before listing, so a change during the listing shows next time.
        let meta = fs::metadata(path).map_err(|e| ScanError::io(path, "read directory", &e))?;
        if !meta.is_dir() {
            return Err(ScanError {
                path: path.to_path_buf(),
                message: "not a directory".into(),
            });
        }
        let stamp = Stamp::of(&meta);
        let mut names: Vec<(std::ffi::OsString, bool)> = Vec::new();
        let entries = fs::read_dir(path).map_err(|e| ScanError::io(path, "read directory", &e))?;
        for entry in entries {
            let entry = entry.map_err(|e| ScanError::io(path, "read directory", &e))?;
            // file_type() does not follow symbolic links: a linked directory is not walked.
            let is_dir = entry.file_type().map(|t| t.is_dir()).unwrap_or(false);
            names.push((entry.file_name(), is_dir));
        }
        let layout_kind = layout_kind(path);
        let has = |n: &str| names.iter().any(|(name, _)| name == n);
        let is_backup = layout_kind.is_some()
            || CHECKPOINTS
                .iter()
                .chain(&INFO)
                .chain(&INFO_QP)
                .chain(&[METADATA])
                .chain(&OTHER_MARKERS)
                .any(|m| has(m));
        if !is_backup {
            let mut children: Vec<PathBuf> = if depth < MAX_DEPTH {
                names
                    .iter()
                    .filter(|(name, is_dir)| *is_dir && !name.to_string_lossy().starts_with('.'))
                    .map(|(name, _)| path.join(name))
                    .collect()
            } else {
                Vec::new()
            };
            children.sort();
            return Ok(Cached::Container { stamp, children });
        }

        let mut contents = DirContents {
            path: path.to_path_buf(),
            layout_kind,
            dir_mtime: meta.modified().ok(),
            has_delta: names
                .iter()
                .any(|(n, d)| !d && n.to_string_lossy().ends_with(".delta")),
            has_qp: names
                .iter()
                .any(|(n, d)| !d && n.to_string_lossy().ends_with(".qp")),
            ..DirContents::default()
        };
        let mut files = Vec::new();
        let mut read = |name: &'static str| -> Result<Option<String>, ScanError> {
            if !has(name) {
                return Ok(None);
            }
            let file = path.join(name);
            match read_small(&file) {
                Ok(Some((text, s))) => {
                    files.push((name, s));
                    Ok(Some(text))
                }
                Ok(None) => Ok(None),
                Err(e) => Err(ScanError::io(&file, "read", &e)),
            }
        };
        // The 11.x names win when both exist (mariadb_backup_* is listed first).
        for name in CHECKPOINTS {
            if contents.checkpoints.is_none() {
                contents.checkpoints = read(name)?;
                contents.mariadb_names |=
                    contents.checkpoints.is_some() && name.starts_with("mariadb");
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
                let file = path.join(name);
                let m = fs::metadata(&file).map_err(|e| ScanError::io(&file, "stat", &e))?;
                files.push((name, Stamp::of(&m)));
                contents.compressed_info_mtime = m.modified().ok();
            }
        }
        let backup = record::assess(&contents, &self.options.tz);
        Ok(Cached::Backup {
            stamp,
            files,
            backup: Arc::new(backup),
        })
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
                        errors.push(ScanError::io(&path, "measure size", &e));
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

/// A small file's text and stamp; `None` if it vanished.
fn read_small(path: &Path) -> io::Result<Option<(String, Stamp)>> {
    let file = match File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let stamp = Stamp::of(&file.metadata()?);
    let mut bytes = Vec::new();
    file.take(MAX_FILE).read_to_end(&mut bytes)?;
    Ok(Some((String::from_utf8_lossy(&bytes).into_owned(), stamp)))
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
