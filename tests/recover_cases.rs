//! `quorate recover` against real Galera sandboxes: the seven cases of the runbook and the
//! stale-node trap. Each test runs a writer that inserts rows through every reachable node
//! and records each acknowledged commit; after quorate's plan and actions the cluster must be
//! one Primary with every node Synced and every acknowledged row on every node.
//!
//! Topology as in production: one `quorate serve --node NAME` per node (its /galera/state),
//! and every `quorate recover` command run as the real binary "on" a node (`--node`).

mod common;

use std::collections::BTreeSet;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::ServeProcess;
use mysql_async::prelude::Queryable;
use quorate::sandbox::{self, SandboxGuard, UpOptions};
use serde_json::Value;

const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");

/// A sandbox plus one `quorate serve` per node.
struct Cluster {
    sb: SandboxGuard,
    serves: Vec<Option<ServeProcess>>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    fn up(nodes: usize) -> Cluster {
        Cluster::build(nodes, sandbox::up)
    }

    /// Every node in a network namespace of its own: the network between them can be cut.
    fn up_netns(nodes: usize) -> Cluster {
        Cluster::build(nodes, sandbox::up_netns)
    }

    fn build(
        nodes: usize,
        up: fn(&UpOptions) -> Result<sandbox::Sandbox, sandbox::SandboxError>,
    ) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let sb = SandboxGuard::new(
            up(&UpOptions {
                dir: dir.path().join("sb"),
                nodes,
            })
            .expect("sandbox up"),
        );
        sb.write_config(std::path::Path::new(QUORATE))
            .expect("config");
        let mut c = Cluster {
            sb,
            serves: Vec::new(),
            _dir: dir,
        };
        for n in c.sb.node_names() {
            c.serves.push(Some(c.serve(&n)));
        }
        c.sql(
            "node1",
            "CREATE DATABASE qt; CREATE TABLE qt.acked (id BIGINT PRIMARY KEY, node VARCHAR(8))",
        );
        c
    }

    fn serve(&self, node: &str) -> ServeProcess {
        let addr = self.sb.serve_address(node).expect("serve address");
        ServeProcess::start_at(
            &self.sb.config_path(),
            addr.parse().expect("addr"),
            &["--node", node],
        )
    }

    fn index(node: &str) -> usize {
        node.trim_start_matches("node")
            .parse::<usize>()
            .expect("nodeN")
            - 1
    }

    /// The host of `node` "goes down": its quorate serve stops answering.
    fn kill_serve(&mut self, node: &str) {
        self.serves[Self::index(node)] = None;
    }

    fn restart_serve(&mut self, node: &str) {
        self.serves[Self::index(node)] = Some(self.serve(node));
    }

    fn sql(&self, node: &str, sql: &str) -> Vec<Vec<String>> {
        self.sb
            .sql(node, sql)
            .unwrap_or_else(|e| panic!("SQL on {node}: {e}"))
    }

    /// Runs `quorate recover ARGS --config C` and returns (exit code, stdout).
    fn recover(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(QUORATE)
            .arg("recover")
            .args(args)
            .arg("--config")
            .arg(self.sb.config_path())
            .env("QUORATE_LOG", "warn")
            .output()
            .expect("run quorate recover");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!(
            "$ quorate recover {}\n{stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code().unwrap_or(-1), stdout)
    }

    /// Runs `quorate sandbox VERB --dir DIR ARGS` and returns its stdout (it must succeed).
    fn sandbox_cli(&self, args: &[&str]) -> String {
        let out = Command::new(QUORATE)
            .arg("sandbox")
            .arg(args[0])
            .arg("--dir")
            .arg(self.sb.dir())
            .args(&args[1..])
            .env("QUORATE_LOG", "warn")
            .output()
            .expect("run quorate sandbox");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "quorate sandbox {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// `recover plan --format json` on `node`.
    fn plan(&self, node: &str, lost: &[&str]) -> (i32, Value) {
        let mut args = vec!["plan", "--node", node, "--format", "json"];
        if !lost.is_empty() {
            args.push("--assume-lost");
            args.extend_from_slice(lost);
        }
        let (code, out) = self.recover(&args);
        (
            code,
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("plan JSON: {e}: {out}")),
        )
    }

    /// Runs an action on `node` and asserts it succeeded.
    fn act(&self, node: &str, action: &str, extra: &[&str]) -> String {
        let mut args = vec![action, "--node", node, "--execute"];
        args.extend_from_slice(extra);
        let (code, out) = self.recover(&args);
        assert_eq!(code, 0, "recover {action} on {node} failed:\n{out}");
        out
    }

    fn wait_status(&self, node: &str, want: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let rows = self
                .sb
                .sql_with_timeout(
                    node,
                    "SHOW STATUS LIKE 'wsrep_cluster_status'",
                    Duration::from_secs(3),
                )
                .unwrap_or_default();
            if rows.first().and_then(|r| r.get(1)).map(String::as_str) == Some(want) {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{node} never became {want}: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Every node Synced in one Primary of all nodes, and every acknowledged row everywhere.
    fn assert_recovered(&self, writer: Writer) {
        let acked = writer.stop();
        assert!(
            acked.len() > 10,
            "the writer got only {} commits acknowledged",
            acked.len()
        );
        let names = self.sb.node_names();
        // Converged: every node Synced in a Primary component of all nodes. Polled, because a
        // node that was frozen or partitioned still reports its old Synced/Primary view for a
        // moment after it resumes, before it notices and merges back.
        let want_size = names.len().to_string();
        let start = Instant::now();
        loop {
            let views: Vec<(String, Vec<Vec<String>>)> = names
                .iter()
                .map(|n| {
                    let rows = self.sb.sql(
                        n,
                        "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_status','wsrep_cluster_size','wsrep_local_state')",
                    );
                    (n.clone(), rows.unwrap_or_default())
                })
                .collect();
            let converged = views.iter().all(|(_, rows)| {
                let get = |k: &str| rows.iter().find(|r| r[0] == k).map(|r| r[1].as_str());
                get("wsrep_cluster_status") == Some("Primary")
                    && get("wsrep_cluster_size") == Some(want_size.as_str())
                    && get("wsrep_local_state") == Some("4")
            });
            if converged {
                break;
            }
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "the cluster never converged to one Primary of {want_size} Synced nodes: {views:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
        let mut counts = BTreeSet::new();
        for n in &names {
            let rows = self.sql(n, "SET SESSION wsrep_sync_wait=1; SELECT id FROM qt.acked");
            let ids: BTreeSet<u64> = rows.iter().filter_map(|r| r[0].parse().ok()).collect();
            let missing: Vec<&u64> = acked.iter().filter(|id| !ids.contains(id)).collect();
            assert!(
                missing.is_empty(),
                "{n} lost {} acknowledged rows: {:?}",
                missing.len(),
                &missing[..missing.len().min(10)]
            );
            counts.insert(ids.len());
        }
        assert_eq!(counts.len(), 1, "nodes differ in row count: {counts:?}");
        // Nothing was deleted: the audit log holds a line per action.
        let audit =
            std::fs::read_to_string(self.sb.dir().join("recover-audit.log")).unwrap_or_default();
        assert!(
            audit.lines().all(|l| l.contains("\"result\":\"ok\"")),
            "{audit}"
        );
    }

    /// Starts a writer through every node (socket, root).
    fn writer(&self) -> Writer {
        let sockets: Vec<(String, std::path::PathBuf)> = self
            .sb
            .node_names()
            .into_iter()
            .map(|n| {
                let s = self.sb.socket(&n).expect("socket");
                (n, s)
            })
            .collect();
        Writer::start(sockets)
    }
}

/// Inserts rows through every node; records the ids whose commit was acknowledged.
struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<u64>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    fn start(nodes: Vec<(String, std::path::PathBuf)>) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (s, a) = (Arc::clone(&stop), Arc::clone(&acked));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let tasks = nodes.into_iter().enumerate().map(|(i, (name, socket))| {
                    let (s, a) = (Arc::clone(&s), Arc::clone(&a));
                    async move { write_loop(i as u64, &name, &socket, &s, &a).await }
                });
                futures::future::join_all(tasks).await;
            });
        });
        let w = Writer {
            stop,
            acked,
            thread: Some(thread),
        };
        // Let some commits land before the fault.
        let start = Instant::now();
        while w.count() < 20 && start.elapsed() < Duration::from_secs(20) {
            std::thread::sleep(Duration::from_millis(50));
        }
        w
    }

    fn count(&self) -> usize {
        self.acked.lock().map(|a| a.len()).unwrap_or(0)
    }

    fn stop(mut self) -> Vec<u64> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.acked.lock().map(|a| a.clone()).unwrap_or_default()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn write_loop(
    index: u64,
    node: &str,
    socket: &std::path::Path,
    stop: &AtomicBool,
    acked: &Mutex<Vec<u64>>,
) {
    let opts = mysql_async::OptsBuilder::default()
        .user(Some("root"))
        .socket(Some(socket.to_string_lossy().into_owned()));
    let mut next = index * 1_000_000_000;
    let mut conn: Option<mysql_async::Conn> = None;
    while !stop.load(Ordering::SeqCst) {
        if conn.is_none() {
            conn =
                tokio::time::timeout(Duration::from_secs(2), mysql_async::Conn::new(opts.clone()))
                    .await
                    .ok()
                    .and_then(Result::ok);
            if conn.is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        next += 1;
        let id = next;
        let insert = c.exec_drop("INSERT INTO qt.acked (id, node) VALUES (?, ?)", (id, node));
        match tokio::time::timeout(Duration::from_secs(3), insert).await {
            // Acknowledged: the commit returned OK to the client.
            Ok(Ok(())) => {
                if let Ok(mut a) = acked.lock() {
                    a.push(id);
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            // Refused (non-Primary) or unknown outcome (timeout, dropped connection): not
            // acknowledged, so not counted; reconnect.
            _ => {
                conn = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

fn verdict(plan: &Value) -> (&str, Option<&str>) {
    (
        plan["verdict"]["kind"].as_str().unwrap_or("?"),
        plan["verdict"]["node"].as_str(),
    )
}

fn rejoin_all_stopped(c: &Cluster, plan: &Value) {
    let steps = plan["steps"].as_array().expect("steps");
    for s in steps {
        if s["action"] == "rejoin" {
            let node = s["node"].as_str().expect("node");
            let out = c.act(node, "rejoin", &[]);
            assert!(out.contains("is Synced; it caught up by"), "{out}");
        }
    }
}

#[test]
fn cases_1_2_4_stopped_or_crashed_nodes_join_the_running_primary() {
    let mut c = Cluster::up(3);
    let w = c.writer();

    // Case 1: one node stopped cleanly.
    c.sb.stop_node("node3").expect("stop");
    let (code, p) = c.plan("node1", &[]);
    assert_eq!((code, p["case"].as_u64()), (0, Some(1)), "{p}");
    assert_eq!(verdict(&p).0, "join");
    // Bootstrap is refused while a Primary runs.
    let (code, out) = c.recover(&["bootstrap", "--node", "node3", "--execute"]);
    assert_eq!(code, 4, "{out}");
    let out = c.act("node3", "rejoin", &[]);
    assert!(
        out.contains("IST"),
        "a cleanly stopped node catches up by IST: {out}"
    );

    // Case 2: two of three stopped cleanly; the survivor stays Primary alone.
    c.sb.stop_node("node2").expect("stop");
    c.sb.stop_node("node3").expect("stop");
    c.wait_status("node1", "Primary", Duration::from_secs(30));
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(p["case"].as_u64(), Some(2), "{p}");
    rejoin_all_stopped(&c, &p);

    // Case 4: one node crashed; rejoin recovers its position first, so IST, not SST.
    c.sb.crash_node("node2").expect("crash");
    std::thread::sleep(Duration::from_secs(1));
    let (_, p) = c.plan("node2", &[]);
    assert_eq!(p["case"].as_u64(), Some(4), "{p}");
    let out = c.act("node2", "rejoin", &[]);
    assert!(out.contains("recovered its position"), "{out}");
    assert!(out.contains("IST"), "{out}");

    c.assert_recovered(w);
}

#[test]
fn case_3_all_stopped_cleanly_and_only_one_concurrent_bootstrap_proceeds() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    for n in ["node3", "node2", "node1"] {
        c.sb.stop_node(n).expect("stop");
    }
    let (code, p) = c.plan("node2", &[]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(p["case"].as_u64(), Some(3));
    assert_eq!(verdict(&p), ("bootstrap", Some("node1")), "{p}");
    let digest = p["digest"].as_str().expect("digest").to_string();

    // Two operators run bootstrap at once on node1 and node2, a third on node1 again.
    let run = |node: &'static str| {
        let cfg = c.sb.config_path();
        let digest = digest.clone();
        std::thread::spawn(move || {
            let out = Command::new(QUORATE)
                .args([
                    "recover",
                    "bootstrap",
                    "--node",
                    node,
                    "--plan",
                    &digest,
                    "--execute",
                    "--config",
                ])
                .arg(cfg)
                .output()
                .expect("run");
            (
                node,
                out.status.code(),
                String::from_utf8_lossy(&out.stdout).into_owned(),
            )
        })
    };
    let handles = [run("node1"), run("node2"), run("node1")];
    let results: Vec<_> = handles
        .into_iter()
        .map(|h| h.join().expect("thread"))
        .collect();
    let ok: Vec<_> = results.iter().filter(|r| r.1 == Some(0)).collect();
    assert_eq!(ok.len(), 1, "exactly one bootstrap proceeds: {results:#?}");
    assert_eq!(ok[0].0, "node1");
    assert!(
        results
            .iter()
            .filter(|r| r.1 != Some(0))
            .all(|r| r.1 == Some(4)),
        "{results:#?}"
    );

    let (_, p) = c.plan("node1", &[]);
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w);
}

#[test]
fn case_6_all_crashed_recovers_positions_and_bootstraps_the_most_advanced() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    for n in ["node1", "node2", "node3"] {
        c.sb.crash_node(n).expect("crash");
    }
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(p["case"].as_u64(), Some(6), "{p}");
    assert_eq!(verdict(&p).0, "recover_positions", "{p}");
    // Bootstrapping before the positions are known is refused.
    let (code, _) = c.recover(&["bootstrap", "--node", "node1", "--execute"]);
    assert_eq!(code, 4);
    c.act("node1", "position", &[]);
    let (_, p) = c.plan("node1", &[]);
    let (kind, chosen) = verdict(&p);
    assert_eq!(kind, "bootstrap", "{p}");
    let chosen = chosen.expect("node").to_string();
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act(&chosen, "bootstrap", &["--plan", &digest]);
    let (_, p) = c.plan(&chosen, &[]);
    assert_eq!(verdict(&p).0, "join", "{p}");
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w);
}

#[test]
fn trap_stale_node_back_first_is_refused_until_the_others_answer() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    // node3 leaves first (cleanly); writes go on through node1 and node2.
    c.sb.stop_node("node3").expect("stop");
    std::thread::sleep(Duration::from_secs(2));
    // Then node1 and node2 crash together, their hosts down (no quorate serve either).
    c.sb.crash_node("node1").expect("crash");
    c.sb.crash_node("node2").expect("crash");
    c.kill_serve("node1");
    c.kill_serve("node2");
    // The stale node3 is the only one answering: no bootstrap, it names whom to wait for.
    let (code, p) = c.plan("node3", &[]);
    assert_eq!(code, 4, "{p}");
    assert_eq!(p["wait_for"], serde_json::json!(["node1", "node2"]), "{p}");
    let (code, out) = c.recover(&["bootstrap", "--node", "node3", "--execute"]);
    assert_eq!(code, 4, "{out}");
    assert!(c.sb.pid("node3").is_none(), "nothing was started");
    // The hosts come back: positions are recovered and the newest node is chosen.
    c.restart_serve("node1");
    c.restart_serve("node2");
    c.act("node3", "position", &[]);
    let (_, p) = c.plan("node3", &[]);
    let (kind, chosen) = verdict(&p);
    assert_eq!(kind, "bootstrap", "{p}");
    let chosen = chosen.expect("node").to_string();
    assert_ne!(chosen, "node3", "{p}");
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act(&chosen, "bootstrap", &["--plan", &digest]);
    let (_, p) = c.plan(&chosen, &[]);
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w);
}

#[test]
fn case_5_survivor_is_promoted_after_the_crashed_positions_are_known() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    c.sb.crash_node("node2").expect("crash");
    c.sb.crash_node("node3").expect("crash");
    c.wait_status("node1", "non-Primary", Duration::from_secs(60));
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(p["case"].as_u64(), Some(5), "{p}");
    assert_eq!(verdict(&p).0, "recover_positions", "{p}");
    c.act("node1", "position", &[]);
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(verdict(&p), ("promote", Some("node1")), "{p}");
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act("node1", "promote", &["--plan", &digest]);
    let (_, p) = c.plan("node1", &[]);
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w);
}

#[test]
fn case_7_even_split_promotes_one_half_only() {
    let mut c = Cluster::up_netns(4);
    let w = c.writer();
    // A real 2+2 partition of the replication network, made as an operator rehearsing would
    // (`quorate sandbox partition`): both halves stay live and each sees only itself, so both
    // are non-Primary.
    let out = c.sandbox_cli(&["partition", "node1,node2", "node3,node4"]);
    assert!(out.contains("node3    10.77.0.3    segment qbr2"), "{out}");
    let segments =
        c.sb.network()
            .expect("netns sandbox")
            .segments()
            .expect("segments");
    assert_eq!(segments[0], ("node1".to_string(), "qbr1".to_string()));
    assert_eq!(segments[3], ("node4".to_string(), "qbr2".to_string()));
    for n in ["node1", "node2", "node3", "node4"] {
        c.wait_status(n, "non-Primary", Duration::from_secs(60));
    }

    // Every node's quorate serve still answers: both sides see the same four non-Primary
    // nodes, and both plans name the same node, so only one half can be promoted.
    let (code, p) = c.plan("node1", &[]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(p["case"].as_u64(), Some(7), "{p}");
    assert_eq!(verdict(&p), ("promote", Some("node1")), "{p}");
    assert_eq!(p["risks"], serde_json::json!([]), "{p}");
    let (code, other_side) = c.plan("node3", &[]);
    assert_eq!(code, 0, "{other_side}");
    assert_eq!(
        verdict(&other_side),
        ("promote", Some("node1")),
        "{other_side}"
    );
    let (code, out) = c.recover(&["promote", "--node", "node3", "--execute"]);
    assert_eq!(code, 4, "the other half must not promote itself:\n{out}");

    // When the other half's hosts cannot be reached either, node1's side cannot prove it is the
    // only one: refused until the operator names them, and the plan then says what it risks.
    c.kill_serve("node3");
    c.kill_serve("node4");
    let (code, p) = c.plan("node1", &[]);
    assert_eq!(code, 4, "{p}");
    assert_eq!(p["wait_for"], serde_json::json!(["node3", "node4"]), "{p}");
    let (code, out) = c.recover(&["promote", "--node", "node1", "--execute"]);
    assert_eq!(
        code, 4,
        "promote refused while the other half is unknown:\n{out}"
    );
    let (code, p) = c.plan("node1", &["node3", "node4"]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(verdict(&p), ("promote", Some("node1")), "{p}");
    assert!(p["risks"].to_string().contains("split brain"), "{p}");
    c.restart_serve("node3");
    c.restart_serve("node4");

    // Act on the plan that saw every node.
    let (_, p) = c.plan("node1", &[]);
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act("node1", "promote", &["--plan", &digest]);
    c.wait_status("node1", "Primary", Duration::from_secs(30));
    c.wait_status("node2", "Primary", Duration::from_secs(30));
    // The other half is still cut off and stays non-Primary: one cluster, not two.
    for n in ["node3", "node4"] {
        let rows = c.sql(n, "SHOW STATUS LIKE 'wsrep_cluster_status'");
        assert_eq!(rows[0][1], "non-Primary", "{n}: {rows:?}");
    }
    // The network heals and the other half merges into the promoted component.
    let out = c.sandbox_cli(&["heal"]);
    assert_eq!(out.matches("segment qbr0").count(), 4, "{out}");
    c.assert_recovered(w);
}

/// Replaces the `uuid:` line of `node`'s grastate.dat (the node is stopped) and returns the
/// UUID it held before.
fn rewrite_grastate_uuid(c: &Cluster, node: &str, uuid: &str) -> String {
    let path = c.sb.datadir(node).expect("datadir").join("grastate.dat");
    let text = std::fs::read_to_string(&path).expect("read grastate.dat");
    let mut old = String::new();
    let rewritten: String = text
        .lines()
        .map(|l| match l.strip_prefix("uuid:") {
            Some(u) => {
                old = u.trim().to_string();
                format!("uuid:    {uuid}\n")
            }
            None => format!("{l}\n"),
        })
        .collect();
    assert!(
        !old.is_empty(),
        "no uuid line in {}: {text}",
        path.display()
    );
    std::fs::write(&path, rewritten).expect("write grastate.dat");
    old
}

#[test]
fn refuse_conflicting_cluster_uuids_starts_nothing() {
    let mut c = Cluster::up(3);
    for n in ["node3", "node2", "node1"] {
        c.sb.stop_node(n).expect("stop");
    }
    // node3's grastate.dat is edited to stand for a node that was bootstrapped elsewhere (a
    // real second history would need a second cluster): same shape, another cluster UUID.
    let other = "5f0c2a9e-7d41-11f1-8b3a-2e6f4c1d9a07";
    let real = rewrite_grastate_uuid(&c, "node3", other);
    assert_ne!(real, other);

    let (code, p) = c.plan("node1", &[]);
    assert_eq!(code, 4, "{p}");
    assert_eq!(verdict(&p).0, "refuse", "{p}");
    let reasons = p["reasons"].to_string();
    assert!(reasons.contains("cluster UUIDs disagree"), "{p}");
    assert!(reasons.contains(other) && reasons.contains(&real), "{p}");

    let grastates: Vec<String> = ["node1", "node2", "node3"]
        .iter()
        .map(|n| {
            std::fs::read_to_string(c.sb.datadir(n).expect("datadir").join("grastate.dat"))
                .expect("read grastate.dat")
        })
        .collect();
    for n in ["node1", "node2", "node3"] {
        let (code, out) = c.recover(&["bootstrap", "--node", n, "--execute"]);
        assert_eq!(code, 4, "bootstrap on {n} must be refused:\n{out}");
    }
    for (i, n) in ["node1", "node2", "node3"].iter().enumerate() {
        assert!(c.sb.pid(n).is_none(), "{n} was started");
        let now = std::fs::read_to_string(c.sb.datadir(n).expect("datadir").join("grastate.dat"))
            .expect("read grastate.dat");
        assert_eq!(now, grastates[i], "{n}'s grastate.dat was changed");
    }
}

#[test]
fn refuse_zero_uuid_node_with_safe_to_bootstrap_is_not_chosen() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    for n in ["node2", "node3", "node1"] {
        c.sb.stop_node(n).expect("stop");
    }
    // The shape Galera leaves after pc.recovery without a start position (captured fixture).
    let zero = include_str!("fixtures/wsrep/grastate/zero-uuid-safe-after-pc-recovery.dat");
    std::fs::write(
        c.sb.datadir("node3").expect("datadir").join("grastate.dat"),
        zero,
    )
    .expect("write grastate.dat");

    let (code, p) = c.plan("node2", &[]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(verdict(&p), ("bootstrap", Some("node1")), "{p}");
    let reasons = p["reasons"].to_string();
    assert!(
        reasons.contains("node3 has safe_to_bootstrap 1 but grastate.dat has the zero UUID")
            && reasons.contains("never a source"),
        "{p}"
    );
    let node3 = p["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .find(|e| e["node"] == "node3")
        .unwrap_or_else(|| panic!("no evidence for node3: {p}"));
    assert_eq!(
        node3["uuid"], "00000000-0000-0000-0000-000000000000",
        "{node3}"
    );
    assert_eq!(node3["safe_to_bootstrap"], true, "{node3}");
    assert!(
        node3["state"].as_str().unwrap_or("").contains("zero UUID"),
        "{node3}"
    );

    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act("node1", "bootstrap", &["--plan", &digest]);
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(verdict(&p).0, "join", "{p}");
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w);
}
