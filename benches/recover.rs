//! Benchmark: time from "all nodes crashed" (case 6) to "all Synced", with quorate's plan and
//! actions versus the same steps done by hand with the MariaDB tools, on the same 3-node
//! sandbox. Machine time only: the by-hand path here is scripted, so the operator's reading,
//! comparing and typing (the real cost at 3 a.m.) is not in its number.
//!
//! Run: `cargo bench --bench recover` (needs the packages of scripts/install-deps); writes
//! `bench/results/recover.md`.

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::process::Command;
use std::time::{Duration, Instant};

use quorate::galera::parse::{parse_recover_log, RecoveredPosition};
use quorate::sandbox::{self, SandboxGuard, UpOptions, SYNCED};

const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");
const ROUNDS: usize = 3;

fn quorate(config: &std::path::Path, args: &[&str]) -> String {
    let out = Command::new(QUORATE)
        .arg("recover")
        .args(args)
        .arg("--config")
        .arg(config)
        .env("QUORATE_LOG", "warn")
        .output()
        .expect("run quorate");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "quorate recover {args:?}: {stdout}");
    stdout
}

fn crash_all(sb: &mut SandboxGuard) {
    sb.sql("node1", "INSERT INTO b.t (v) VALUES (1),(2),(3)")
        .expect("insert");
    for n in sb.node_names() {
        sb.crash_node(&n).expect("crash");
    }
}

fn wait_all_synced(sb: &SandboxGuard) {
    for n in sb.node_names() {
        sb.wait_state(&n, SYNCED, Duration::from_secs(180))
            .expect("Synced");
    }
}

/// quorate: plan, position, plan, bootstrap, rejoin the others in parallel (as on their hosts).
fn with_quorate(sb: &SandboxGuard) -> Duration {
    let config = sb.config_path();
    let start = Instant::now();
    quorate(&config, &["position", "--node", "node1", "--execute"]);
    let plan: serde_json::Value = serde_json::from_str(&quorate(
        &config,
        &["plan", "--node", "node1", "--format", "json"],
    ))
    .expect("plan");
    let chosen = plan["verdict"]["node"]
        .as_str()
        .expect("bootstrap node")
        .to_string();
    let digest = plan["digest"].as_str().expect("digest").to_string();
    quorate(
        &config,
        &[
            "bootstrap",
            "--node",
            &chosen,
            "--plan",
            &digest,
            "--execute",
        ],
    );
    let others: Vec<String> = sb
        .node_names()
        .into_iter()
        .filter(|n| *n != chosen)
        .collect();
    std::thread::scope(|s| {
        for n in &others {
            let config = &config;
            s.spawn(move || quorate(config, &["rejoin", "--node", n, "--execute"]));
        }
    });
    wait_all_synced(sb);
    start.elapsed()
}

/// By hand: `mariadbd --wsrep-recover` on each node, compare, edit safe_to_bootstrap with sed,
/// bootstrap the most advanced (galera_new_cluster's job), start the others.
fn by_hand(sb: &mut SandboxGuard) -> Duration {
    let settings = quorate::config::load(&sb.config_path())
        .expect("config")
        .settings;
    let start = Instant::now();
    let mut best: Option<(i64, String)> = None;
    for n in sb.node_names() {
        let mut argv = settings
            .recovery
            .node(&n)
            .expect("node")
            .recover_command
            .clone();
        argv.extend(["--wsrep-recover".into(), "--disable-log-error".into()]);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .expect("mariadbd --wsrep-recover");
        if let RecoveredPosition::Position { seqno, .. } = parse_recover_log(&out.stderr) {
            if best.as_ref().is_none_or(|(s, _)| seqno > *s) {
                best = Some((seqno, n.clone()));
            }
        }
    }
    let (_, chosen) = best.expect("a position");
    let grastate = sb.datadir(&chosen).expect("datadir").join("grastate.dat");
    let status = Command::new("sed")
        .args(["-i", "s/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/"])
        .arg(&grastate)
        .status()
        .expect("sed");
    assert!(status.success());
    sb.bootstrap_node(&chosen).expect("bootstrap");
    let others: Vec<String> = sb
        .node_names()
        .into_iter()
        .filter(|n| *n != chosen)
        .collect();
    for n in &others {
        sb.start_node(n).expect("start");
    }
    wait_all_synced(sb);
    start.elapsed()
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sb =
        SandboxGuard::new(sandbox::up(&UpOptions::new(dir.path().join("sb"))).expect("sandbox up"));
    sb.write_config(std::path::Path::new(QUORATE))
        .expect("config");
    let _serves: Vec<common::ServeProcess> = sb
        .node_names()
        .iter()
        .map(|n| {
            let addr = sb.serve_address(n).expect("addr").parse().expect("addr");
            common::ServeProcess::start_at(&sb.config_path(), addr, &["--node", n])
        })
        .collect();
    sb.sql(
        "node1",
        "CREATE DATABASE b; CREATE TABLE b.t (id INT AUTO_INCREMENT PRIMARY KEY, v INT)",
    )
    .expect("schema");
    let mut q = Vec::new();
    let mut h = Vec::new();
    for round in 0..ROUNDS {
        crash_all(&mut sb);
        q.push(with_quorate(&sb));
        crash_all(&mut sb);
        h.push(by_hand(&mut sb));
        eprintln!(
            "round {round}: quorate {:?}, by hand {:?}",
            q[round], h[round]
        );
    }
    let median = |v: &mut Vec<Duration>| {
        v.sort();
        v[v.len() / 2]
    };
    let fmt = |d: Duration| format!("{:.2} s", d.as_secs_f64());
    let (qm, hm) = (median(&mut q.clone()), median(&mut h.clone()));
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# quorate recover: case 6 (all nodes crashed) to all Synced\n"
    );
    let _ = writeln!(
        md,
        "3-node MariaDB Galera sandbox on loopback, {ROUNDS} rounds, each: a few rows written, every mariadbd killed with SIGKILL, then recovered; measured by `cargo bench --bench recover` on {} CPU(s).\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    let _ = writeln!(md, "| path | median | all rounds |");
    let _ = writeln!(md, "|---|---|---|");
    let all = |v: &[Duration]| v.iter().map(|d| fmt(*d)).collect::<Vec<_>>().join(", ");
    let _ = writeln!(
        md,
        "| quorate: `position`, `plan`, `bootstrap --plan`, `rejoin` ×2 in parallel | {} | {} |",
        fmt(qm),
        all(&q)
    );
    let _ = writeln!(
        md,
        "| by hand, scripted: `mariadbd --wsrep-recover` ×3, compare, `sed` safe_to_bootstrap, bootstrap, start ×2 one after the other | {} | {} |",
        fmt(hm),
        all(&h)
    );
    let _ = writeln!(
        md,
        "\nBoth paths pass the recovered position to every start (as systemd's galera_recovery does), so the rejoining nodes can catch up by IST rather than SST. The by-hand number is machine time only; an operator's reading and typing comes on top. quorate's extra work (gathering every node's state over HTTP, re-verifying under a lock, writing the audit line) is included in its number."
    );
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results/recover.md");
    std::fs::write(&path, &md).expect("write results");
    print!("{md}");
}
