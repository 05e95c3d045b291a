//! Real mariabackup runs for the backup tests: complete backups into the seed's layout, a run
//! stopped mid-copy (then killed), and ageing a backup's recorded times and mtimes.

use std::fs::{self, File};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};
use quorate::backup::parse::parse_checkpoints;
use quorate::backup::BackupType;
use quorate::sandbox::{self, SandboxGuard, UpOptions};

/// A real 1-node sandbox in `dir/sb` holding `bk.t`, 20 MB of random rows: big enough for a
/// size check and for a backup run to be stopped mid-copy. Torn down when the guard drops.
pub fn sandbox_with_data(dir: &Path) -> SandboxGuard {
    let sb = SandboxGuard::new(
        sandbox::up(&UpOptions {
            dir: dir.join("sb"),
            nodes: 1,
        })
        .expect("sandbox up"),
    );
    sb.sql(
        "node1",
        "CREATE DATABASE bk; CREATE TABLE bk.t (id INT PRIMARY KEY AUTO_INCREMENT, v LONGBLOB) ENGINE=InnoDB; \
         INSERT INTO bk.t (v) SELECT RANDOM_BYTES(1024) FROM bk.seq_1_to_20000;",
    )
    .expect("test data");
    sb
}

/// Runs mariabackup to completion as root over the node's socket.
pub fn mariabackup(socket: &Path, args: &[&str]) {
    let out = Command::new("mariabackup")
        .arg(format!("--socket={}", socket.display()))
        .arg("--user=root")
        .args(args)
        .stdin(Stdio::null())
        .output()
        .expect("running mariabackup (Debian package mariadb-backup)");
    let log = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && log.contains("completed OK!"),
        "mariabackup {args:?}: {}\n{log}",
        out.status
    );
}

/// A mariabackup run the test stops and kills; killed by pid on drop if the test fails first.
pub struct RunningBackup(pub Child);

impl RunningBackup {
    /// Starts a full backup into `target` and stops it (SIGSTOP) as soon as it has begun
    /// copying (`ib_logfile0`, the first file it creates, exists) and before it wrote its
    /// checkpoints: an attempt in progress.
    pub fn start_and_stop(socket: &Path, target: &Path) -> RunningBackup {
        let run = RunningBackup(
            Command::new("mariabackup")
                .arg(format!("--socket={}", socket.display()))
                .args(["--user=root", "--backup"])
                .arg(format!("--target-dir={}", target.display()))
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(Stdio::null())
                .spawn()
                .expect("spawn mariabackup"),
        );
        let start = Instant::now();
        while !target.join("ib_logfile0").exists() {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "mariabackup never started copying"
            );
            std::thread::sleep(Duration::from_millis(2));
        }
        super::signal(run.0.id(), libc::SIGSTOP);
        assert!(
            !target.join("xtrabackup_checkpoints").exists(),
            "mariabackup finished before it could be stopped"
        );
        run
    }

    /// SIGKILLs the stopped run and reaps it: a backup killed midway.
    pub fn kill(mut self) {
        super::signal(self.0.id(), libc::SIGKILL);
        let status = self.0.wait().expect("reap mariabackup");
        assert!(!status.success());
    }
}

impl Drop for RunningBackup {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
}

/// The seed's directory name for a backup started at `t` (local time).
pub fn seed_name(prefix: &str, t: Timestamp, tz: &TimeZone) -> String {
    format!(
        "{prefix}_{}",
        t.to_zoned(tz.clone()).strftime("%Y%m%d_%H%M%S")
    )
}

/// A backup's `to_lsn`, from its checkpoints file.
pub fn to_lsn(dir: &Path) -> u64 {
    let text = fs::read_to_string(dir.join("xtrabackup_checkpoints")).expect("checkpoints");
    parse_checkpoints(&text).expect("parse checkpoints").to_lsn
}

/// Moves a backup `age` into the past: its info times (local, no zone, as mariabackup writes
/// them), its metadata times, and the mtimes of the directory and its top-level files.
pub fn age_backup(dir: &Path, age: jiff::Span, tz: &TimeZone) {
    let end = Timestamp::now().checked_sub(age).expect("aged time");
    let start = end.checked_sub(5.seconds()).expect("start");
    let local = |t: Timestamp| {
        t.to_zoned(tz.clone())
            .strftime("%Y-%m-%d %H:%M:%S")
            .to_string()
    };
    let info = dir.join("xtrabackup_info");
    let text = fs::read_to_string(&info).expect("info");
    let rewritten: String = text
        .lines()
        .map(|l| {
            if l.starts_with("start_time = ") {
                format!("start_time = {}\n", local(start))
            } else if l.starts_with("end_time = ") {
                format!("end_time = {}\n", local(end))
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    fs::write(&info, rewritten).expect("rewrite info");
    let metadata = dir.join("backup_metadata.json");
    if metadata.exists() {
        sandbox::write_metadata(dir, BackupType::Full, None, start, end).expect("metadata");
    }
    let mtime = SystemTime::from(end);
    for entry in fs::read_dir(dir).expect("list backup") {
        let path = entry.expect("entry").path();
        if path.is_file() {
            File::options()
                .write(true)
                .open(&path)
                .and_then(|f| f.set_modified(mtime))
                .expect("set file mtime");
        }
    }
    File::open(dir)
        .and_then(|f| f.set_modified(mtime))
        .expect("set directory mtime");
}

/// A fresh full backup and an incremental on it, in the seed's layout under a root.
pub struct BackupPair {
    pub root: PathBuf,
    pub full: PathBuf,
    pub inc: PathBuf,
}

impl BackupPair {
    /// Runs a real full backup, `between` (e.g. more writes), then an incremental on it, into
    /// `root/full/backup_*` and `root/incremental/incremental_*`; the full gets the seed's
    /// metadata file.
    pub fn take(socket: &Path, root: &Path, tz: &TimeZone, between: impl FnOnce()) -> BackupPair {
        fs::create_dir_all(root.join("full")).expect("mkdir");
        fs::create_dir_all(root.join("incremental")).expect("mkdir");
        let full_started = Timestamp::now();
        let full = root
            .join("full")
            .join(seed_name("backup", full_started, tz));
        mariabackup(
            socket,
            &["--backup", &format!("--target-dir={}", full.display())],
        );
        sandbox::write_metadata(
            &full,
            BackupType::Full,
            None,
            full_started,
            Timestamp::now(),
        )
        .expect("metadata");
        between();
        // Distinct directory names even within one second.
        std::thread::sleep(Duration::from_millis(1100));
        let inc = root
            .join("incremental")
            .join(seed_name("incremental", Timestamp::now(), tz));
        mariabackup(
            socket,
            &[
                "--backup",
                &format!("--target-dir={}", inc.display()),
                &format!("--incremental-basedir={}", full.display()),
            ],
        );
        BackupPair {
            root: root.to_path_buf(),
            full,
            inc,
        }
    }
}

impl BackupPair {
    /// [`BackupPair::take`] on node1 of `sb`, with `rows` more rows of 1 KiB in `bk.t`
    /// between the full and the incremental.
    pub fn take_with_rows(sb: &SandboxGuard, root: &Path, tz: &TimeZone, rows: u32) -> BackupPair {
        let socket = sb.socket("node1").expect("socket");
        BackupPair::take(&socket, root, tz, || {
            sb.sql(
                "node1",
                &format!("INSERT INTO bk.t (v) SELECT RANDOM_BYTES(1024) FROM bk.seq_1_to_{rows}"),
            )
            .expect("more data");
        })
    }
}

/// The sandbox's configuration (`sandbox_config`) with `quorate.backup.directories` set to
/// `[root]`, for the test to adjust and write.
pub fn config_with_backup_root(sandbox_config: &Path, root: &Path) -> serde_yaml_ng::Value {
    let mut config: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&fs::read_to_string(sandbox_config).expect("sandbox config"))
            .expect("sandbox config is YAML");
    config["quorate"]["backup"] =
        serde_yaml_ng::from_str(&format!("{{directories: [\"{}\"]}}", root.display()))
            .expect("backup section");
    config
}

/// A copy of a backup tree or of one backup (`cp -a`: contents, modes and times), its parent
/// directories made first.
pub fn copy_tree(from: &Path, to: &Path) {
    if let Some(parent) = to.parent() {
        fs::create_dir_all(parent).expect("mkdir");
    }
    let out = Command::new("cp")
        .arg("-a")
        .arg(from)
        .arg(to)
        .output()
        .expect("cp");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// Scrapes `/metrics` until `ok` accepts the body (the backup watcher reacts within a second
/// or two); after 30 s fails with the backup lines of the last scrape and the serve log.
pub fn scrape_until(serve: &super::ServeProcess, what: &str, ok: impl Fn(&str) -> bool) -> String {
    let start = Instant::now();
    loop {
        let r = serve.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.body);
        if ok(&r.body) {
            return r.body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "{what}; last scrape:\n{}\nserve log:\n{}",
            r.body
                .lines()
                .filter(|l| l.starts_with("mariadb_backup") || l.contains("backup"))
                .collect::<Vec<_>>()
                .join("\n"),
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `quorate serve` on the sandbox's configuration (`sandbox_config`) with its backup root set to
/// `root` and rescans an hour apart (so what it sees arrives through its file watcher), the
/// configuration written to `dir/quorate.yaml`. Returns the server, that path and the
/// configuration, for a test to change and reload.
pub fn serve_watching(
    sandbox_config: &Path,
    root: &Path,
    dir: &Path,
) -> (super::ServeProcess, PathBuf, serde_yaml_ng::Value) {
    let config_path = dir.join("quorate.yaml");
    let mut config = config_with_backup_root(sandbox_config, root);
    config["quorate"]["intervals"] =
        serde_yaml_ng::from_str("{backup_rescan: 1h}").expect("intervals");
    fs::write(
        &config_path,
        serde_yaml_ng::to_string(&config).expect("yaml"),
    )
    .expect("write config");
    let serve = super::ServeProcess::start(&config_path, &[]);
    (serve, config_path, config)
}
