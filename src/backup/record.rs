//! One backup directory's files → a [`Backup`]: pure, so every rule about completeness, type
//! and time is unit-tested on captured files.
//!
//! Completeness follows the order mariabackup writes in (traced with strace on 10.11): data
//! files and `ib_logfile0` first, then `xtrabackup_checkpoints`, `backup-my.cnf`, and
//! `xtrabackup_info` last. So a backup is complete when the checkpoints file parses and the
//! info file is there (readable, or compressed as `xtrabackup_info.qp` by `--compress`), and
//! `backup_metadata.json`, when present, is readable and does not report a failure.

use std::path::{Component, Path, PathBuf};
use std::time::SystemTime;

use jiff::tz::TimeZone;

use super::parse::{self, Checkpoints, Metadata};
use super::{Backup, BackupType, Failure, Status, TimeSource};

/// What the scanner found in one backup directory (file contents already read).
#[derive(Debug, Clone, Default)]
pub struct DirContents {
    /// Absolute path of the directory.
    pub path: PathBuf,
    /// The type its place in the seed's backup layout implies (`full/backup_*`,
    /// `incremental/incremental_*`).
    pub layout_kind: Option<BackupType>,
    /// The checkpoints file's text; `mariadb_names` says which name it had.
    pub checkpoints: Option<String>,
    pub info: Option<String>,
    /// Modification time of `xtrabackup_info.qp` / `mariadb_backup_info.qp`, if present.
    pub compressed_info_mtime: Option<SystemTime>,
    pub metadata: Option<String>,
    /// The 11.x names (`mariadb_backup_checkpoints` / `_info`) were used.
    pub mariadb_names: bool,
    /// Some top-level file ends in `.delta` (an incremental's page deltas).
    pub has_delta: bool,
    /// Some top-level file ends in `.qp` (`--compress`).
    pub has_qp: bool,
    pub dir_mtime: Option<SystemTime>,
}

/// Reads a backup directory's files into a [`Backup`]. Local times are read in `tz`.
pub fn assess(dir: &DirContents, tz: &TimeZone) -> Backup {
    let checkpoints = dir.checkpoints.as_deref().map(parse::parse_checkpoints);
    let info = dir.info.as_deref().map(parse::parse_info);
    let metadata = dir
        .metadata
        .as_deref()
        .map(|text| parse::parse_metadata(text, tz));

    let cp = checkpoints.as_ref().and_then(|r| r.as_ref().ok());
    let inf = info.as_ref().and_then(|r| r.as_ref().ok());
    let meta = metadata.as_ref().and_then(|r| r.as_ref().ok());

    // mariabackup's own files decide the type; the metadata and the layout only when those
    // are missing; a target directory with no clue at all is a full backup (what mariabackup
    // makes without --incremental-basedir).
    let kind = cp
        .map(Checkpoints::kind)
        .or_else(|| {
            inf.and_then(|i| i.incremental).map(|inc| {
                if inc {
                    BackupType::Incremental
                } else {
                    BackupType::Full
                }
            })
        })
        .or_else(|| meta.and_then(|m| m.kind))
        .or(dir.layout_kind)
        .or(dir.has_delta.then_some(BackupType::Incremental))
        .unwrap_or(BackupType::Full);

    let failure = match (&checkpoints, &info) {
        (None, _) => Some(Failure::NoCheckpoints),
        (Some(Err(e)), _) => Some(Failure::BadCheckpoints(e.clone())),
        (Some(Ok(_)), None) if dir.compressed_info_mtime.is_none() => Some(Failure::NoInfo),
        (Some(Ok(_)), Some(Err(e))) => Some(Failure::BadInfo(e.clone())),
        _ => None,
    }
    .or_else(|| match &metadata {
        Some(Err(e)) => Some(Failure::BadMetadata(e.clone())),
        Some(Ok(m)) if m.succeeded == Some(false) => Some(Failure::MetadataFailed),
        Some(Ok(m)) if m.verified == Some(false) => Some(Failure::VerifyFailed),
        _ => None,
    });

    // An info file whose times cannot be placed in the zone is as good as unreadable.
    let info_end = inf.map(|i| i.end(tz));
    let failure = failure.or_else(|| match &info_end {
        Some(Err(e)) => Some(Failure::BadInfo(e.clone())),
        _ => None,
    });
    let info_end = info_end.and_then(Result::ok);
    let info_start = inf.and_then(|i| i.start(tz).ok().flatten());

    let (time, time_source) = pick_time(
        failure.is_none(),
        info_end,
        info_start,
        meta,
        dir.compressed_info_mtime,
        dir.dir_mtime,
    );

    let duration = inf
        .and_then(|i| i.duration(tz).ok().flatten())
        .or_else(|| meta.and_then(|m| m.duration))
        .or_else(|| {
            let m = meta?;
            m.end?.duration_since(m.start?).ok()
        });

    let declared_base = if kind == BackupType::Incremental {
        inf.and_then(|i| {
            i.incremental_basedir
                .as_deref()
                .map(|base| resolve_declared(&dir.path, i.target_dir.as_deref(), base))
        })
        .or_else(|| {
            meta.and_then(|m| m.base_backup.as_deref())
                .map(|base| resolve_declared(&dir.path, None, base))
        })
    } else {
        None
    };

    Backup {
        path: dir.path.clone(),
        kind,
        status: failure.map_or(Status::Complete, Status::Failed),
        time,
        time_source,
        start: info_start.or_else(|| meta.and_then(|m| m.start)),
        duration,
        from_lsn: cp.map(|c| c.from_lsn),
        to_lsn: cp.map(|c| c.to_lsn),
        prepared: cp.is_some_and(Checkpoints::prepared),
        compressed: dir.has_qp
            || dir.compressed_info_mtime.is_some()
            || inf.and_then(|i| i.compressed).unwrap_or(false)
            || meta.and_then(|m| m.compressed).unwrap_or(false),
        declared_base,
        metadata_size: meta.and_then(|m| m.size_bytes),
        measured_size: None,
        mariadb_names: dir.mariadb_names,
    }
}

/// The best time of a backup: its end for a complete one; for a failed one, its last sign of
/// life. The directory's mtime only when nothing recorded a time.
fn pick_time(
    complete: bool,
    info_end: Option<SystemTime>,
    info_start: Option<SystemTime>,
    meta: Option<&Metadata>,
    compressed_info_mtime: Option<SystemTime>,
    dir_mtime: Option<SystemTime>,
) -> (SystemTime, TimeSource) {
    let meta_end = meta.and_then(|m| {
        m.end
            .or_else(|| m.start.zip(m.duration).map(|(s, d)| s + d))
    });
    let candidates = [
        (info_end, TimeSource::Info),
        (meta_end, TimeSource::Metadata),
        (meta.and_then(|m| m.start), TimeSource::MetadataStart),
        (compressed_info_mtime, TimeSource::CompressedInfoMtime),
    ];
    if let Some((Some(t), source)) = candidates.iter().find(|(t, _)| t.is_some()) {
        return (*t, *source);
    }
    if !complete {
        // A killed run: the directory's mtime (its last new file) is later than its start.
        if let Some(t) = dir_mtime {
            return (t, TimeSource::DirectoryMtime);
        }
        if let Some(t) = info_start {
            return (t, TimeSource::InfoStart);
        }
    }
    (
        dir_mtime.unwrap_or(SystemTime::UNIX_EPOCH),
        TimeSource::DirectoryMtime,
    )
}

/// The absolute path of a declared base. mariabackup records its arguments as given, so a
/// relative `--incremental-basedir` was relative to mariabackup's working directory; that
/// directory is recovered when `--target-dir` was relative too and `path` ends with it.
/// Otherwise a relative base is taken relative to the backup's parent directory.
pub fn resolve_declared(path: &Path, target_dir: Option<&Path>, base: &Path) -> PathBuf {
    if base.is_absolute() {
        return normalize(base);
    }
    let cwd = target_dir
        .filter(|t| t.is_relative())
        .and_then(|t| strip_suffix_components(path, &normalize(t)))
        .or_else(|| path.parent().map(Path::to_path_buf))
        .unwrap_or_default();
    normalize(&cwd.join(base))
}

fn strip_suffix_components(path: &Path, suffix: &Path) -> Option<PathBuf> {
    let mut p: Vec<Component> = path.components().collect();
    let s: Vec<Component> = suffix.components().collect();
    if s.is_empty() || s.len() > p.len() || p[p.len() - s.len()..] != s[..] {
        return None;
    }
    p.truncate(p.len() - s.len());
    Some(p.iter().collect())
}

/// Removes `.` and resolves `..` lexically (no file system access: the base may be gone).
pub fn normalize(path: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in path.components() {
        match c {
            Component::CurDir => {}
            Component::ParentDir => {
                if !out.pop() {
                    out.push("..");
                }
            }
            other => out.push(other.as_os_str()),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn utc() -> TimeZone {
        TimeZone::UTC
    }

    fn fixture(name: &str, file: &str) -> Option<String> {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures/backup")
            .join(name)
            .join(file);
        std::fs::read_to_string(path).ok()
    }

    fn contents(name: &str) -> DirContents {
        DirContents {
            path: PathBuf::from(format!("/b/{name}")),
            checkpoints: fixture(name, "xtrabackup_checkpoints")
                .or_else(|| fixture(name, "mariadb_backup_checkpoints")),
            info: fixture(name, "xtrabackup_info").or_else(|| fixture(name, "mariadb_backup_info")),
            metadata: fixture(name, "backup_metadata.json"),
            mariadb_names: fixture(name, "mariadb_backup_checkpoints").is_some(),
            dir_mtime: Some(SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)),
            ..DirContents::default()
        }
    }

    fn unix(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn captured_full_backup_is_complete_with_its_own_times() {
        let b = assess(&contents("full"), &utc());
        assert_eq!(b.status, Status::Complete);
        assert_eq!(b.kind, BackupType::Full);
        assert_eq!(b.time_source, TimeSource::Info);
        assert!(!b.prepared);
        assert!(!b.compressed);
        assert_eq!(b.from_lsn, Some(0));
        assert!(b.to_lsn.is_some_and(|l| l > 0));
        assert!(b.duration.is_some());
        assert_eq!(b.declared_base, None);
    }

    #[test]
    fn time_zone_is_an_input() {
        let dir = contents("full");
        let utc = assess(&dir, &utc());
        // Central European Time in November is UTC+1: the same wall clock is an hour earlier.
        let cet = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("posix tz");
        let cet = assess(&dir, &cet);
        assert_eq!(
            utc.time.duration_since(cet.time).expect("utc later"),
            Duration::from_secs(3600)
        );
    }

    #[test]
    fn captured_incremental_names_its_base() {
        let b = assess(&contents("incremental-2"), &utc());
        assert_eq!(b.status, Status::Complete);
        assert_eq!(b.kind, BackupType::Incremental);
        let base = b.declared_base.expect("declared base");
        assert!(
            base.ends_with("incremental/incremental_20261122_030000"),
            "{base:?}"
        );
        assert!(b.from_lsn.is_some_and(|l| l > 0));
    }

    #[test]
    fn killed_midway_has_no_checkpoints_and_is_timed_by_the_directory() {
        let b = assess(
            &DirContents {
                layout_kind: Some(BackupType::Full),
                ..contents("killed-midway")
            },
            &utc(),
        );
        assert_eq!(b.status, Status::Failed(Failure::NoCheckpoints));
        assert_eq!(b.kind, BackupType::Full);
        assert_eq!(b.time_source, TimeSource::DirectoryMtime);
        assert_eq!(b.time, unix(1_800_000_000));
    }

    #[test]
    fn killed_before_the_info_file_is_a_failure() {
        let b = assess(&contents("killed-before-info"), &utc());
        assert_eq!(b.status, Status::Failed(Failure::NoInfo));
        assert_eq!(b.time_source, TimeSource::DirectoryMtime);
        assert!(b.to_lsn.is_some());
    }

    #[test]
    fn compressed_backup_is_complete_through_its_compressed_info() {
        let mut dir = contents("compressed");
        assert!(dir.info.is_none());
        dir.compressed_info_mtime = Some(unix(1_790_000_000));
        dir.has_qp = true;
        let b = assess(&dir, &utc());
        assert_eq!(b.status, Status::Complete);
        assert!(b.compressed);
        assert_eq!(b.time_source, TimeSource::CompressedInfoMtime);
        assert_eq!(b.time, unix(1_790_000_000));
        assert_eq!(b.duration, None);
    }

    #[test]
    fn prepared_backup_stays_full_and_complete() {
        let b = assess(&contents("prepared"), &utc());
        assert_eq!(b.status, Status::Complete);
        assert!(b.prepared);
        assert_eq!(b.kind, BackupType::Full);
    }

    #[test]
    fn hand_written_11x_names_are_read() {
        let b = assess(&contents("hand-11x-incremental"), &utc());
        assert!(b.mariadb_names);
        assert_eq!(b.status, Status::Complete);
        assert_eq!(b.kind, BackupType::Incremental);
        assert_eq!(b.from_lsn, Some(598079));
    }

    #[test]
    fn metadata_can_fail_a_backup_or_be_unreadable() {
        let mut dir = contents("full");
        dir.metadata = Some(r#"{"type":"full","status":"failed"}"#.into());
        assert_eq!(
            assess(&dir, &utc()).status,
            Status::Failed(Failure::MetadataFailed)
        );
        dir.metadata = Some(r#"{"verified": false}"#.into());
        assert_eq!(
            assess(&dir, &utc()).status,
            Status::Failed(Failure::VerifyFailed)
        );
        dir.metadata = Some("{not json".into());
        let b = assess(&dir, &utc());
        assert_eq!(b.failure().map(Failure::code), Some("unreadable_metadata"));
        assert!(b
            .failure()
            .is_some_and(|f| f.to_string().contains("backup_metadata.json")));
    }

    #[test]
    fn metadata_supplies_times_when_the_info_is_compressed() {
        let mut dir = contents("compressed");
        dir.compressed_info_mtime = Some(unix(1_790_000_000));
        dir.metadata = Some(
            r#"{"type":"full","timestamp":"2026-11-20T12:00:00+00:00","duration_seconds":45}"#
                .into(),
        );
        let b = assess(&dir, &utc());
        assert_eq!(b.time_source, TimeSource::Metadata);
        assert_eq!(b.time, unix(1_795_176_000 + 45));
        assert_eq!(b.duration, Some(Duration::from_secs(45)));
    }

    #[test]
    fn empty_seed_directory_is_a_failed_attempt_of_its_layout_type() {
        let b = assess(
            &DirContents {
                path: "/b/incremental/incremental_20261122_010000".into(),
                layout_kind: Some(BackupType::Incremental),
                dir_mtime: Some(unix(5)),
                ..DirContents::default()
            },
            &utc(),
        );
        assert_eq!(b.kind, BackupType::Incremental);
        assert_eq!(b.status, Status::Failed(Failure::NoCheckpoints));
        assert_eq!(b.time, unix(5));
    }

    #[test]
    fn captured_chain_after_applying_incremental_1_is_intact() {
        // At the paths the capture used, so the declared bases resolve.
        let root = "/tmp/bkcap/w/root";
        let at = |name: &str, path: String| {
            let mut dir = contents(name);
            dir.path = PathBuf::from(path);
            assess(&dir, &utc())
        };
        let base = at(
            "prepared-inc1-applied",
            format!("{root}/full/backup_20261122_020000"),
        );
        let inc1 = at(
            "incremental-1-after-apply",
            format!("{root}/incremental/incremental_20261122_030000"),
        );
        let inc2 = at(
            "incremental-2",
            format!("{root}/incremental/incremental_20261122_040000"),
        );
        assert!(base.prepared);
        assert_eq!(inc1.declared_base.as_deref(), Some(base.path.as_path()));
        let report = crate::backup::chain::check([&base, &inc1, &inc2]);
        assert_eq!(report.incrementals, 2);
        assert!(report.intact(), "{:?}", report.breaks);
        // The unprepared full with incremental-2 alone: incremental-1 is missing.
        let full = at("full", format!("{root}/full/backup_20261122_020000"));
        let report = crate::backup::chain::check([&full, &inc2]);
        assert_eq!(report.breaks.len(), 1);
        assert_eq!(
            report.breaks[0].reason,
            crate::backup::chain::BreakReason::BaseMissing
        );
    }

    #[test]
    fn relative_base_is_resolved_against_the_working_directory() {
        let path = Path::new("/srv/bk/root/incremental/inc1");
        assert_eq!(
            resolve_declared(
                path,
                Some(Path::new("root/incremental/inc1")),
                Path::new("root/full/f1")
            ),
            PathBuf::from("/srv/bk/root/full/f1")
        );
        assert_eq!(
            resolve_declared(path, None, Path::new("../full/./f1")),
            PathBuf::from("/srv/bk/root/full/f1")
        );
        assert_eq!(
            resolve_declared(path, None, Path::new("/a/b/../c")),
            PathBuf::from("/a/c")
        );
    }
}
