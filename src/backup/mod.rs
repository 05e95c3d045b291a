//! The mariabackup source: what the backups on disk say about themselves.
//!
//! Data flows one way, I/O only at the edges:
//!
//! - [`parse`] (pure): the checkpoints and info files mariabackup writes, and the seed's
//!   `backup_metadata.json`.
//! - [`record`] (pure): one backup directory's files → a [`Backup`] (type, times, LSNs,
//!   complete or failed and why).
//! - [`chain`] (pure): incremental chain integrity (each incremental's `from_lsn` must be the
//!   `to_lsn` of its base).
//! - [`scan`]: walks the configured roots, reads backup directories, caches them by
//!   modification stamps so a rescan of an unchanged tree reads nothing.
//! - [`snapshot`] (pure): what one scan found, a [`BackupSnapshot`] (backups, chain, unreadable
//!   paths), collected as a [`Collected`](crate::collected::Collected) with its time.
//! - [`summary`] (pure): a [`BackupSummary`] per type (newest success and its age, newest
//!   attempt failed or not, counts, chain breaks).
//! - [`reading`] (pure): the [`BackupReading`] metrics and checks judge: the summaries of
//!   every type and of each type, and the scan's own success and time.
//! - [`monitor`]: the background thread `quorate serve` runs (notify + periodic rescans);
//!   `/metrics` reads its latest report and never waits for a scan.
//! - [`verify`]: `quorate backup verify`, proving a backup restores (a prepared copy of its
//!   chain on a throwaway mariadbd); its outcomes are recorded beside the backups, where the
//!   scan reads them back into the snapshot.
//!
//! Layouts understood: the seed's `ROOT/full/backup_YYYYMMDD_HHMMSS/` and
//! `ROOT/incremental/incremental_YYYYMMDD_HHMMSS/` (a directory there is a backup attempt even
//! when empty), and any mariabackup target directory anywhere under a root.

pub mod chain;
pub mod monitor;
pub mod parse;
pub mod reading;
pub mod record;
pub mod scan;
pub mod snapshot;
pub mod summary;
pub mod verify;

use std::fmt;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

pub use chain::{ChainBreak, ChainReport};
pub use monitor::{BackupMonitor, MonitorConfig};
pub use reading::BackupReading;
pub use scan::{scan_once, Scanner};
pub use snapshot::{BackupSnapshot, ScanError};
pub use summary::{summarize, BackupSummary};

/// Full or incremental (the `type` label of the metrics).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum BackupType {
    Full,
    Incremental,
}

impl BackupType {
    pub const ALL: [BackupType; 2] = [BackupType::Full, BackupType::Incremental];

    /// The type's name, which is also its container directory in the seed's backup layout
    /// (`full/`, `incremental/`).
    pub fn as_str(self) -> &'static str {
        match self {
            BackupType::Full => "full",
            BackupType::Incremental => "incremental",
        }
    }

    /// How the seed's backup layout names a backup of this type in its container, before
    /// `_YYYYMMDD_HHMMSS`: `backup` or `incremental`.
    pub fn seed_prefix(self) -> &'static str {
        match self {
            BackupType::Full => "backup",
            BackupType::Incremental => "incremental",
        }
    }
}

impl fmt::Display for BackupType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for BackupType {
    type Err = BackupTypeError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "full" => Ok(BackupType::Full),
            "incremental" => Ok(BackupType::Incremental),
            other => Err(BackupTypeError {
                text: other.to_string(),
            }),
        }
    }
}

/// A backup type that is neither `full` nor `incremental`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not full or incremental")]
pub struct BackupTypeError {
    pub text: String,
}

/// Where a backup's time came from, best first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TimeSource {
    /// `end_time` of `xtrabackup_info` / `mariadb_backup_info` (local time in the host zone).
    Info,
    /// `end_time` of `backup_metadata.json`, or its start plus its duration.
    Metadata,
    /// `timestamp` (start) of `backup_metadata.json`: the end is not recorded.
    MetadataStart,
    /// `start_time` of the info file (a failed backup's attempt time).
    InfoStart,
    /// Modification time of `xtrabackup_info.qp`: with `--compress` the info file is
    /// compressed, and mariabackup writes it last and never rewrites it.
    CompressedInfoMtime,
    /// The directory's modification time: the last resort.
    DirectoryMtime,
}

impl TimeSource {
    /// The value of the `time_source` label.
    pub fn as_str(self) -> &'static str {
        match self {
            TimeSource::Info => "info",
            TimeSource::Metadata => "metadata",
            TimeSource::MetadataStart => "metadata_start",
            TimeSource::InfoStart => "info_start",
            TimeSource::CompressedInfoMtime => "compressed_info_mtime",
            TimeSource::DirectoryMtime => "directory_mtime",
        }
    }
}

impl fmt::Display for TimeSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TimeSource::Info => "end_time of the info file",
            TimeSource::Metadata => "end time in backup_metadata.json",
            TimeSource::MetadataStart => "start time in backup_metadata.json (no end recorded)",
            TimeSource::InfoStart => "start_time of the info file",
            TimeSource::CompressedInfoMtime => "modification time of the compressed info file",
            TimeSource::DirectoryMtime => "directory modification time (no recorded time)",
        })
    }
}

/// Why a backup is not a success.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Failure {
    /// No checkpoints file: mariabackup writes it after the copy, so the run was killed
    /// midway (or failed) before finishing.
    NoCheckpoints,
    /// The checkpoints file exists but cannot be parsed.
    BadCheckpoints(parse::ParseError),
    /// Checkpoints but no info file: mariabackup writes the info file last, so the run died
    /// at the very end.
    NoInfo,
    BadInfo(parse::ParseError),
    BadMetadata(parse::ParseError),
    /// `backup_metadata.json` says the run failed.
    MetadataFailed,
    /// `backup_metadata.json` says verification failed.
    VerifyFailed,
}

impl Failure {
    /// The value of the `reason` label.
    pub fn code(&self) -> &'static str {
        match self {
            Failure::NoCheckpoints => "no_checkpoints",
            Failure::BadCheckpoints(_) => "unreadable_checkpoints",
            Failure::NoInfo => "no_info",
            Failure::BadInfo(_) => "unreadable_info",
            Failure::BadMetadata(_) => "unreadable_metadata",
            Failure::MetadataFailed => "metadata_status_failed",
            Failure::VerifyFailed => "verify_failed",
        }
    }
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::NoCheckpoints => f.write_str(
                "no xtrabackup_checkpoints/mariadb_backup_checkpoints: mariabackup did not finish (killed midway?)",
            ),
            Failure::BadCheckpoints(e) | Failure::BadInfo(e) | Failure::BadMetadata(e) => {
                write!(f, "{e}")
            }
            Failure::NoInfo => f.write_str(
                "no xtrabackup_info/mariadb_backup_info: mariabackup died before its last step",
            ),
            Failure::MetadataFailed => f.write_str("backup_metadata.json says the backup failed"),
            Failure::VerifyFailed => {
                f.write_str("backup_metadata.json says the verification failed")
            }
        }
    }
}

/// Complete, failed, or still being written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Status {
    Complete,
    Failed(Failure),
    /// Incomplete, but a mariabackup process on this host is writing it right now.
    InProgress,
}

/// One backup directory, as read from its files.
#[derive(Debug, Clone, PartialEq)]
pub struct Backup {
    pub path: PathBuf,
    pub kind: BackupType,
    pub status: Status,
    /// For a complete backup its end; for a failed one the last sign of the attempt.
    pub time: SystemTime,
    pub time_source: TimeSource,
    pub start: Option<SystemTime>,
    pub duration: Option<Duration>,
    pub from_lsn: Option<u64>,
    pub to_lsn: Option<u64>,
    /// `--prepare` was run on it (`log-applied` / `full-prepared`).
    pub prepared: bool,
    pub compressed: bool,
    /// The base an incremental names (`--incremental-basedir` in the info file's
    /// `tool_command`, else `base_backup` of the metadata), resolved to an absolute path when
    /// possible.
    pub declared_base: Option<PathBuf>,
    /// `size`/`size_bytes` of the metadata.
    pub metadata_size: Option<u64>,
    /// Sum of the lengths of the files under the directory; measured by the scanner for the
    /// newest complete backup of each type only (walking every backup would not be cheap).
    pub measured_size: Option<u64>,
    /// The files are the 11.x `mariadb_backup_*` names.
    pub mariadb_names: bool,
}

impl Backup {
    pub fn is_complete(&self) -> bool {
        self.status == Status::Complete
    }

    /// The size on disk if measured, else the metadata's.
    pub fn size(&self) -> Option<u64> {
        self.measured_size.or(self.metadata_size)
    }

    pub fn failure(&self) -> Option<&Failure> {
        match &self.status {
            Status::Failed(f) => Some(f),
            _ => None,
        }
    }
}

/// Builders shared by the unit tests of the backup source and its metrics.
#[cfg(test)]
pub(crate) mod testing {
    use std::sync::Arc;
    use std::time::{Duration, SystemTime};

    use super::{chain, Backup, BackupSnapshot, BackupType, Status, TimeSource};
    use crate::collected::Collected;

    /// `secs` after the Unix epoch.
    pub fn at(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    /// A backup that ended at `time` (seconds), 45 s long, spanning LSNs `from..to`.
    pub fn backup(
        path: &str,
        kind: BackupType,
        time: u64,
        status: Status,
        (from, to): (u64, u64),
    ) -> Backup {
        Backup {
            path: path.into(),
            kind,
            status,
            time: at(time),
            time_source: TimeSource::Info,
            start: None,
            duration: Some(Duration::from_secs(45)),
            from_lsn: Some(from),
            to_lsn: Some(to),
            prepared: false,
            compressed: false,
            declared_base: None,
            metadata_size: None,
            measured_size: None,
            mariadb_names: false,
        }
    }

    /// A scan report of `backups` (chain checked).
    pub fn report(backups: Vec<Backup>) -> BackupSnapshot {
        BackupSnapshot {
            roots: vec!["/b".into()],
            chain: chain::check(&backups),
            backups: backups.into_iter().map(Arc::new).collect(),
            errors: Vec::new(),
            dirs_read: 0,
            verifications: Vec::new(),
        }
    }

    /// A verification of `backup` that finished at `finished` (seconds).
    pub fn verification(
        backup: &str,
        kind: BackupType,
        finished: i64,
        success: bool,
    ) -> super::verify::VerifyRecord {
        super::verify::VerifyRecord {
            format: super::verify::record::FORMAT,
            backup: backup.into(),
            kind,
            chain: vec![backup.into()],
            started: finished - 30,
            finished,
            success,
            step: (!success).then_some(super::verify::Step::Check),
            table: (!success).then(|| "db.t".to_string()),
            error: (!success).then(|| "CHECK TABLE: Corrupt".to_string()),
            tables: 1,
            checked: Vec::new(),
        }
    }

    /// `snapshot` as a scan that finished at second 1000 in 3 ms.
    pub fn scanned(snapshot: BackupSnapshot) -> Collected<BackupSnapshot> {
        Collected {
            value: snapshot,
            at: at(1000),
            duration: Duration::from_millis(3),
        }
    }
}
