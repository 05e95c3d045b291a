//! The judged input of the backup source (pure): a [`BackupReading`] built from one collected
//! [`BackupSnapshot`] as of a given time. The `/metrics` families and `quorate check backup`
//! both read it, so they cannot disagree about what is newest, failed or broken.

use std::time::{Duration, SystemTime};

use super::snapshot::BackupSnapshot;
use super::summary::{summarize, BackupSummary};
use super::BackupType;
use crate::collected::Collected;

/// The summaries a verdict needs (all types together and each type alone) and the scan's own
/// success and time.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupReading {
    pub all: BackupSummary,
    pub full: BackupSummary,
    pub incremental: BackupSummary,
    /// Every root and directory could be read, and (for a background scanner) the scan is
    /// current ([`BackupReading::in_background`]).
    pub scan_succeeded: bool,
    /// When a scan last succeeded (this one, or for a background scanner an earlier one).
    pub last_success: Option<SystemTime>,
    /// When the scan finished.
    pub scanned_at: SystemTime,
    /// How long the scan took.
    pub scan_duration: Duration,
    /// How long ago the scan finished (zero if its time lies in the future).
    pub scan_age: Duration,
}

impl BackupReading {
    /// The reading of one scan as of `now`.
    pub fn from_scan(scan: &Collected<BackupSnapshot>, now: SystemTime) -> BackupReading {
        let snapshot = &scan.value;
        BackupReading {
            all: summarize(snapshot, None, now),
            full: summarize(snapshot, Some(BackupType::Full), now),
            incremental: summarize(snapshot, Some(BackupType::Incremental), now),
            scan_succeeded: scan.succeeded(),
            last_success: scan.succeeded().then_some(scan.at),
            scanned_at: scan.at,
            scan_duration: scan.duration,
            scan_age: scan.age(now),
        }
    }

    /// The reading as served by a background scanner, as of `now`: its last success is kept
    /// across failed scans (`last_success`, when later than this scan's), and a scan that
    /// finished more than `max_age` ago (the scanner stalled) does not count as a success.
    pub fn in_background(
        mut self,
        last_success: Option<SystemTime>,
        max_age: Duration,
        now: SystemTime,
    ) -> BackupReading {
        self.last_success = self.last_success.max(last_success);
        if crate::collected::stalled_for(self.scanned_at, now, max_age).is_some() {
            self.scan_succeeded = false;
        }
        self
    }

    /// The summary of `kind` (`None` = all types).
    pub fn of(&self, kind: Option<BackupType>) -> &BackupSummary {
        match kind {
            None => &self.all,
            Some(BackupType::Full) => &self.full,
            Some(BackupType::Incremental) => &self.incremental,
        }
    }

    /// The types that have at least one backup on disk, complete or failed (what
    /// `discover backup` lists).
    pub fn types_present(&self) -> Vec<BackupType> {
        BackupType::ALL
            .into_iter()
            .filter(|k| {
                let s = self.of(Some(*k));
                s.count + s.failed_count + s.in_progress_count > 0
            })
            .collect()
    }
}
