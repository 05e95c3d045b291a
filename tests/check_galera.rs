//! `quorate check galera|cluster`, the Zabbix agent with our UserParameters, the shipped Nagios
//! and NRPE command lines, and `/health/galera`, all against one real 3-node Galera sandbox.
//!
//! One test walks the cluster through its states, healthy first, destructive last:
//! Synced → every connection mode → wrong password → Zabbix agent → Nagios/NRPE command lines
//! → health endpoint → HAProxy → planned maintenance (`quorate maintenance`) → Donor (desync)
//! → read_only → a frozen node → a stopped node → two nodes gone (survivor non-Primary).

mod common;

use std::io::{Read, Write};
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::plugin::{run_quorate, run_shell, validate_plugin_output, write_secret, PluginRun};
use common::ServeProcess;
use quorate::sandbox::SandboxGuard;

/// The sandbox plus the files the steps share.
struct World {
    sb: SandboxGuard,
    dir: tempfile::TempDir,
    config: PathBuf,
    state_dir: PathBuf,
}

impl World {
    fn config_arg(&self) -> &str {
        self.config.to_str().expect("utf-8 path")
    }

    fn state_env(&self) -> [(&'static str, &str); 1] {
        [(
            "QUORATE_STATE_DIR",
            self.state_dir.to_str().expect("utf-8 path"),
        )]
    }

    /// `quorate check <what> --config SANDBOX <args>` with the test's state directory.
    fn check(&self, what: &str, args: &[&str]) -> PluginRun {
        let mut all = vec!["check", what, "--config", self.config_arg()];
        all.extend_from_slice(args);
        run_quorate(&all, &self.state_env())
    }

    /// `quorate check galera -H 127.0.0.1 -P <node2's port> --password-file <the sandbox's>`:
    /// no configuration, the connection given on the command line.
    fn check_node2_over_tcp(&self) -> PluginRun {
        let port = self.sb.mysql_port("node2").expect("port").to_string();
        let pw_file = self.sb.password_file();
        let args = [
            "check",
            "galera",
            "-H",
            "127.0.0.1",
            "-P",
            &port,
            "--password-file",
            pw_file.to_str().expect("utf-8"),
        ];
        run_quorate(&args, &self.state_env())
    }

    /// Like [`World::check`], also asserting the exit code, the first line's prefix and the
    /// output grammar.
    fn expect(&self, what: &str, args: &[&str], code: i32, prefix: &str) -> PluginRun {
        let r = self.check(what, args);
        assert_eq!(
            r.code, code,
            "check {what} {args:?}:\n{}{}",
            r.stdout, r.stderr
        );
        assert!(
            r.first_line().starts_with(prefix),
            "check {what} {args:?}: expected {prefix:?}, got:\n{}",
            r.stdout
        );
        validate_plugin_output(&r.stdout, r.code)
            .unwrap_or_else(|e| panic!("check {what} {args:?}: {e}\n{}", r.stdout));
        r
    }

    fn sql(&self, node: &str, sql: &str) -> Vec<Vec<String>> {
        self.sb
            .sql(node, sql)
            .unwrap_or_else(|e| panic!("{node}: {sql}: {e}"))
    }

    fn status_value(&self, node: &str, name: &str) -> String {
        self.sql(node, &format!("SHOW GLOBAL STATUS LIKE '{name}'"))
            .first()
            .and_then(|r| r.get(1).cloned())
            .unwrap_or_default()
    }

    fn wait_for(&self, what: &str, timeout: Duration, mut ok: impl FnMut() -> bool) {
        let start = Instant::now();
        while !ok() {
            assert!(start.elapsed() < timeout, "timed out waiting for {what}");
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    fn password(&self) -> String {
        std::fs::read_to_string(self.sb.password_file())
            .expect("sandbox password file")
            .trim()
            .to_string()
    }
}

#[test]
fn checks_against_a_real_three_node_cluster() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = common::three_node_sandbox(dir.path());
    let world = World {
        config: sb.config_path(),
        state_dir: dir.path().join("state"),
        sb,
        dir,
    };

    synced_cluster_is_ok(&world);
    a_check_sends_only_its_monitoring_statements(&world);
    every_connection_mode(&world);
    wrong_password_is_unknown(&world);
    zabbix_agent_runs_our_items(&world);
    shipped_nagios_and_nrpe_command_lines_run(&world);
    let serve = health_endpoint(&world);
    let haproxy = haproxy_follows_the_health_endpoint(&world, &serve);
    planned_maintenance_drains_and_ends(&world, &serve, &haproxy);
    drop(haproxy);
    donor_follows_policy(&world, &serve);
    read_only_node(&world, &serve);
    frozen_node(&world, &serve);
    let mut world = world;
    stopped_node_is_critical(&mut world);
    survivor_of_two_lost_nodes_is_non_primary(&mut world, &serve);
    drop(serve);
    world.sb.down().expect("sandbox down");
}

fn synced_cluster_is_ok(w: &World) {
    let r = w.expect(
        "galera",
        &[],
        0,
        "GALERA OK - node1: Synced, Primary, cluster size 3 | ",
    );
    assert!(r.stdout.contains("first run"), "{}", r.stdout);
    // The expected size comes from the three controllers of the configuration.
    assert!(
        r.first_line().contains("cluster_size=3;3:;2:;0 "),
        "{}",
        r.stdout
    );
    assert!(
        r.first_line().contains("local_state=4;;;0;4"),
        "{}",
        r.stdout
    );
    assert!(
        r.first_line().contains("fc_paused=U;10;50;0;100"),
        "{}",
        r.stdout
    );
    assert!(w.state_dir.join("galera-node1.json").exists());
    // The second run judges flow control on the delta.
    let r = w.expect("galera", &[], 0, "GALERA OK - node1: ");
    assert!(
        r.stdout.contains("flow control paused 0.0% of the last"),
        "{}",
        r.stdout
    );
    assert!(
        r.first_line().contains("fc_paused=0%;10;50;0;100"),
        "{}",
        r.stdout
    );

    for node in ["node2", "node3"] {
        w.expect(
            "galera",
            &["--node", node],
            0,
            &format!("GALERA OK - {node}: Synced"),
        );
    }
    let r = w.expect(
        "galera",
        &["--node", "node2", "-w", "4:", "-c", "@0:1"],
        1,
        "GALERA WARNING - node2: cluster size 3",
    );
    assert!(
        r.first_line().contains("cluster_size=3;4:;@0:1;0"),
        "{}",
        r.stdout
    );
    w.expect(
        "galera",
        &["--node", "node2", "--expected-size", "7"],
        2,
        "GALERA CRITICAL - node2: cluster size 3",
    );
    w.expect(
        "galera",
        &["--node", "node2", "--recv-queue-critical", "@0:0"],
        2,
        "GALERA CRITICAL - node2: recv queue 0",
    );

    let r = w.expect(
        "cluster",
        &[],
        0,
        "GALERA CLUSTER OK - 3/3 nodes Synced, one Primary component of size 3 | ",
    );
    assert!(
        r.first_line().contains("primary_components=1"),
        "{}",
        r.stdout
    );

    // -v: more detail, still valid.
    let r = w.expect("galera", &["-v"], 0, "GALERA OK - node1");
    assert!(r.stdout.contains("cluster state uuid: "), "{}", r.stdout);
    assert!(r.stdout.contains("provider version: "), "{}", r.stdout);
}

/// A check's statements: the session setting and the two SHOWs (sent as one multi-statement),
/// and no `SELECT @@wait_timeout` at connect (a round trip of every check before).
fn a_check_sends_only_its_monitoring_statements(w: &World) {
    const COUNTERS: [&str; 4] = [
        "Com_select",
        "Com_set_option",
        "Com_show_status",
        "Com_show_variables",
    ];
    let counters = || {
        let rows =
            w.sb.sql(
                "node2",
                &format!(
                    "SHOW GLOBAL STATUS WHERE Variable_name IN ('{}')",
                    COUNTERS.join("','")
                ),
            )
            .expect("status query");
        COUNTERS.map(|name| {
            rows.iter()
                .find(|r| r.first().map(String::as_str) == Some(name))
                .and_then(|r| r.get(1))
                .and_then(|v| v.parse::<i64>().ok())
                .unwrap_or_else(|| panic!("no {name} in {rows:?}"))
        })
    };
    let before = counters();
    let r = w.check_node2_over_tcp();
    assert_eq!(r.code, 0, "{r:?}");
    let after = counters();
    let sent: Vec<i64> = after.iter().zip(before).map(|(a, b)| a - b).collect();
    // The check's SHOW GLOBAL STATUS, and the one that read `after`.
    assert_eq!(sent, [0, 1, 2, 1], "{COUNTERS:?} during one check: {r:?}");
}

fn every_connection_mode(w: &World) {
    let password = w.password();
    let mut runs = Vec::new();
    let port = w.sb.mysql_port("node2").expect("port").to_string();
    let socket = w.sb.socket("node3").expect("socket");

    // -H/-P with a password file, no configuration.
    let r = w.check_node2_over_tcp();
    assert_eq!(r.code, 0, "{r:?}");
    runs.push(r);
    let r = &runs[runs.len() - 1];
    assert!(
        r.first_line()
            .starts_with(&format!("GALERA OK - 127.0.0.1:{port}: Synced")),
        "{}",
        r.stdout
    );

    // --socket with a my.cnf-style defaults file.
    let cnf = w.dir.path().join("monitor.cnf");
    write_secret(
        &cnf,
        &format!("[client]\nuser=quorate\npassword=\"{password}\"\n"),
    );
    let r = run_quorate(
        &[
            "check",
            "galera",
            "--socket",
            socket.to_str().expect("utf-8"),
            "--defaults-file",
            cnf.to_str().expect("utf-8"),
            "--node",
            "node3",
        ],
        &w.state_env(),
    );
    assert_eq!(r.code, 0, "{r:?}");
    runs.push(r);
    let r = &runs[runs.len() - 1];
    assert!(
        r.first_line().starts_with("GALERA OK - node3: Synced"),
        "{}",
        r.stdout
    );

    // The environment (Icinga 2 `env`), with -H and no file at all.
    let mut env = w.state_env().to_vec();
    env.push(("QUORATE_MYSQL_PASSWORD", &password));
    let r = run_quorate(&["check", "galera", "-H", "127.0.0.1", "-P", &port], &env);
    assert_eq!(r.code, 0, "{r:?}");
    runs.push(r);
    // An empty variable (an undefined Icinga macro) does not replace the configured password.
    let r = run_quorate(
        &[
            "check",
            "galera",
            "--config",
            w.config_arg(),
            "--node",
            "node2",
        ],
        &[("QUORATE_MYSQL_PASSWORD", ""), w.state_env()[0]],
    );
    assert_eq!(r.code, 0, "{r:?}");
    runs.push(r);
    // Nothing quorate prints contains the password.
    for r in &runs {
        assert!(!r.stdout.contains(&password) && !r.stderr.contains(&password));
    }
}

fn wrong_password_is_unknown(w: &World) {
    let bad = w.dir.path().join("bad.password");
    write_secret(&bad, "not-the-password\n");
    let r = w.expect(
        "galera",
        &[
            "--node",
            "node2",
            "--password-file",
            bad.to_str().expect("utf-8"),
        ],
        3,
        "GALERA UNKNOWN - node2: server error 1045: Access denied for user 'quorate'",
    );
    assert!(!r.stdout.contains("not-the-password"), "{}", r.stdout);
    // The cluster check cannot judge any node: UNKNOWN as well, with the server's words.
    let r = w.expect(
        "cluster",
        &["--password-file", bad.to_str().expect("utf-8")],
        3,
        "GALERA CLUSTER UNKNOWN - ",
    );
    assert!(r.stdout.contains("Access denied"), "{}", r.stdout);
}

/// Runs `zabbix_agentd -t KEY` with our UserParameter file pointed at this sandbox; returns
/// the value.
fn zabbix_item(w: &World, key: &str) -> String {
    common::zabbix::agent_item(
        &w.dir.path().join("zabbix"),
        &[("/etc/quorate/quorate.yaml", w.config_arg())],
        &[("QUORATE_STATE_DIR", w.state_dir.as_os_str())],
        key,
    )
}

fn zabbix_agent_runs_our_items(w: &World) {
    let lld: serde_json::Value =
        serde_json::from_str(&zabbix_item(w, "quorate.galera.discovery")).expect("LLD JSON");
    let nodes: Vec<&str> = lld
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|row| row["{#NODE}"].as_str())
        .collect();
    assert_eq!(nodes, ["node1", "node2", "node3"]);

    // Twice, so the flow-control delta has a value too.
    zabbix_item(w, "quorate.galera[node2]");
    let node: serde_json::Value =
        serde_json::from_str(&zabbix_item(w, "quorate.galera[node2]")).expect("item JSON");
    assert_eq!(node["status"], 0, "{node}");
    assert_eq!(node["local_state"], 4);
    assert_eq!(node["local_state_comment"], "Synced");
    assert_eq!(node["cluster_size"], 3);
    // Every field the template's dependent items read is there, with a value.
    let fields = common::zabbix::dependent_fields();
    for f in &fields["quorate.galera[{#NODE}]"] {
        assert!(
            node.get(f).is_some_and(|v| !v.is_null()),
            "template field {f} missing or null in {node}"
        );
    }
    let local: serde_json::Value =
        serde_json::from_str(&zabbix_item(w, "quorate.galera[]")).expect("item JSON");
    assert_eq!(local["node"], "node1", "empty parameter = this host's node");
    assert_eq!(
        zabbix_item(w, "quorate.galera.item[node3,local_state_comment]"),
        "Synced"
    );
    assert_eq!(zabbix_item(w, "quorate.galera.item[node3,primary]"), "1");

    let cluster: serde_json::Value =
        serde_json::from_str(&zabbix_item(w, "quorate.cluster")).expect("cluster JSON");
    assert_eq!(cluster["status"], 0, "{cluster}");
    for f in &fields["quorate.cluster"] {
        assert!(
            cluster.get(f).is_some_and(|v| !v.is_null()),
            "template field {f} missing in {cluster}"
        );
    }
}

/// The `command_line` of each `define command` in a Nagios object file.
fn nagios_command_lines(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut name = None;
    for line in text.lines().map(str::trim) {
        if let Some(n) = line.strip_prefix("command_name") {
            name = Some(n.trim().to_string());
        } else if let Some(c) = line.strip_prefix("command_line") {
            out.push((
                name.take().expect("command_name before command_line"),
                c.trim().to_string(),
            ));
        }
    }
    out
}

fn shipped_nagios_and_nrpe_command_lines_run(w: &World) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_quorate");
    let cnf = w.dir.path().join("nagios.cnf");
    write_secret(
        &cnf,
        &format!("[client]\nuser=quorate\npassword={}\n", w.password()),
    );
    let port = w.sb.mysql_port("node1").expect("port").to_string();
    let commands =
        std::fs::read_to_string(root.join("nagios/quorate-commands.cfg")).expect("commands file");
    // The Galera commands (the GlusterFS and backup ones are run by tests/check_gluster.rs and
    // tests/check_backup.rs).
    let lines: Vec<_> = nagios_command_lines(&commands)
        .into_iter()
        .filter(|(name, _)| !name.contains("gluster") && !name.contains("backup"))
        .collect();
    assert_eq!(lines.len(), 3, "{lines:?}");
    for (name, line) in lines {
        let (arg1, arg2) = match name.as_str() {
            "check_quorate_galera_address" => (port.as_str(), ""),
            _ => ("--allow-desync", ""),
        };
        // Nagios' macro expansion, for one host.
        let expanded = line
            .replace("/usr/local/bin/quorate", bin)
            .replace("/etc/quorate/quorate.yaml", w.config_arg())
            .replace("$HOSTNAME$", "node1")
            .replace("$HOSTADDRESS$", "127.0.0.1")
            .replace("$USER10$", cnf.to_str().expect("utf-8"))
            .replace("$ARG1$", arg1)
            .replace("$ARG2$", arg2);
        assert!(
            !expanded.contains('$'),
            "{name}: unexpanded macro in {expanded}"
        );
        let r = run_shell(&expanded, &w.state_env());
        assert_eq!(r.code, 0, "{name}: {expanded}\n{}{}", r.stdout, r.stderr);
        assert!(r.stdout.contains(" OK - "), "{name}: {}", r.stdout);
        validate_plugin_output(&r.stdout, r.code).unwrap();
    }

    let nrpe = std::fs::read_to_string(root.join("nagios/nrpe/quorate.cfg")).expect("nrpe file");
    let mut ran = 0;
    for line in nrpe.lines().filter(|l| {
        l.starts_with("command[")
            && !l.starts_with("command[check_backup]")
            && !l.starts_with("command[check_gluster]")
    }) {
        let (_, cmd) = line.split_once("]=").expect("command[name]=line");
        let expanded = cmd
            .replace("/usr/local/bin/quorate", bin)
            .replace("/etc/quorate/quorate.yaml", w.config_arg());
        let r = run_shell(&expanded, &w.state_env());
        assert_eq!(r.code, 0, "{line}\n{}{}", r.stdout, r.stderr);
        validate_plugin_output(&r.stdout, r.code).unwrap();
        ran += 1;
    }
    assert_eq!(ran, 2);
}

/// Two `quorate serve` processes on node1: the default health policy with a maintenance file,
/// and one that accepts donors and read-only nodes.
struct Serves {
    strict: ServeProcess,
    lenient: ServeProcess,
    maintenance: PathBuf,
    /// The sandbox configuration with a maintenance file for `quorate maintenance` (node2's
    /// and node3's `quorate serve` behind HAProxy read it).
    maint_config: PathBuf,
}

fn with_health(w: &World, name: &str, health: &str) -> PathBuf {
    let text = std::fs::read_to_string(&w.config).expect("sandbox config");
    assert!(text.contains("\nquorate:\n"), "{text}");
    // The sandbox's own health section (its maintenance file) gives way to this one.
    let text: String = text
        .lines()
        .filter(|l| *l != "  health:" && !l.starts_with("    maintenance_file:"))
        .map(|l| format!("{l}\n"))
        .collect();
    let text = text.replacen(
        "\nquorate:\n",
        &format!("\nquorate:\n  health:\n{health}"),
        1,
    );
    let path = w.dir.path().join(name);
    std::fs::write(&path, text).expect("write config");
    path
}

fn health(serve: &ServeProcess) -> (u16, String, Duration) {
    let start = Instant::now();
    let r = serve.get("/health/galera");
    let elapsed = start.elapsed();
    assert_eq!(
        r.header("content-length").map(str::to_string),
        Some(r.body.len().to_string()),
        "Content-Length"
    );
    assert_eq!(r.header("connection"), Some("close"));
    (r.status, r.body, elapsed)
}

fn health_endpoint(w: &World) -> Serves {
    let maintenance = w.dir.path().join("maintenance");
    let strict_cfg = with_health(
        w,
        "strict.yaml",
        &format!(
            "    maintenance_file: {}\n    timeout: 1s\n",
            maintenance.display()
        ),
    );
    let lenient_cfg = with_health(
        w,
        "lenient.yaml",
        "    allow_donor: true\n    allow_read_only: true\n    timeout: 1s\n",
    );
    let maint_config = with_health(
        w,
        "maint.yaml",
        &format!(
            "    maintenance_file: {}\n    timeout: 1s\n",
            w.dir.path().join("maintenance.json").display()
        ),
    );
    let serves = Serves {
        strict: ServeProcess::start(&strict_cfg, &[]),
        lenient: ServeProcess::start(&lenient_cfg, &[]),
        maintenance,
        maint_config,
    };
    let (status, body, _) = health(&serves.strict);
    assert_eq!((status, body.as_str()), (200, "node1: Synced, Primary\n"));
    std::fs::write(&serves.maintenance, "").expect("maintenance file");
    let (status, body, _) = health(&serves.strict);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("maintenance"), "{body}");
    std::fs::remove_file(&serves.maintenance).expect("remove maintenance file");
    assert_eq!(health(&serves.strict).0, 200);
    // The landing page links it.
    assert!(serves.strict.get("/").body.contains("/health/galera"));
    serves
}

/// A real HAProxy, killed by pid and reaped on drop.
struct HaproxyProcess {
    child: Child,
    socket: PathBuf,
}

impl HaproxyProcess {
    /// `srv_op_state` of each server of `backend` (2 = running, 0 = stopped).
    fn server_states(&self, backend: &str) -> Vec<(String, u32)> {
        let mut stream = UnixStream::connect(&self.socket).expect("haproxy stats socket");
        stream
            .write_all(format!("show servers state {backend}\n").as_bytes())
            .expect("write to stats socket");
        let mut text = String::new();
        stream.read_to_string(&mut text).expect("read stats socket");
        // Lines: be_id be_name srv_id srv_name srv_addr srv_op_state ...
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
            .filter_map(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                Some((f.get(3)?.to_string(), f.get(5)?.parse().ok()?))
            })
            .collect()
    }
}

impl Drop for HaproxyProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The HAProxy backend of docs/haproxy.md (its "HAProxy backend" section), as written there.
fn haproxy_example() -> String {
    let page = common::docs::page("haproxy.md");
    let section = &page[page
        .find("## HAProxy backend")
        .expect("docs/haproxy.md section HAProxy backend")..];
    let start = section.find("```haproxy\n").expect("haproxy example") + "```haproxy\n".len();
    section[start..start + section[start..].find("```").expect("end of example")].to_string()
}

/// Found without a cluster, so a page edit that loses the example fails at once (the live
/// test below runs it in a real HAProxy).
#[test]
fn the_haproxy_example_is_in_the_docs() {
    let example = haproxy_example();
    assert!(example.contains("backend galera"), "{example}");
    assert!(example.contains("uri /health/galera"), "{example}");
    assert_eq!(
        example
            .lines()
            .filter(|l| l.trim_start().starts_with("server "))
            .count(),
        3,
        "{example}"
    );
}

/// The HAProxy backend of docs/haproxy.md, verbatim except for the addresses: each sandbox
/// node's MySQL port, and a `quorate serve` per node as its check port.
fn haproxy_follows_the_health_endpoint(w: &World, serves: &Serves) -> Balancer {
    let example = haproxy_example();

    let node2 = ServeProcess::start(&serves.maint_config, &["--node", "node2"]);
    let node3 = ServeProcess::start(&serves.maint_config, &["--node", "node3"]);
    let check_ports = [
        ("server1", "node1", serves.strict.addr.port()),
        ("server2", "node2", node2.addr.port()),
        ("server3", "node3", node3.addr.port()),
    ];
    let mut backend = String::new();
    for line in example.lines() {
        let mut line = line.to_string();
        for (server, node, check_port) in check_ports {
            if line.trim_start().starts_with(&format!("server {server} ")) {
                let mysql = w.sb.mysql_port(node).expect("port");
                let addr = line
                    .split_whitespace()
                    .nth(2)
                    .expect("server address")
                    .to_string();
                line = line
                    .replace(&format!("server {server} "), &format!("server {node} "))
                    .replace(&addr, &format!("127.0.0.1:{mysql}"))
                    + &format!(" port {check_port}");
            }
        }
        backend.push_str(&line);
        backend.push('\n');
    }
    let hdir = w.dir.path().join("haproxy");
    std::fs::create_dir_all(&hdir).expect("haproxy dir");
    let socket = hdir.join("stats.sock");
    let cfg = hdir.join("haproxy.cfg");
    std::fs::write(
        &cfg,
        format!(
            "global\n    stats socket {} mode 600 level admin\n\ndefaults\n    timeout connect 2s\n    timeout client 10s\n    timeout server 10s\n\n{backend}",
            socket.display()
        ),
    )
    .expect("haproxy.cfg");
    let check = Command::new("haproxy")
        .arg("-c")
        .arg("-f")
        .arg(&cfg)
        .output()
        .unwrap_or_else(|e| panic!("cannot run haproxy ({e}): install the Debian package haproxy (scripts/install-deps)"));
    assert!(
        check.status.success(),
        "haproxy -c rejected the docs/haproxy.md example:\n{backend}\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let haproxy = HaproxyProcess {
        child: Command::new("haproxy")
            .arg("-db")
            .arg("-f")
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting haproxy"),
        socket,
    };
    w.wait_for(
        "HAProxy to see the stats socket",
        Duration::from_secs(10),
        || UnixStream::connect(&haproxy.socket).is_ok(),
    );
    let all_up =
        |states: &[(String, u32)]| states.len() == 3 && states.iter().all(|(_, s)| *s == 2);
    w.wait_for("HAProxy: every node up", Duration::from_secs(30), || {
        all_up(&haproxy.server_states("galera"))
    });
    // Drain node1 with the maintenance file: HAProxy takes it out.
    std::fs::write(&serves.maintenance, "").expect("maintenance file");
    w.wait_for("HAProxy: node1 down", Duration::from_secs(30), || {
        haproxy
            .server_states("galera")
            .iter()
            .any(|(n, s)| n == "node1" && *s == 0)
    });
    let states = haproxy.server_states("galera");
    assert!(
        states
            .iter()
            .filter(|(n, _)| n != "node1")
            .all(|(_, s)| *s == 2),
        "{states:?}"
    );
    std::fs::remove_file(&serves.maintenance).expect("remove maintenance file");
    w.wait_for("HAProxy: node1 back", Duration::from_secs(30), || {
        all_up(&haproxy.server_states("galera"))
    });
    Balancer {
        haproxy,
        node2,
        _node3: node3,
    }
}

/// The HAProxy of the docs' example and the `quorate serve` of node2 and node3 behind it.
struct Balancer {
    haproxy: HaproxyProcess,
    node2: ServeProcess,
    _node3: ServeProcess,
}

impl Balancer {
    fn state_of(&self, node: &str) -> Option<u32> {
        self.haproxy
            .server_states("galera")
            .into_iter()
            .find(|(n, _)| n == node)
            .map(|(_, s)| s)
    }
}

/// `quorate maintenance` against the real cluster and HAProxy: `on --desync` on node2 drains it
/// and desyncs it, the checks and metrics say so, `off` undoes exactly that; a maintenance that
/// expires ends by itself, and an expired desync is reported until `off`.
fn planned_maintenance_drains_and_ends(w: &World, serves: &Serves, lb: &Balancer) {
    let config = serves.maint_config.to_str().expect("utf-8 path");
    // The monitoring account may not SET GLOBAL: an account that may, read from a defaults
    // file (never a password on the command line).
    w.sql(
        "node1",
        "CREATE USER 'maint'@'127.0.0.1' IDENTIFIED BY 'maint-pw-1'; \
         GRANT SUPER ON *.* TO 'maint'@'127.0.0.1'",
    );
    let defaults = w.dir.path().join("maint.cnf");
    write_secret(&defaults, "[client]\nuser=maint\npassword=maint-pw-1\n");
    let defaults = defaults.to_str().expect("utf-8 path");
    let desync = |node: &str| {
        w.sql(node, "SHOW GLOBAL VARIABLES LIKE 'wsrep_desync'")
            .first()
            .and_then(|r| r.get(1).cloned())
            .unwrap_or_default()
    };
    let maintenance = |args: &[&str]| {
        let mut all = vec!["maintenance"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["--config", config]);
        let r = run_quorate(&all, &[]);
        assert_eq!(r.code, 0, "quorate {all:?}:\n{}{}", r.stdout, r.stderr);
        r.stdout
    };
    let metric = |name: &str| {
        lb.node2
            .get("/metrics")
            .body
            .lines()
            .find(|l| l.starts_with(&format!("{name}{{node=\"node2\"}} ")))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok())
    };
    let check = |what: &str, args: &[&str]| {
        let mut all = vec!["check", what, "--config", config];
        all.extend_from_slice(args);
        let r = run_quorate(&all, &w.state_env());
        validate_plugin_output(&r.stdout, r.code)
            .unwrap_or_else(|e| panic!("check {what} {args:?}: {e}\n{}", r.stdout));
        r
    };
    let started = Instant::now();

    let out = maintenance(&[
        "on",
        "--node",
        "node2",
        "--for",
        "1h",
        "--reason",
        "live test",
        "--desync",
        "--defaults-file",
        defaults,
    ]);
    assert!(out.contains("set wsrep_desync=ON"), "{out}");
    assert_eq!(desync("node2"), "ON");
    let (status, body, _) = health(&lb.node2);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("maintenance: live test"), "{body}");
    w.wait_for("HAProxy: node2 drained", Duration::from_secs(30), || {
        lb.state_of("node2") == Some(0)
    });
    assert_eq!(lb.state_of("node1"), Some(2));
    assert_eq!(metric("quorate_maintenance"), Some(1.0));
    assert_eq!(metric("quorate_maintenance_desync"), Some(1.0));
    assert!(metric("quorate_maintenance_expiry_timestamp_seconds").is_some());
    // The checks: OK with the reason, node2 left out of the expected size.
    let r = check("galera", &["--node", "node2"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.first_line()
            .starts_with("GALERA OK - node2: maintenance: live test"),
        "{}",
        r.stdout
    );
    let r = check("cluster", &[]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.first_line().contains("in maintenance: node2"),
        "{}",
        r.stdout
    );
    let r = check("cluster", &["--maintenance", "warning"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    let plan = run_quorate(
        &["recover", "plan", "--config", config, "--node", "node2"],
        &[],
    );
    assert!(
        plan.stdout.contains("maintenance: live test"),
        "{}{}",
        plan.stdout,
        plan.stderr
    );

    // off undoes exactly that: wsrep_desync OFF, the record gone, node2 back in the pool.
    let out = maintenance(&["off", "--node", "node2", "--defaults-file", defaults]);
    assert!(out.contains("set wsrep_desync=OFF"), "{out}");
    assert_eq!(desync("node2"), "OFF");
    w.wait_for("health 200 after off", Duration::from_secs(30), || {
        health(&lb.node2).0 == 200
    });
    w.wait_for("HAProxy: node2 back", Duration::from_secs(30), || {
        lb.state_of("node2") == Some(2)
    });
    assert_eq!(metric("quorate_maintenance"), Some(0.0));
    assert!(!w.dir.path().join("maintenance.json").exists());

    // A desync that was already ON is left alone by on and off.
    w.sql("node3", "SET GLOBAL wsrep_desync=ON");
    let out = maintenance(&[
        "on",
        "--node",
        "node3",
        "--for",
        "1h",
        "--desync",
        "--defaults-file",
        defaults,
    ]);
    assert!(out.contains("already ON, not set by quorate"), "{out}");
    maintenance(&["off", "--node", "node3", "--defaults-file", defaults]);
    assert_eq!(desync("node3"), "ON");
    w.sql("node3", "SET GLOBAL wsrep_desync=OFF");

    // A maintenance that expires ends by itself; an expired desync is reported until off.
    maintenance(&[
        "on",
        "--node",
        "node2",
        "--for",
        "3s",
        "--reason",
        "short",
        "--desync",
        "--defaults-file",
        defaults,
    ]);
    assert!(health(&lb.node2).1.contains("maintenance: short"));
    w.wait_for("the maintenance to expire", Duration::from_secs(20), || {
        metric("quorate_maintenance") == Some(0.0)
    });
    let out = maintenance(&["status", "--node", "node2"]);
    assert!(out.contains("maintenance expired"), "{out}");
    assert!(out.contains("run quorate maintenance off"), "{out}");
    assert_eq!(
        desync("node2"),
        "ON",
        "expiry changes nothing on the server"
    );
    let r = check("galera", &["--node", "node2"]);
    assert_eq!(r.code, 1, "{}", r.stdout);
    assert!(r.stdout.contains("maintenance off"), "{}", r.stdout);
    maintenance(&["off", "--node", "node2", "--defaults-file", defaults]);
    assert_eq!(desync("node2"), "OFF");
    maintenance(&["on", "--node", "node2", "--for", "2s"]);
    assert_eq!(health(&lb.node2).0, 503);
    w.wait_for("health 200 at the expiry", Duration::from_secs(20), || {
        health(&lb.node2).0 == 200
    });
    w.wait_for(
        "HAProxy: node2 back after the expiry",
        Duration::from_secs(30),
        || lb.state_of("node2") == Some(2),
    );
    maintenance(&["off", "--node", "node2"]);
    eprintln!("planned maintenance: {:?}", started.elapsed());
}

fn donor_follows_policy(w: &World, serves: &Serves) {
    w.sql("node1", "SET GLOBAL wsrep_desync=ON");
    w.sb.wait_state("node1", 2, Duration::from_secs(30))
        .expect("node1 Donor/Desynced");
    w.expect(
        "galera",
        &[],
        1,
        "GALERA WARNING - node1: Donor/Desynced: desynced on purpose (wsrep_desync=ON)",
    );
    w.expect(
        "galera",
        &["--donor", "critical"],
        2,
        "GALERA CRITICAL - node1: Donor/Desynced",
    );
    w.expect(
        "galera",
        &["--donor", "ok"],
        0,
        "GALERA OK - node1: Donor/Desynced",
    );
    w.expect(
        "galera",
        &["--allow-desync"],
        0,
        "GALERA OK - node1: Donor/Desynced, Primary",
    );
    w.expect(
        "cluster",
        &[],
        1,
        "GALERA CLUSTER WARNING - node1: Donor/Desynced: desynced on purpose (wsrep_desync=ON)",
    );
    w.expect(
        "cluster",
        &["--allow-desync"],
        0,
        "GALERA CLUSTER OK - 2/3 nodes Synced",
    );
    let (status, body, _) = health(&serves.strict);
    assert_eq!(status, 503, "{body}");
    assert!(
        body.contains("Donor/Desynced (donors not allowed)"),
        "{body}"
    );
    let (status, body, _) = health(&serves.lenient);
    assert_eq!(status, 200, "{body}");
    // Zabbix sees the node's state as a number and the verdict as WARNING.
    let r = w.check("galera", &["--format", "zabbix"]);
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(
        (
            json["local_state"].as_i64(),
            json["status"].as_i64(),
            json["desync"].as_i64()
        ),
        (Some(2), Some(1), Some(1))
    );
    w.sql("node1", "SET GLOBAL wsrep_desync=OFF");
    w.sb.wait_state("node1", 4, Duration::from_secs(30))
        .expect("node1 Synced again");
    w.expect("galera", &[], 0, "GALERA OK - node1: Synced");
}

fn read_only_node(w: &World, serves: &Serves) {
    // Setting read_only takes a global read lock, which in Galera briefly desyncs the node
    // (seen: `Joined` in /health/galera right after the SET): wait until the node is Synced
    // again and only read_only is left to judge.
    w.sql("node1", "SET GLOBAL read_only=ON");
    w.wait_for(
        "node1 Synced with read_only ON",
        Duration::from_secs(30),
        || {
            w.check("galera", &["--read-only", "warning"])
                .first_line()
                .starts_with("GALERA WARNING - node1: read_only ON |")
        },
    );
    let (status, body, _) = health(&serves.strict);
    assert_eq!((status, body.as_str()), (503, "node1: read_only is ON\n"));
    assert_eq!(health(&serves.lenient).0, 200);
    w.expect("galera", &[], 0, "GALERA OK - node1: Synced");
    w.sql("node1", "SET GLOBAL read_only=OFF");
    w.wait_for(
        "node1 healthy with read_only OFF",
        Duration::from_secs(30),
        || health(&serves.strict).0 == 200,
    );
}

fn frozen_node(w: &World, serves: &Serves) {
    w.sb.freeze_node("node1").expect("freeze node1");
    // A hung mysqld: the health check answers 503 within its 1 s timeout (bound generous for a
    // loaded CI machine: the point is that it answers at all), and the plugin honours -t.
    let (status, body, elapsed) = health(&serves.strict);
    let r_crit = w.check("galera", &["-t", "1"]);
    let r_unknown = w.check("galera", &["-t", "1:UNKNOWN"]);
    w.sb.thaw_node("node1").expect("thaw node1");
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("no answer within"), "{body}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(r_crit.code, 2, "{r_crit:?}");
    assert!(
        r_crit.stdout.contains("no answer within"),
        "{}",
        r_crit.stdout
    );
    assert!(
        r_crit.elapsed < Duration::from_secs(3),
        "{:?}",
        r_crit.elapsed
    );
    assert_eq!(r_unknown.code, 3, "{r_unknown:?}");
    w.sb.wait_state("node1", 4, Duration::from_secs(60))
        .expect("node1 Synced after thaw");
    w.wait_for("node1 healthy after thaw", Duration::from_secs(30), || {
        health(&serves.strict).0 == 200
    });
}

fn stopped_node_is_critical(w: &mut World) {
    w.sb.stop_node("node3").expect("stop node3");
    let r = w.expect(
        "galera",
        &["--node", "node3"],
        2,
        "GALERA CRITICAL - node3: ",
    );
    assert!(r.stdout.contains("Connection refused"), "{}", r.stdout);
    // The cluster still serves with two of three: degraded, WARNING.
    let r = w.expect("cluster", &[], 1, "GALERA CLUSTER WARNING - ");
    assert!(r.first_line().contains("node3: "), "{}", r.stdout);
    assert!(
        r.first_line().contains("Primary component size 2"),
        "{}",
        r.stdout
    );
    assert!(r.first_line().contains("nodes_up=2;;;0;3"), "{}", r.stdout);
    w.expect(
        "galera",
        &["--node", "node1"],
        1,
        "GALERA WARNING - node1: cluster size 2",
    );
    w.expect(
        "cluster",
        &["--degraded", "critical"],
        2,
        "GALERA CLUSTER CRITICAL - ",
    );
}

fn survivor_of_two_lost_nodes_is_non_primary(w: &mut World, serves: &Serves) {
    // node3 is already stopped; killing node2 leaves node1 alone with half the last view.
    w.sb.crash_node("node2").expect("crash node2");
    w.wait_for("node1 non-Primary", Duration::from_secs(60), || {
        w.status_value("node1", "wsrep_cluster_status") == "non-Primary"
    });
    let r = w.expect(
        "galera",
        &[],
        2,
        "GALERA CRITICAL - node1: non-Primary (not in the Primary component)",
    );
    assert!(r.first_line().contains("primary=0;;;0;1"), "{}", r.stdout);
    let r = w.expect(
        "cluster",
        &[],
        2,
        "GALERA CLUSTER CRITICAL - no Primary component among the 1 reachable nodes",
    );
    assert!(
        r.first_line().contains("primary_components=0"),
        "{}",
        r.stdout
    );
    let (status, body, _) = health(&serves.strict);
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("non-Primary"), "{body}");
    let json: serde_json::Value =
        serde_json::from_str(&zabbix_item(w, "quorate.cluster")).expect("JSON");
    assert_eq!(
        (json["status"].as_i64(), json["primary_components"].as_i64()),
        (Some(2), Some(0))
    );
}
