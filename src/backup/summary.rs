//! One backup type's part of the [`BackupReading`](super::BackupReading) (pure): the newest
//! success with its age and size, whether the newest attempt failed, the counts, the failures,
//! the chain breaks and the scan errors.
//!
//! A check turns a [`BackupSummary`] into a state; this module decides nothing about
//! thresholds. The fields map onto issue 5's rules like this:
//!
//! | rule | field |
//! |---|---|
//! | unreadable directory → UNKNOWN | `errors` not empty |
//! | no backup at all → CRITICAL | `newest_success` is `None` |
//! | age ranges (`-w 26h -c 50h`), perfdata `age=…s` | `newest_success.age_seconds` |
//! | `--min-size`, perfdata `size=…B` | `newest_success.size_bytes` |
//! | newest incomplete → WARNING | `newest_attempt_failed` is `Some` |
//! | broken chain → CRITICAL | `chain_breaks` not empty |
//! | `--verified-within`: not verified lately, or the last verification failed | `last_verified`, `last_verification` |
//!
//! ```no_run
//! use std::time::SystemTime;
//! use quorate::backup::{scan_once, BackupReading, MonitorConfig};
//!
//! # fn settings() -> quorate::config::Settings { unimplemented!() }
//! let settings = settings();
//! let tz = MonitorConfig::from_settings(&settings).tz; // quorate.backup.timezone or the host's
//! let scan = scan_once(&settings.backup_dirs, &tz);
//! let reading = BackupReading::from_scan(&scan, SystemTime::now());
//! if let Some(newest) = &reading.full.newest_success {
//!     println!("age={:.0}s size={:?}B", newest.age_seconds, newest.size_bytes);
//! }
//! ```

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use super::chain::ChainBreak;
use super::snapshot::{BackupSnapshot, ScanError};
use super::verify::record::VerifyRecord;
use super::{Backup, BackupType, Failure, Status, TimeSource};

/// The newest complete backup.
#[derive(Debug, Clone, PartialEq)]
pub struct SuccessSummary {
    pub path: PathBuf,
    pub kind: BackupType,
    /// When it ended (see `time_source`).
    pub end: SystemTime,
    pub time_source: TimeSource,
    /// `now - end` in seconds; negative when the end lies in the future (clock or zone
    /// trouble).
    pub age_seconds: f64,
    /// Bytes on disk (measured), else the metadata's size.
    pub size_bytes: Option<u64>,
    pub duration: Option<Duration>,
    pub to_lsn: Option<u64>,
    pub prepared: bool,
    pub compressed: bool,
}

/// A failed backup attempt.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedSummary {
    pub path: PathBuf,
    pub kind: BackupType,
    pub time: SystemTime,
    pub time_source: TimeSource,
    pub failure: Failure,
}

/// Everything a backup check judges, for one type or for all.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupSummary {
    /// `None`: all types together.
    pub kind: Option<BackupType>,
    pub roots: Vec<PathBuf>,
    pub newest_success: Option<SuccessSummary>,
    /// The newest attempt (complete or failed; running ones left out), when it failed.
    pub newest_attempt_failed: Option<FailedSummary>,
    /// Complete backups.
    pub count: usize,
    /// Failed backups (incomplete and not being written).
    pub failed_count: usize,
    /// Backups a running mariabackup is writing.
    pub in_progress_count: usize,
    /// Every failed backup, newest first (backups of equal time in path order).
    pub failed: Vec<FailedSummary>,
    /// Broken incremental links (none for `kind == Some(Full)`: breaks are incrementals').
    pub chain_breaks: Vec<ChainBreak>,
    /// Paths that could not be read: the state is unknown.
    pub errors: Vec<ScanError>,
    /// The newest verification recorded by `quorate backup verify` (by when it finished),
    /// successful or not.
    pub last_verification: Option<VerifyRecord>,
    /// When the newest successful verification finished.
    pub last_verified: Option<SystemTime>,
    /// How long before `now` that was (negative if in the future).
    pub last_verified_age_seconds: Option<f64>,
}

/// Summarizes `report` for `kind` (or all types) as of `now`.
pub fn summarize(
    report: &BackupSnapshot,
    kind: Option<BackupType>,
    now: SystemTime,
) -> BackupSummary {
    let of_kind = || {
        report
            .backups
            .iter()
            .map(|b| b.as_ref())
            .filter(move |b| kind.is_none_or(|k| b.kind == k))
    };
    let verifications = || {
        report
            .verifications
            .iter()
            .filter(move |r| kind.is_none_or(|k| r.kind == k))
    };
    let last_verified = verifications()
        .filter(|r| r.success)
        .map(|r| r.finished)
        .max()
        .and_then(|secs| crate::unix_time::from_pair((secs, 0)));
    let newest_success = of_kind()
        .filter(|b| b.is_complete())
        .max_by_key(|b| b.time)
        .map(|b| success(b, now));
    let newest_attempt_failed = of_kind()
        .filter(|b| b.status != Status::InProgress)
        .max_by(|a, b| {
            // On equal times a failure is the newer attempt: a killed run that started in the
            // same second as a success is still worth a warning.
            a.time
                .cmp(&b.time)
                .then(a.is_complete().cmp(&b.is_complete()).reverse())
        })
        .and_then(failed);
    BackupSummary {
        kind,
        roots: report.roots.clone(),
        newest_success,
        newest_attempt_failed,
        count: of_kind().filter(|b| b.is_complete()).count(),
        failed_count: of_kind().filter(|b| b.failure().is_some()).count(),
        in_progress_count: of_kind().filter(|b| b.status == Status::InProgress).count(),
        failed: newest_first(of_kind().filter_map(failed).collect()),
        chain_breaks: if kind == Some(BackupType::Full) {
            Vec::new()
        } else {
            report.chain.breaks.clone()
        },
        errors: report.errors.clone(),
        last_verification: verifications().max_by_key(|r| r.finished).cloned(),
        last_verified,
        last_verified_age_seconds: last_verified.map(|t| age_seconds(t, now)),
    }
}

/// `now - t` in seconds, negative when `t` lies in the future.
fn age_seconds(t: SystemTime, now: SystemTime) -> f64 {
    match now.duration_since(t) {
        Ok(d) => d.as_secs_f64(),
        Err(e) => -e.duration().as_secs_f64(),
    }
}

fn success(b: &Backup, now: SystemTime) -> SuccessSummary {
    let age_seconds = age_seconds(b.time, now);
    SuccessSummary {
        path: b.path.clone(),
        kind: b.kind,
        end: b.time,
        time_source: b.time_source,
        age_seconds,
        size_bytes: b.size(),
        duration: b.duration,
        to_lsn: b.to_lsn,
        prepared: b.prepared,
        compressed: b.compressed,
    }
}

/// Sorts failures newest first; stable, so equal times keep the scan's path order.
fn newest_first(mut failures: Vec<FailedSummary>) -> Vec<FailedSummary> {
    failures.sort_by_key(|f| std::cmp::Reverse(f.time));
    failures
}

fn failed(b: &Backup) -> Option<FailedSummary> {
    Some(FailedSummary {
        path: b.path.clone(),
        kind: b.kind,
        time: b.time,
        time_source: b.time_source,
        failure: b.failure()?.clone(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::testing::{at, report};

    /// Fulls span LSNs 0..100, incrementals 100..200: the incrementals link to the fulls.
    fn backup(path: &str, kind: BackupType, time: u64, status: Status) -> Backup {
        let lsns = if kind == BackupType::Full {
            (0, 100)
        } else {
            (100, 200)
        };
        crate::backup::testing::backup(path, kind, time, status, lsns)
    }

    const DAY: u64 = 86_400;

    #[test]
    fn nothing_on_disk() {
        let s = summarize(&report(Vec::new()), None, at(DAY));
        assert_eq!(s.newest_success, None);
        assert_eq!(s.newest_attempt_failed, None);
        assert_eq!((s.count, s.failed_count, s.in_progress_count), (0, 0, 0));
        assert!(s.chain_breaks.is_empty() && s.errors.is_empty());
    }

    #[test]
    fn newest_success_age_and_size_per_type() {
        let mut newest_full = backup("/b/full/f2", BackupType::Full, 10 * DAY, Status::Complete);
        newest_full.measured_size = Some(5_000_000);
        newest_full.metadata_size = Some(1);
        let mut gap = backup(
            "/b/incremental/i1",
            BackupType::Incremental,
            10 * DAY + 6 * 3600,
            Status::Complete,
        );
        gap.from_lsn = Some(150);
        let r = report(vec![
            backup("/b/full/f1", BackupType::Full, 9 * DAY, Status::Complete),
            newest_full,
            gap,
        ]);
        let now = at(11 * DAY);
        let full = summarize(&r, Some(BackupType::Full), now);
        let newest = full.newest_success.expect("a success");
        assert_eq!(newest.path, PathBuf::from("/b/full/f2"));
        assert_eq!(newest.age_seconds, DAY as f64);
        assert_eq!(newest.size_bytes, Some(5_000_000), "measured wins");
        assert_eq!(newest.duration, Some(Duration::from_secs(45)));
        assert_eq!(full.count, 2);

        let inc = summarize(&r, Some(BackupType::Incremental), now);
        assert_eq!(inc.newest_success.expect("inc").age_seconds, 18.0 * 3600.0);
        assert_eq!(inc.count, 1);
        // The incremental declares no base and none ends at its from_lsn (150): a break.
        assert_eq!(inc.chain_breaks.len(), 1);
        assert!(full.chain_breaks.is_empty());

        let all = summarize(&r, None, now);
        assert_eq!(all.count, 3);
        assert_eq!(
            all.newest_success.expect("any").path,
            PathBuf::from("/b/incremental/i1")
        );
        assert_eq!(all.chain_breaks.len(), 1);
    }

    #[test]
    fn a_future_end_gives_a_negative_age() {
        let r = report(vec![backup(
            "/b/full/f1",
            BackupType::Full,
            2 * DAY,
            Status::Complete,
        )]);
        let s = summarize(&r, None, at(DAY));
        assert_eq!(
            s.newest_success.expect("success").age_seconds,
            -(DAY as f64)
        );
    }

    #[test]
    fn killed_newest_attempt_is_failed_and_never_the_latest_success() {
        let r = report(vec![
            backup("/b/full/f1", BackupType::Full, DAY, Status::Complete),
            backup(
                "/b/full/f2",
                BackupType::Full,
                2 * DAY,
                Status::Failed(Failure::NoCheckpoints),
            ),
        ]);
        let s = summarize(&r, Some(BackupType::Full), at(3 * DAY));
        assert_eq!(
            s.newest_success.expect("success").path,
            PathBuf::from("/b/full/f1")
        );
        let failed = s.newest_attempt_failed.expect("newest failed");
        assert_eq!(failed.path, PathBuf::from("/b/full/f2"));
        assert_eq!(failed.failure, Failure::NoCheckpoints);
        assert_eq!((s.count, s.failed_count), (1, 1));
        // The incremental summary does not see the full's failure.
        let inc = summarize(&r, Some(BackupType::Incremental), at(3 * DAY));
        assert_eq!(inc.newest_attempt_failed, None);
        assert_eq!(inc.failed_count, 0);
    }

    #[test]
    fn an_old_failure_followed_by_a_success_is_not_the_newest_attempt() {
        let r = report(vec![
            backup(
                "/b/full/f1",
                BackupType::Full,
                DAY,
                Status::Failed(Failure::NoInfo),
            ),
            backup("/b/full/f2", BackupType::Full, 2 * DAY, Status::Complete),
        ]);
        let s = summarize(&r, None, at(3 * DAY));
        assert_eq!(s.newest_attempt_failed, None);
        assert_eq!(s.failed_count, 1);
    }

    #[test]
    fn a_running_backup_is_neither_failed_nor_the_newest_attempt() {
        let r = report(vec![
            backup("/b/full/f1", BackupType::Full, DAY, Status::Complete),
            backup("/b/full/f2", BackupType::Full, 2 * DAY, Status::InProgress),
        ]);
        let s = summarize(&r, None, at(3 * DAY));
        assert_eq!(s.newest_attempt_failed, None);
        assert_eq!((s.count, s.failed_count, s.in_progress_count), (1, 0, 1));
    }

    #[test]
    fn equal_times_make_the_failure_the_newer_attempt() {
        let r = report(vec![
            backup("/b/full/f1", BackupType::Full, DAY, Status::Complete),
            backup(
                "/b/full/f2",
                BackupType::Full,
                DAY,
                Status::Failed(Failure::NoCheckpoints),
            ),
        ]);
        assert!(summarize(&r, None, at(2 * DAY))
            .newest_attempt_failed
            .is_some());
    }

    #[test]
    fn scan_errors_are_carried() {
        let mut r = report(Vec::new());
        r.errors.push(ScanError {
            path: "/b".into(),
            message: "cannot read directory: Permission denied".into(),
        });
        let s = summarize(&r, None, at(0));
        assert_eq!(s.errors.len(), 1);
        assert!(s.errors[0].to_string().starts_with("/b: cannot read"));
    }
}
