//! The backup source end to end: a real 1-node sandbox, real `mariabackup --backup` (full and
//! incremental) into a temporary root laid out like the seed's, `quorate serve` scraped, and
//! the check's judgement input ([`quorate::backup::summarize`]) next to it. Then the backups
//! are aged (times in the info and metadata files, mtimes), the chain is broken, and a
//! mariabackup run is stopped mid-copy (in progress) and SIGKILLed (failed); a reload turns
//! the source off.
//!
//! The configured rescan interval is an hour: everything seen here arrives through the file
//! watcher (and the in-progress recheck), as in production between periodic rescans.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use common::mariabackup::{
    age_backup, sandbox_with_data, scrape_until, seed_name, serve_watching, to_lsn, BackupPair,
    RunningBackup,
};
use common::{promtool_check_metrics, sample};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use quorate::backup::{scan_once, summarize, BackupSummary, BackupType};

const HOUR: f64 = 3600.0;

fn summary(root: &Path, kind: Option<BackupType>) -> BackupSummary {
    let report = scan_once(&[root.to_path_buf()], &TimeZone::system()).value;
    summarize(&report, kind, SystemTime::now())
}

fn near(actual: f64, expected: f64, slack: f64) -> bool {
    (actual - expected).abs() <= slack
}

#[test]
fn real_mariabackup_runs_exported_and_judged() {
    let tz = TimeZone::system();
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = sandbox_with_data(dir.path());
    let socket = sb.socket("node1").expect("socket");

    // The seed's layout: ROOT/full/backup_*, ROOT/incremental/incremental_*.
    let root = dir.path().join("backups");
    let BackupPair { full, inc, .. } = BackupPair::take_with_rows(&sb, &root, &tz, 5000);

    // quorate serve on the sandbox's configuration, pointed at this root.
    let (serve, config_path, mut config) = serve_watching(&sb.config_path(), &root, dir.path());

    // 1. Fresh full + incremental: counted, intact, recent, sized; a check would say OK.
    let body = scrape_until(&serve, "first scan with both backups", |b| {
        sample(b, "mariadb_backup_count", &["type=\"incremental\""]) == Some(1.0)
    });
    promtool_check_metrics(&body).unwrap();
    let now = Timestamp::now().as_second() as f64;
    for kind in ["full", "incremental"] {
        let label = format!("type=\"{kind}\"");
        let ts = sample(
            &body,
            "mariadb_backup_last_success_timestamp_seconds",
            &[&label],
        )
        .unwrap_or_else(|| panic!("{kind} timestamp in\n{body}"));
        assert!(near(ts, now, 120.0), "{kind}: {ts} vs now {now}");
        assert_eq!(sample(&body, "mariadb_backup_count", &[&label]), Some(1.0));
        assert_eq!(
            sample(&body, "mariadb_backup_failed_count", &[&label]),
            Some(0.0)
        );
        assert!(sample(&body, "mariadb_backup_last_duration_seconds", &[&label]).is_some());
    }
    assert_eq!(
        sample(&body, "mariadb_backup_last_to_lsn", &["type=\"full\""]),
        Some(to_lsn(&full) as f64)
    );
    assert_eq!(
        sample(
            &body,
            "mariadb_backup_last_to_lsn",
            &["type=\"incremental\""]
        ),
        Some(to_lsn(&inc) as f64)
    );
    // 20 MB of random rows at least, in the full; the incremental holds only the changes.
    let full_size =
        sample(&body, "mariadb_backup_last_size_bytes", &["type=\"full\""]).expect("full size");
    let inc_size = sample(
        &body,
        "mariadb_backup_last_size_bytes",
        &["type=\"incremental\""],
    )
    .expect("incremental size");
    assert!(
        full_size > 20e6 && inc_size < full_size,
        "{full_size} {inc_size}"
    );
    assert_eq!(sample(&body, "mariadb_backup_chain_intact", &[]), Some(1.0));
    assert_eq!(sample(&body, "mariadb_backup_scan_success", &[]), Some(1.0));
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"backup\""]
        ),
        Some(1.0)
    );
    assert!(
        sample(
            &body,
            "mariadb_backup_last_success_info",
            &["type=\"full\"", "time_source=\"info\""]
        ) == Some(1.0),
        "{body}"
    );
    let fresh = summary(&root, Some(BackupType::Full));
    let newest = fresh.newest_success.expect("a full backup");
    assert_eq!(newest.path, full);
    assert!(newest.age_seconds < 120.0, "{}", newest.age_seconds);
    assert!(newest.size_bytes.is_some_and(|s| s as f64 == full_size));
    assert_eq!(fresh.newest_attempt_failed, None);
    assert!(fresh.chain_breaks.is_empty() && fresh.errors.is_empty());

    // 2. Aged 30 h, then 60 h: the timestamp and the summary's age follow.
    for hours in [30, 60] {
        age_backup(&full, hours.hours(), &tz);
        age_backup(&inc, (hours - 1).hours(), &tz);
        let expected = Timestamp::now().as_second() as f64 - f64::from(hours) * HOUR;
        scrape_until(&serve, &format!("full aged {hours} h"), |b| {
            sample(
                b,
                "mariadb_backup_last_success_timestamp_seconds",
                &["type=\"full\""],
            )
            .is_some_and(|ts| near(ts, expected, 60.0))
        });
        let s = summary(&root, Some(BackupType::Full));
        let age = s.newest_success.expect("full").age_seconds;
        assert!(near(age, f64::from(hours) * HOUR, 60.0), "{hours} h: {age}");
        let s = summary(&root, Some(BackupType::Incremental));
        let age = s.newest_success.expect("incremental").age_seconds;
        assert!(
            near(age, f64::from(hours - 1) * HOUR, 60.0),
            "{hours} h: {age}"
        );
    }

    // 3. Break the chain: the incremental's checkpoints rewritten in place with another
    //    from_lsn. Then put it back.
    let cp = inc.join("xtrabackup_checkpoints");
    let original = fs::read_to_string(&cp).expect("checkpoints");
    let from = to_lsn(&full);
    let gap = from + 12345;
    fs::write(
        &cp,
        original.replace(&format!("from_lsn = {from}"), &format!("from_lsn = {gap}")),
    )
    .expect("break chain");
    let body = scrape_until(&serve, "broken chain", |b| {
        sample(b, "mariadb_backup_chain_intact", &[]) == Some(0.0)
    });
    assert_eq!(
        sample(
            &body,
            "mariadb_backup_chain_break_info",
            &[
                &format!("backup=\"{}\"", inc.display()),
                &format!("base=\"{}\"", full.display()),
                &format!("from_lsn=\"{gap}\""),
                &format!("base_to_lsn=\"{from}\""),
                "reason=\"lsn_gap\"",
            ]
        ),
        Some(1.0),
        "{body}"
    );
    let s = summary(&root, None);
    assert_eq!(s.chain_breaks.len(), 1);
    assert_eq!(s.chain_breaks[0].backup, inc);
    assert_eq!(s.chain_breaks[0].from_lsn, gap);
    assert_eq!(s.chain_breaks[0].base_to_lsn, Some(from));
    fs::write(&cp, &original).expect("restore checkpoints");
    scrape_until(&serve, "chain intact again", |b| {
        sample(b, "mariadb_backup_chain_intact", &[]) == Some(1.0)
    });

    // 4. A run stopped mid-copy is in progress (not failed); SIGKILLed, it is a failed
    //    attempt, named, and never the latest success.
    let killed: PathBuf = root
        .join("full")
        .join(seed_name("backup", Timestamp::now(), &tz));
    let run = RunningBackup::start_and_stop(&socket, &killed);
    let body = scrape_until(&serve, "stopped run in progress", |b| {
        sample(b, "mariadb_backup_in_progress", &["type=\"full\""]) == Some(1.0)
    });
    assert_eq!(
        sample(&body, "mariadb_backup_failed_count", &["type=\"full\""]),
        Some(0.0)
    );
    let s = summary(&root, Some(BackupType::Full));
    assert_eq!((s.in_progress_count, s.failed_count), (1, 0));
    assert_eq!(s.newest_attempt_failed, None);

    run.kill();
    let body = scrape_until(&serve, "killed run failed", |b| {
        sample(b, "mariadb_backup_failed_count", &["type=\"full\""]) == Some(1.0)
    });
    promtool_check_metrics(&body).unwrap();
    assert_eq!(
        sample(&body, "mariadb_backup_in_progress", &["type=\"full\""]),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &body,
            "mariadb_backup_last_attempt_failed",
            &["type=\"full\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "mariadb_backup_failed_info",
            &[
                &format!("backup=\"{}\"", killed.display()),
                "reason=\"no_checkpoints\""
            ]
        ),
        Some(1.0),
        "{body}"
    );
    // The latest success is still the aged full backup, not the killed run.
    assert_eq!(
        sample(&body, "mariadb_backup_count", &["type=\"full\""]),
        Some(1.0)
    );
    let ts = sample(
        &body,
        "mariadb_backup_last_success_timestamp_seconds",
        &["type=\"full\""],
    )
    .expect("full timestamp");
    assert!(
        near(ts, Timestamp::now().as_second() as f64 - 60.0 * HOUR, 120.0),
        "{ts}"
    );
    let s = summary(&root, Some(BackupType::Full));
    assert_eq!(s.newest_success.expect("full").path, full);
    let failed = s
        .newest_attempt_failed
        .expect("killed run is the newest attempt");
    assert_eq!(failed.path, killed);
    assert_eq!(s.failed_count, 1);

    // 5. A reload that disables the source drops its metrics without a restart.
    config["quorate"]["backup"]["enabled"] = serde_yaml_ng::Value::Bool(false);
    fs::write(
        &config_path,
        serde_yaml_ng::to_string(&config).expect("yaml"),
    )
    .expect("write config");
    let body = scrape_until(&serve, "backup metrics gone after reload", |b| {
        sample(b, "mariadb_backup_count", &["type=\"full\""]).is_none()
    });
    assert_eq!(
        sample(&body, "quorate_config_last_reload_successful", &[]),
        Some(1.0)
    );

    let status = serve.terminate();
    assert!(status.success(), "{status}");
    sb.down().expect("sandbox down");
}
