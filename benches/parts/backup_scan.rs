//! The backup scan measurement, shared by `cargo bench --bench backup_scan` (which writes
//! `bench/results/backup.md`) and `cargo bench --bench compare` (its section of `RESULTS.md`):
//! scanning a backup root of `backups` backup directories (5 000 in full: the seed's layout,
//! 1 full backup in 5 and incremental ones in chains between, each directory with mariabackup's
//! checkpoints and info files, the seed's backup_metadata.json and a few data entries), cold,
//! unchanged (quick and full verification, the watcher path), with one backup new or changed,
//! and the per-scrape work on its report.
//!
//! Goals (issue 5), judged on the p50: under 100 ms for a cold scan (empty cache), under 5 ms
//! when nothing changed (the periodic quick verification, and the watcher path).

use std::collections::HashSet;
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant, SystemTime};

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use quorate::backup::scan::{ScanMode, ScanOptions, RACY_WINDOW};
use quorate::backup::{BackupReading, Scanner};
use quorate::collected::Collected;

use super::report::{cpus, ms, percentile, sorted, Goal, Section};

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Backup directories in the tree.
    pub backups: usize,
    /// Runs of each kind of scan.
    pub runs: usize,
}

impl Settings {
    /// The sizes of the goals.
    #[allow(dead_code)]
    pub fn full() -> Settings {
        Settings {
            backups: 5_000,
            runs: 30,
        }
    }
}

/// One backup in this many is a full one, the others incremental ones on top of it.
const FULL_EVERY: usize = 5;
/// The goal for a cold scan, and for a scan when nothing changed.
const COLD_GOAL: Duration = Duration::from_millis(100);
const UNCHANGED_GOAL: Duration = Duration::from_millis(5);

/// Writes a tree of `backups` backups; returns the root.
fn build(dir: &Path, tz: &TimeZone, backups: usize) -> PathBuf {
    let root = dir.join("mariadb");
    let first = Timestamp::now()
        .checked_sub((backups as i64).hours())
        .expect("start time");
    let mut previous: Option<(PathBuf, u64)> = None;
    for i in 0..backups {
        let start = first.checked_add((i as i64).hours()).expect("time");
        let end = start.checked_add(45.seconds()).expect("time");
        let local = |t: Timestamp| t.to_zoned(tz.clone());
        let full = i % FULL_EVERY == 0;
        let path = if full {
            root.join("full")
                .join(format!("backup_{}", local(start).strftime("%Y%m%d_%H%M%S")))
        } else {
            root.join("incremental").join(format!(
                "incremental_{}",
                local(start).strftime("%Y%m%d_%H%M%S")
            ))
        };
        fs::create_dir_all(path.join("mysql")).expect("mkdir");
        fs::create_dir_all(path.join("app")).expect("mkdir");
        let from = if full {
            0
        } else {
            previous.as_ref().map_or(0, |p| p.1)
        };
        let to = 1_000_000 + 50_000 * i as u64;
        fs::write(
            path.join("xtrabackup_checkpoints"),
            format!(
                "backup_type = {}\nfrom_lsn = {from}\nto_lsn = {to}\nlast_lsn = {}\nrecover_binlog_info = 0\n",
                if full { "full-backuped" } else { "incremental" },
                to + 16
            ),
        )
        .expect("checkpoints");
        let basedir = match (&previous, full) {
            (Some((p, _)), false) => format!(" --incremental-basedir={}", p.display()),
            _ => String::new(),
        };
        fs::write(
            path.join("xtrabackup_info"),
            format!(
                "uuid = 307cfaba-e616-11f1-b4e4-02fc00000001\nname = \ntool_name = mariabackup\n\
                 tool_command = --backup --target-dir={}{basedir} --user=root\n\
                 tool_version = 10.11.19-MariaDB\nibbackup_version = 10.11.19-MariaDB\n\
                 server_version = 10.11.19-MariaDB-0+deb12u1\nstart_time = {}\nend_time = {}\n\
                 lock_time = 0\nbinlog_pos = \ninnodb_from_lsn = {from}\ninnodb_to_lsn = {to}\n\
                 partial = N\nincremental = {}\nformat = file\ncompressed = N\n",
                path.display(),
                local(start).strftime("%Y-%m-%d %H:%M:%S"),
                local(end).strftime("%Y-%m-%d %H:%M:%S"),
                if full { "N" } else { "Y" },
            ),
        )
        .expect("info");
        fs::write(
            path.join("backup_metadata.json"),
            format!(
                "{{\"type\":\"{}\",\"timestamp\":\"{start}\",\"duration_seconds\":45,\"size\":\"2.3G\",\"compressed\":false,\"status\":\"success\"}}",
                if full { "full" } else { "incremental" }
            ),
        )
        .expect("metadata");
        for f in [
            "backup-my.cnf",
            "ib_logfile0",
            "aria_log_control",
            "mysql/db.frm",
        ] {
            fs::write(path.join(f), "x").expect("data file");
        }
        fs::write(
            path.join(if full { "ibdata1" } else { "ibdata1.delta" }),
            "x",
        )
        .expect("data file");
        previous = Some((path, to));
    }
    root
}

/// CPU time of the whole process (every thread), so that the cost of a scan can be told
/// apart from the time it waited for a core that other work on the machine held.
fn cpu_now() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes into the timespec it is given, nothing else.
    let rc = unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) };
    assert_eq!(rc, 0, "clock_gettime");
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}

/// Wall-clock and CPU time since it was started.
struct Clock {
    wall: Instant,
    cpu: Duration,
}

impl Clock {
    fn start() -> Clock {
        Clock {
            cpu: cpu_now(),
            wall: Instant::now(),
        }
    }

    fn elapsed(&self) -> Sample {
        Sample {
            wall: self.wall.elapsed(),
            cpu: cpu_now().saturating_sub(self.cpu),
        }
    }
}

#[derive(Clone, Copy)]
struct Sample {
    wall: Duration,
    cpu: Duration,
}

/// Measures; `bench` is the command named in the report (`cargo bench --bench …`).
pub fn run(s: &Settings, bench: &str) -> Section {
    let (backups, runs) = (s.backups, s.runs);
    // Other work on the machine moves these numbers: say how busy it was.
    let load = fs::read_to_string("/proc/loadavg")
        .ok()
        .and_then(|l| l.split_whitespace().next().map(str::to_string))
        .unwrap_or_else(|| "unknown".into());
    let tz = TimeZone::system();
    let dir = tempfile::tempdir().expect("temp dir");
    let built = Instant::now();
    let root = build(dir.path(), &tz, backups);
    eprintln!("built {backups} backups in {:?}", built.elapsed());
    // Directories read within the racy window of their last change are read again by the
    // next quick verification (on purpose: see src/backup/scan.rs); a real tree's backups
    // are older than that.
    std::thread::sleep(RACY_WINDOW + Duration::from_millis(100));
    let options = ScanOptions {
        roots: vec![root.clone()],
        tz: tz.clone(),
    };

    // Cold: a new scanner (empty cache) each run; the kernel's page cache is warm after the
    // first run (dropping it would disturb everything else on the machine).
    let mut cold = Vec::new();
    let mut report = None;
    for _ in 0..runs {
        let mut s = Scanner::new(options.clone());
        let start = Clock::start();
        let r = s.scan(ScanMode::Verify);
        cold.push(start.elapsed());
        report = Some(r);
    }
    let report = report.expect("a report");
    assert_eq!(report.backups.len(), backups);
    assert!(report.chain.intact() && report.success());
    assert_eq!(
        report.backups.iter().filter(|b| b.is_complete()).count(),
        backups
    );

    let mut scanner = Scanner::new(options.clone());
    scanner.scan(ScanMode::Verify);
    let timed = |scanner: &mut Scanner, mode: ScanMode<'_>| {
        let start = Clock::start();
        let r = scanner.scan(mode);
        (start.elapsed(), r.dirs_read)
    };
    // Nothing changed, full verification: stats every directory and every file read.
    let verify: Vec<Sample> = (0..runs)
        .map(|_| timed(&mut scanner, ScanMode::Verify).0)
        .collect();
    // Nothing changed, quick verification with every backup recent (the default window and
    // a tree written seconds ago): every directory and every backup's files stat'ed.
    let quick_recent: Vec<Sample> = (0..runs)
        .map(|_| {
            let (t, read) = timed(&mut scanner, ScanMode::QuickVerify);
            assert_eq!(read, 0);
            t
        })
        .collect();
    // Nothing changed, periodic quick verification in the steady state: the backups are
    // older than the recent window (which this freshly written tree cannot be, so the
    // window is set to zero), so only the directories are stat'ed.
    scanner.set_recent_window(Duration::ZERO);
    let quick: Vec<Sample> = (0..runs)
        .map(|_| {
            let (t, read) = timed(&mut scanner, ScanMode::QuickVerify);
            assert_eq!(read, 0);
            t
        })
        .collect();
    // Nothing changed, watcher path: no event means no scan at all; a scan that names no
    // directory (the in-progress recheck) reuses the last result and looks only at the
    // overlays (two stats for the newest backups' sizes).
    let empty = HashSet::new();
    let trust: Vec<Sample> = (0..runs)
        .map(|_| timed(&mut scanner, ScanMode::Trust(&empty)).0)
        .collect();
    // One backup changed (its info file edited), watcher path: that directory is re-read, the
    // rest of the cache walked without a system call, the chain checked again.
    let newest = report
        .backups
        .iter()
        .max_by_key(|b| b.time)
        .expect("newest")
        .path
        .clone();
    let info = newest.join("xtrabackup_info");
    let text = fs::read_to_string(&info).expect("info");
    // A new backup appears (what mariabackup does every day), quick verification: its
    // container's stamp moved, so the container is listed again, the new backup read and the
    // chain checked again; the settled backups are not looked at.
    let container = newest.parent().expect("container").to_path_buf();
    let mut one_created = Vec::new();
    for i in 0..runs {
        let base = newest.file_name().expect("name").to_string_lossy();
        let fresh = container.join(format!("{base}_new{i:02}"));
        fs::create_dir(&fresh).expect("create");
        for name in ["xtrabackup_checkpoints", "xtrabackup_info"] {
            fs::copy(newest.join(name), fresh.join(name)).expect("copy");
        }
        let (t, read) = timed(&mut scanner, ScanMode::QuickVerify);
        assert!(read >= 2, "container and new backup read: {read}");
        one_created.push(t);
    }
    let mut one_changed = Vec::new();
    for i in 0..runs {
        fs::write(&info, format!("{text}# edit {i}\n")).expect("edit");
        let dirty: HashSet<PathBuf> = [newest.clone()].into();
        let (t, read) = timed(&mut scanner, ScanMode::Trust(&dirty));
        assert_eq!(read, 1);
        one_changed.push(t);
    }
    // The per-scrape work on a report of 5 000 backups: the reading (its summaries) and the
    // metric families.
    let now = SystemTime::now();
    let scan = Collected {
        value: report,
        at: now,
        duration: Duration::ZERO,
    };
    let scrape: Vec<Sample> = (0..runs)
        .map(|_| {
            let start = Clock::start();
            let reading = BackupReading::from_scan(&scan, now);
            let fams = quorate::metrics::backup::families(Some(&reading));
            assert!(!fams.is_empty() && reading.full.count == backups / FULL_EVERY);
            start.elapsed()
        })
        .collect();

    let mut out = String::new();
    let _ = writeln!(out, "# Backup scan: {backups} backup directories\n");
    let _ = writeln!(
        out,
        "Seed layout, {} full and {} incremental backups in chains; each directory holds \
         xtrabackup_checkpoints, xtrabackup_info, backup_metadata.json, 6 data entries and 2 \
         subdirectories. {runs} runs each, measured by `{bench}` on {} CPU(s), page cache warm, \
         load average {} at the start.\n",
        backups / FULL_EVERY,
        backups - backups / FULL_EVERY,
        cpus(),
        load
    );
    let _ = writeln!(
        out,
        "| scan | goal | min | p50 | p90 | max | CPU p50 (all threads) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
    let mut summary = String::from("| scan | goal | p50 | CPU p50 |\n|---|---|---|---|\n");
    let mut goals = Vec::new();
    // (the table's name, the summary's shorter one, the goal, the times)
    for (name, short, goal, t) in [
        (
            "cold (empty cache, every directory read)",
            "cold (empty cache)",
            Some(COLD_GOAL),
            cold,
        ),
        (
            "nothing changed, periodic quick verification (stat of every container; every backup settled, i.e. complete and older than the recent window)",
            "nothing changed, periodic quick verification",
            Some(UNCHANGED_GOAL),
            quick,
        ),
        (
            "nothing changed, quick verification with every backup recent (stat of every directory and every file read; a freshly restored tree)",
            "nothing changed, quick verification, every backup recent",
            None,
            quick_recent,
        ),
        (
            "nothing changed, full verification (stat of every directory and file read; at least hourly)",
            "nothing changed, full verification",
            None,
            verify,
        ),
        (
            "nothing changed, watcher path (no directory named: last result reused)",
            "nothing changed, watcher path",
            Some(UNCHANGED_GOAL),
            trust,
        ),
        (
            "a new backup appears, quick verification (its container re-listed, 1 backup read, chain rechecked)",
            "a new backup appears, quick verification",
            None,
            one_created,
        ),
        (
            "one backup changed, watcher path (1 directory read, cache walked, chain rechecked)",
            "one backup changed, watcher path",
            None,
            one_changed,
        ),
        (
            "per scrape: metric families + a summary",
            "per scrape: metric families + a summary",
            None,
            scrape,
        ),
    ] {
        let cpu = sorted(t.iter().map(|s| s.cpu).collect());
        let wall = sorted(t.iter().map(|s| s.wall).collect());
        let p50 = percentile(&wall, 0.5);
        let goal_text = goal.map_or("—".to_string(), |g| format!("< {} ms", g.as_millis()));
        let _ = writeln!(
            out,
            "| {name} | {goal_text} | {} | {} | {} | {} | {} |",
            ms(wall[0]),
            ms(p50),
            ms(percentile(&wall, 0.9)),
            ms(wall[wall.len() - 1]),
            ms(percentile(&cpu, 0.5))
        );
        let _ = writeln!(
            summary,
            "| {short} | {goal_text} | {} | {} |",
            ms(p50),
            ms(percentile(&cpu, 0.5))
        );
        if let Some(g) = goal {
            goals.push(Goal::new(
                format!("backup scan of {backups} directories, {short}: p50 {goal_text}"),
                ms(p50),
                Some(p50 < g),
            ));
        }
    }
    let _ = writeln!(
        out,
        "\nWith the file watcher active, an unchanged tree is not scanned at all. The periodic \
         verification runs once per `quorate.intervals.backup_rescan` (default 5m): a quick one \
         (directory stamps: creating, renaming or removing a file or directory changes its \
         parent directory's mtime and ctime; the containers stat'ed, and the backups that are \
         incomplete or changed within the last hour with their files; settled backups not \
         looked at), and a full one (every directory and every file read stat'ed; what sees a \
         file added, removed or rewritten inside a settled backup) at least every hour and \
         after the watcher lost events. A cold scan makes 17 system calls per backup directory \
         (open, fstat, 2 getdents, close; open, fstat, read, close per file read), each \
         directory opened relative to its parent's descriptor, on 2 threads."
    );
    let summary = format!(
        "{backups} backup directories in the seed's layout ({} full, {} incremental in \
         chains), {runs} runs each, page cache warm, load average {load} at the start; the CPU \
         column is all the scan's threads. Alone, `cargo bench --bench backup_scan` writes every \
         column to [backup.md](backup.md).\n\n{summary}",
        backups / FULL_EVERY,
        backups - backups / FULL_EVERY,
    );
    Section {
        markdown: out,
        summary,
        goals,
    }
}
