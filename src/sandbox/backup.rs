//! Real mariabackup backups of a sandbox node, in the seed's backup layout, for the demo and for
//! rehearsing what `quorate serve` and `quorate check backup` report:
//!
//! ```text
//! DIR/backups/                         quorate.yaml's quorate.backup.directories
//!   full/backup_YYYYMMDD_HHMMSS/       mariabackup --backup, plus the seed's backup_metadata.json
//!   incremental/incremental_YYYYMMDD_HHMMSS/   --incremental-basedir = the newest complete backup
//! DIR/backup-logs/NAME.log             mariabackup's own log of each run (outside the root, so
//!                                      the scanner never mistakes it for a backup)
//! ```
//!
//! mariabackup connects as root over the node's unix socket (the sandbox's root needs no
//! password there), so no secret is written or passed. Names use the host's local time, as the
//! seed's backup script (`db_backup.sh`) does.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::{node, Sandbox, SandboxError};
use crate::backup::parse::parse_checkpoints;
use crate::backup::{scan_once, BackupType};
use crate::process::{self, Kill, RunFailure};

/// The Debian package that provides mariabackup.
pub const BACKUP_PACKAGES: &str = "mariadb-backup";
/// Bound for one backup run (the sandbox's datadirs are small; a hung run must not hang us).
const BACKUP_TIMEOUT: Duration = Duration::from_secs(600);

/// A backup [`Sandbox::take_backup`] made.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TakenBackup {
    pub kind: BackupType,
    /// The backup's directory.
    pub path: PathBuf,
    /// The backup an incremental is based on.
    pub base: Option<PathBuf>,
    pub elapsed: Duration,
}

/// `DIR/backups`: the sandbox's backup root (quorate.yaml's `quorate.backup.directories`).
pub(crate) fn backup_root(dir: &Path) -> PathBuf {
    dir.join("backups")
}

impl Sandbox {
    /// `DIR/backups`: the backup root quorate.yaml names.
    pub fn backup_root(&self) -> PathBuf {
        backup_root(&self.dir)
    }

    /// Runs a real mariabackup of `node` into [`Sandbox::backup_root`] in the seed's backup layout
    /// and writes the seed's `backup_metadata.json` next to its files. An incremental is based
    /// on the newest complete backup; without one it is refused. A failed run leaves its
    /// directory as it is (a failed attempt, as quorate reports it) and quotes the log.
    pub fn take_backup(&self, node: &str, kind: BackupType) -> Result<TakenBackup, SandboxError> {
        let socket = self.socket(node)?;
        if self.pid(node).is_none() {
            return Err(SandboxError::NodeNotRunning {
                node: node.to_string(),
            });
        }
        let program = node::find_program(&["mariabackup", "mariadb-backup"], BACKUP_PACKAGES)?;
        let root = self.backup_root();
        let base = match kind {
            BackupType::Full => None,
            BackupType::Incremental => Some(
                newest_complete(&root)?
                    .ok_or_else(|| SandboxError::NoBackupBase { root: root.clone() })?,
            ),
        };
        let tz = TimeZone::system();
        let container = root.join(kind.as_str());
        let logs = self.dir.join("backup-logs");
        for d in [&container, &logs] {
            fs::create_dir_all(d).map_err(|e| SandboxError::io("cannot create", d, e))?;
        }
        // Names have one-second resolution: wait for a free one rather than reuse a directory.
        let deadline = Instant::now() + Duration::from_secs(3);
        let (started, target) = loop {
            let now = Timestamp::now();
            let name = format!(
                "{}_{}",
                kind.seed_prefix(),
                now.to_zoned(tz.clone()).strftime("%Y%m%d_%H%M%S")
            );
            let target = container.join(&name);
            if !target.exists() {
                break (now, target);
            }
            if Instant::now() >= deadline {
                return Err(SandboxError::io(
                    "cannot create",
                    &target,
                    std::io::Error::from(std::io::ErrorKind::AlreadyExists),
                ));
            }
            std::thread::sleep(Duration::from_millis(200));
        };
        let mut command = Command::new(&program);
        command
            .arg("--backup")
            .arg(format!("--target-dir={}", target.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg("--user=root");
        if let Some(base) = &base {
            command.arg(format!("--incremental-basedir={}", base.display()));
        }
        let clock = Instant::now();
        let outcome = process::run(&mut command, None, BACKUP_TIMEOUT, Kill::Group);
        let elapsed = clock.elapsed();
        let log = logs.join(format!(
            "{}.log",
            target
                .file_name()
                .and_then(|n| n.to_str())
                .unwrap_or("backup")
        ));
        let (status, text) = match outcome {
            // `run` does not judge the exit status; `Exit` cannot come back from it.
            Ok(f) | Err(RunFailure::Exit(f)) => {
                let mut text = f.stdout;
                text.extend_from_slice(&f.stderr);
                (f.status.to_string(), Some((f.status.success(), text)))
            }
            Err(RunFailure::Spawn(source)) => {
                return Err(SandboxError::Spawn {
                    command: "mariabackup --backup".into(),
                    source,
                })
            }
            Err(RunFailure::TimedOut(_)) => (format!("killed after {BACKUP_TIMEOUT:?}"), None),
            Err(e @ (RunFailure::Wait(_) | RunFailure::TooLarge { .. })) => (e.to_string(), None),
        };
        if let Some((_, text)) = &text {
            fs::write(&log, text).map_err(|e| SandboxError::io("cannot write", &log, e))?;
        }
        // Success is mariabackup's own verdict: exit 0, "completed OK!" and a checkpoints
        // file that parses.
        let completed = text
            .as_ref()
            .is_some_and(|(ok, t)| *ok && String::from_utf8_lossy(t).contains("completed OK!"));
        let readable = fs::read_to_string(target.join("xtrabackup_checkpoints"))
            .ok()
            .is_some_and(|t| parse_checkpoints(&t).is_ok());
        if !(completed && readable) {
            return Err(SandboxError::CommandFailed {
                node: node.to_string(),
                command: format!("mariabackup --backup --target-dir={}", target.display()),
                status,
                output: node::log_tail(&log, 15),
            });
        }
        write_metadata(&target, kind, base.as_deref(), started, Timestamp::now())?;
        Ok(TakenBackup {
            kind,
            path: target,
            base,
            elapsed,
        })
    }
}

/// The newest complete backup under `root`, as quorate's own scanner judges it (the one
/// `check backup` calls the newest); a root the scanner cannot read entirely is an error, so
/// an incremental is never based on a guess.
fn newest_complete(root: &Path) -> Result<Option<PathBuf>, SandboxError> {
    let report = scan_once(&[root.to_path_buf()], &TimeZone::system()).value;
    if let Some(e) = report.errors.first() {
        return Err(SandboxError::io(
            "cannot scan",
            &e.path,
            std::io::Error::other(e.message.clone()),
        ));
    }
    Ok(report
        .backups
        .iter()
        .filter(|b| b.is_complete())
        .max_by_key(|b| b.time)
        .map(|b| b.path.clone()))
}

/// Writes `backup_metadata.json` into backup `dir` as the seed's backup script leaves it (the
/// fields [`crate::backup::parse::Metadata`] documents), for backups made by the sandbox or by
/// tests.
pub fn write_metadata(
    dir: &Path,
    kind: BackupType,
    base: Option<&Path>,
    start: Timestamp,
    end: Timestamp,
) -> Result<(), SandboxError> {
    let mut json = serde_json::json!({
        "type": kind.as_str(),
        "timestamp": start.to_string(),
        "end_time": end.to_string(),
        "duration_seconds": end.duration_since(start).as_secs_f64(),
        "compressed": false,
        "status": "success",
    });
    if let Some(base) = base {
        json["base_backup"] = serde_json::Value::from(base.display().to_string());
    }
    let path = dir.join("backup_metadata.json");
    fs::write(&path, json.to_string()).map_err(|e| SandboxError::io("cannot write", &path, e))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::SystemTime;

    /// A copy of the captured full backup's checkpoints and info files in `dir`, ending at
    /// `end` (local time, as mariabackup writes it).
    fn captured_full(dir: &Path, end: &str) {
        let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/backup/full");
        fs::create_dir_all(dir).expect("mkdir");
        fs::copy(
            fixtures.join("xtrabackup_checkpoints"),
            dir.join("xtrabackup_checkpoints"),
        )
        .expect("copy checkpoints");
        let info = fs::read_to_string(fixtures.join("xtrabackup_info")).expect("info");
        let info: String = info
            .lines()
            .map(|l| {
                if l.starts_with("end_time = ") {
                    format!("end_time = {end}\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        fs::write(dir.join("xtrabackup_info"), info).expect("write info");
    }

    #[test]
    fn the_newest_complete_backup_is_the_incremental_base() {
        let dir = tempfile::tempdir().expect("tempdir");
        let root = dir.path();
        assert_eq!(newest_complete(root).expect("empty root"), None);
        captured_full(
            &root.join("full/backup_20261122_010000"),
            "2026-11-22 01:00:05",
        );
        captured_full(
            &root.join("full/backup_20261122_020000"),
            "2026-11-22 02:00:05",
        );
        // Newer, but mariabackup never finished it: no checkpoints, a failed attempt.
        fs::create_dir_all(root.join("full/backup_20261122_030000")).expect("mkdir");
        assert_eq!(
            newest_complete(root).expect("scan"),
            Some(root.join("full/backup_20261122_020000"))
        );
        // A root that cannot be read is an error, not "no backup".
        let missing = root.join("missing");
        let err = newest_complete(&missing).expect_err("unreadable root");
        assert!(err.to_string().contains("missing"), "{err}");
    }

    #[test]
    fn metadata_is_what_the_backup_parser_reads() {
        let dir = tempfile::tempdir().expect("tempdir");
        let start = Timestamp::from_second(1_790_000_000).expect("time");
        let end = Timestamp::from_second(1_790_000_042).expect("time");
        let base = Path::new("/b/full/backup_1");
        write_metadata(dir.path(), BackupType::Incremental, Some(base), start, end).expect("write");
        let text = fs::read_to_string(dir.path().join("backup_metadata.json")).expect("read");
        let meta = crate::backup::parse::parse_metadata(&text, &TimeZone::UTC).expect("parse");
        assert_eq!(meta.kind, Some(BackupType::Incremental));
        assert_eq!(meta.duration, Some(Duration::from_secs(42)));
        assert_eq!(meta.base_backup.as_deref(), Some(base));
        assert_eq!(meta.succeeded, Some(true));
        assert_eq!(meta.start, Some(SystemTime::from(start)));
    }
}
