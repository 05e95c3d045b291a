//! Scanner tests: real backup layouts rebuilt from the captured fixtures (`files.txt` gives
//! every file and its size; data files are recreated sparse, the small files quorate reads
//! are the captured ones), plus command-line and layout helpers.

use std::fs::File;
use std::os::unix::fs::symlink;

use super::*;
use crate::backup::{Failure, Status};
use read::layout_kind;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/backup");

/// Rebuilds the captured backup `name` at `dest`; returns the sum of its file sizes.
fn materialize(name: &str, dest: &Path) -> u64 {
    let src = Path::new(FIXTURES).join(name);
    fs::create_dir_all(dest).expect("create backup dir");
    let listing = fs::read_to_string(src.join("files.txt")).expect("files.txt");
    let mut total = 0;
    for line in listing.lines() {
        let mut parts = line.split(' ');
        let (Some(kind), Some(path), Some(size)) = (parts.next(), parts.next(), parts.next())
        else {
            panic!("bad files.txt line {line:?}");
        };
        let target = dest.join(path);
        if kind == "d" {
            fs::create_dir_all(&target).expect("create dir");
            continue;
        }
        let size: u64 = size.parse().expect("size");
        total += size;
        let captured = src.join(path);
        if captured.is_file() && !path.contains('/') {
            fs::copy(&captured, &target).expect("copy captured file");
        } else {
            File::create(&target)
                .and_then(|f| f.set_len(size))
                .expect("sparse file");
        }
    }
    total
}

fn scanner(root: &Path) -> Scanner {
    Scanner::new(ScanOptions {
        roots: vec![root.to_path_buf()],
        tz: TimeZone::UTC,
    })
}

fn find<'a>(report: &'a BackupSnapshot, suffix: &str) -> &'a Backup {
    report
        .backups
        .iter()
        .find(|b| b.path.ends_with(suffix))
        .unwrap_or_else(|| panic!("{suffix} not found in {:#?}", report.backups))
}

/// The seed's backup layout with the captured chain and two killed runs.
fn seed_root(dir: &Path) -> (PathBuf, u64) {
    let root = dir.join("mariadb");
    let full_size = materialize("full", &root.join("full/backup_20261122_020000"));
    materialize(
        "incremental-1",
        &root.join("incremental/incremental_20261122_030000"),
    );
    materialize(
        "incremental-2",
        &root.join("incremental/incremental_20261122_040000"),
    );
    materialize("killed-midway", &root.join("full/backup_20261122_050000"));
    materialize(
        "killed-before-info",
        &root.join("full/backup_20261122_060000"),
    );
    (root, full_size)
}

#[test]
fn seed_layout_with_chain_and_killed_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, full_size) = seed_root(dir.path());
    let report = scanner(&root).scan(ScanMode::Verify);
    assert!(report.success(), "{:?}", report.errors);
    assert_eq!(report.backups.len(), 5);

    let full = find(&report, "full/backup_20261122_020000");
    assert_eq!(full.status, Status::Complete);
    assert_eq!(full.kind, BackupType::Full);
    // The newest complete full is measured: the captured sizes, recreated sparse.
    assert_eq!(full.measured_size, Some(full_size));

    assert_eq!(
        find(&report, "full/backup_20261122_050000").status,
        Status::Failed(Failure::NoCheckpoints)
    );
    assert_eq!(
        find(&report, "full/backup_20261122_060000").status,
        Status::Failed(Failure::NoInfo)
    );
    let inc2 = find(&report, "incremental/incremental_20261122_040000");
    assert_eq!(inc2.kind, BackupType::Incremental);
    assert!(inc2.is_complete());
    // Its declared base is the capture's path (/tmp/bkcap/...), not this one: the link is
    // still found by LSN.
    assert_eq!(report.chain.incrementals, 2);
    assert!(report.chain.intact(), "{:?}", report.chain.breaks);
}

#[test]
fn unchanged_tree_is_not_read_again_and_changes_are_seen() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, _) = seed_root(dir.path());
    let mut s = scanner(&root);
    let first = s.scan(ScanMode::Verify);
    assert!(first.dirs_read >= 8, "{}", first.dirs_read);

    let again = s.scan(ScanMode::Verify);
    assert_eq!(again.dirs_read, 0);
    assert_eq!(again.backups, first.backups);
    let trusted = s.scan(ScanMode::Trust(&HashSet::new()));
    assert_eq!(trusted.dirs_read, 0);
    assert_eq!(trusted.backups.len(), 5);

    // Rewrite incremental-2's checkpoints in place (the directory's mtime does not move):
    // its from_lsn no longer matches incremental-1's to_lsn.
    let inc2 = root.join("incremental/incremental_20261122_040000");
    let cp = inc2.join("xtrabackup_checkpoints");
    let text = fs::read_to_string(&cp).expect("checkpoints");
    let from = text
        .lines()
        .find_map(|l| l.strip_prefix("from_lsn = "))
        .expect("from_lsn")
        .to_string();
    fs::write(
        &cp,
        text.replace(&format!("from_lsn = {from}"), "from_lsn = 42"),
    )
    .expect("rewrite");
    let broken = s.scan(ScanMode::Verify);
    assert_eq!(broken.dirs_read, 1);
    assert_eq!(broken.chain.breaks.len(), 1, "{:?}", broken.chain.breaks);
    assert_eq!(broken.chain.breaks[0].backup, inc2);
    assert_eq!(broken.chain.breaks[0].from_lsn, 42);

    // A new backup appears; a watcher would name its parent directory.
    materialize("compressed", &root.join("full/backup_20261122_070000"));
    let dirty: HashSet<PathBuf> = [root.join("full")].into();
    let grown = s.scan(ScanMode::Trust(&dirty));
    assert_eq!(grown.backups.len(), 6);
    assert!(find(&grown, "backup_20261122_070000").compressed);

    // A deleted backup disappears; its incremental loses its base.
    fs::remove_dir_all(root.join("incremental/incremental_20261122_030000")).expect("rm");
    let shrunk = s.scan(ScanMode::Verify);
    assert_eq!(shrunk.backups.len(), 5);
    assert!(s
        .directories()
        .all(|d| !d.ends_with("incremental_20261122_030000")));
}

#[test]
fn plain_target_directories_anywhere_under_a_root() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("root");
    materialize("compressed", &root.join("nightly/db1/2026-11-22"));
    materialize("prepared", &root.join("restore-test"));
    materialize("hand-11x-full", &root.join("eleven/full"));
    // Not walked: hidden directories and symbolic links (loops, snapshots).
    materialize("full", &root.join(".snapshot/full"));
    symlink(root.join("nightly"), root.join("link")).expect("symlink");
    // An empty directory outside the seed's backup layout is not a backup.
    fs::create_dir_all(root.join("empty")).expect("mkdir");

    let report = scanner(&root).scan(ScanMode::Verify);
    assert!(report.success(), "{:?}", report.errors);
    let paths: Vec<_> = report.backups.iter().map(|b| b.path.clone()).collect();
    assert_eq!(
        paths,
        vec![
            root.join("eleven/full"),
            root.join("nightly/db1/2026-11-22"),
            root.join("restore-test")
        ]
    );
    let compressed = find(&report, "2026-11-22");
    assert!(compressed.is_complete() && compressed.compressed);
    assert_eq!(
        compressed.time_source,
        crate::backup::TimeSource::CompressedInfoMtime
    );
    assert!(find(&report, "restore-test").prepared);
    assert!(find(&report, "eleven/full").mariadb_names);
}

#[test]
fn a_root_that_is_itself_a_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("one");
    materialize("full", &root);
    let report = scan_once(std::slice::from_ref(&root), &TimeZone::UTC).value;
    assert_eq!(report.backups.len(), 1);
    assert!(report.backups[0].is_complete());
}

#[test]
fn unreadable_roots_are_errors_naming_the_path() {
    let dir = tempfile::tempdir().expect("tempdir");
    let missing = dir.path().join("missing");
    let file = dir.path().join("file");
    fs::write(&file, "x").expect("write");
    let report = scan_once(&[missing.clone(), file.clone()], &TimeZone::UTC).value;
    assert!(!report.success());
    assert_eq!(report.errors.len(), 2);
    assert_eq!(report.errors[0].path, missing);
    assert!(
        report.errors[0].to_string().contains("No such file"),
        "{}",
        report.errors[0]
    );
    assert_eq!(report.errors[1].path, file);
    assert!(report.backups.is_empty());
}

#[test]
fn empty_seed_directories_are_failed_attempts() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("r");
    fs::create_dir_all(root.join("incremental/incremental_20261122_010000")).expect("mkdir");
    let report = scan_once(std::slice::from_ref(&root), &TimeZone::UTC).value;
    assert_eq!(report.backups.len(), 1);
    assert_eq!(report.backups[0].kind, BackupType::Incremental);
    assert_eq!(
        report.backups[0].status,
        Status::Failed(Failure::NoCheckpoints)
    );
}

#[test]
fn time_zone_change_rereads_everything() {
    let dir = tempfile::tempdir().expect("tempdir");
    let root = dir.path().join("one");
    materialize("full", &root);
    let mut s = scanner(&root);
    let utc = s.scan(ScanMode::Verify);
    s.set_options(ScanOptions {
        roots: vec![root.clone()],
        tz: TimeZone::posix("EST5EDT,M3.2.0,M11.1.0").expect("tz"),
    });
    let ny = s.scan(ScanMode::Verify);
    assert_eq!(ny.dirs_read, 1);
    assert_eq!(
        ny.backups[0]
            .time
            .duration_since(utc.backups[0].time)
            .expect("later"),
        Duration::from_secs(5 * 3600)
    );
}

fn args(s: &str) -> Vec<String> {
    s.split(' ').map(str::to_string).collect()
}

#[test]
fn backup_targets_from_command_lines() {
    assert_eq!(
        backup_target(&args(
            "/usr/bin/mariabackup --backup --target-dir=/b/full/x --user=root"
        )),
        Some(PathBuf::from("/b/full/x"))
    );
    assert_eq!(
        backup_target(&args("mariadb-backup --backup --target-dir rel/x")),
        Some(PathBuf::from("rel/x"))
    );
    assert_eq!(
        backup_target(&args("mariabackup --prepare --target-dir=/b/full/x")),
        None
    );
    assert_eq!(
        backup_target(&args("rsync --backup --target-dir=/b/full/x")),
        None
    );
    assert_eq!(backup_target(&[]), None);
}

#[test]
fn seed_layout_kinds() {
    assert_eq!(
        layout_kind(Path::new("/r/full/backup_20251027_120000")),
        Some(BackupType::Full)
    );
    assert_eq!(
        layout_kind(Path::new("/r/incremental/incremental_20251027_120000")),
        Some(BackupType::Incremental)
    );
    assert_eq!(layout_kind(Path::new("/r/full/other")), None);
    assert_eq!(layout_kind(Path::new("/r/incremental/backup_1")), None);
    assert_eq!(layout_kind(Path::new("/")), None);
}

#[test]
fn overlapping_roots_visit_each_directory_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, _) = seed_root(dir.path());
    let roots = vec![root.join("full"), root.clone(), root.clone()];
    let report = scan_once(&roots, &TimeZone::UTC).value;
    assert!(report.success(), "{:?}", report.errors);
    assert_eq!(report.backups.len(), 5);
    assert_eq!(distinct_roots(&roots), vec![root]);
}

#[test]
fn a_scan_with_nothing_named_keeps_the_last_errors() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, _) = seed_root(dir.path());
    let missing = dir.path().join("missing");
    let mut s = Scanner::new(ScanOptions {
        roots: vec![root, missing.clone()],
        tz: TimeZone::UTC,
    });
    let first = s.scan(ScanMode::Verify);
    assert_eq!(first.errors.len(), 1);
    let recheck = s.scan(ScanMode::Trust(&HashSet::new()));
    assert_eq!(recheck.dirs_read, 0);
    assert_eq!(recheck.errors, first.errors);
    assert_eq!(recheck.backups, first.backups);
    // Once the root exists, the periodic verification finds it.
    fs::create_dir_all(&missing).expect("mkdir");
    assert!(s.scan(ScanMode::Verify).success());
}

// --- Quick verification (directory stamps) and full verification -------------------------

/// A scanner over the seed's backup layout, after its first (full) scan, with the racy window
/// off so that each test sees the stamp rule it is about at work, and with the recent window given
/// (the fixtures were just written: every backup is recent under the default window).
fn verified_seed(dir: &Path, recent: Duration) -> (PathBuf, Scanner, BackupSnapshot) {
    let (root, _) = seed_root(dir);
    let mut s = scanner(&root);
    s.racy_window = Duration::ZERO;
    s.set_recent_window(recent);
    let first = s.scan(ScanMode::Verify);
    assert!(first.success(), "{:?}", first.errors);
    // A change made in the same timestamp tick as the read would keep the stamp that was
    // read (what the racy window is for); these tests change things a tick later.
    std::thread::sleep(Duration::from_millis(30));
    (root, s, first)
}

fn status_of(report: &BackupSnapshot, suffix: &str) -> Status {
    find(report, suffix).status.clone()
}

#[test]
fn quick_verification_of_an_unchanged_tree_reads_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (_, mut s, first) = verified_seed(dir.path(), Duration::ZERO);
    let quick = s.scan(ScanMode::QuickVerify);
    assert_eq!(quick.dirs_read, 0);
    assert_eq!(quick.backups, first.backups);
    assert_eq!(quick.chain, first.chain);
    // Recent backups have their files stat'ed too, which still reads nothing.
    s.set_recent_window(RECENT_WINDOW);
    assert_eq!(s.scan(ScanMode::QuickVerify).dirs_read, 0);
}

#[test]
fn quick_verification_sees_a_killed_run_completing_later() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, mut s, first) = verified_seed(dir.path(), Duration::ZERO);
    let killed = root.join("full/backup_20261122_050000");
    assert_eq!(
        status_of(&first, "full/backup_20261122_050000"),
        Status::Failed(Failure::NoCheckpoints)
    );
    // What mariabackup writes last: new files, so the directory's stamp moves.
    let full = Path::new(FIXTURES).join("full");
    for name in ["xtrabackup_checkpoints", "xtrabackup_info"] {
        fs::copy(full.join(name), killed.join(name)).expect("copy");
    }
    let quick = s.scan(ScanMode::QuickVerify);
    assert_eq!(quick.dirs_read, 1);
    assert_eq!(
        status_of(&quick, "full/backup_20261122_050000"),
        Status::Complete
    );
}

/// Makes `change` a timestamp tick after the last scan, then runs a quick verification;
/// returns it with the state of the backup at `suffix`.
fn quick_after(
    s: &mut Scanner,
    suffix: &str,
    change: impl FnOnce() -> io::Result<()>,
) -> (BackupSnapshot, Status) {
    std::thread::sleep(Duration::from_millis(30));
    change().expect("change");
    let report = s.scan(ScanMode::QuickVerify);
    let status = status_of(&report, suffix);
    (report, status)
}

#[test]
fn quick_verification_leaves_settled_backups_to_the_full_one() {
    let dir = tempfile::tempdir().expect("tempdir");
    // Recent window zero: every complete backup is settled.
    let (root, mut s, _) = verified_seed(dir.path(), Duration::ZERO);
    let full = root.join("full/backup_20261122_020000");
    let name = "full/backup_20261122_020000";
    let (quick, status) = quick_after(&mut s, name, || {
        fs::remove_file(full.join("xtrabackup_checkpoints"))
    });
    assert_eq!(quick.dirs_read, 0, "a settled backup is not looked at");
    assert_eq!(status, Status::Complete);
    let full_verify = s.scan(ScanMode::Verify);
    assert_eq!(full_verify.dirs_read, 1);
    assert_eq!(
        status_of(&full_verify, name),
        Status::Failed(Failure::NoCheckpoints)
    );
}

#[test]
fn quick_verification_sees_files_created_renamed_and_removed_in_a_recent_backup() {
    let dir = tempfile::tempdir().expect("tempdir");
    // The default recent window: the fixtures were just written, so every backup is recent
    // and looked at (its directory's stamp, and its files').
    let (root, mut s, _) = verified_seed(dir.path(), RECENT_WINDOW);
    let full = root.join("full/backup_20261122_020000");
    let name = "full/backup_20261122_020000";
    let (info, old) = (
        full.join("xtrabackup_info"),
        full.join("xtrabackup_info.old"),
    );

    let (renamed, status) = quick_after(&mut s, name, || fs::rename(&info, &old));
    assert_eq!(renamed.dirs_read, 1);
    assert_eq!(status, Status::Failed(Failure::NoInfo));

    let (_, status) = quick_after(&mut s, name, || fs::rename(&old, &info));
    assert_eq!(status, Status::Complete);

    // A metadata file created by the seed's backup script that reports a failure.
    let (created, status) = quick_after(&mut s, name, || {
        fs::write(
            full.join("backup_metadata.json"),
            r#"{"type":"full","status":"failed"}"#,
        )
    });
    assert_eq!(created.dirs_read, 1);
    assert_eq!(status, Status::Failed(Failure::MetadataFailed));

    let (_, status) = quick_after(&mut s, name, || {
        fs::remove_file(full.join("xtrabackup_checkpoints"))
    });
    assert_eq!(status, Status::Failed(Failure::NoCheckpoints));
}

#[test]
fn quick_verification_sees_backup_directories_added_renamed_and_removed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, mut s, first) = verified_seed(dir.path(), Duration::ZERO);
    assert_eq!(first.backups.len(), 5);

    materialize("compressed", &root.join("full/backup_20261122_070000"));
    let added = s.scan(ScanMode::QuickVerify);
    assert_eq!(added.backups.len(), 6);
    assert!(find(&added, "full/backup_20261122_070000").compressed);

    std::thread::sleep(Duration::from_millis(30));
    let inc = root.join("incremental");
    fs::rename(
        inc.join("incremental_20261122_040000"),
        inc.join("incremental_20261122_045000"),
    )
    .expect("mv");
    let renamed = s.scan(ScanMode::QuickVerify);
    assert_eq!(renamed.backups.len(), 6);
    assert!(find(&renamed, "incremental/incremental_20261122_045000").is_complete());
    assert!(renamed
        .backups
        .iter()
        .all(|b| !b.path.ends_with("incremental_20261122_040000")));

    std::thread::sleep(Duration::from_millis(30));
    fs::remove_dir_all(inc.join("incremental_20261122_030000")).expect("rm");
    let removed = s.scan(ScanMode::QuickVerify);
    assert_eq!(removed.backups.len(), 5);
    assert!(s
        .directories()
        .all(|d| !d.ends_with("incremental_20261122_030000")));
    // The remaining incremental lost its base.
    assert!(!removed.chain.intact());
}

#[test]
fn quick_verification_sees_in_place_rewrites_of_incomplete_backups() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, mut s, first) = verified_seed(dir.path(), Duration::ZERO);
    let killed = root.join("full/backup_20261122_060000");
    assert_eq!(
        status_of(&first, "full/backup_20261122_060000"),
        Status::Failed(Failure::NoInfo)
    );
    let cp = killed.join("xtrabackup_checkpoints");
    let text = fs::read_to_string(&cp).expect("checkpoints");

    // Truncated in place (same inode, no new directory entry).
    fs::OpenOptions::new()
        .write(true)
        .open(&cp)
        .and_then(|f| f.set_len(0))
        .expect("truncate");
    let truncated = s.scan(ScanMode::QuickVerify);
    assert_eq!(truncated.dirs_read, 1);
    assert!(matches!(
        status_of(&truncated, "full/backup_20261122_060000"),
        Status::Failed(Failure::BadCheckpoints(_))
    ));

    // Written again in place, with another to_lsn.
    std::thread::sleep(Duration::from_millis(30));
    fs::write(&cp, text.replace("to_lsn = ", "to_lsn = 9")).expect("rewrite");
    let rewritten = s.scan(ScanMode::QuickVerify);
    assert_eq!(rewritten.dirs_read, 1);
    let b = find(&rewritten, "full/backup_20261122_060000");
    assert_eq!(b.status, Status::Failed(Failure::NoInfo));
    assert!(b.to_lsn.is_some_and(|lsn| lsn.to_string().starts_with('9')));
}

#[test]
fn in_place_rewrites_of_complete_backups_recent_by_quick_older_by_full_verification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, mut s, first) = verified_seed(dir.path(), Duration::ZERO);
    let full = root.join("full/backup_20261122_020000");
    assert!(!find(&first, "full/backup_20261122_020000").prepared);
    let cp = full.join("xtrabackup_checkpoints");
    let text = fs::read_to_string(&cp).expect("checkpoints");
    // What `mariabackup --prepare` does: the checkpoints file rewritten in place.
    fs::write(&cp, text.replace("full-backuped", "log-applied")).expect("prepare");

    // An older backup (outside the recent window): the quick verification does not see it
    // (the documented limit) ...
    let quick = s.scan(ScanMode::QuickVerify);
    assert_eq!(quick.dirs_read, 0);
    assert!(!find(&quick, "full/backup_20261122_020000").prepared);
    // ... the full verification does.
    let full_verify = s.scan(ScanMode::Verify);
    assert_eq!(full_verify.dirs_read, 1);
    assert!(find(&full_verify, "full/backup_20261122_020000").prepared);

    // A recent backup (changed within the window): the quick verification sees it.
    s.set_recent_window(RECENT_WINDOW);
    std::thread::sleep(Duration::from_millis(30));
    fs::write(&cp, &text).expect("rewrite");
    let quick = s.scan(ScanMode::QuickVerify);
    assert_eq!(quick.dirs_read, 1);
    assert!(!find(&quick, "full/backup_20261122_020000").prepared);
}

#[test]
fn racily_read_directories_are_read_again_by_the_quick_verification() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (root, _) = seed_root(dir.path());
    let mut s = scanner(&root);
    s.set_recent_window(Duration::ZERO);
    let first = s.scan(ScanMode::Verify);
    // Everything was written just now: within the racy window of being read, so not
    // trusted by a quick verification even where no stamp moved.
    let full = root.join("full/backup_20261122_020000");
    let cp = full.join("xtrabackup_checkpoints");
    let text = fs::read_to_string(&cp).expect("checkpoints");
    fs::write(&cp, text.replace("full-backuped", "log-applied")).expect("prepare");
    let quick = s.scan(ScanMode::QuickVerify);
    assert_eq!(quick.dirs_read, first.dirs_read);
    assert!(find(&quick, "full/backup_20261122_020000").prepared);
    // Once read well after their last change, they are trusted again.
    s.racy_window = Duration::ZERO;
    let read_again = s.scan(ScanMode::QuickVerify);
    assert!(read_again.dirs_read > 0);
    assert_eq!(s.scan(ScanMode::QuickVerify).dirs_read, 0);
}

/// A FIFO named like a backup file (no writer: opening it would block forever) and a huge
/// sparse one are errors naming the file; the scan returns at once and the other roots'
/// backups stay.
#[test]
fn fifos_and_huge_backup_files_are_errors_and_do_not_stop_the_scan() {
    let dir = tempfile::tempdir().expect("tempdir");
    let (good, _) = seed_root(dir.path());
    let bad = dir.path().join("bad");
    let fifo_dir = bad.join("full/backup_20261123_020000");
    fs::create_dir_all(&fifo_dir).expect("mkdir");
    fs::write(
        fifo_dir.join("xtrabackup_checkpoints"),
        "backup_type = full-prepared\n",
    )
    .expect("write");
    let fifo = fifo_dir.join("xtrabackup_info");
    crate::bounded::test_files::fifo(&fifo);
    let huge_dir = bad.join("full/backup_20261123_030000");
    materialize("full", &huge_dir);
    let huge = huge_dir.join("xtrabackup_info");
    crate::bounded::test_files::sparse(&huge, 2 << 30);

    let roots = vec![good.clone(), bad.clone()];
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(scan_once(&roots, &TimeZone::UTC).value);
    });
    let report = rx
        .recv_timeout(Duration::from_secs(5))
        .expect("the scan returned within 5 s");
    let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(report.errors.len(), 2, "{messages:?}");
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&fifo.display().to_string()) && m.contains("FIFO")),
        "{messages:?}"
    );
    assert!(
        messages
            .iter()
            .any(|m| m.contains(&huge.display().to_string()) && m.contains("1048576 bytes")),
        "{messages:?}"
    );
    // The healthy root's backups are all there.
    assert!(find(&report, "full/backup_20261122_020000").is_complete());
    assert!(
        report
            .backups
            .iter()
            .filter(|b| b.path.starts_with(&good))
            .count()
            >= 5
    );
}

/// A directory where mariabackup's checkpoints file belongs is an error naming it, not a backup
/// that "looks killed midway".
#[test]
fn a_directory_named_like_a_backup_file_is_an_error_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let backup = dir.path().join("r/full/backup_20261123_020000");
    materialize("full", &backup);
    fs::remove_file(backup.join("xtrabackup_checkpoints")).expect("rm");
    fs::create_dir(backup.join("xtrabackup_checkpoints")).expect("mkdir");
    let report = scan_once(&[dir.path().join("r")], &TimeZone::UTC).value;
    let messages: Vec<String> = report.errors.iter().map(ToString::to_string).collect();
    assert_eq!(messages.len(), 1, "{messages:?}");
    assert!(
        messages[0].contains("xtrabackup_checkpoints: cannot read: it is a directory"),
        "{messages:?}"
    );
}
