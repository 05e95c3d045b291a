//! The backup source's raw data (pure): what one [`scan`](super::scan) of the backup roots
//! found, and the paths it could not read. [`reading`](super::reading) turns it into the
//! judged [`BackupReading`](super::BackupReading).

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::chain::ChainReport;
use super::verify::record::VerifyRecord;
use super::{Backup, Status};
use crate::collected::Succeeded;

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
    pub(super) fn io(path: &Path, what: &str, e: impl Into<io::Error>) -> ScanError {
        ScanError {
            path: path.to_path_buf(),
            message: format!("cannot {what}: {}", e.into()),
        }
    }
}

/// What one scan found: the backup source's raw data.
/// [`Collected`](crate::collected::Collected) adds when the scan finished and how long it took.
#[derive(Debug, Clone)]
pub struct BackupSnapshot {
    pub roots: Vec<PathBuf>,
    /// Every backup found, sorted by path (bytewise). Failed backups that a running
    /// mariabackup is writing have [`Status::InProgress`].
    pub backups: Vec<Arc<Backup>>,
    pub chain: ChainReport,
    pub errors: Vec<ScanError>,
    /// Directories read (not merely verified) by this scan.
    pub dirs_read: usize,
    /// The outcomes `quorate backup verify` recorded beside the backups, sorted by backup.
    pub verifications: Vec<VerifyRecord>,
}

impl BackupSnapshot {
    /// Every root and directory could be read.
    pub fn success(&self) -> bool {
        self.errors.is_empty()
    }

    /// Whether some backup is being written right now.
    pub fn any_in_progress(&self) -> bool {
        self.backups.iter().any(|b| b.status == Status::InProgress)
    }
}

/// A scan succeeded when every root and directory could be read
/// (`quorate_collector_success{collector="backup"}`).
impl Succeeded for BackupSnapshot {
    fn succeeded(&self) -> bool {
        self.success()
    }
}
