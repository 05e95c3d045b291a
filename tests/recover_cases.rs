//! `quorate recover` against real Galera sandboxes: the seven cases of the runbook and the
//! stale-node trap. Each test runs a writer that inserts rows through every reachable node
//! and records each acknowledged commit; after quorate's plan and actions the cluster must be
//! one Primary with every node Synced, the writer must have had writes acknowledged during
//! the fault and, through every node, after the recovery, every acknowledged row must be on
//! every node, and the audit log must hold exactly one line per executed action.
//!
//! Where a case is about choosing the most advanced node, the faults are staggered and the
//! writer's acknowledged rows prove who is ahead: rows acknowledged after a node went down
//! cannot be on it, so the recovered positions must differ by at least their number, and the
//! node quorate chooses must hold them before anyone joins it.
//!
//! Topology as in production: one `quorate serve --node NAME` per node (its /galera/state),
//! and every `quorate recover` command run as the real binary "on" a node (`--node`).
//! `case_6_recovered_by_following_the_printed_text_plan` runs the commands an operator copies:
//! the text plan's steps, exactly as printed.

mod common;

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use common::recover::{
    evidence, lock_holder, rejoin_all_stopped, verdict, Ack, Cluster, HeldLock, RefusalPolicy,
    QUORATE,
};
use serde_json::Value;

/// How long the writer may take to get its rows acknowledged between two staggered faults.
const ACK_WAIT: Duration = Duration::from_secs(60);

/// The seqno a JSON plan's evidence gives for `node`.
fn seqno(plan: &Value, node: &str) -> i64 {
    evidence(plan, node)["seqno"]
        .as_i64()
        .unwrap_or_else(|| panic!("no seqno for {node}: {plan}"))
}

/// The positions must differ by at least the rows acknowledged while `behind` was down, the
/// chosen node being the one ahead.
fn assert_ahead(plan: &Value, chosen: &str, behind: &str, lacking: &[Ack]) {
    let (ahead, late) = (seqno(plan, chosen), seqno(plan, behind));
    assert!(
        ahead - late >= lacking.len() as i64,
        "{chosen} (seqno {ahead}) must be ahead of {behind} (seqno {late}) by at least the {} rows acknowledged after {behind} went down: {plan}",
        lacking.len()
    );
}

/// `chosen` holds every row in `lacking` (rows the node that went down first cannot have).
fn assert_holds(c: &Cluster, chosen: &str, lacking: &[Ack]) {
    let ids = c.ids_on(chosen);
    let missing: Vec<u64> = lacking
        .iter()
        .map(|a| a.id)
        .filter(|id| !ids.contains(id))
        .collect();
    assert!(
        missing.is_empty(),
        "{chosen} was chosen but lacks rows acknowledged after the other node went down: {missing:?}"
    );
}

#[test]
fn cases_1_2_4_stopped_or_crashed_nodes_join_the_running_primary() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();

    // Case 1: one node stopped cleanly.
    c.sb.stop_node("node3").expect("stop");
    let t = Instant::now();
    w.wait_acks("while node3 is stopped", 5, ACK_WAIT, |a| a.started >= t);
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

    // Case 2: two of three stopped cleanly; the survivor stays Primary alone and takes writes.
    c.sb.stop_node("node2").expect("stop");
    c.sb.stop_node("node3").expect("stop");
    c.wait_status("node1", "Primary", Duration::from_secs(30));
    let t = Instant::now();
    w.wait_acks("through node1 alone", 5, ACK_WAIT, |a| {
        a.started >= t && a.node == "node1"
    });
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(p["case"].as_u64(), Some(2), "{p}");
    rejoin_all_stopped(&c, &p);

    // Case 4: one node crashed; rejoin recovers its position first, so IST, not SST.
    c.sb.crash_node("node2").expect("crash");
    let t = Instant::now();
    w.wait_acks("while node2 is crashed", 5, ACK_WAIT, |a| a.started >= t);
    let (_, p) = c.plan("node2", &[]);
    assert_eq!(p["case"].as_u64(), Some(4), "{p}");
    let out = c.act("node2", "rejoin", &[]);
    assert!(out.contains("recovered its position"), "{out}");
    assert!(out.contains("IST"), "{out}");

    c.assert_recovered(w, fault);
}

/// Child processes of a test: on drop (even when the test fails) each is resumed if it was
/// stopped, killed by its pid and reaped.
struct Children(Vec<Child>);

impl Drop for Children {
    fn drop(&mut self) {
        for child in &mut self.0 {
            if let Ok(None) = child.try_wait() {
                common::signal(child.id(), libc::SIGCONT);
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Children {
    /// Waits (bounded) for the child with `pid` and returns (exit code, stdout).
    fn wait(&mut self, pid: u32, timeout: Duration) -> (i32, String) {
        let child = self
            .0
            .iter_mut()
            .find(|c| c.id() == pid)
            .unwrap_or_else(|| panic!("no child {pid}"));
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                let mut out = String::new();
                if let Some(mut s) = child.stdout.take() {
                    let _ = std::io::Read::read_to_string(&mut s, &mut out);
                }
                eprintln!("[pid {pid}, {status}]\n{out}");
                return (status.code().unwrap_or(-1), out);
            }
            assert!(start.elapsed() < timeout, "pid {pid} still runs");
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

/// `quorate recover bootstrap --node NODE --plan DIGEST --execute`, started, not waited for.
fn spawn_bootstrap(c: &Cluster, node: &str, digest: &str) -> Child {
    Command::new(QUORATE)
        .args(["recover", "bootstrap", "--node", node, "--plan", digest])
        .args(["--execute", "--config"])
        .arg(c.sb.config_path())
        .env("QUORATE_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn quorate recover bootstrap")
}

/// Records a bootstrap the test ran itself, for the audit check.
fn record_bootstrap(c: &Cluster, node: &str, code: i32, out: &str) {
    let words: Vec<String> = ["recover", "bootstrap", "--node", node, "--execute"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    c.record(&words, code, out);
}

/// Every node's plan shows `node` busy with `holder` and waits for it.
fn assert_busy_everywhere(c: &Cluster, node: &str, holder: &str) {
    for n in c.names() {
        let (code, p) = c.plan(&n, &[]);
        assert_eq!(code, 4, "nothing may be decided while {node} is busy: {p}");
        assert_eq!(
            evidence(&p, node)["state"],
            format!("busy: {holder}"),
            "{node}'s action must be visible in {n}'s plan: {p}"
        );
        assert!(
            p["wait_for"]
                .as_array()
                .is_some_and(|w| w.iter().any(|x| x == node)),
            "{p}"
        );
    }
}

#[test]
fn case_3_all_stopped_cleanly_and_only_one_concurrent_bootstrap_proceeds() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();
    // Stopped one after the other with writes in between: node1, the last one, holds rows
    // the others cannot have.
    c.sb.stop_node("node3").expect("stop");
    let t = Instant::now();
    w.wait_acks("after node3 stopped", 5, ACK_WAIT, |a| a.started >= t);
    c.sb.stop_node("node2").expect("stop");
    let t = Instant::now();
    let only_node1 = w.wait_acks("through node1 alone", 10, ACK_WAIT, |a| a.started >= t);
    c.sb.stop_node("node1").expect("stop");

    let (code, p) = c.plan("node2", &[]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(p["case"].as_u64(), Some(3));
    assert_eq!(verdict(&p), ("bootstrap", Some("node1")), "{p}");
    assert_ahead(&p, "node1", "node2", &only_node1);
    assert!(seqno(&p, "node2") > seqno(&p, "node3"), "{p}");
    let digest = p["digest"].as_str().expect("digest").to_string();

    // 1. While another action holds node1's lock (the test holds it, as ActionLock does),
    // every node's plan shows node1 busy, and bootstraps started together on node1 and node2
    // are all refused, naming the holder; nothing starts.
    let lock = c.lock_file("node1");
    let holder = format!(
        "bootstrap node1 by pid {} since {} (held by the test)",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0)
    );
    let held = HeldLock::take(&lock, &holder);
    assert_busy_everywhere(&c, "node1", &holder);
    let mut children = Children(vec![
        spawn_bootstrap(&c, "node1", &digest),
        spawn_bootstrap(&c, "node2", &digest),
        spawn_bootstrap(&c, "node1", &digest),
    ]);
    let pids: Vec<u32> = children.0.iter().map(Child::id).collect();
    for (pid, node) in pids.iter().zip(["node1", "node2", "node1"]) {
        let (code, out) = children.wait(*pid, Duration::from_secs(60));
        record_bootstrap(&c, node, code, &out);
        assert_eq!(code, 4, "refused while node1's lock is held: {out}");
        assert!(out.contains(&holder), "the refusal names the holder: {out}");
    }
    for n in c.names() {
        assert!(c.sb.pid(&n).is_none(), "{n} was started");
    }
    drop(held);

    // 2. Three operators at once again, the lock free: the first node1 bootstrap to take the
    // lock is paused (SIGSTOP) while it holds it, so the others certainly meet it. Exactly
    // that one proceeds; the others are refused naming it; every node's plan shows it.
    let (code, p) = c.plan("node2", &[]);
    assert_eq!(
        (code, verdict(&p)),
        (0, ("bootstrap", Some("node1"))),
        "{p}"
    );
    let digest = p["digest"].as_str().expect("digest").to_string();
    let mut children = Children(vec![
        spawn_bootstrap(&c, "node1", &digest),
        spawn_bootstrap(&c, "node1", &digest),
        spawn_bootstrap(&c, "node2", &digest),
    ]);
    let pids: Vec<u32> = children.0.iter().map(Child::id).collect();
    let start = Instant::now();
    let (winner, line) = loop {
        let line = lock_holder(&lock).unwrap_or_default();
        if let Some(p) = pids[..2]
            .iter()
            .find(|p| line.starts_with(&format!("bootstrap node1 by pid {p} since")))
        {
            break (*p, line);
        }
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "no bootstrap took node1's lock (holder: {line:?})"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    common::signal(winner, libc::SIGSTOP);
    let node_of = |pid: u32| if pid == pids[2] { "node2" } else { "node1" };
    for pid in pids.iter().filter(|p| **p != winner) {
        let (code, out) = children.wait(*pid, Duration::from_secs(60));
        record_bootstrap(&c, node_of(*pid), code, &out);
        assert_eq!(code, 4, "a second bootstrap must be refused: {out}");
        if *pid == pids[2] {
            assert!(
                out.contains(&line) || out.contains("the plan bootstraps node1, not this node"),
                "{out}"
            );
        } else {
            assert!(
                out.contains(&line),
                "the refusal names the lock holder: {out}"
            );
        }
    }
    assert_busy_everywhere(&c, "node1", &line);
    common::signal(winner, libc::SIGCONT);
    let (code, out) = children.wait(winner, Duration::from_secs(300));
    record_bootstrap(&c, "node1", code, &out);
    assert_eq!(code, 0, "the bootstrap holding the lock proceeds: {out}");
    assert_holds(&c, "node1", &only_node1);

    let (_, p) = c.plan("node1", &[]);
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w, fault);
}

/// node1 crashes first; rows are acknowledged through node2 and node3 (node1 cannot have
/// them); then node2 and node3 crash. Returns the rows node1 lacks.
fn crash_all_staggered(c: &mut Cluster, w: &common::recover::Writer) -> Vec<Ack> {
    c.sb.crash_node("node1").expect("crash");
    let t = Instant::now();
    let lacking = w.wait_acks(
        "through node2/node3 after node1 crashed",
        10,
        ACK_WAIT,
        |a| a.started >= t,
    );
    c.sb.crash_node("node2").expect("crash");
    c.sb.crash_node("node3").expect("crash");
    lacking
}

#[test]
fn case_6_all_crashed_recovers_positions_and_bootstraps_the_most_advanced() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();
    // node1 first: configuration order would pick it if positions were ignored.
    let lacking = crash_all_staggered(&mut c, &w);
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
    assert_ne!(chosen, "node1", "node1 crashed first: {p}");
    assert_ahead(&p, &chosen, "node1", &lacking);
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act(&chosen, "bootstrap", &["--plan", &digest]);
    assert_holds(&c, &chosen, &lacking);
    let (_, p) = c.plan(&chosen, &[]);
    assert_eq!(verdict(&p).0, "join", "{p}");
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w, fault);
}

#[test]
fn case_6_recovered_by_following_the_printed_text_plan() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();
    let lacking = crash_all_staggered(&mut c, &w);
    let rec = c.recover_by_text_plan(Duration::from_secs(600), RefusalPolicy::Never);
    eprintln!("{}", rec.transcript);
    assert!(rec.failure.is_none(), "{:?}", rec.failure);
    // Every kind of step of case 6 ran as printed: three positions, one bootstrap (not of
    // node1, which crashed first), two rejoins.
    let kinds: Vec<(String, String)> = rec
        .commands
        .iter()
        .map(|l| {
            let words: Vec<&str> = l.split_whitespace().collect();
            let node = common::recover::flag_value(l, "--node")
                .unwrap_or_else(|| words.get(6).map_or(String::new(), |s| s.to_string()));
            (words[2].to_string(), node)
        })
        .collect();
    let count = |k: &str| kinds.iter().filter(|(a, _)| a == k).count();
    assert_eq!(
        (count("position"), count("bootstrap"), count("rejoin")),
        (3, 1, 2),
        "{kinds:?}"
    );
    let boot = kinds
        .iter()
        .find(|(a, _)| a == "bootstrap")
        .map(|(_, n)| n.clone())
        .unwrap_or_default();
    assert_ne!(boot, "node1", "{kinds:?}");
    // The printed plan shows why: node1's recovered position is behind by at least the rows
    // acknowledged after it crashed ("NODE is the most advanced node: seqno S (node1 S1, ...)").
    let why = rec
        .transcript
        .lines()
        .find(|l| l.contains("is the most advanced node: seqno"))
        .unwrap_or_else(|| panic!("no choice explained:\n{}", rec.transcript));
    let listed = why
        .rsplit_once('(')
        .map_or("", |(_, l)| l.trim_end_matches(')'));
    let seqno_of = |n: &str| -> i64 {
        listed
            .split(", ")
            .find_map(|e| e.strip_prefix(&format!("{n} ")))
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("no seqno for {n} in {why:?}"))
    };
    assert!(
        seqno_of(&boot) - seqno_of("node1") >= lacking.len() as i64,
        "{why} (rows acknowledged after node1 crashed: {})",
        lacking.len()
    );
    c.assert_recovered(w, fault);
}

#[test]
fn trap_stale_node_back_first_is_refused_until_the_others_answer() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();
    // node3 leaves first (cleanly); writes go on through node1 and node2: rows node3 lacks.
    c.sb.stop_node("node3").expect("stop");
    let t = Instant::now();
    let lacking = w.wait_acks(
        "through node1/node2 after node3 stopped",
        10,
        ACK_WAIT,
        |a| a.started >= t,
    );
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
    assert_ahead(&p, &chosen, "node3", &lacking);
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act(&chosen, "bootstrap", &["--plan", &digest]);
    assert_holds(&c, &chosen, &lacking);
    let (_, p) = c.plan(&chosen, &[]);
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w, fault);
}

#[test]
fn case_5_survivor_is_promoted_after_the_crashed_positions_are_known() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();
    c.sb.crash_node("node2").expect("crash");
    let t = Instant::now();
    let lacking = w.wait_acks(
        "through node1/node3 after node2 crashed",
        10,
        ACK_WAIT,
        |a| a.started >= t,
    );
    c.sb.crash_node("node3").expect("crash");
    c.wait_status("node1", "non-Primary", Duration::from_secs(60));
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(p["case"].as_u64(), Some(5), "{p}");
    assert_eq!(verdict(&p).0, "recover_positions", "{p}");
    c.act("node1", "position", &[]);
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(verdict(&p), ("promote", Some("node1")), "{p}");
    assert_ahead(&p, "node1", "node2", &lacking);
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act("node1", "promote", &["--plan", &digest]);
    assert_holds(&c, "node1", &lacking);
    let (_, p) = c.plan("node1", &[]);
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w, fault);
}

#[test]
fn case_7_even_split_promotes_one_half_only() {
    let mut c = Cluster::up_netns(4);
    let w = c.writer();
    let fault = Instant::now();
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
    // The promoted half takes writes while the partition lasts.
    let t = Instant::now();
    w.wait_acks("through the promoted half", 5, ACK_WAIT, |a| {
        a.started >= t && (a.node == "node1" || a.node == "node2")
    });
    // The other half is still cut off and stays non-Primary: one cluster, not two.
    for n in ["node3", "node4"] {
        let rows = c.sql(n, "SHOW STATUS LIKE 'wsrep_cluster_status'");
        assert_eq!(rows[0][1], "non-Primary", "{n}: {rows:?}");
    }
    // The network heals and the other half merges into the promoted component.
    let out = c.sandbox_cli(&["heal"]);
    assert_eq!(out.matches("segment qbr0").count(), 4, "{out}");
    c.assert_recovered(w, fault);
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
    // Refused actions did nothing, so they left no audit line.
    assert!(c.executed().is_empty());
    c.assert_audit();
}

#[test]
fn refuse_zero_uuid_node_with_safe_to_bootstrap_is_not_chosen() {
    let mut c = Cluster::up(3);
    let w = c.writer();
    let fault = Instant::now();
    c.sb.stop_node("node2").expect("stop");
    c.sb.stop_node("node3").expect("stop");
    let t = Instant::now();
    let only_node1 = w.wait_acks("through node1 alone", 5, ACK_WAIT, |a| a.started >= t);
    c.sb.stop_node("node1").expect("stop");
    // The shape Galera leaves after pc.recovery without a start position (captured fixture).
    let zero = include_str!("fixtures/wsrep/grastate/zero-uuid-safe-after-pc-recovery.dat");
    std::fs::write(
        c.sb.datadir("node3").expect("datadir").join("grastate.dat"),
        zero,
    )
    .expect("write grastate.dat");

    // The file says nothing about the data under it: node3's position is recovered from InnoDB
    // first, and its safe_to_bootstrap 1 is never trusted; nothing can be bootstrapped before.
    let (code, p) = c.plan("node2", &[]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(
        p["verdict"],
        serde_json::json!({"kind": "recover_positions", "nodes": ["node3"]}),
        "{p}"
    );
    let node3 = evidence(&p, "node3");
    assert_eq!(
        node3["uuid"], "00000000-0000-0000-0000-000000000000",
        "{node3}"
    );
    assert_eq!(node3["safe_to_bootstrap"], true, "{node3}");
    assert!(
        node3["state"].as_str().unwrap_or("").contains("zero UUID"),
        "{node3}"
    );
    for n in ["node3", "node1"] {
        let (code, out) = c.recover(&["bootstrap", "--node", n, "--execute"]);
        assert_eq!(
            code, 4,
            "bootstrap on {n} before node3's position is known:\n{out}"
        );
    }
    // Recovered through node3's quorate serve: node1, stopped last, is the most advanced.
    c.act("node2", "position", &[]);
    let (code, p) = c.plan("node2", &[]);
    assert_eq!(code, 0, "{p}");
    assert_eq!(verdict(&p), ("bootstrap", Some("node1")), "{p}");
    assert_ahead(&p, "node1", "node3", &only_node1);
    assert_ahead(&p, "node1", "node2", &only_node1);
    let digest = p["digest"].as_str().expect("digest").to_string();
    c.act("node1", "bootstrap", &["--plan", &digest]);
    assert_holds(&c, "node1", &only_node1);
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(verdict(&p).0, "join", "{p}");
    rejoin_all_stopped(&c, &p);
    c.assert_recovered(w, fault);
}

/// Regression (finding of issue #11, fixed in 775272a): every executed action, `position`
/// included, appends an audit line: `quorate recover position --execute` wrote none, neither
/// for the local node nor through a peer's /galera/recover-position.
#[test]
fn finding_position_recovery_leaves_an_audit_line() {
    let mut c = Cluster::up(2);
    c.sb.crash_node("node2").expect("crash");
    c.sb.crash_node("node1").expect("crash");
    // As the runbook says, plan first: it names both positions to recover. (Run at once
    // after the crashes, `position` has been seen recovering node2's alone, 1 run in 3 on
    // 2026-12-03: an open finding, see the session notes.)
    let (_, p) = c.plan("node1", &[]);
    assert_eq!(
        p["verdict"],
        serde_json::json!({"kind": "recover_positions", "nodes": ["node1", "node2"]}),
        "{p}"
    );
    // node1 recovers its own position; node2's is recovered through its quorate serve.
    c.act("node1", "position", &[]);
    let positions: Vec<Value> = c
        .audit_lines()
        .into_iter()
        .filter(|l| matches!(l["action"].as_str(), Some("position" | "recover-position")))
        .collect();
    let nodes: Vec<&str> = positions
        .iter()
        .filter_map(|l| l["node"].as_str())
        .collect();
    assert_eq!(
        nodes.len(),
        2,
        "one audit line per recovered position (node1, node2): {positions:?}"
    );
    assert!(
        nodes.contains(&"node1") && nodes.contains(&"node2"),
        "{nodes:?}"
    );
    c.assert_audit();
}

/// The step a JSON plan gives `node`: (action, why).
fn step_of(plan: &Value, node: &str) -> (String, String) {
    plan["steps"]
        .as_array()
        .and_then(|s| s.iter().find(|s| s["node"] == node))
        .map(|s| {
            (
                s["action"].as_str().unwrap_or_default().to_string(),
                s["why"].as_str().unwrap_or_default().to_string(),
            )
        })
        .unwrap_or_else(|| panic!("no step for {node}: {plan}"))
}

/// Issue #11, evidence that client writes erase: node3, the stalest node, is bootstrapped by
/// hand while node1 and node2 hold later transactions. The plan (run on node1) finds both
/// apart and keeps the findings on their hosts: node1's locally, node2's through its quorate
/// serve (`POST /galera/apart`). Clients then commit on node3 past node1's seqno, so both look
/// merely behind; the records keep them investigated instead of rejoined over the only copy
/// of their rows. The operator accepts node2's loss: `rejoin --move-aside --accept-loss`
/// joins it and retires its record (renamed, kept).
#[test]
fn a_node_found_apart_stays_apart_after_clients_commit_past_it() {
    let mut c = Cluster::up(3);
    c.sql(
        "node1",
        "CREATE DATABASE qa; CREATE TABLE qa.t (id INT AUTO_INCREMENT PRIMARY KEY)",
    );
    c.sb.stop_node("node3").expect("stop");
    for _ in 0..3 {
        c.sql("node1", "INSERT INTO qa.t VALUES ()");
    }
    c.sb.stop_node("node2").expect("stop");
    for _ in 0..3 {
        c.sql("node1", "INSERT INTO qa.t VALUES ()");
    }
    c.sb.stop_node("node1").expect("stop");
    // The operator's mistake, as the runbook's "someone bootstrapped a new cluster".
    let grastate = c.sb.datadir("node3").expect("datadir").join("grastate.dat");
    let text = std::fs::read_to_string(&grastate).expect("grastate.dat");
    assert!(text.contains("safe_to_bootstrap: 0"), "{text}");
    std::fs::write(
        &grastate,
        text.replace("safe_to_bootstrap: 0", "safe_to_bootstrap: 1"),
    )
    .expect("write grastate.dat");
    c.sb.bootstrap_node("node3")
        .expect("hand bootstrap of node3");

    let (_, p) = c.plan("node1", &[]);
    let (node1_seqno, primary_seqno) = (seqno(&p, "node1"), seqno(&p, "node3"));
    assert!(seqno(&p, "node2") > primary_seqno, "{p}");
    for n in ["node1", "node2"] {
        assert_eq!(step_of(&p, n).0, "investigate", "{p}");
    }
    let records =
        c.sb.config_path()
            .parent()
            .expect("sandbox dir")
            .join("recovery/apart");
    for n in ["node1", "node2"] {
        let record: Value = serde_json::from_slice(
            &std::fs::read(records.join(format!("{n}.json"))).expect("the record"),
        )
        .expect("record JSON");
        assert_eq!(record["seqno"].as_i64(), Some(seqno(&p, n)), "{record}");
    }

    // Clients commit on node3 until it is past node1: the seqnos no longer show anything.
    for _ in 0..=(node1_seqno - primary_seqno) {
        c.sql("node3", "INSERT INTO qa.t VALUES ()");
    }
    let (_, p) = c.plan("node2", &[]);
    assert!(seqno(&p, "node3") > node1_seqno, "{p}");
    for n in ["node1", "node2"] {
        let (action, why) = step_of(&p, n);
        assert_eq!(action, "investigate", "{n}: {p}");
        assert!(why.contains("found it apart"), "{n}: {why}");
    }

    let out = c.act("node2", "rejoin", &["--move-aside", "--accept-loss"]);
    assert!(out.contains("retired its record"), "{out}");
    assert!(!records.join("node2.json").exists());
    let kept = std::fs::read_dir(&records)
        .expect("records")
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().starts_with("node2."))
        .count();
    assert_eq!(kept, 1, "the retired record is kept");
    let (_, p) = c.plan("node2", &[]);
    assert_eq!(step_of(&p, "node1").0, "investigate", "{p}");
    c.assert_audit();
}
