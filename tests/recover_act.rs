//! The act path of `quorate recover`, as the real binary, with real processes:
//!
//! - a bootstrap whose `bootstrap_command` is a real shell script that sets a flag, cleans it
//!   up in a trap (as `galera_new_cluster` does) and starts children: timed out or interrupted
//!   (SIGINT to quorate), the whole process group is ended (checked by pid), the trap runs,
//!   grastate.dat is restored and exactly one audit line says so;
//! - an audit log that cannot be opened refuses before anything runs; one that breaks during
//!   the action fails the command, saying the action happened;
//! - a mariadbd started from a my.cnf (no `--datadir` on its command line) is found by its
//!   working directory;
//! - a real bootstrap of a stopped sandbox node succeeds and writes one audit line.
//!
//! One node in the configuration: the decision needs no peer, and with the node cleanly
//! stopped (a real position, safe_to_bootstrap 0) it is "bootstrap node1".

mod common;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use quorate::error::exit;
use quorate::recover::sys;

const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");

const GRASTATE: &str = "# GALERA saved state\nversion: 2.1\nuuid:    08caff5b-e611-11f1-b6a3-f2788dfdebd7\nseqno:   42\nsafe_to_bootstrap: 0\n";

/// Like galera_new_cluster: writes a flag ($1) that only its EXIT trap removes, and waits for
/// children; records its pid and its children's in $2, one per line.
const TRAPPED: &str = r#"trap 'rm -f "$1"' EXIT; trap 'exit 1' TERM
echo _WSREP_NEW_CLUSTER=--wsrep-new-cluster > "$1"
sleep 100 & echo $! >> "$2"; sleep 100 & echo $! >> "$2"; echo $$ >> "$2"
wait"#;

/// A one-node configuration in a temporary directory.
struct Node1 {
    dir: tempfile::TempDir,
    config: PathBuf,
    data: PathBuf,
    audit: PathBuf,
    flag: PathBuf,
    pids: PathBuf,
}

impl Node1 {
    /// `script` is run as `sh -c SCRIPT sh FLAG PIDS AUDIT_DIR`.
    fn new(script: &str, start_timeout: &str, audit: Option<&str>) -> Node1 {
        let dir = tempfile::tempdir().expect("tempdir");
        let d = dir.path();
        let data = d.join("data");
        std::fs::create_dir(&data).expect("datadir");
        std::fs::write(data.join("grastate.dat"), GRASTATE).expect("grastate");
        for (name, secret) in [
            ("pw", "unused"),
            ("token", "0123456789abcdef0123456789abcdef"),
        ] {
            std::fs::write(d.join(name), format!("{secret}\n")).expect("secret");
            std::fs::set_permissions(d.join(name), std::fs::Permissions::from_mode(0o600))
                .expect("chmod");
        }
        let audit = d.join(audit.unwrap_or("log/recover-audit.log"));
        let (flag, pids) = (d.join("flag"), d.join("pids"));
        let audit_dir = audit.parent().expect("audit dir").to_path_buf();
        let q = |p: &Path| serde_json::to_string(&p.display().to_string()).expect("json");
        let argv = serde_json::to_string(&[
            "sh".to_string(),
            "-c".into(),
            script.into(),
            "sh".into(),
            flag.display().to_string(),
            pids.display().to_string(),
            audit_dir.display().to_string(),
        ])
        .expect("json");
        let yaml = format!(
            r#"cluster:
  name: acttest
nodes:
  controllers:
    - hostname: node1
      ip_address: 127.0.0.1
      services:
        mariadb: true
        glusterfs: false
quorate:
  node: node1
  mysql:
    user: quorate
    password_file: {pw}
  timeouts:
    galera: 1s
  nodes:
    node1:
      mysql_address: "127.0.0.1:{port}"
      datadir: {data}
  recovery:
    token_file: {token}
    state_dir: {state}
    audit_log: {audit}
    peer_timeout: 2s
    start_timeout: {start_timeout}
    nodes:
      node1:
        endpoint: "http://127.0.0.1:1"
        pid_file: {pid}
        lock_file: {lock}
        start_command: ["true"]
        bootstrap_command: {argv}
        recover_command: ["true"]
        sql_command: ["true"]
"#,
            pw = q(&d.join("pw")),
            // Nothing listens there: the node never answers as Primary.
            port = common::free_port(),
            data = q(&data),
            token = q(&d.join("token")),
            state = q(&d.join("state")),
            audit = q(&audit),
            pid = q(&d.join("mariadbd.pid")),
            lock = q(&d.join("recover.lock")),
        );
        let config = d.join("quorate.yaml");
        std::fs::write(&config, yaml).expect("config");
        Node1 {
            dir,
            config,
            data,
            audit,
            flag,
            pids,
        }
    }

    fn bootstrap(&self) -> Child {
        Command::new(QUORATE)
            .args([
                "recover",
                "bootstrap",
                "--execute",
                "--node",
                "node1",
                "--config",
            ])
            .arg(&self.config)
            .env("QUORATE_LOG", "warn")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("run quorate recover bootstrap")
    }

    fn pids(&self) -> Vec<u32> {
        std::fs::read_to_string(&self.pids)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    fn audit_lines(&self) -> Vec<serde_json::Value> {
        std::fs::read_to_string(&self.audit)
            .unwrap_or_default()
            .lines()
            .map(|l| serde_json::from_str(l).expect("an audit line is JSON"))
            .collect()
    }

    fn asides(&self) -> Vec<PathBuf> {
        std::fs::read_dir(self.dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("quorate-aside-")
            })
            .map(|e| e.path())
            .collect()
    }
}

fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
        s.rfind(')')
            .is_some_and(|i| !matches!(s[i + 1..].trim_start().chars().next(), Some('Z' | 'X')))
    })
}

fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) on a pid this test started.
    unsafe {
        libc::kill(pid as libc::pid_t, sig);
    }
}

/// Ends by pid whatever is still alive (after a failed assertion).
fn kill_all(pids: &[u32]) {
    for &p in pids {
        if alive(p) {
            signal(p, libc::SIGKILL);
        }
    }
}

/// Waits for `child` at most `limit`; killed by its pid if it does not exit. Returns the exit
/// code and stdout.
fn finish(mut child: Child, limit: Duration) -> (Option<i32>, String) {
    let deadline = Instant::now() + limit;
    while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    if child.try_wait().ok().flatten().is_none() {
        let _ = child.kill();
    }
    let out = child.wait_with_output().expect("wait");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    (out.status.code(), stdout)
}

/// The common end state of a failed bootstrap: group gone, trap ran, grastate.dat restored
/// (its original also kept aside), one audit line saying what failed and what was restored.
fn assert_failed_and_restored(n: &Node1, pids: &[u32], why: &str) {
    assert_eq!(pids.len(), 3, "the bootstrap script did not run");
    for p in pids {
        assert!(
            !alive(*p),
            "pid {p} of the bootstrap command's group survived"
        );
    }
    assert!(!n.flag.exists(), "the script's clean-up trap did not run");
    assert_eq!(
        std::fs::read_to_string(n.data.join("grastate.dat")).expect("grastate"),
        GRASTATE,
        "grastate.dat was not restored"
    );
    let asides = n.asides();
    assert_eq!(asides.len(), 1, "{asides:?}");
    assert_eq!(
        std::fs::read_to_string(asides[0].join("grastate.dat")).expect("kept"),
        GRASTATE
    );
    let lines = n.audit_lines();
    assert_eq!(lines.len(), 1, "{lines:?}");
    let line = &lines[0];
    let result = line["result"].as_str().expect("result");
    assert!(
        result.starts_with("failed:") && result.contains(why),
        "{result}"
    );
    assert!(result.contains("SIGTERM to process group"), "{result}");
    let restored = line["restored"].as_str().expect("restored");
    assert!(restored.starts_with("restored "), "{restored}");
    assert!(
        line["done"][0]
            .as_str()
            .is_some_and(|d| d.starts_with("set safe_to_bootstrap: 1")),
        "{line}"
    );
    assert!(line["evidence"][0]
        .as_str()
        .is_some_and(|e| e.contains("seqno 42")));
}

#[test]
fn a_timed_out_bootstrap_ends_its_group_restores_grastate_and_audits_once() {
    let n = Node1::new(TRAPPED, "2s", None);
    let (code, stdout) = finish(n.bootstrap(), Duration::from_secs(60));
    let pids = n.pids();
    kill_all(&pids);
    assert_eq!(code, Some(exit::FAILURE), "{stdout}");
    assert!(stdout.contains("did not finish within 2s"), "{stdout}");
    assert!(stdout.contains("restored "), "{stdout}");
    assert_failed_and_restored(&n, &pids, "did not finish within 2s");
}

#[test]
fn an_interrupted_bootstrap_ends_its_group_restores_grastate_and_audits_once() {
    let n = Node1::new(TRAPPED, "10m", None);
    let child = n.bootstrap();
    let quorate = child.id();
    let deadline = Instant::now() + Duration::from_secs(30);
    while n.pids().len() < 3 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    let flag_set = n.flag.exists();
    let running = n.pids();
    // Ctrl-C reaches the terminal's whole foreground group; the command runs in a group of
    // its own, so the signal is sent to quorate alone, as the terminal would deliver it there.
    signal(quorate, libc::SIGINT);
    let started = Instant::now();
    let (code, stdout) = finish(child, Duration::from_secs(60));
    let took = started.elapsed();
    kill_all(&running);
    assert_eq!(running.len(), 3, "the bootstrap script did not start");
    assert!(flag_set, "the script had not set its flag when interrupted");
    assert_eq!(code, Some(exit::FAILURE), "{stdout}");
    assert!(
        stdout.contains("interrupted: quorate received SIGINT"),
        "{stdout}"
    );
    // The script honours TERM: no grace period was waited out.
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_failed_and_restored(&n, &running, "interrupted: quorate received SIGINT");
}

#[test]
fn an_audit_log_that_cannot_be_opened_refuses_before_anything() {
    // The audit log's directory is a regular file.
    let n = Node1::new(TRAPPED, "2s", Some("blocked/audit.log"));
    std::fs::write(n.dir.path().join("blocked"), "a file").expect("file");
    let (code, stdout) = finish(n.bootstrap(), Duration::from_secs(60));
    kill_all(&n.pids());
    assert_eq!(code, Some(exit::REFUSED), "{stdout}");
    assert!(
        stdout.contains("cannot be opened for appending"),
        "{stdout}"
    );
    assert!(stdout.contains(&n.audit.display().to_string()), "{stdout}");
    assert!(n.pids().is_empty(), "the bootstrap command ran");
    assert_eq!(
        std::fs::read_to_string(n.data.join("grastate.dat")).expect("grastate"),
        GRASTATE
    );
    assert!(n.asides().is_empty());
}

#[test]
fn an_audit_log_that_breaks_during_the_action_fails_the_command() {
    // The script replaces the audit log's directory with a file (a disk that went read-only,
    // a removed mount...), then exits 0; the node never answers, so the bootstrap fails.
    let script = r#"echo $$ >> "$2"; rm -rf "$3"; echo not a directory > "$3""#;
    let n = Node1::new(script, "2s", None);
    let (code, stdout) = finish(n.bootstrap(), Duration::from_secs(60));
    kill_all(&n.pids());
    assert_eq!(code, Some(exit::FAILURE), "{stdout}");
    assert!(stdout.contains("the action WAS carried out"), "{stdout}");
    assert!(stdout.contains(&n.audit.display().to_string()), "{stdout}");
    assert!(stdout.contains("not Primary and Synced"), "{stdout}");
    // grastate.dat was still restored, and the error says so.
    assert!(stdout.contains("restored "), "{stdout}");
    assert_eq!(
        std::fs::read_to_string(n.data.join("grastate.dat")).expect("grastate"),
        GRASTATE
    );
}

fn program(name: &str) -> PathBuf {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/usr/bin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
        .unwrap_or_else(|| panic!("{name} not found (Debian: mariadb-server)"))
}

/// Stops a server this test started, by its pid: SIGTERM, then SIGKILL.
struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        signal(self.0.id(), libc::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.0.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn a_mysqld_started_from_my_cnf_is_found_by_its_working_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    // mariadbd runs as mysql: it must reach the datadir through the temporary directory.
    std::fs::set_permissions(dir.path(), std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.path().join("data");
    let install = Command::new(program("mariadb-install-db"))
        .args(["--no-defaults", "--user=mysql", "--skip-test-db"])
        .arg(format!("--datadir={}", data.display()))
        .arg("--auth-root-authentication-method=normal")
        .output()
        .expect("mariadb-install-db");
    assert!(
        install.status.success(),
        "{}",
        String::from_utf8_lossy(&install.stderr)
    );
    let cnf = dir.path().join("my.cnf");
    std::fs::write(
        &cnf,
        format!(
            "[mariadbd]\ndatadir={}\nsocket={}\npid-file={}\nlog-error={}\nskip-networking\nuser=mysql\ninnodb-buffer-pool-size=16M\n",
            data.display(),
            dir.path().join("sock").display(),
            dir.path().join("m.pid").display(),
            dir.path().join("error.log").display(),
        ),
    )
    .expect("my.cnf");
    // As systemd starts it: the datadir is only in the option file.
    let server = Server(
        Command::new(program("mariadbd"))
            .arg(format!("--defaults-file={}", cnf.display()))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd"),
    );
    let pid = server.0.id();
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut found = Vec::new();
    while found.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        found = sys::mysqld_working_in(&data);
    }
    let m = sys::find_mysqld(&data, None);
    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    let refused = sys::require_stopped("node1", &data, None, "edit grastate.dat");
    drop(server);
    assert_eq!(found, vec![pid], "{}", m.how);
    assert!(!String::from_utf8_lossy(&cmdline).contains("--datadir"));
    assert!(m.running && m.pid == Some(pid), "{m:?}");
    assert!(m.how.contains("no mysqld with --datadir"), "{}", m.how);
    assert!(
        m.how
            .contains(&format!("mysqld pid {pid} works in {}", data.display())),
        "{}",
        m.how
    );
    let refused = refused.expect_err("a running server must be refused");
    assert!(
        refused.to_string().contains("will not edit grastate.dat"),
        "{refused}"
    );
}

#[test]
fn a_real_bootstrap_of_a_stopped_node_succeeds_and_audits_once() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut sb = quorate::sandbox::SandboxGuard::new(
        quorate::sandbox::up(&quorate::sandbox::UpOptions {
            dir: dir.path().join("sb"),
            nodes: 1,
        })
        .expect("sandbox up"),
    );
    sb.write_config(Path::new(QUORATE)).expect("config");
    sb.stop_node("node1").expect("stop");
    let data = sb.datadir("node1").expect("datadir");
    // Stopped cleanly, the last node has safe_to_bootstrap 1: make quorate set it.
    let g = data.join("grastate.dat");
    let text = std::fs::read_to_string(&g).expect("grastate");
    assert!(text.contains("safe_to_bootstrap: 1"), "{text}");
    std::fs::write(
        &g,
        text.replace("safe_to_bootstrap: 1", "safe_to_bootstrap: 0"),
    )
    .expect("edit");
    let out = Command::new(QUORATE)
        .args([
            "recover",
            "bootstrap",
            "--execute",
            "--node",
            "node1",
            "--config",
        ])
        .arg(sb.config_path())
        .env("QUORATE_LOG", "warn")
        .output()
        .expect("quorate recover bootstrap");
    let stdout = String::from_utf8_lossy(&out.stdout);
    eprintln!("{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(out.status.code(), Some(exit::OK));
    assert!(stdout.contains("node1 is Primary and Synced"), "{stdout}");
    let audit = std::fs::read_to_string(sb.dir().join("recover-audit.log")).expect("audit");
    let lines: Vec<serde_json::Value> = audit
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    assert_eq!(lines.len(), 1, "{audit}");
    assert_eq!(lines[0]["result"], "ok");
    assert!(lines[0]["restored"].is_null());
    // The server the sandbox started (with --datadir) is also found by its working directory.
    let pid = sb.pid("node1").expect("pid");
    assert_eq!(sys::mysqld_working_in(&data), vec![pid]);
}
