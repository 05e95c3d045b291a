//! The background backup scanner of `quorate serve`.
//!
//! One thread owns the [`Scanner`]; `/metrics` reads the latest [`BackupSnapshot`] through
//! [`BackupMonitor::latest`], which clones an `Arc` under a lock held only for that clone and
//! for the pointer swap after a scan: a scrape never waits for a scan.
//!
//! When it scans:
//! - at start and whenever the configuration changes: a full, verifying scan;
//! - every `quorate.intervals.backup_rescan`: a quick verification (stats the containers,
//!   and the incomplete and recently changed backups with their files; catches what a
//!   watcher cannot see, e.g. backups added or deleted from another NFS client, or a lost
//!   event);
//! - at least every [`FULL_VERIFY_INTERVAL`], and after the watcher lost events, that
//!   periodic rescan is a full verification instead (stats every backup directory and every
//!   file read): the one that sees a file added, removed or rewritten inside a settled
//!   backup when no watcher reported it;
//! - after file-system events (inotify through `notify`, one non-recursive watch per root,
//!   container and backup directory; never inside a backup's database directories), debounced:
//!   only the directories named by the events are re-read;
//! - every few seconds while a backup is in progress, so a mariabackup killed without leaving
//!   a trace on disk turns from "in progress" into "failed".

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError, SyncSender};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant, SystemTime};

use jiff::tz::TimeZone;
use notify::{EventKind, RecursiveMode, Watcher};

use super::scan::{ScanMode, ScanOptions, Scanner};
use super::snapshot::BackupSnapshot;
use crate::collected::Collected;
use crate::config::Settings;

/// Quiet time after a file-system event before the rescan (a copy writes in bursts).
const DEBOUNCE: Duration = Duration::from_millis(500);
/// How often the in-progress state is re-checked while a backup runs.
const IN_PROGRESS_RECHECK: Duration = Duration::from_secs(5);
/// More pending paths than this and the next scan verifies everything instead.
const MAX_DIRTY: usize = 10_000;
/// The longest time between full verifications (every file's stamp compared); the rescans
/// in between are quick ones (directory stamps).
pub const FULL_VERIFY_INTERVAL: Duration = Duration::from_secs(3600);
/// What a full verification may take, beyond the rescan interval, before the scanner counts
/// as stalled ([`BackupMonitor::max_scan_age`]).
const SCAN_ALLOWANCE: Duration = Duration::from_secs(120);

/// What the monitor scans.
#[derive(Debug, Clone, PartialEq)]
pub struct MonitorConfig {
    /// `quorate.backup.enabled`: when false nothing is scanned and no report is served.
    pub enabled: bool,
    pub roots: Vec<PathBuf>,
    pub rescan_interval: Duration,
    pub tz: TimeZone,
}

impl MonitorConfig {
    /// From the configuration: `quorate.backup.*` and `quorate.intervals.backup_rescan`. The
    /// zone is `quorate.backup.timezone`, else the host's.
    pub fn from_settings(settings: &Settings) -> MonitorConfig {
        let tz = match settings.backup_timezone.as_deref() {
            Some(name) => TimeZone::get(name).unwrap_or_else(|e| {
                tracing::warn!(timezone = name, error = %e, "unknown time zone; using the host's");
                TimeZone::system()
            }),
            None => TimeZone::system(),
        };
        MonitorConfig {
            enabled: settings.backup_enabled,
            roots: settings.backup_dirs.clone(),
            rescan_interval: settings.backup_rescan_interval,
            tz,
        }
    }
}

/// State shared between the monitor thread, the watcher callback and the handle.
struct Shared {
    latest: RwLock<Option<Arc<Collected<BackupSnapshot>>>>,
    /// When a scan last succeeded (every root and directory read); `None` while disabled.
    last_success: Mutex<Option<SystemTime>>,
    /// The configured rescan interval, for [`BackupMonitor::max_scan_age`].
    rescan_interval: Mutex<Duration>,
    pending_config: Mutex<Option<MonitorConfig>>,
    dirty: Mutex<HashSet<PathBuf>>,
    overflow: AtomicBool,
    stop: AtomicBool,
}

/// Handle of the background scanner. Dropping it stops the thread (after a scan in progress).
pub struct BackupMonitor {
    shared: Arc<Shared>,
    wake: SyncSender<()>,
}

impl BackupMonitor {
    /// Starts the scanner thread; the first scan starts at once.
    pub fn start(config: MonitorConfig) -> BackupMonitor {
        let shared = Arc::new(Shared {
            latest: RwLock::new(None),
            last_success: Mutex::new(None),
            rescan_interval: Mutex::new(config.rescan_interval),
            pending_config: Mutex::new(None),
            dirty: Mutex::new(HashSet::new()),
            overflow: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        // One slot: a pending wake-up is as good as many.
        let (wake, wake_rx) = mpsc::sync_channel::<()>(1);
        let thread_shared = Arc::clone(&shared);
        let thread_wake = wake.clone();
        let spawned = std::thread::Builder::new()
            .name("backup-scan".into())
            .spawn(move || run(config, thread_shared, thread_wake, wake_rx));
        if let Err(e) = spawned {
            tracing::error!(error = %e, "cannot start the backup scanner thread");
        }
        BackupMonitor { shared, wake }
    }

    /// The latest report; `None` before the first scan finished or when disabled.
    pub fn latest(&self) -> Option<Arc<Collected<BackupSnapshot>>> {
        match self.shared.latest.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    /// When a scan last succeeded; `None` until one did (or while disabled).
    pub fn last_success(&self) -> Option<SystemTime> {
        *lock(&self.shared.last_success)
    }

    /// How old the latest scan may be before the scanner counts as stalled: two rescan
    /// intervals (a periodic scan runs every interval) and what a full verification may take.
    pub fn max_scan_age(&self) -> Duration {
        2 * *lock(&self.shared.rescan_interval) + SCAN_ALLOWANCE
    }

    /// Applies a new configuration (after a reload); rescans if it changed.
    pub fn configure(&self, config: MonitorConfig) {
        *lock(&self.shared.rescan_interval) = config.rescan_interval;
        *lock(&self.shared.pending_config) = Some(config);
        let _ = self.wake.try_send(());
    }
}

impl Drop for BackupMonitor {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::SeqCst);
        let _ = self.wake.try_send(());
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

fn publish(shared: &Shared, report: Option<Collected<BackupSnapshot>>) {
    {
        let mut last = lock(&shared.last_success);
        match &report {
            Some(r) if r.succeeded() => *last = Some(r.at),
            Some(_) => {}
            None => *last = None,
        }
    }
    let report = report.map(Arc::new);
    match shared.latest.write() {
        Ok(mut g) => *g = report,
        Err(p) => *p.into_inner() = report,
    }
}

fn run(
    mut config: MonitorConfig,
    shared: Arc<Shared>,
    wake: SyncSender<()>,
    wake_rx: mpsc::Receiver<()>,
) {
    let mut scanner = Scanner::new(ScanOptions {
        roots: config.roots.clone(),
        tz: config.tz.clone(),
    });
    let mut watches = Watches::new(Arc::clone(&shared), wake);
    let mut next_verify = Instant::now();
    let mut next_full = Instant::now();
    let mut first_event: Option<Instant> = None;
    let mut last_scan = Instant::now();
    let mut in_progress = false;
    let mut last_errors: Vec<String> = Vec::new();

    while !shared.stop.load(Ordering::SeqCst) {
        if let Some(new) = lock(&shared.pending_config).take() {
            if new != config {
                config = new;
                scanner.set_options(ScanOptions {
                    roots: config.roots.clone(),
                    tz: config.tz.clone(),
                });
                next_verify = Instant::now();
                next_full = next_verify;
                if !config.enabled {
                    publish(&shared, None);
                    watches.sync(std::iter::empty());
                }
            }
        }
        let now = Instant::now();
        if config.enabled {
            let has_dirty = !lock(&shared.dirty).is_empty();
            if has_dirty && first_event.is_none() {
                first_event = Some(now);
            }
            // Lost events may have been in-place rewrites: only a full verification sees
            // those.
            if shared.overflow.swap(false, Ordering::SeqCst) {
                next_verify = now;
                next_full = now;
            }
            let events_due = first_event.is_some_and(|t| now >= t + DEBOUNCE);
            let recheck_due = in_progress && now >= last_scan + IN_PROGRESS_RECHECK;
            let report = if now >= next_verify {
                lock(&shared.dirty).clear();
                first_event = None;
                next_verify = now + config.rescan_interval;
                let full = now >= next_full;
                if full {
                    next_full = now + FULL_VERIFY_INTERVAL;
                }
                let mode = if full {
                    ScanMode::Verify
                } else {
                    ScanMode::QuickVerify
                };
                Some(Collected::measure_blocking(|| scanner.scan(mode)))
            } else if events_due || recheck_due {
                let paths = std::mem::take(&mut *lock(&shared.dirty));
                first_event = None;
                let dirs: HashSet<PathBuf> = paths
                    .iter()
                    .flat_map(|p| scanner.directories_changed_by(p))
                    .collect();
                Some(Collected::measure_blocking(|| {
                    scanner.scan(ScanMode::Trust(&dirs))
                }))
            } else {
                None
            };
            if let Some(report) = report {
                last_scan = Instant::now();
                in_progress = report.value.any_in_progress();
                log_errors(&report.value, &mut last_errors);
                tracing::debug!(
                    backups = report.value.backups.len(),
                    dirs_read = report.value.dirs_read,
                    duration = ?report.duration,
                    "backup scan"
                );
                watches.sync(scanner.directories());
                publish(&shared, Some(report));
            }
        }

        // Sleep until the next thing that is due, or a wake-up (event, reload, stop).
        let now = Instant::now();
        let mut until = next_verify;
        if let Some(t) = first_event {
            until = until.min(t + DEBOUNCE);
        } else if !lock(&shared.dirty).is_empty() {
            until = now;
        }
        if in_progress {
            until = until.min(last_scan + IN_PROGRESS_RECHECK);
        }
        if !config.enabled {
            until = now + Duration::from_secs(3600);
        }
        match wake_rx.recv_timeout(until.saturating_duration_since(now)) {
            Ok(()) | Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
    }
}

/// Logs scan errors when they change (not on every rescan).
fn log_errors(report: &BackupSnapshot, last: &mut Vec<String>) {
    let now: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    if now != *last {
        for e in now.iter().filter(|e| !last.contains(e)) {
            tracing::warn!(error = %e, "backup scan");
        }
        if now.is_empty() {
            tracing::info!("backup scan: every directory readable again");
        }
        *last = now;
    }
}

/// The inotify watches, kept equal to the scanner's directories.
struct Watches {
    watcher: Option<notify::RecommendedWatcher>,
    watched: HashSet<PathBuf>,
    warned: bool,
}

impl Watches {
    fn new(shared: Arc<Shared>, wake: SyncSender<()>) -> Watches {
        let handler = move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else {
                // The watcher failed: verify everything rather than trust the cache.
                shared.overflow.store(true, Ordering::SeqCst);
                let _ = wake.try_send(());
                return;
            };
            // The kernel's queue overflowed: events were lost, verify everything.
            if event.need_rescan() {
                shared.overflow.store(true, Ordering::SeqCst);
                let _ = wake.try_send(());
                return;
            }
            // Our own reads show up as access events; they change nothing.
            if matches!(event.kind, EventKind::Access(_)) {
                return;
            }
            {
                let mut dirty = lock(&shared.dirty);
                if dirty.len() >= MAX_DIRTY {
                    shared.overflow.store(true, Ordering::SeqCst);
                } else {
                    dirty.extend(event.paths);
                }
            }
            let _ = wake.try_send(());
        };
        let watcher = match notify::recommended_watcher(handler) {
            Ok(w) => Some(w),
            Err(e) => {
                tracing::warn!(error = %e, "cannot watch the backup directories; relying on periodic rescans");
                None
            }
        };
        Watches {
            watcher,
            watched: HashSet::new(),
            warned: false,
        }
    }

    fn sync<'a>(&mut self, dirs: impl Iterator<Item = &'a Path>) {
        let Some(watcher) = self.watcher.as_mut() else {
            return;
        };
        let wanted: HashSet<PathBuf> = dirs.map(Path::to_path_buf).collect();
        for gone in self.watched.difference(&wanted) {
            // The kernel already dropped the watch of a deleted directory: errors are fine.
            let _ = watcher.unwatch(gone);
        }
        let mut failed: Vec<PathBuf> = Vec::new();
        let mut first_error = None;
        for dir in wanted.difference(&self.watched) {
            if let Err(e) = watcher.watch(dir, RecursiveMode::NonRecursive) {
                first_error.get_or_insert_with(|| format!("{}: {e}", dir.display()));
                failed.push(dir.clone());
            }
        }
        if !failed.is_empty() && !self.warned {
            self.warned = true;
            tracing::warn!(
                failed = failed.len(),
                first = first_error.as_deref().unwrap_or(""),
                "cannot watch some backup directories (fs.inotify.max_user_watches?); their changes are seen by the periodic rescan"
            );
        }
        // Failed ones are tried again on the next sync.
        self.watched = wanted;
        for dir in &failed {
            self.watched.remove(dir);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CHECKPOINTS: &str =
        "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 598079\nlast_lsn = 598095\n";

    fn info(end: &str) -> String {
        format!("tool_name = mariabackup\nstart_time = 2026-11-21 02:00:00\nend_time = {end}\nincremental = N\n")
    }

    /// Polls the monitor until `ok` accepts its report (the watcher reacts in well under a
    /// second; the bound only keeps a broken build from hanging).
    fn wait_for(
        m: &BackupMonitor,
        what: &str,
        ok: impl Fn(&BackupSnapshot) -> bool,
    ) -> Arc<Collected<BackupSnapshot>> {
        let start = Instant::now();
        loop {
            if let Some(r) = m.latest() {
                if ok(&r.value) {
                    return r;
                }
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "{what}: last report {:?}",
                m.latest()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    #[test]
    fn file_events_rescan_without_waiting_for_the_interval() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path().join("mariadb");
        std::fs::create_dir_all(root.join("full")).expect("mkdir");
        let config = MonitorConfig {
            enabled: true,
            roots: vec![root.clone()],
            // Far beyond the test: only the watcher can make it see changes.
            rescan_interval: Duration::from_secs(3600),
            tz: TimeZone::UTC,
        };
        let monitor = BackupMonitor::start(config.clone());
        wait_for(&monitor, "first scan", |r| {
            r.backups.is_empty() && r.success()
        });

        // A backup run: the directory, then the checkpoints, then the info file.
        let b = root.join("full/backup_20261121_020000");
        std::fs::create_dir_all(&b).expect("mkdir");
        wait_for(&monitor, "attempt seen as failed", |r| {
            r.backups.len() == 1 && r.backups[0].failure().is_some()
        });
        std::fs::write(b.join("xtrabackup_checkpoints"), CHECKPOINTS).expect("write");
        std::fs::write(b.join("xtrabackup_info"), info("2026-11-21 02:00:45")).expect("write");
        let r = wait_for(&monitor, "backup complete", |r| {
            r.backups.len() == 1 && r.backups[0].is_complete()
        });
        let end = r.value.backups[0].time;

        // Editing the info file in place (no new directory entry) is seen too.
        std::fs::write(b.join("xtrabackup_info"), info("2026-11-20 02:00:45")).expect("write");
        wait_for(&monitor, "edited end time", |r| {
            r.backups.len() == 1 && r.backups[0].time != end
        });

        // A removed backup disappears (it is not an unreadable directory).
        let other = root.join("full/backup_20261120_020000");
        std::fs::create_dir_all(&other).expect("mkdir");
        wait_for(&monitor, "second attempt seen", |r| r.backups.len() == 2);
        std::fs::remove_dir_all(&other).expect("rm");
        wait_for(&monitor, "removed backup gone", |r| {
            r.backups.len() == 1 && r.success()
        });

        // Disabling drops the report; enabling scans again.
        monitor.configure(MonitorConfig {
            enabled: false,
            ..config.clone()
        });
        let start = Instant::now();
        while monitor.latest().is_some() {
            assert!(start.elapsed() < Duration::from_secs(20), "still reporting");
            std::thread::sleep(Duration::from_millis(20));
        }
        monitor.configure(config);
        wait_for(&monitor, "re-enabled", |r| r.backups.len() == 1);
    }
}
