//! The recovery measurement, shared by `cargo bench --bench recover` (which writes
//! `bench/results/recover.md` from a sandbox of its own) and `cargo bench --bench compare` (its
//! section of `RESULTS.md`, on the sandbox it measured the exporters on): time from "all nodes
//! crashed" (case 6) to "all Synced", with quorate's plan and actions versus the same steps done
//! by hand with the MariaDB tools, `rounds` times each. Machine time only: the by-hand path here
//! is scripted, so the operator's reading, comparing and typing (the real cost at 3 a.m.) is not
//! in its number.
//!
//! There is no goal ratio between the two; the one goal is that every round of both paths
//! ended with every node Synced. A round that does not (a command failed, a node not Synced
//! within [`SYNCED_TIMEOUT`]) ends the measurement and is reported as not met, with the error,
//! instead of panicking, so that the report of a longer run is still written.

use std::fmt::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use quorate::galera::parse::{parse_recover_log, RecoveredPosition};
use quorate::sandbox::{SandboxGuard, SYNCED};

use super::common;
use super::report::{cpus, percentile, sorted, Goal, Section};

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Rounds, each recovering once with quorate and once by hand; 0 skips the measurement.
    pub rounds: usize,
}

impl Settings {
    #[allow(dead_code)]
    pub fn full() -> Settings {
        Settings { rounds: 3 }
    }
}

const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");
/// How long each node may take to be Synced again.
const SYNCED_TIMEOUT: Duration = Duration::from_secs(180);

type Outcome<T> = Result<T, String>;

fn quorate(config: &Path, args: &[&str]) -> Outcome<String> {
    let out = Command::new(QUORATE)
        .arg("recover")
        .args(args)
        .arg("--config")
        .arg(config)
        .env("QUORATE_LOG", "warn")
        .output()
        .map_err(|e| format!("running quorate recover {args:?}: {e}"))?;
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    if !out.status.success() {
        return Err(format!(
            "quorate recover {args:?}: {}: {stdout}{}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        ));
    }
    Ok(stdout)
}

fn crash_all(sb: &mut SandboxGuard) -> Outcome<()> {
    sb.sql("node1", "INSERT INTO b.t (v) VALUES (1),(2),(3)")
        .map_err(|e| format!("insert: {e}"))?;
    for n in sb.node_names() {
        sb.crash_node(&n)
            .map_err(|e| format!("crashing {n}: {e}"))?;
    }
    Ok(())
}

fn wait_all_synced(sb: &SandboxGuard) -> Outcome<()> {
    for n in sb.node_names() {
        sb.wait_state(&n, SYNCED, SYNCED_TIMEOUT)
            .map_err(|e| format!("{n} not Synced: {e}"))?;
    }
    Ok(())
}

/// quorate: plan, position, plan, bootstrap, rejoin the others in parallel (as on their hosts).
fn with_quorate(sb: &SandboxGuard) -> Outcome<Duration> {
    let config = sb.config_path();
    let start = Instant::now();
    quorate(&config, &["position", "--node", "node1", "--execute"])?;
    let plan: serde_json::Value = serde_json::from_str(&quorate(
        &config,
        &["plan", "--node", "node1", "--format", "json"],
    )?)
    .map_err(|e| format!("plan JSON: {e}"))?;
    let chosen = plan["verdict"]["node"]
        .as_str()
        .ok_or_else(|| format!("the plan names no bootstrap node: {plan}"))?
        .to_string();
    let digest = plan["digest"]
        .as_str()
        .ok_or_else(|| format!("the plan has no digest: {plan}"))?
        .to_string();
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
    )?;
    let others: Vec<String> = sb
        .node_names()
        .into_iter()
        .filter(|n| *n != chosen)
        .collect();
    std::thread::scope(|s| {
        let rejoins: Vec<_> = others
            .iter()
            .map(|n| {
                let config = &config;
                s.spawn(move || quorate(config, &["rejoin", "--node", n, "--execute"]))
            })
            .collect();
        rejoins.into_iter().try_for_each(|r| {
            r.join()
                .map_err(|_| "a rejoin thread panicked".to_string())?
                .map(drop)
        })
    })?;
    wait_all_synced(sb)?;
    Ok(start.elapsed())
}

/// By hand: `mariadbd --wsrep-recover` on each node, compare, edit safe_to_bootstrap with sed,
/// bootstrap the most advanced (galera_new_cluster's job), start the others.
fn by_hand(sb: &mut SandboxGuard) -> Outcome<Duration> {
    let settings = quorate::config::load(&sb.config_path())
        .map_err(|e| format!("config: {e}"))?
        .settings;
    let start = Instant::now();
    let mut best: Option<(i64, String)> = None;
    for n in sb.node_names() {
        let mut argv = settings
            .recovery
            .node(&n)
            .ok_or_else(|| format!("{n} is not in the configuration"))?
            .recover_command
            .clone();
        argv.extend(["--wsrep-recover".into(), "--disable-log-error".into()]);
        let out = Command::new(&argv[0])
            .args(&argv[1..])
            .output()
            .map_err(|e| format!("mariadbd --wsrep-recover on {n}: {e}"))?;
        if let RecoveredPosition::Position { seqno, .. } = parse_recover_log(&out.stderr) {
            if best.as_ref().is_none_or(|(s, _)| seqno > *s) {
                best = Some((seqno, n.clone()));
            }
        }
    }
    let (_, chosen) = best.ok_or("no node recovered a position")?;
    let grastate = sb
        .datadir(&chosen)
        .map_err(|e| e.to_string())?
        .join("grastate.dat");
    let status = Command::new("sed")
        .args(["-i", "s/^safe_to_bootstrap: 0/safe_to_bootstrap: 1/"])
        .arg(&grastate)
        .status()
        .map_err(|e| format!("sed: {e}"))?;
    if !status.success() {
        return Err(format!("sed on {}: {status}", grastate.display()));
    }
    sb.bootstrap_node(&chosen)
        .map_err(|e| format!("bootstrapping {chosen}: {e}"))?;
    for n in sb.node_names().iter().filter(|n| **n != chosen) {
        sb.start_node(n).map_err(|e| format!("starting {n}: {e}"))?;
    }
    wait_all_synced(sb)?;
    Ok(start.elapsed())
}

/// One round: crash every node, recover with quorate; crash every node, recover by hand.
fn round(sb: &mut SandboxGuard) -> Outcome<(Duration, Duration)> {
    crash_all(sb)?;
    let quorate = with_quorate(sb).map_err(|e| format!("quorate: {e}"))?;
    crash_all(sb)?;
    let hand = by_hand(sb).map_err(|e| format!("by hand: {e}"))?;
    Ok((quorate, hand))
}

fn rounds(n: usize) -> String {
    format!("{n} round{}", if n == 1 { "" } else { "s" })
}

fn secs(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

/// Crashes and recovers every node of `sb` (up and Synced, quorate.yaml naming this build's
/// `quorate`) `rounds` times each way, with one `quorate serve --node` per node for the peers'
/// `/galera/state`; `bench` is the command named in the report (`cargo bench --bench …`).
pub fn run(s: &Settings, sb: &mut SandboxGuard, bench: &str) -> Section {
    let nodes = sb.node_names().len();
    let (mut q, mut h) = (Vec::new(), Vec::new());
    let mut failed: Option<String> = None;
    if s.rounds > 0 {
        sb.write_config(Path::new(QUORATE)).expect("config");
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
        for n in 1..=s.rounds {
            match round(sb) {
                Ok((tq, th)) => {
                    eprintln!("recover round {n}: quorate {tq:?}, by hand {th:?}");
                    q.push(tq);
                    h.push(th);
                }
                Err(e) => {
                    failed = Some(format!("round {n}, {e}"));
                    break;
                }
            }
        }
    }
    let median = |v: &[Duration]| {
        if v.is_empty() {
            "—".to_string()
        } else {
            secs(percentile(&sorted(v.to_vec()), 0.5))
        }
    };
    // In the order they ran.
    let all = |v: &[Duration]| v.iter().map(|d| secs(*d)).collect::<Vec<_>>().join(", ");
    let quorate_path = format!(
        "quorate: `position`, `plan`, `bootstrap --plan`, `rejoin` ×{} in parallel",
        nodes - 1
    );
    let hand_path = format!(
        "by hand, scripted: `mariadbd --wsrep-recover` ×{nodes}, compare, `sed` safe_to_bootstrap, bootstrap, start ×{} one after the other",
        nodes - 1
    );
    let mut table = String::from("| path | median | all rounds |\n|---|---|---|\n");
    let _ = writeln!(table, "| {quorate_path} | {} | {} |", median(&q), all(&q));
    let _ = writeln!(table, "| {hand_path} | {} | {} |", median(&h), all(&h));
    let failure = failed
        .as_ref()
        .map_or(String::new(), |e| format!("\n**Stopped:** {e}\n"));

    let mut md = String::new();
    let _ = writeln!(
        md,
        "# quorate recover: case 6 (all nodes crashed) to all Synced\n"
    );
    let _ = writeln!(
        md,
        "{nodes}-node MariaDB Galera sandbox on loopback, {}, each: a few rows written, every mariadbd killed with SIGKILL, then recovered; measured by `{bench}` on {} CPU(s).\n",
        rounds(s.rounds),
        cpus()
    );
    let _ = write!(md, "{table}{failure}");
    let _ = writeln!(
        md,
        "\nBoth paths pass the recovered position to every start (as systemd's galera_recovery does), so the rejoining nodes can catch up by IST rather than SST. The by-hand number is machine time only; an operator's reading and typing comes on top. quorate's extra work (gathering every node's state over HTTP, re-verifying under a lock, writing the audit line) is included in its number."
    );
    let summary = if s.rounds == 0 {
        "Not measured in this run (0 rounds).\n".to_string()
    } else {
        format!(
            "Case 6 on this run's {nodes}-node sandbox, after the measurements above: {}, \
             each a few rows written, every mariadbd killed with SIGKILL, then recovered with \
             quorate and again by hand (scripted: machine time only, no operator reading and \
             typing). No goal ratio: the two side by side. Alone, `cargo bench --bench \
             recover` writes this to [recover.md](recover.md) from a sandbox of its own.\n\n{table}{failure}",
            rounds(s.rounds)
        )
    };
    let goal = Goal::new(
        format!(
            "case 6 (all {nodes} nodes crashed) recovered to all Synced in every round, quorate \
             and by hand"
        ),
        match &failed {
            Some(e) => e.clone(),
            None if q.is_empty() => "0 rounds".into(),
            None => format!(
                "{}; median quorate {}, by hand {}",
                rounds(q.len()),
                median(&q),
                median(&h)
            ),
        },
        match failed {
            Some(_) => Some(false),
            None if q.is_empty() => None,
            None => Some(true),
        },
    );
    Section {
        markdown: md,
        summary,
        goals: vec![goal],
    }
}
