//! Parser tests on files captured from real mariabackup 10.11 runs
//! (`tests/fixtures/backup/README.md` says how each was made; `hand-*` ones are hand-written).

use super::*;

macro_rules! fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/backup/",
            $path
        ))
    };
}

fn utc() -> TimeZone {
    TimeZone::UTC
}

fn unix(ts: &str) -> SystemTime {
    SystemTime::from(ts.parse::<Timestamp>().expect("test timestamp"))
}

#[test]
fn checkpoints_of_every_captured_state() {
    let full = parse_checkpoints(fixture!("full/xtrabackup_checkpoints")).expect("full");
    assert_eq!(full.backup_type, CheckpointType::FullBackuped);
    assert_eq!(full.from_lsn, 0);
    assert_eq!(full.kind(), BackupType::Full);
    assert!(!full.prepared());

    let inc1 = parse_checkpoints(fixture!("incremental-1/xtrabackup_checkpoints")).expect("inc1");
    let inc2 = parse_checkpoints(fixture!("incremental-2/xtrabackup_checkpoints")).expect("inc2");
    assert_eq!(inc1.backup_type, CheckpointType::Incremental);
    assert_eq!(inc1.kind(), BackupType::Incremental);
    // The captured chain is intact: each from_lsn is the previous to_lsn.
    assert_eq!(inc1.from_lsn, full.to_lsn);
    assert_eq!(inc2.from_lsn, inc1.to_lsn);
    assert!(inc2.to_lsn > inc2.from_lsn);
    assert!(inc2.last_lsn.is_some_and(|l| l >= inc2.to_lsn));

    let prepared = parse_checkpoints(fixture!("prepared/xtrabackup_checkpoints")).expect("prep");
    assert_eq!(
        prepared.backup_type,
        CheckpointType::Prepared("log-applied".into())
    );
    assert!(prepared.prepared());
    assert_eq!(prepared.kind(), BackupType::Full);
    assert_eq!(prepared.to_lsn, full.to_lsn, "--prepare keeps to_lsn");

    // Applying incremental-1 onto the prepared full moves the full's to_lsn to the
    // incremental's: the link inc1.from_lsn == base.to_lsn no longer holds afterwards.
    let applied = parse_checkpoints(fixture!("prepared-inc1-applied/xtrabackup_checkpoints"))
        .expect("applied");
    assert_eq!(applied.to_lsn, inc1.to_lsn);
    assert!(applied.prepared());

    let compressed =
        parse_checkpoints(fixture!("compressed/xtrabackup_checkpoints")).expect("compressed");
    assert_eq!(compressed.kind(), BackupType::Full);

    let hand = parse_checkpoints(fixture!("hand-11x-incremental/mariadb_backup_checkpoints"))
        .expect("11.x");
    assert_eq!(hand.kind(), BackupType::Incremental);
}

#[test]
fn percona_and_unknown_backup_types() {
    let cp = parse_checkpoints("backup_type = full-prepared\nfrom_lsn = 0\nto_lsn = 9\n")
        .expect("percona");
    assert!(cp.prepared());
    assert_eq!(cp.last_lsn, None);
    let cp = parse_checkpoints("backup_type = something-new\nfrom_lsn = 5\nto_lsn = 9\n")
        .expect("unknown type is kept");
    assert_eq!(
        cp.backup_type,
        CheckpointType::Other("something-new".into())
    );
    assert_eq!(cp.kind(), BackupType::Incremental);
}

#[test]
fn checkpoint_errors_name_the_field() {
    let e = parse_checkpoints("backup_type = full-backuped\nfrom_lsn = 0\n").unwrap_err();
    assert_eq!(
        e,
        ParseError::Missing {
            file: "checkpoints file",
            field: "to_lsn"
        }
    );
    let e =
        parse_checkpoints("backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 12x\n").unwrap_err();
    assert!(e.to_string().contains("to_lsn"), "{e}");
    assert!(e.to_string().contains("12x"), "{e}");
    let e = parse_checkpoints("garbage\n").unwrap_err();
    assert!(matches!(e, ParseError::BadLine { line: 1, .. }), "{e}");
    // A file cut short by a crash: empty.
    assert!(parse_checkpoints("").is_err());
}

#[test]
fn info_times_are_local_and_read_in_the_given_zone() {
    let info = parse_info(fixture!("full/xtrabackup_info")).expect("info");
    assert_eq!(info.incremental, Some(false));
    assert_eq!(info.compressed, Some(false));
    assert_eq!(info.tool_name.as_deref(), Some("mariabackup"));
    assert!(info.target_dir.is_some());
    assert_eq!(info.incremental_basedir, None);
    let end_utc = info.end(&utc()).expect("end");
    let start_utc = info.start(&utc()).expect("start").expect("has start");
    assert!(end_utc >= start_utc);
    assert_eq!(
        info.duration(&utc()).expect("duration"),
        end_utc.duration_since(start_utc).ok()
    );
    // New York in November is UTC-5: the same wall clock is five hours later in UTC.
    let ny = TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("posix tz");
    let end_ny = info.end(&ny).expect("end");
    assert_eq!(
        end_ny.duration_since(end_utc).expect("later"),
        Duration::from_secs(5 * 3600)
    );
}

#[test]
fn info_of_an_incremental_names_its_base() {
    let info = parse_info(fixture!("incremental-1/xtrabackup_info")).expect("info");
    assert_eq!(info.incremental, Some(true));
    let base = info.incremental_basedir.expect("basedir");
    assert!(base.ends_with("full/backup_20261122_020000"), "{base:?}");
    let hand = parse_info(fixture!("hand-11x-incremental/mariadb_backup_info")).expect("11.x");
    assert_eq!(
        hand.incremental_basedir,
        Some(PathBuf::from(
            "/var/backups/mariadb/full/backup_20261121_020000"
        ))
    );
    assert_eq!(hand.end(&utc()).expect("end"), unix("2026-11-21T08:00:07Z"));
    assert_eq!(
        hand.duration(&utc()).expect("duration"),
        Some(Duration::from_secs(7))
    );
}

#[test]
fn info_without_end_time_or_with_a_bad_time_is_an_error() {
    let e = parse_info("tool_name = mariabackup\nstart_time = 2026-11-22 01:00:00\n").unwrap_err();
    assert_eq!(
        e,
        ParseError::Missing {
            file: "info file",
            field: "end_time"
        }
    );
    let e = parse_info("end_time = yesterday\n").unwrap_err();
    assert!(e.to_string().contains("end_time"), "{e}");
    for bad in [
        "2026-13-01 00:00:00",
        "2026-02-30 00:00:00",
        "2026-11-22 24:00:00",
        "2026-11-22T01:00:00",
        "2026-11-22 1:00:00",
    ] {
        let e = parse_info(&format!("end_time = {bad}\n")).unwrap_err();
        assert!(e.to_string().contains(bad), "{bad}: {e}");
    }
    let e = parse_info("end_time = 2026-11-22 01:00:00\nincremental = maybe\n").unwrap_err();
    assert!(e.to_string().contains("incremental"), "{e}");
}

#[test]
fn daylight_saving_folds_and_gaps() {
    let berlin = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("posix tz");
    // 2026-10-25 02:30 happens twice in Berlin: the earlier one (CEST, UTC+2) is taken.
    let fold = parse_local("2026-10-25 02:30:00").expect("dt");
    assert_eq!(
        local_time(&fold, &berlin, "end_time").expect("fold"),
        unix("2026-10-25T00:30:00Z")
    );
    // 2026-03-29 02:30 does not exist in Berlin: moved forward by the hour (03:30 CEST).
    let gap = parse_local("2026-03-29 02:30:00").expect("dt");
    assert_eq!(
        local_time(&gap, &berlin, "end_time").expect("gap"),
        unix("2026-03-29T01:30:00Z")
    );
}

#[test]
fn command_options() {
    let cmd = "--backup --target-dir=/a b --incremental-basedir /c --user=root";
    assert_eq!(command_option(cmd, "--target-dir"), Some("/a".into()));
    assert_eq!(
        command_option(cmd, "--incremental-basedir"),
        Some("/c".into())
    );
    assert_eq!(command_option(cmd, "--incremental-dir"), None);
    assert_eq!(
        command_option("--incremental-basedir", "--incremental-basedir"),
        None
    );
}

#[test]
fn metadata_documented_shape() {
    let m = parse_metadata(fixture!("hand-metadata/full.json"), &utc()).expect("full");
    assert_eq!(m.kind, Some(BackupType::Full));
    assert_eq!(m.start, Some(unix("2025-10-27T12:00:00Z")));
    assert_eq!(m.end, Some(unix("2025-10-27T12:00:45Z")));
    assert_eq!(m.duration, Some(Duration::from_secs(45)));
    assert_eq!(
        m.size_bytes,
        Some((2.3f64 * 1024.0 * 1024.0 * 1024.0).round() as u64)
    );
    assert_eq!(m.compressed, Some(true));
    assert_eq!(m.succeeded, Some(true));
    assert_eq!(m.verified, Some(true));

    // Local time without zone: read in the given zone (UTC+1 here).
    let cet = TimeZone::posix("CET-1CEST,M3.5.0,M10.5.0/3").expect("posix tz");
    let m = parse_metadata(fixture!("hand-metadata/incremental.json"), &cet).expect("inc");
    assert_eq!(m.kind, Some(BackupType::Incremental));
    assert_eq!(m.start, Some(unix("2025-10-27T17:00:00Z")));
    assert_eq!(m.duration, Some(Duration::from_millis(12_500)));
    assert_eq!(m.size_bytes, Some(471_859_200));
    assert_eq!(m.compressed, Some(false));
    assert_eq!(
        m.base_backup,
        Some(PathBuf::from(
            "/var/backups/mariadb/full/backup_20251027_120000"
        ))
    );
    assert_eq!(m.succeeded, Some(true));

    let m = parse_metadata(r#"{"timestamp": 1761566400, "unknown": [1,2]}"#, &utc()).expect("n");
    assert_eq!(m.start, Some(unix("2025-10-27T12:00:00Z")));
    assert_eq!(m.kind, None);
    assert_eq!(
        parse_metadata("{}", &utc()).expect("empty"),
        Metadata::default()
    );
}

#[test]
fn metadata_errors_name_the_field() {
    let e = parse_metadata(fixture!("hand-metadata/wrong-kind.json"), &utc()).unwrap_err();
    assert!(e.to_string().contains("`size_bytes`"), "{e}");
    for (text, field) in [
        (r#"{"type": "weekly"}"#, "type"),
        (r#"{"timestamp": "last tuesday"}"#, "timestamp"),
        (r#"{"status": "meh"}"#, "status"),
        (r#"{"compressed": "yes"}"#, "compressed"),
        (r#"{"size": "12Q"}"#, "size"),
        (r#"{"duration_seconds": -1}"#, "duration_seconds"),
    ] {
        let e = parse_metadata(text, &utc()).unwrap_err();
        assert!(e.to_string().contains(&format!("`{field}`")), "{text}: {e}");
    }
    assert!(parse_metadata("[1]", &utc()).is_err());
    assert!(parse_metadata("{\"type\": ", &utc()).is_err());
}

#[test]
fn human_sizes() {
    assert_eq!(parse_human_size("800"), Ok(800));
    assert_eq!(parse_human_size("12K"), Ok(12 * 1024));
    assert_eq!(parse_human_size("450M"), Ok(450 * 1024 * 1024));
    assert_eq!(parse_human_size("1.5GiB"), Ok(1536 * 1024 * 1024));
    assert_eq!(parse_human_size("1T"), Ok(1 << 40));
    assert!(parse_human_size("").is_err());
    assert!(parse_human_size("-1G").is_err());
    assert!(parse_human_size("G").is_err());
}

/// The names in a captured `files.txt` listing.
fn listed(listing: &str) -> Vec<&str> {
    listing
        .lines()
        .filter_map(|l| l.split(' ').nth(1))
        .collect()
}

#[test]
fn captured_write_order_and_incremental_apply() {
    // Killed during the copy: data files, but none of the three files written at the end.
    let killed = listed(fixture!("killed-midway/files.txt"));
    assert!(killed.contains(&"ib_logfile0") && killed.contains(&"cap/big.ibd"));
    for late in ["xtrabackup_checkpoints", "backup-my.cnf", "xtrabackup_info"] {
        assert!(!killed.contains(&late), "{late}");
    }
    // Killed when opening the info file: checkpoints and backup-my.cnf are there.
    let late = listed(fixture!("killed-before-info/files.txt"));
    assert!(late.contains(&"xtrabackup_checkpoints") && late.contains(&"backup-my.cnf"));
    assert!(!late.contains(&"xtrabackup_info"));
    // --compress leaves only the checkpoints plain.
    let compressed = listed(fixture!("compressed/files.txt"));
    assert!(compressed.contains(&"xtrabackup_info.qp") && !compressed.contains(&"xtrabackup_info"));
    // Applying incremental-1 consumed its .delta files and copied its info into the base.
    let before = listed(fixture!("incremental-1/files.txt"));
    let after = listed(fixture!("incremental-1-after-apply/files.txt"));
    assert!(before.iter().any(|f| f.ends_with(".delta")));
    assert!(!after.iter().any(|f| f.ends_with(".delta")));
    assert_eq!(
        parse_info(fixture!("prepared-inc1-applied/xtrabackup_info")).expect("base info"),
        parse_info(fixture!("incremental-1/xtrabackup_info")).expect("inc info")
    );
    assert_eq!(
        parse_checkpoints(fixture!("incremental-1-after-apply/xtrabackup_checkpoints")),
        parse_checkpoints(fixture!("incremental-1/xtrabackup_checkpoints")),
        "the incremental's own checkpoints are untouched"
    );
}
