//! `quorate backup verify` on real mariabackup backups of a 1-node sandbox: a full and an
//! incremental chain restore and verify (row counts as written); a copy of the full with a
//! damaged data page fails naming the table and the error; a copy of the incremental without
//! its base is refused naming the chain gap; a copy of the full without its redo log fails at
//! `--prepare`; a path that is no backup is an error with nothing recorded. In every case the
//! scratch directory is left empty (and a copy a killed run left is removed), the backups are
//! unchanged, and the outcome is recorded beside the backup.
//!
//! Damage is only ever done to copies the test made, never to the sandbox's own datadir or the
//! backups the other steps verify.

mod common;

use std::fs;
use std::os::unix::fs::{FileExt, MetadataExt};
use std::path::{Path, PathBuf};

use common::mariabackup::{copy_tree, sandbox_with_data, scrape_until, serve_watching, BackupPair};
use common::plugin::{run_quorate, PluginRun};
use common::sample;
use jiff::tz::TimeZone;
use serde_json::Value;

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

/// Every file under `dir` with its size and modification time: what "unchanged" means.
fn fingerprint(dir: &Path) -> Vec<(PathBuf, u64, i64, i64)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).expect("list") {
            let e = e.expect("entry");
            let m = e.metadata().expect("metadata");
            if m.is_dir() {
                stack.push(e.path());
            }
            out.push((e.path(), m.len(), m.mtime(), m.mtime_nsec()));
        }
    }
    out.sort();
    out
}

fn verify(scratch: &Path, args: &[&str]) -> (PluginRun, Vec<Value>) {
    let r = run_quorate(
        &[
            &[
                "backup",
                "verify",
                "--format",
                "json",
                "--scratch-dir",
                path_str(scratch),
            ][..],
            args,
        ]
        .concat(),
        &[],
    );
    let records: Vec<Value> = serde_json::from_str(&r.stdout)
        .unwrap_or_else(|e| panic!("{e}: stdout {}\nstderr {}", r.stdout, r.stderr));
    assert!(
        fs::read_dir(scratch).expect("scratch").next().is_none(),
        "scratch space left behind: {:?}",
        fs::read_dir(scratch)
            .expect("scratch")
            .map(|e| e.expect("entry").path())
            .collect::<Vec<_>>()
    );
    (r, records)
}

/// The recorded outcome beside `backup`.
fn recorded(backup: &Path) -> Value {
    let file = backup
        .parent()
        .expect("container")
        .join(".quorate-verify")
        .join(format!(
            "{}.json",
            backup.file_name().expect("name").to_string_lossy()
        ));
    serde_json::from_str(&fs::read_to_string(&file).expect("record beside the backup"))
        .expect("record is JSON")
}

fn rows_of(record: &Value, table: &str) -> u64 {
    record["checked"]
        .as_array()
        .expect("checked")
        .iter()
        .find(|t| t["table"] == table)
        .and_then(|t| t["rows"].as_u64())
        .unwrap_or_else(|| panic!("{table} in {record}"))
}

#[test]
fn full_and_incremental_verify_damage_and_gaps_fail() {
    let tz = TimeZone::system();
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = sandbox_with_data(dir.path());
    sb.sql(
        "node1",
        "CREATE TABLE bk.small (id INT PRIMARY KEY) ENGINE=InnoDB; \
         INSERT INTO bk.small SELECT seq FROM bk.seq_1_to_100;",
    )
    .expect("second table");
    let root = dir.path().join("backups");
    let BackupPair { full, inc, .. } = BackupPair::take_with_rows(&sb, &root, &tz, 5000);
    // quorate serve watches the root (the records arrive through its file watcher).
    let (serve, ..) = serve_watching(&sb.config_path(), &root, dir.path());
    scrape_until(&serve, "both backups scanned", |b| {
        sample(b, "mariadb_backup_count", &["type=\"incremental\""]) == Some(1.0)
    });
    assert!(
        !serve
            .get("/metrics")
            .body
            .contains("mariadb_backup_verify_success{"),
        "nothing verified yet"
    );

    let scratch = dir.path().join("scratch");
    fs::create_dir(&scratch).expect("scratch");
    // The backups themselves (their containers get the records' directory).
    let before = [fingerprint(&full), fingerprint(&inc)];

    // A scratch copy left by a killed run (its pid cannot exist) is removed by the next run.
    let stale = scratch.join("quorate-verify-999999999-backup_x");
    fs::create_dir_all(stale.join("data")).expect("stale scratch");

    // 1. The full, named by path: restored, its tables open and check, rows as written.
    let (r, records) = verify(&scratch, &[path_str(&full)]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rec = &records[0];
    assert_eq!(rec["success"], true, "{rec}");
    assert_eq!(rec["type"], "full");
    assert_eq!(rows_of(rec, "bk.t"), 20_000);
    assert_eq!(rows_of(rec, "bk.small"), 100);
    assert_eq!(&recorded(&full), rec);
    eprintln!("full verified in {:?}", r.elapsed);

    // 2. --latest is the incremental: its whole chain, full first.
    let (r, records) = verify(&scratch, &["--backup-dir", path_str(&root), "--latest"]);
    assert_eq!(r.code, 0, "{}\n{}", r.stdout, r.stderr);
    let rec = &records[0];
    assert_eq!(rec["success"], true, "{rec}");
    assert_eq!(rec["type"], "incremental");
    assert_eq!(rec["backup"], path_str(&inc));
    assert_eq!(
        rec["chain"],
        serde_json::json!([path_str(&full), path_str(&inc)])
    );
    assert_eq!(rows_of(rec, "bk.t"), 25_000);
    assert_eq!(&recorded(&inc), rec);
    eprintln!("incremental chain verified in {:?}", r.elapsed);

    // Exported by serve, judged by check backup --verified-within.
    let body = scrape_until(&serve, "both verifications exported", |b| {
        ["full", "incremental"].iter().all(|k| {
            sample(
                b,
                "mariadb_backup_verify_success",
                &[&format!("type=\"{k}\"")],
            ) == Some(1.0)
        })
    });
    let now = jiff::Timestamp::now().as_second() as f64;
    let verified = sample(
        &body,
        "mariadb_backup_last_verified_timestamp_seconds",
        &["type=\"full\""],
    )
    .expect("last verified");
    assert!((now - verified).abs() < 120.0, "{verified} vs {now}");
    common::promtool_check_metrics(&body).unwrap();
    let check = run_quorate(
        &[
            "check",
            "backup",
            "--backup-dir",
            path_str(&root),
            "--verified-within",
            "1h",
        ],
        &[],
    );
    assert_eq!(check.code, 0, "{}", check.stdout);
    assert!(
        check.stdout.contains("last verified restore"),
        "{}",
        check.stdout
    );

    // The backups were only read; the records live beside them, not in them.
    let after = [fingerprint(&full), fingerprint(&inc)];
    for (b, a) in before.iter().zip(&after) {
        let changed: Vec<_> = a.iter().filter(|e| !b.contains(e)).collect();
        assert!(
            changed.is_empty() && a.len() == b.len(),
            "a backup was modified: {changed:?}"
        );
    }

    // 3. A copy of the full with a damaged page of bk.t's data file.
    let damaged_root = dir.path().join("damaged");
    let damaged = damaged_root
        .join("full")
        .join(full.file_name().expect("name"));
    copy_tree(&full, &damaged);
    let ibd = damaged.join("bk").join("t.ibd");
    let file = fs::OpenOptions::new()
        .write(true)
        .open(&ibd)
        .expect("open copy's t.ibd");
    // Page 4 holds rows (pages 0-3 are the tablespace's own bookkeeping); garbage in its middle
    // breaks its checksum.
    file.write_all_at(&[0xA5; 512], 4 * 16384 + 4000)
        .expect("damage a page");
    drop(file);
    let (r, records) = verify(&scratch, &[path_str(&damaged)]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let rec = &records[0];
    assert_eq!(rec["success"], false, "{rec}");
    assert_eq!(rec["table"], "bk.t", "{rec}");
    let error = rec["error"].as_str().expect("error");
    assert!(
        error.to_lowercase().contains("corrupt"),
        "the error is named: {error}"
    );
    assert_eq!(&recorded(&damaged), rec);
    let check = run_quorate(
        &[
            "check",
            "backup",
            "--backup-dir",
            path_str(&damaged_root),
            "--verified-within",
            "1h",
        ],
        &[],
    );
    assert_eq!(check.code, 2, "{}", check.stdout);
    assert!(
        check.stdout.contains("failed at step check, table bk.t"),
        "{}",
        check.stdout
    );
    eprintln!("damaged page: {} at {}: {error}", rec["table"], rec["step"]);

    // 4. A copy of the full without its redo log: mariabackup --prepare fails; named.
    let noredo_root = dir.path().join("noredo");
    let noredo = noredo_root
        .join("full")
        .join(full.file_name().expect("name"));
    copy_tree(&full, &noredo);
    fs::remove_file(noredo.join("ib_logfile0")).expect("remove the copy's redo log");
    let (r, records) = verify(&scratch, &[path_str(&noredo)]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let rec = &records[0];
    assert_eq!(rec["step"], "prepare", "{rec}");
    eprintln!("no redo log: {}", rec["error"]);

    // 5. A copy of the incremental alone: its base is not there; refused with the gap.
    let orphan_root = dir.path().join("orphan");
    let orphan = orphan_root
        .join("incremental")
        .join(inc.file_name().expect("name"));
    copy_tree(&inc, &orphan);
    let (r, records) = verify(&scratch, &[path_str(&orphan)]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    let rec = &records[0];
    assert_eq!(rec["step"], "plan", "{rec}");
    let error = rec["error"].as_str().expect("error");
    assert!(
        error.contains("chain gap") && error.contains(path_str(&full)) && error.contains("LSN"),
        "the gap is named: {error}"
    );
    assert_eq!(&recorded(&orphan), rec);

    // 6. A path that is no backup: an error, and nothing is written beside it.
    let stray = dir.path().join("not-a-backup");
    fs::create_dir(&stray).expect("stray dir");
    let (r, records) = verify(&scratch, &[path_str(&stray)]);
    assert_eq!(r.code, 1, "{}\n{}", r.stdout, r.stderr);
    assert!(records.is_empty(), "{records:?}");
    assert!(r.stderr.contains("not a backup"), "{}", r.stderr);
    assert!(!dir.path().join(".quorate-verify").exists());
}
