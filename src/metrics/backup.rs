//! Metric names for the mariabackup source (`mariadb_backup_*`), built from a
//! [`BackupReading`] (the same input `quorate check backup` judges).
//!
//! No maintained exporter exists for mariabackup, so the names follow the usual backup
//! exporters' models (`*_last_success_timestamp_seconds`, `*_last_duration_seconds`). The
//! `type` label is `full` or `incremental`. Per-backup labels (`backup`, a path) appear only on
//! the few `*_info` series that name a failed backup, a broken chain link or the newest
//! success: one series per such backup, not per scrape.

use super::{collector, Family, Kind};
use crate::backup::{BackupReading, BackupType};
use crate::collected::CollectorStatus;
use crate::unix_time;

/// Collector name used in `quorate_collector_*{collector}`.
pub const COLLECTOR_BACKUP: &str = "backup";
/// Failed backups named per type by `mariadb_backup_failed_info` (the newest ones).
pub const FAILED_NAMED: usize = 10;

fn type_label(kind: BackupType) -> Vec<(std::borrow::Cow<'static, str>, String)> {
    vec![("type".into(), kind.as_str().to_string())]
}

/// The families of the reading of the latest scan. No reading (first scan still running, or
/// the source disabled): no families.
pub fn families(reading: Option<&BackupReading>) -> Vec<Family> {
    let Some(reading) = reading else {
        return Vec::new();
    };
    let mut last_success = Family::new(
        "mariadb_backup_last_success_timestamp_seconds",
        "Unix time the newest complete backup of this type ended (end_time of xtrabackup_info, read in the host time zone; see mariadb_backup_last_success_info for the source).",
    );
    let mut last_info = Family::new(
        "mariadb_backup_last_success_info",
        "The newest complete backup of this type and where its time came from, value 1.",
    );
    let mut last_duration = Family::new(
        "mariadb_backup_last_duration_seconds",
        "How long the newest complete backup of this type took.",
    );
    let mut last_size = Family::new(
        "mariadb_backup_last_size_bytes",
        "Size on disk of the newest complete backup of this type.",
    );
    let mut last_to_lsn = Family::new(
        "mariadb_backup_last_to_lsn",
        "to_lsn of the newest complete backup of this type (where an incremental based on it starts).",
    );
    let mut last_prepared = Family::new(
        "mariadb_backup_last_prepared",
        "1 if the newest complete backup of this type was prepared with --prepare.",
    );
    let mut last_compressed = Family::new(
        "mariadb_backup_last_compressed",
        "1 if the newest complete backup of this type is compressed.",
    );
    let mut last_attempt_failed = Family::new(
        "mariadb_backup_last_attempt_failed",
        "1 if the newest backup attempt of this type (running ones aside) is incomplete.",
    );
    // Untyped, like mysqld_exporter's generic status: promtool's `_count` suffix lint (meant
    // for summaries and histograms) does not apply to untyped families, and the issue fixes
    // these two names.
    let mut count = Family::new(
        "mariadb_backup_count",
        "Complete backups of this type on disk.",
    )
    .of_kind(Kind::Untyped);
    let mut failed_count = Family::new(
        "mariadb_backup_failed_count",
        "Incomplete backups of this type on disk (killed midway, unreadable or failed metadata), running ones aside.",
    )
    .of_kind(Kind::Untyped);
    let mut in_progress = Family::new(
        "mariadb_backup_in_progress",
        "Backups of this type a running mariabackup on this host is writing.",
    );
    let mut last_verified = Family::new(
        "mariadb_backup_last_verified_timestamp_seconds",
        "Unix time the newest successful `quorate backup verify` of a backup of this type finished (the backup was restored on a throwaway server and its tables checked).",
    );
    let mut verify_success = Family::new(
        "mariadb_backup_verify_success",
        "1 if the newest `quorate backup verify` of a backup of this type succeeded, 0 if it failed; absent if none is recorded.",
    );
    let mut failed_info = Family::new(
        "mariadb_backup_failed_info",
        "An incomplete backup (the newest 10 per type) and why, value 1.",
    );

    for kind in BackupType::ALL {
        let s = reading.of(Some(kind));
        if let Some(newest) = &s.newest_success {
            last_success = last_success.with(type_label(kind), unix_time::seconds(newest.end));
            last_info = last_info.with(
                vec![
                    ("type".into(), kind.as_str().to_string()),
                    ("backup".into(), newest.path.display().to_string()),
                    (
                        "time_source".into(),
                        newest.time_source.as_str().to_string(),
                    ),
                ],
                1.0,
            );
            if let Some(d) = newest.duration {
                last_duration = last_duration.with(type_label(kind), d.as_secs_f64());
            }
            if let Some(size) = newest.size_bytes {
                last_size = last_size.with(type_label(kind), size as f64);
            }
            if let Some(lsn) = newest.to_lsn {
                last_to_lsn = last_to_lsn.with(type_label(kind), lsn as f64);
            }
            last_prepared =
                last_prepared.with(type_label(kind), f64::from(u8::from(newest.prepared)));
            last_compressed =
                last_compressed.with(type_label(kind), f64::from(u8::from(newest.compressed)));
        }
        last_attempt_failed = last_attempt_failed.with(
            type_label(kind),
            f64::from(u8::from(s.newest_attempt_failed.is_some())),
        );
        if let Some(t) = s.last_verified {
            last_verified = last_verified.with(type_label(kind), unix_time::seconds(t));
        }
        if let Some(v) = &s.last_verification {
            verify_success = verify_success.with(type_label(kind), f64::from(u8::from(v.success)));
        }
        count = count.with(type_label(kind), s.count as f64);
        failed_count = failed_count.with(type_label(kind), s.failed_count as f64);
        in_progress = in_progress.with(type_label(kind), s.in_progress_count as f64);

        for b in s.failed.iter().take(FAILED_NAMED) {
            failed_info = failed_info.with(
                vec![
                    ("type".into(), kind.as_str().to_string()),
                    ("backup".into(), b.path.display().to_string()),
                    ("reason".into(), b.failure.code().to_string()),
                ],
                1.0,
            );
        }
    }

    let mut breaks = Family::new(
        "mariadb_backup_chain_break_info",
        "A broken incremental link: the incremental, its base, the LSN it starts at and the LSN the base ends at, value 1.",
    );
    for b in &reading.all.chain_breaks {
        breaks = breaks.with(
            vec![
                ("backup".into(), b.backup.display().to_string()),
                (
                    "base".into(),
                    b.base
                        .as_deref()
                        .map(|p| p.display().to_string())
                        .unwrap_or_default(),
                ),
                ("from_lsn".into(), b.from_lsn.to_string()),
                (
                    "base_to_lsn".into(),
                    b.base_to_lsn.map(|l| l.to_string()).unwrap_or_default(),
                ),
                ("reason".into(), b.reason.as_str().to_string()),
            ],
            1.0,
        );
    }

    let mut out = vec![
        last_success,
        last_info,
        last_duration,
        last_size,
        last_to_lsn,
        last_prepared,
        last_compressed,
        last_attempt_failed,
        last_verified,
        verify_success,
        count,
        failed_count,
        in_progress,
        failed_info,
        Family::single(
            "mariadb_backup_chain_intact",
            "1 if every complete incremental starts at the to_lsn of an existing complete base.",
            f64::from(u8::from(reading.all.chain_breaks.is_empty())),
        ),
        breaks,
        Family::single(
            "mariadb_backup_scan_success",
            "1 if the last scan could read every backup root and directory.",
            f64::from(u8::from(reading.scan_succeeded)),
        ),
        Family::single(
            "mariadb_backup_scan_age_seconds",
            "Seconds since the last backup scan finished: the backup metrics are served from it (rescanned on file changes and periodically).",
            reading.scan_age.as_secs_f64(),
        ),
    ];
    out.extend(collector::families(
        COLLECTOR_BACKUP,
        &CollectorStatus {
            succeeded: reading.scan_succeeded,
            duration: reading.scan_duration,
            last_success: reading.last_success,
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::testing::{at, backup as plain, report, scanned};
    use crate::backup::{Backup, BackupSnapshot, Failure, Status};
    use std::time::SystemTime;

    /// The reading of `snapshot`, scanned at second 1000, as of `now`.
    fn read(snapshot: BackupSnapshot, now: SystemTime) -> BackupReading {
        BackupReading::from_scan(&scanned(snapshot), now)
    }
    use crate::metrics::{Format, MetricSet};

    /// Compressed, 2 KiB by its metadata.
    fn backup(path: &str, kind: BackupType, time: u64, status: Status, lsns: (u64, u64)) -> Backup {
        let mut b = plain(path, kind, time, status, lsns);
        b.compressed = true;
        b.metadata_size = Some(2048);
        b
    }

    fn set(fams: Vec<Family>) -> MetricSet {
        let mut s = MetricSet::default();
        s.extend(fams);
        s
    }

    /// A full ending at LSN 100 (second 900) and an incremental from `inc_from` (second 950).
    fn full_and_incremental(inc_from: u64) -> Vec<Backup> {
        vec![
            backup(
                "/b/full/f1",
                BackupType::Full,
                900,
                Status::Complete,
                (0, 100),
            ),
            backup(
                "/b/incremental/i1",
                BackupType::Incremental,
                950,
                Status::Complete,
                (inc_from, 200),
            ),
        ]
    }

    #[test]
    fn verifications_newest_success_and_newest_outcome_per_type() {
        use crate::backup::testing::verification;
        let mut r = report(full_and_incremental(100));
        r.verifications = vec![
            verification("/b/full/f0", BackupType::Full, 500, true),
            verification("/b/full/f1", BackupType::Full, 800, false),
            verification("/b/incremental/i1", BackupType::Incremental, 700, true),
        ];
        let s = set(families(Some(&read(r, at(1010)))));
        let full = [("type", "full")];
        let inc = [("type", "incremental")];
        let ts = "mariadb_backup_last_verified_timestamp_seconds";
        assert_eq!(s.value(ts, &full), Some(500.0));
        assert_eq!(s.value(ts, &inc), Some(700.0));
        assert_eq!(s.value("mariadb_backup_verify_success", &full), Some(0.0));
        assert_eq!(s.value("mariadb_backup_verify_success", &inc), Some(1.0));
        // Never verified: no series, not a zero.
        let none = set(families(Some(&read(
            report(full_and_incremental(100)),
            at(1010),
        ))));
        assert_eq!(none.value(ts, &full), None);
        assert_eq!(none.value("mariadb_backup_verify_success", &full), None);
    }

    #[test]
    fn no_report_no_families() {
        assert!(families(None).is_empty());
    }

    #[test]
    fn required_names_and_values() {
        let mut backups = full_and_incremental(100);
        backups.push(backup(
            "/b/incremental/i2",
            BackupType::Incremental,
            990,
            Status::Failed(Failure::NoCheckpoints),
            (0, 0),
        ));
        let r = report(backups);
        let s = set(families(Some(&read(r, at(1010)))));
        let full = [("type", "full")];
        let inc = [("type", "incremental")];
        assert_eq!(
            s.value("mariadb_backup_last_success_timestamp_seconds", &full),
            Some(900.0)
        );
        assert_eq!(
            s.value("mariadb_backup_last_success_timestamp_seconds", &inc),
            Some(950.0)
        );
        assert_eq!(
            s.value("mariadb_backup_last_duration_seconds", &full),
            Some(45.0)
        );
        assert_eq!(
            s.value("mariadb_backup_last_size_bytes", &full),
            Some(2048.0)
        );
        assert_eq!(s.value("mariadb_backup_last_to_lsn", &inc), Some(200.0));
        assert_eq!(s.value("mariadb_backup_count", &full), Some(1.0));
        assert_eq!(s.value("mariadb_backup_count", &inc), Some(1.0));
        assert_eq!(s.value("mariadb_backup_failed_count", &inc), Some(1.0));
        assert_eq!(s.value("mariadb_backup_failed_count", &full), Some(0.0));
        assert_eq!(
            s.value("mariadb_backup_last_attempt_failed", &inc),
            Some(1.0)
        );
        assert_eq!(
            s.value("mariadb_backup_last_attempt_failed", &full),
            Some(0.0)
        );
        assert_eq!(
            s.value(
                "mariadb_backup_failed_info",
                &[
                    ("backup", "/b/incremental/i2"),
                    ("reason", "no_checkpoints")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(s.value("mariadb_backup_chain_intact", &[]), Some(1.0));
        assert_eq!(s.value("mariadb_backup_scan_success", &[]), Some(1.0));
        assert_eq!(s.value("mariadb_backup_scan_age_seconds", &[]), Some(10.0));
        assert_eq!(
            s.value("quorate_collector_success", &[("collector", "backup")]),
            Some(1.0)
        );
        assert_eq!(
            s.value(
                "mariadb_backup_last_success_info",
                &[("backup", "/b/full/f1"), ("time_source", "info")]
            ),
            Some(1.0)
        );
    }

    #[test]
    fn broken_chain_and_scan_error() {
        let mut r = report(full_and_incremental(150));
        r.errors.push(crate::backup::ScanError {
            path: "/b/x".into(),
            message: "cannot read directory: Permission denied".into(),
        });
        let s = set(families(Some(&read(r, at(1000)))));
        assert_eq!(s.value("mariadb_backup_chain_intact", &[]), Some(0.0));
        assert_eq!(
            s.value(
                "mariadb_backup_chain_break_info",
                &[
                    ("backup", "/b/incremental/i1"),
                    ("base", "/b/full/f1"),
                    ("from_lsn", "150"),
                    ("base_to_lsn", "100"),
                    ("reason", "no_base")
                ]
            ),
            Some(1.0)
        );
        assert_eq!(s.value("mariadb_backup_scan_success", &[]), Some(0.0));
        assert_eq!(
            s.value("quorate_collector_success", &[("collector", "backup")]),
            Some(0.0)
        );
    }

    /// A background scanner: the last success is exported and kept across failed scans, and
    /// a scan older than its bound (the scanner stalled) is never a stale success.
    #[test]
    fn a_stalled_scanner_reads_as_failed_with_its_last_success() {
        let max = std::time::Duration::from_secs(300);
        let served = |now| {
            read(report(full_and_incremental(100)), at(now)).in_background(
                Some(at(900)),
                max,
                at(now),
            )
        };
        let success = |s: &MetricSet| {
            (
                s.value("quorate_collector_success", &[("collector", "backup")]),
                s.value(
                    "quorate_collector_last_success_timestamp_seconds",
                    &[("collector", "backup")],
                ),
            )
        };
        // Scanned at 1000: current until 1300.
        let s = set(families(Some(&served(1300))));
        assert_eq!(success(&s), (Some(1.0), Some(1000.0)));
        let s = set(families(Some(&served(1301))));
        assert_eq!(success(&s), (Some(0.0), Some(1000.0)));
        assert_eq!(s.value("mariadb_backup_scan_success", &[]), Some(0.0));
        // A failed scan keeps the earlier success.
        let mut failed = report(full_and_incremental(100));
        failed.errors.push(crate::backup::ScanError {
            path: "/b/full".into(),
            message: "Permission denied".into(),
        });
        let r = read(failed, at(1000)).in_background(Some(at(900)), max, at(1000));
        let s = set(families(Some(&r)));
        assert_eq!(success(&s), (Some(0.0), Some(900.0)));
    }

    #[test]
    fn no_success_of_a_type_leaves_its_last_samples_out_and_counts_zero() {
        let r = report(Vec::new());
        let s = set(families(Some(&read(r, at(1000)))));
        assert_eq!(
            s.value(
                "mariadb_backup_last_success_timestamp_seconds",
                &[("type", "full")]
            ),
            None
        );
        assert_eq!(
            s.value("mariadb_backup_count", &[("type", "full")]),
            Some(0.0)
        );
        // The encoded text still carries every family with samples, and lints clean
        // (checked with promtool in tests/backup.rs).
        let text = s.encode(Format::Text);
        assert!(
            text.contains("mariadb_backup_count{type=\"full\"} 0"),
            "{text}"
        );
        assert!(!text.contains("mariadb_backup_last_success_timestamp_seconds"));
    }

    #[test]
    fn only_the_newest_failures_are_named() {
        let backups: Vec<Backup> = (0..25)
            .map(|i| {
                backup(
                    &format!("/b/full/f{i:02}"),
                    BackupType::Full,
                    i,
                    Status::Failed(Failure::NoInfo),
                    (0, 1),
                )
            })
            .collect();
        let s = set(families(Some(&read(report(backups), at(1000)))));
        let named = s
            .families()
            .iter()
            .find(|f| f.name == "mariadb_backup_failed_info")
            .map_or(0, |f| f.samples.len());
        assert_eq!(named, FAILED_NAMED);
        assert_eq!(
            s.value("mariadb_backup_failed_info", &[("backup", "/b/full/f24")]),
            Some(1.0)
        );
        assert_eq!(
            s.value("mariadb_backup_failed_info", &[("backup", "/b/full/f00")]),
            None
        );
        assert_eq!(
            s.value("mariadb_backup_failed_count", &[("type", "full")]),
            Some(25.0)
        );
    }
}
