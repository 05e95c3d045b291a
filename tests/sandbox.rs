//! Integration tests of the sandbox against real mariadbd processes (no mocks).
//!
//! One 3-node cluster serves the whole lifecycle test to keep wall time modest; the other tests
//! exercise refusals that need no cluster. Every cluster lives in its own TempDir with its own
//! free ports, so these tests may run in parallel with each other and with other sandboxes.

mod common;

use std::fs;
use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use quorate::sandbox::{self, SandboxError, SandboxGuard, UpOptions, SYNCED};

fn status_value(sb: &sandbox::Sandbox, node: &str, name: &str) -> String {
    let rows = sb
        .sql(node, &format!("SHOW GLOBAL STATUS LIKE '{name}'"))
        .unwrap_or_else(|e| panic!("{node}: {e}"));
    assert_eq!(rows.len(), 1, "{node} {name}: {rows:?}");
    rows[0][1].clone()
}

/// Waits (bounded) until `node` reports wsrep_cluster_size `want`: membership changes reach the
/// survivors a moment after the leaving node has exited.
fn wait_cluster_size(sb: &sandbox::Sandbox, node: &str, want: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let size = status_value(sb, node, "wsrep_cluster_size");
        if size == want {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{node}: cluster size {size}, want {want}"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Runs a statement as the monitoring user over TCP. The password travels in a 0600
/// defaults file, never on the command line.
fn monitor_query(dir: &Path, password: &str, port: u16, sql: &str) -> Result<String, String> {
    let cnf = dir.join("monitor.cnf");
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&cnf)
        .map_err(|e| e.to_string())?;
    writeln!(file, "[client]\nuser=quorate\npassword={password}").map_err(|e| e.to_string())?;
    drop(file);
    let out = Command::new("mariadb")
        // Must be the first option.
        .arg(format!("--defaults-extra-file={}", cnf.display()))
        .args(["--protocol=TCP", "--host=127.0.0.1", "-N", "-B"])
        .arg(format!("--port={port}"))
        .arg("-e")
        .arg(sql)
        .output()
        .map_err(|e| e.to_string())?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).into_owned())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).into_owned())
    }
}

#[test]
fn three_node_lifecycle() {
    let tmp = tempfile::tempdir().expect("tempdir");
    // The TempDir itself (0700 root) is the sandbox: up opens it to the mysql user.
    let dir = tmp.path().to_path_buf();
    let started = Instant::now();
    let sb = sandbox::up(&UpOptions::new(&dir)).unwrap_or_else(|e| panic!("up failed: {e}"));
    eprintln!("up of 3 nodes took {:?}", started.elapsed());
    let mut sb = SandboxGuard::new(sb);
    let names = sb.node_names();
    assert_eq!(names, ["node1", "node2", "node3"]);

    // Every node Synced in a 3-node Primary component.
    for node in &names {
        assert_eq!(status_value(&sb, node, "wsrep_local_state"), "4", "{node}");
        assert_eq!(status_value(&sb, node, "wsrep_cluster_size"), "3", "{node}");
        assert!(sb.pid(node).is_some(), "{node} has no verified pid");
    }
    let status = sb.status();
    assert!(
        status
            .iter()
            .all(|s| s.alive && s.local_state == Some(SYNCED) && s.cluster_size == Some(3)),
        "{status:?}"
    );

    // Password file: 0600, one line.
    let pw_path = sb.password_file();
    let mode = fs::metadata(&pw_path)
        .expect("password file")
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o600);
    let password = fs::read_to_string(&pw_path).expect("read password");
    assert_eq!(password.lines().count(), 1);
    let password = password.trim_end();

    // The monitoring user works over TCP on every node, with least privilege.
    let cnf_dir = tempfile::tempdir().expect("tempdir");
    for node in &names {
        let port = sb.mysql_port(node).expect("port");
        let out = monitor_query(
            cnf_dir.path(),
            password,
            port,
            "SHOW GLOBAL STATUS LIKE 'wsrep%'",
        )
        .unwrap_or_else(|e| panic!("{node}: {e}"));
        assert!(out.contains("wsrep_local_state\t4"), "{node}: {out}");
        let out = monitor_query(
            cnf_dir.path(),
            password,
            port,
            "SHOW GLOBAL VARIABLES LIKE 'wsrep_desync'",
        )
        .unwrap_or_else(|e| panic!("{node}: {e}"));
        assert_eq!(out.trim(), "wsrep_desync\tOFF", "{node}");
    }
    let port1 = sb.mysql_port("node1").expect("port");
    let denied = monitor_query(cnf_dir.path(), password, port1, "SELECT * FROM mysql.user");
    assert!(denied.is_err(), "monitoring user can read mysql.user");

    // quorate.yaml names the three nodes with their TCP addresses and datadirs.
    let yaml = fs::read_to_string(sb.config_path()).expect("quorate.yaml");
    let doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(&yaml).expect("valid YAML");
    let controllers = doc["nodes"]["controllers"]
        .as_sequence()
        .expect("controllers");
    assert_eq!(controllers.len(), 3);
    for (i, node) in names.iter().enumerate() {
        assert_eq!(controllers[i]["hostname"].as_str(), Some(node.as_str()));
        let q = &doc["quorate"]["nodes"][node.as_str()];
        let port = sb.mysql_port(node).expect("port");
        assert_eq!(
            q["mysql_address"].as_str(),
            Some(format!("127.0.0.1:{port}").as_str())
        );
        let datadir = sb.datadir(node).expect("datadir");
        assert_eq!(q["datadir"].as_str(), datadir.to_str());
    }
    assert_eq!(
        doc["quorate"]["mysql"]["password_file"].as_str(),
        pw_path.to_str()
    );
    assert!(
        !yaml.contains(password),
        "password leaked into quorate.yaml"
    );

    // Another process's view: sandbox.json is enough to find everything.
    let reopened = sandbox::open(&dir).expect("open");
    assert_eq!(reopened.pid("node2"), sb.pid("node2"));

    // Stop node3 cleanly: its process goes, the others shrink to 2.
    let pid3 = sb.pid("node3").expect("node3 pid");
    sb.stop_node("node3").expect("stop node3");
    assert_eq!(sb.pid("node3"), None);
    assert!(!Path::new(&format!("/proc/{pid3}")).exists() || !is_running(pid3));
    wait_cluster_size(&sb, "node1", "2");
    wait_cluster_size(&sb, "node2", "2");
    // Stopping again is a no-op.
    sb.stop_node("node3").expect("stop node3 again");

    // Restart it: Synced again, cluster size 3 everywhere.
    let t = Instant::now();
    sb.start_node("node3").expect("start node3");
    eprintln!("node3 rejoined in {:?}", t.elapsed());
    assert_eq!(status_value(&sb, "node3", "wsrep_local_state"), "4");
    for node in &names {
        wait_cluster_size(&sb, node, "3");
    }
    assert!(matches!(
        sb.start_node("node3"),
        Err(SandboxError::NodeRunning { .. })
    ));

    // `up --serve`: one quorate serve per node answering its /galera/state with the token.
    sb.start_serves(Path::new(env!("CARGO_BIN_EXE_quorate")))
        .expect("start serves");
    let token = fs::read_to_string(sb.token_file()).expect("token");
    let bearer = format!("Bearer {}", token.trim());
    let mut serve_pids = Vec::new();
    for node in &names {
        let addr = sb
            .serve_address(node)
            .expect("serve address")
            .parse()
            .expect("addr");
        let r = common::get(addr, "/galera/state", &[("Authorization", &bearer)])
            .unwrap_or_else(|e| panic!("{node}: {e}"));
        assert_eq!(r.status, 200, "{node}: {}", r.body);
        assert!(
            r.body.contains(&format!("\"node\": \"{node}\"")),
            "{}",
            r.body
        );
        let r = common::get(addr, "/galera/state", &[]).expect("GET");
        assert_eq!(r.status, 401, "{node} answered without the token");
        let pid = proc_pids_of_serve(&sb.config_path(), node);
        assert_eq!(pid.len(), 1, "{node}: {pid:?}");
        serve_pids.extend(pid);
    }
    // Starting them again starts nothing new.
    sb.start_serves(Path::new(env!("CARGO_BIN_EXE_quorate")))
        .expect("start serves again");
    for node in &names {
        assert_eq!(proc_pids_of_serve(&sb.config_path(), node).len(), 1);
    }

    // Down: every process gone, directory removed.
    let pids: Vec<u32> = names.iter().filter_map(|n| sb.pid(n)).collect();
    assert_eq!(pids.len(), 3);
    sb.down().expect("down");
    for pid in pids.into_iter().chain(serve_pids) {
        assert!(!is_running(pid), "pid {pid} still running after down");
    }
    assert!(!dir.exists(), "{} still exists", dir.display());
}

/// Live `quorate serve` processes for `node` reading `config`, found in /proc.
fn proc_pids_of_serve(config: &Path, node: &str) -> Vec<u32> {
    let want = format!("serve\0--config\0{}\0--node\0{node}\0", config.display());
    fs::read_dir("/proc")
        .expect("/proc")
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| is_running(pid))
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline"))
                .is_ok_and(|c| String::from_utf8_lossy(&c).contains(&want))
        })
        .collect()
}

/// Whether `pid` is a live process (zombies count as gone).
fn is_running(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => stat
            .rfind(')')
            .and_then(|i| stat[i + 1..].trim_start().chars().next())
            .is_some_and(|state| state != 'Z' && state != 'X'),
        Err(_) => false,
    }
}

#[test]
fn up_refuses_an_existing_sandbox() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("sandbox.json"), b"{}").expect("write");
    let err = sandbox::up(&UpOptions::new(tmp.path())).expect_err("must refuse");
    assert!(
        matches!(err, SandboxError::AlreadyExists { .. }),
        "unexpected error: {err}"
    );
    assert!(err.to_string().contains("already holds a sandbox"), "{err}");
    // Nothing was touched.
    assert!(tmp.path().join("sandbox.json").exists());
}

#[test]
fn up_refuses_a_non_empty_dir_and_zero_nodes() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("precious"), b"data").expect("write");
    let err = sandbox::up(&UpOptions::new(tmp.path())).expect_err("must refuse");
    assert!(matches!(err, SandboxError::DirNotEmpty { .. }), "{err}");
    assert!(tmp.path().join("precious").exists());

    let empty = tmp.path().join("empty");
    let err = sandbox::up(&UpOptions {
        dir: empty.clone(),
        nodes: 0,
    })
    .expect_err("must refuse");
    assert!(matches!(err, SandboxError::BadNodeCount { .. }), "{err}");
    assert!(!empty.exists());
}

#[test]
fn down_and_open_refuse_a_dir_without_sandbox() {
    let tmp = tempfile::tempdir().expect("tempdir");
    fs::write(tmp.path().join("precious"), b"data").expect("write");
    assert!(matches!(
        sandbox::down_dir(tmp.path()),
        Err(SandboxError::NotASandbox { .. })
    ));
    assert!(matches!(
        sandbox::open(tmp.path().join("missing")),
        Err(SandboxError::NotASandbox { .. })
    ));
    assert!(tmp.path().join("precious").exists());
}
