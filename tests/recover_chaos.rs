//! Randomized faults on a real Galera cluster, then recovery by following quorate's printed
//! plan to the end, exactly as an operator would copy it.
//!
//! A seed fixes everything that is random: the number of nodes (3 to 5) and a schedule of 2 to
//! 5 faults at random moments, each one of crash (SIGKILL), clean stop, freeze (SIGSTOP), thaw,
//! network partition (the nodes run in network namespaces of their own) and heal. All along, a
//! writer inserts rows through every reachable node and records each acknowledged commit, and a
//! sampler polls every node's `wsrep_cluster_status`, `wsrep_cluster_state_uuid`,
//! `wsrep_cluster_conf_id` and members about four times a second.
//!
//! After the schedule the faults are ended as an operator would (thaw the frozen nodes, heal
//! the network), then `quorate recover plan` is followed: each printed command is run exactly
//! as printed, on the host its `# on NODE` marker names, and the plan read again, until it
//! says `healthy` (bounded). A refusal while every node answers and none is in transition
//! fails the run. Then every node must be Synced in one Primary component, writes must be
//! acknowledged through every node again, every acknowledged row must be on every node, the
//! audit log must hold one line per executed action, and the sampler must never have seen two
//! Primary components at once.
//!
//! Running it:
//!
//! - `cargo test --test recover_chaos` runs [`CI_SEEDS`] (about 3 minutes on a 2-core machine).
//! - A failing run prints its seed; `QUORATE_CHAOS_SEED=N cargo test --test recover_chaos
//!   chaos_ci_seeds -- --nocapture` replays that seed alone (a fresh cluster, the same
//!   schedule; the moments are the same, what the cluster does in between may differ).
//! - The long run: `QUORATE_CHAOS_SEEDS=N [QUORATE_CHAOS_FIRST_SEED=S] cargo test --test
//!   recover_chaos chaos_long_run -- --ignored --nocapture` (or `bench/recover_chaos.sh N`)
//!   runs seeds S..S+N (S defaults to 1) and writes how many ran, passed and failed (with
//!   their seeds) and the recovery times (min/median/max) to `bench/results/recover_chaos.md`.
//! - Seeds that found a bug in quorate are kept as `chaos_seed_*` tests.

mod common;

use std::collections::BTreeSet;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use common::recover::{
    flag_value, judge_round, Cluster, Observation, RefusalPolicy, SamplerReport, TextPlan,
    STALE_VIEW_GRACE,
};

/// The seeds every `cargo test` runs (3 nodes each; `QUORATE_CHAOS_LIST=0` prints them):
/// 24 partitions, crashes all three and heals (positions, bootstrap, rejoins); 20 mixes
/// crashes and clean stops until all are down (positions of the crashed ones, bootstrap,
/// rejoins); 17 freezes all three and thaws them (the cluster resumes by itself).
const CI_SEEDS: [u64; 3] = [24, 20, 17];

/// How long following the plan may take before the run fails.
const RECOVERY_BOUND: Duration = Duration::from_secs(600);

/// SplitMix64 (Steele, Lea, Flood 2014): small, fast, and the same on every machine.
struct SplitMix64(u64);

impl SplitMix64 {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in 0..n (n > 0; the modulo bias is irrelevant for n this small).
    fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Fault {
    Crash(String),
    Stop(String),
    Freeze(String),
    Thaw(String),
    Partition(Vec<Vec<String>>),
    Heal,
}

impl std::fmt::Display for Fault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Fault::Crash(n) => write!(f, "crash {n}"),
            Fault::Stop(n) => write!(f, "stop {n}"),
            Fault::Freeze(n) => write!(f, "freeze {n}"),
            Fault::Thaw(n) => write!(f, "thaw {n}"),
            Fault::Partition(groups) => write!(
                f,
                "partition {}",
                groups
                    .iter()
                    .map(|g| g.join(","))
                    .collect::<Vec<_>>()
                    .join(" | ")
            ),
            Fault::Heal => write!(f, "heal"),
        }
    }
}

/// What a seed does.
#[derive(Debug, Clone)]
struct Schedule {
    seed: u64,
    nodes: usize,
    /// Each fault after a pause.
    faults: Vec<(Duration, Fault)>,
}

impl std::fmt::Display for Schedule {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "seed {}: {} nodes;", self.seed, self.nodes)?;
        let mut at = Duration::ZERO;
        for (pause, fault) in &self.faults {
            at += *pause;
            write!(f, " +{:.1}s {fault};", at.as_secs_f64())?;
        }
        Ok(())
    }
}

fn schedule(seed: u64) -> Schedule {
    let mut rng = SplitMix64(seed);
    let nodes = 3 + rng.below(3) as usize;
    let names: Vec<String> = (1..=nodes).map(|i| format!("node{i}")).collect();
    let count = 2 + rng.below(4) as usize;
    // Simulated state: which nodes run (frozen ones included), which are frozen, whether the
    // network is cut.
    let mut up: BTreeSet<String> = names.iter().cloned().collect();
    let mut frozen: BTreeSet<String> = BTreeSet::new();
    let mut partitioned = false;
    let mut faults = Vec::new();
    for _ in 0..count {
        let running: Vec<String> = up.difference(&frozen).cloned().collect();
        let upl: Vec<String> = up.iter().cloned().collect();
        let frozenl: Vec<String> = frozen.iter().cloned().collect();
        let mut kinds: Vec<(&str, u64)> = Vec::new();
        if !upl.is_empty() {
            kinds.push(("crash", 3));
        }
        if !running.is_empty() {
            kinds.push(("stop", 2));
            kinds.push(("freeze", 2));
        }
        if !frozenl.is_empty() {
            kinds.push(("thaw", 2));
        }
        if !partitioned && up.len() >= 2 {
            kinds.push(("partition", 3));
        }
        if partitioned {
            kinds.push(("heal", 1));
        }
        if kinds.is_empty() {
            break;
        }
        let total: u64 = kinds.iter().map(|(_, w)| w).sum();
        let mut roll = rng.below(total);
        let kind = kinds
            .iter()
            .find(|(_, w)| {
                if roll < *w {
                    true
                } else {
                    roll -= w;
                    false
                }
            })
            .map_or("crash", |(k, _)| *k);
        let fault = match kind {
            "crash" => {
                let n = rng.pick(&upl).clone();
                up.remove(&n);
                frozen.remove(&n);
                Fault::Crash(n)
            }
            "stop" => {
                let n = rng.pick(&running).clone();
                up.remove(&n);
                Fault::Stop(n)
            }
            "freeze" => {
                let n = rng.pick(&running).clone();
                frozen.insert(n.clone());
                Fault::Freeze(n)
            }
            "thaw" => {
                let n = rng.pick(&frozenl).clone();
                frozen.remove(&n);
                Fault::Thaw(n)
            }
            "partition" => {
                partitioned = true;
                // Every node goes to one of two groups (sometimes three), none empty.
                let groups = if nodes >= 3 && rng.below(4) == 0 {
                    3
                } else {
                    2
                };
                let mut order = names.clone();
                for i in (1..order.len()).rev() {
                    let j = rng.below(i as u64 + 1) as usize;
                    order.swap(i, j);
                }
                let mut parts: Vec<Vec<String>> = vec![Vec::new(); groups];
                for (i, n) in order.into_iter().enumerate() {
                    let g = if i < groups {
                        i
                    } else {
                        rng.below(groups as u64) as usize
                    };
                    parts[g].push(n);
                }
                for p in &mut parts {
                    p.sort();
                }
                parts.sort();
                Fault::Partition(parts)
            }
            _ => {
                partitioned = false;
                Fault::Heal
            }
        };
        let pause = Duration::from_millis(300 + rng.below(2700));
        faults.push((pause, fault));
    }
    Schedule {
        seed,
        nodes,
        faults,
    }
}

/// What one seed did.
#[derive(Debug, Clone)]
struct Outcome {
    seed: u64,
    schedule: String,
    /// From the end of the faults until every node was Synced in one Primary.
    recovery: Duration,
    plans: usize,
    commands: Vec<String>,
    acked: usize,
    sampler_rounds: u64,
}

/// Runs one seed on a fresh cluster; panics (naming the seed) on any failure.
fn run_seed(seed: u64) -> Outcome {
    run_schedule(&schedule(seed))
}

/// Runs a schedule on a fresh cluster; panics (naming the seed) on any failure.
fn run_schedule(sched: &Schedule) -> Outcome {
    let seed = sched.seed;
    eprintln!("chaos {sched}");
    let mut c = Cluster::up_netns(sched.nodes);
    let sampler = c.sampler();
    let w = c.writer();

    let mut frozen = BTreeSet::new();
    let mut partitioned = false;
    for (pause, fault) in &sched.faults {
        std::thread::sleep(*pause);
        eprintln!("chaos seed {seed}: {fault}");
        let done = match fault {
            Fault::Crash(n) => {
                frozen.remove(n);
                c.sb.crash_node(n)
            }
            Fault::Stop(n) => c.sb.stop_node(n),
            Fault::Freeze(n) => {
                frozen.insert(n.clone());
                c.sb.freeze_node(n)
            }
            Fault::Thaw(n) => {
                frozen.remove(n);
                c.sb.thaw_node(n)
            }
            Fault::Partition(groups) => {
                partitioned = true;
                c.sb.network().and_then(|net| net.partition(groups))
            }
            Fault::Heal => {
                partitioned = false;
                c.sb.network().and_then(|net| net.heal())
            }
        };
        done.unwrap_or_else(|e| panic!("seed {seed}: {fault}: {e}"));
    }
    // The operator ends the faults first.
    for n in &frozen {
        c.sb.thaw_node(n)
            .unwrap_or_else(|e| panic!("seed {seed}: thaw {n}: {e}"));
    }
    if partitioned {
        c.sb.network()
            .and_then(|net| net.heal())
            .unwrap_or_else(|e| panic!("seed {seed}: heal: {e}"));
    }
    let faults_ended = Instant::now();

    let rec = c.recover_by_text_plan(RECOVERY_BOUND, RefusalPolicy::Transitional);
    let story = |what: &str| {
        let mut logs = String::new();
        for n in c.names() {
            let path = c.sb.error_log(&n).expect("error log");
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            // Galera's own lines: the clients' aborted connections and the reconnect attempts
            // to stopped peers would drown them.
            let lines: Vec<&str> = text
                .lines()
                .filter(|l| l.contains("WSREP") && !l.contains("Failed to establish connection"))
                .collect();
            let _ = writeln!(
                logs,
                "--- {n}: the last Galera lines of {} ---\n{}",
                path.display(),
                lines[lines.len().saturating_sub(25)..].join("\n")
            );
        }
        format!(
            "seed {seed} ({sched}): {what}\n--- what the operator ran ---\n{}\n--- what the sampler saw ---\n{}\n{logs}",
            rec.transcript,
            sampler.report().timeline.join("\n")
        )
    };
    if let Some(f) = &rec.failure {
        panic!("{}", story(f));
    }
    for line in &rec.commands {
        if let Some(node) = flag_value(line, "--node") {
            assert!(
                line.ends_with(&format!("# on {node}")),
                "{}",
                story(&format!("a command ran without its host marker: {line}"))
            );
        }
    }
    c.wait_converged(Duration::from_secs(120));
    let recovery = faults_ended.elapsed();
    let recovered = Instant::now();
    for n in c.names() {
        w.wait_acks(
            &format!("through {n} after the recovery (seed {seed})"),
            3,
            Duration::from_secs(90),
            |a| a.node == n && a.started >= recovered,
        );
    }
    let acked = w.stop();
    let seen = sampler.finish();
    assert!(
        seen.violations.is_empty(),
        "seed {seed}: two Primary components at once:\n{}\n--- timeline ---\n{}\n--- what the operator ran ---\n{}",
        seen.violations.join("\n"),
        seen.timeline.join("\n"),
        rec.transcript
    );
    assert!(
        seen.rounds_with_primary > 0,
        "seed {seed}: the sampler never saw a Primary component ({} rounds)",
        seen.rounds
    );
    c.assert_rows_everywhere(&acked);
    c.assert_audit();
    eprintln!(
        "--- what the operator ran ---\n{}--- what the sampler saw ---\n{}",
        rec.transcript,
        seen.timeline.join("\n")
    );
    eprintln!(
        "chaos seed {seed}: healthy {:.1}s after the faults ended, {} plans, {} commands, {} rows acknowledged, {} sampler rounds",
        recovery.as_secs_f64(),
        rec.plans,
        rec.commands.len(),
        acked.len(),
        seen.rounds
    );
    Outcome {
        seed,
        schedule: sched.to_string(),
        recovery,
        plans: rec.plans,
        commands: rec.commands,
        acked: acked.len(),
        sampler_rounds: seen.rounds,
    }
}

/// Regression (F4, seed 28; fixed by the stale-view rule of 7d15341): node1 runs alone, its
/// non-Primary view still counts node3 (crashed) and reports size 2; the plan said "promote
/// node1", `pc.bootstrap=YES` was accepted, and node1 stayed "non-Primary, Initialized" until
/// the promote gave up after 60 s (exit 1). Failed in 2 runs of 2 before the fix; now the plan
/// waits until the view counts only nodes that can be in it.
#[test]
fn chaos_seed_28_promote_on_a_stale_view_never_becomes_primary() {
    if let Err(e) = try_seed(28) {
        panic!("{e}");
    }
}

/// Regression (F5, seed 16): Galera refuses `pc.bootstrap=YES` with ERROR 1210 (Incorrect
/// arguments to SET; its log: "Set options returned 7") right after a view change although
/// the views are consistent: node1 and node5 both report non-Primary of size 2 (node4 crashed
/// just before the plan). Promote failed (exit 1) in 2 runs of 2; now it decides again from
/// live state and retries while Galera refuses (seen: 3 refusals, then Primary).
#[test]
fn chaos_seed_16_promote_refused_by_galera_after_a_view_change() {
    if let Err(e) = try_seed(16) {
        panic!("{e}");
    }
}

/// Regression (F6, seed 42 of the 2026-12-03 long run): a 3-way partition, node4 frozen and
/// thawed, node2 crashed, the network healed; the plan said "promote node1" while node1, node3
/// and node4 were merging, and Galera accepted `pc.bootstrap=YES` but dropped it ("ignoring
/// 'pc.bootstrap' in state STATES_EXCH"): node1 stayed non-Primary until promote gave up
/// after 60 s. Now a node still non-Primary 5 s after the statement gets it again, after the
/// plan is decided again from live state.
#[test]
fn chaos_seed_42_promote_dropped_while_states_exchange() {
    if let Err(e) = try_seed(42) {
        panic!("{e}");
    }
}

/// Regression (stale views; fixed in 5a30a53), as the long run first met it: a 3-way
/// partition, node3 and node2 crash, the network heals, and node1 still reports the Primary
/// view of size 3 it had before the partition; the plan said "join the running Primary
/// (node1)", and `rejoin node2` waited 180 s for a Primary that did not exist. Also seen with
/// seeds 2, 10, 12 and 19.
#[test]
fn chaos_seed_11_join_a_stale_primary_view() {
    if let Err(e) = try_seed(11) {
        panic!("{e}");
    }
}

/// Regression (fixed in 7d15341: one stale-view rule for Primary and non-Primary components):
/// the same stale view on a non-Primary node, then a promote that fails. After
/// the faults node2 reports "non-Primary (size 2)" (its view still holds node4, which stopped
/// cleanly while node2 was frozen), node3 "non-Primary (size 1)", the other three are stopped:
/// at most node2 and node3 can be in a component, and node3 is not in node2's. The plan says
/// "promote node2"; `SET GLOBAL wsrep_provider_options='pc.bootstrap=YES'` fails with ERROR 1210
/// (Incorrect arguments to SET) while Galera is still changing the view, and the printed
/// command fails (exit 1). Seen in 3 runs of 3.
#[test]
fn chaos_seed_1_promote_on_a_stale_view() {
    if let Err(e) = try_seed(1) {
        panic!("{e}");
    }
}

/// Regression (fixed in 5a30a53): node2 is frozen while the cluster is healthy, node1 crashes
/// and node3 stops; node2 is thawed and the operator plans at once. node2 still reports the
/// view it was frozen in (Primary, Synced, size 3) although the other two members are
/// verifiably down; the plan said "join the running Primary (node2)" and its `rejoin node1`
/// then waited minutes for a Primary that did not exist. The plan now waits until the view is
/// updated. (Seen first with chaos seeds 2, 10 and 12.)
#[test]
fn finding_stale_primary_view_after_thaw_is_not_joined() {
    let sched = Schedule {
        seed: 0,
        nodes: 3,
        faults: vec![
            (Duration::from_secs(1), Fault::Freeze("node2".into())),
            (Duration::from_millis(500), Fault::Crash("node1".into())),
            (Duration::from_millis(500), Fault::Stop("node3".into())),
            (Duration::from_millis(500), Fault::Thaw("node2".into())),
        ],
    };
    run_schedule(&sched);
}

/// Regression (fixed in 7d15341: a possible member answers with the same status and size):
/// a stale Primary view whose size fits the nodes that are not stopped, but
/// one of those reports non-Primary, so it cannot be a member. node2 is frozen in the Primary
/// {node1, node2} of a partition, node1 stops cleanly, node2 is thawed and the network healed:
/// node2 reports "Primary, Synced (size 2)", node3 "non-Primary (size 1)", node1 is stopped.
/// The plan says "join the running Primary (node2)"; `rejoin node1` fails after 30 s (mariadbd:
/// "failed to reach primary view"). The stale-view check of 5a30a53 counts every node not
/// stopped as a possible member; a node reporting non-Primary (or another component size) is
/// not one. Timing decides the outcome: when node1's leave reaches node2 after the thaw, node2
/// stays Primary alone and the join works; 2 of 3 runs failed.
#[test]
fn finding_stale_primary_view_beside_a_non_primary_node() {
    let sched = Schedule {
        seed: 0,
        nodes: 3,
        faults: vec![
            (
                Duration::from_secs(1),
                Fault::Partition(vec![
                    vec!["node1".into(), "node2".into()],
                    vec!["node3".into()],
                ]),
            ),
            // Long enough for {node1, node2} to form their Primary without node3.
            (Duration::from_secs(15), Fault::Freeze("node2".into())),
            (Duration::from_millis(500), Fault::Stop("node1".into())),
            (Duration::from_millis(500), Fault::Thaw("node2".into())),
        ],
    };
    run_schedule(&sched);
}

/// Runs `seed`, turning a failure into `Err(message naming the seed and how to replay it)`.
fn try_seed(seed: u64) -> Result<Outcome, String> {
    std::panic::catch_unwind(|| run_seed(seed)).map_err(|payload| {
        let msg = payload
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| payload.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_else(|| "panicked".into());
        format!(
            "chaos seed {seed} FAILED (replay: QUORATE_CHAOS_SEED={seed} cargo test --test recover_chaos chaos_ci_seeds -- --nocapture):\n{msg}"
        )
    })
}

fn env_u64(name: &str) -> Option<u64> {
    std::env::var(name).ok().map(|v| {
        v.trim()
            .parse()
            .unwrap_or_else(|e| panic!("{name}={v:?}: {e}"))
    })
}

#[test]
fn chaos_ci_seeds() {
    let seeds: Vec<u64> = match env_u64("QUORATE_CHAOS_SEED") {
        Some(s) => vec![s],
        None => CI_SEEDS.to_vec(),
    };
    for seed in seeds {
        if let Err(e) = try_seed(seed) {
            panic!("{e}");
        }
    }
}

/// The long run (see the header): many seeds, results to bench/results/recover_chaos.md.
#[test]
#[ignore = "long run: QUORATE_CHAOS_SEEDS=N cargo test --test recover_chaos chaos_long_run -- --ignored"]
fn chaos_long_run() {
    let count = env_u64("QUORATE_CHAOS_SEEDS").unwrap_or(20);
    let first = env_u64("QUORATE_CHAOS_FIRST_SEED").unwrap_or(1);
    let started = Instant::now();
    let mut results: Vec<Result<Outcome, (u64, String)>> = Vec::new();
    for seed in first..first + count {
        results.push(try_seed(seed).map_err(|e| (seed, e)));
        write_results(first, count, &results, started.elapsed());
    }
    let failed: Vec<&(u64, String)> = results.iter().filter_map(|r| r.as_ref().err()).collect();
    assert!(
        failed.is_empty(),
        "{} of {count} seeds failed: {:?}\n{}",
        failed.len(),
        failed.iter().map(|(s, _)| s).collect::<Vec<_>>(),
        failed
            .iter()
            .map(|(_, e)| e.lines().take(3).collect::<Vec<_>>().join("\n"))
            .collect::<Vec<_>>()
            .join("\n\n")
    );
}

fn write_results(
    first: u64,
    count: u64,
    results: &[Result<Outcome, (u64, String)>],
    elapsed: Duration,
) {
    let ok: Vec<&Outcome> = results.iter().filter_map(|r| r.as_ref().ok()).collect();
    let failed: Vec<u64> = results
        .iter()
        .filter_map(|r| r.as_ref().err().map(|(s, _)| *s))
        .collect();
    let mut times: Vec<f64> = ok.iter().map(|o| o.recovery.as_secs_f64()).collect();
    times.sort_by(f64::total_cmp);
    let median = if times.is_empty() {
        f64::NAN
    } else if times.len() % 2 == 1 {
        times[times.len() / 2]
    } else {
        (times[times.len() / 2 - 1] + times[times.len() / 2]) / 2.0
    };
    let mut md = String::new();
    let _ = writeln!(
        md,
        "# `quorate recover`: randomized faults on a real cluster\n"
    );
    let _ = writeln!(
        md,
        "Produced by `QUORATE_CHAOS_SEEDS={count} QUORATE_CHAOS_FIRST_SEED={first} cargo test --test recover_chaos chaos_long_run -- --ignored` (tests/recover_chaos.rs; `bench/recover_chaos.sh`), {} on a {}-core machine; {:.0} s in all.\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M UTC"),
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        elapsed.as_secs_f64()
    );
    let _ = writeln!(
        md,
        "- seeds {first}..{}: **{} ran, {} passed, {} failed**{}",
        first + count - 1,
        results.len(),
        ok.len(),
        failed.len(),
        if failed.is_empty() {
            String::new()
        } else {
            format!(
                " (seeds {})",
                failed
                    .iter()
                    .map(u64::to_string)
                    .collect::<Vec<_>>()
                    .join(", ")
            )
        }
    );
    if !times.is_empty() {
        let _ = writeln!(
            md,
            "- recovery, from the end of the faults to every node Synced in one Primary, following the printed plan: min {:.1} s, median {median:.1} s, max {:.1} s",
            times[0],
            times[times.len() - 1]
        );
    }
    let _ = writeln!(
        md,
        "- each run: 3 to 5 nodes in network namespaces, 2 to 5 faults (crash, clean stop, freeze/thaw, partition/heal) while a writer commits through every node; then the operator ends the faults and runs each printed command as printed until `healthy`; asserted: one Primary of all nodes Synced, writes through every node, every acknowledged row on every node, one audit line per action, never two Primary components at once\n"
    );
    let _ = writeln!(
        md,
        "| seed | result | recovery | plans read | commands run | rows acked | schedule |"
    );
    let _ = writeln!(md, "|---:|---|---:|---:|---:|---:|---|");
    for r in results {
        match r {
            Ok(o) => {
                let _ = writeln!(
                    md,
                    "| {} | ok | {:.1} s | {} | {} | {} | {} |",
                    o.seed,
                    o.recovery.as_secs_f64(),
                    o.plans,
                    o.commands.len(),
                    o.acked,
                    o.schedule.split_once(": ").map_or("", |(_, s)| s)
                );
                let _ = o.sampler_rounds;
            }
            Err((seed, e)) => {
                let first_line = e.lines().nth(1).unwrap_or("").replace('|', "/");
                let _ = writeln!(
                    md,
                    "| {seed} | **FAILED** | | | | | {} — {} |",
                    schedule(*seed)
                        .to_string()
                        .split_once(": ")
                        .map_or("", |(_, s)| s),
                    first_line.chars().take(200).collect::<String>()
                );
            }
        }
    }
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results/recover_chaos.md");
    std::fs::write(&path, md).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

#[test]
fn schedules_are_reproducible_and_cover_every_fault() {
    assert_eq!(schedule(7).to_string(), schedule(7).to_string());
    let mut kinds = BTreeSet::new();
    for seed in 1..200 {
        let s = schedule(seed);
        assert!((3..=5).contains(&s.nodes), "{s}");
        assert!((1..=5).contains(&s.faults.len()), "{s}");
        for (_, f) in &s.faults {
            kinds.insert(f.to_string().split(' ').next().unwrap_or("").to_string());
            if let Fault::Partition(groups) = f {
                let all: usize = groups.iter().map(Vec::len).sum();
                assert_eq!(all, s.nodes, "{s}");
                assert!(groups.iter().all(|g| !g.is_empty()), "{s}");
            }
        }
    }
    let want: BTreeSet<String> = ["crash", "stop", "freeze", "thaw", "partition", "heal"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(kinds, want);
    // `QUORATE_CHAOS_LIST=N` prints what seeds 1..=N do (to choose seeds).
    let list = env_u64("QUORATE_CHAOS_LIST").unwrap_or(0);
    for seed in CI_SEEDS.iter().copied().chain(1..=list) {
        eprintln!("{}", schedule(seed));
    }
}

#[test]
fn the_text_plan_is_parsed_with_its_commands_and_hosts() {
    let text = "Situation: no Primary component: every reachable node is stopped (runbook case 6)
Decision:  bootstrap node2

Evidence:
  node1  stopped, crashed (seqno -1)
         uuid a, seqno 30 (recovered at 1), safe_to_bootstrap 0
  node2  stopped, crashed (seqno -1)

Why:
  - node2 is the most advanced node

Steps:
  1. quorate recover bootstrap --config /x/q.yaml --node node2 --plan abc --execute   # on node2
     node2: start it
  2. wait for node3: merges by itself

Plan digest: abc (actions refuse if the situation no longer matches it)
";
    let p = TextPlan::parse(text).expect("plan");
    assert_eq!(p.decision, "bootstrap node2");
    assert_eq!(p.evidence.len(), 2);
    assert_eq!(p.evidence[1].0, "node2");
    assert_eq!(p.why, vec!["node2 is the most advanced node".to_string()]);
    assert_eq!(p.steps.len(), 2);
    assert_eq!(p.steps[0].number, 1);
    assert_eq!(p.steps[0].host.as_deref(), Some("node2"));
    let cmd = p.steps[0].command.clone().unwrap_or_default();
    assert!(cmd.ends_with("# on node2"), "{cmd}");
    assert_eq!(flag_value(&cmd, "--node").as_deref(), Some("node2"));
    assert!(p.steps[1].command.is_none());
    assert!(p.transitional_evidence().is_empty());
}

fn observed(node: &str, status: &str, uuid: &str, conf: &str, members: &[&str]) -> Observation {
    Observation {
        node: node.into(),
        status: status.into(),
        state_uuid: uuid.into(),
        conf_id: conf.into(),
        members: members.iter().map(|m| m.to_string()).collect(),
    }
}

#[test]
fn the_sampler_tells_two_primary_components_from_a_stale_view() {
    let judge = |rounds: &[(Instant, Vec<Observation>)]| {
        let mut r = SamplerReport::default();
        let (mut last, mut stale) = Default::default();
        for (at, seen) in rounds {
            judge_round(&mut r, seen, 0.0, *at, &mut last, &mut stale);
        }
        r
    };
    let t0 = Instant::now();
    // One component seen by all its members: fine.
    let one = vec![
        observed("node1", "Primary", "u", "7", &["node1", "node2"]),
        observed("node2", "Primary", "u", "7", &["node1", "node2"]),
        observed("node3", "non-Primary", "u", "-1", &["node3"]),
    ];
    assert!(judge(&[(t0, one)]).violations.is_empty());
    // Two Primary components that do not know each other (pc.bootstrap on both sides).
    let split = vec![
        observed("node1", "Primary", "u", "8", &["node1", "node2"]),
        observed("node3", "Primary", "u", "8", &["node3", "node4"]),
    ];
    let r = judge(&[(t0, split)]);
    assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
    // Another history.
    let other = vec![
        observed("node1", "Primary", "u", "8", &["node1", "node2", "node3"]),
        observed("node2", "Primary", "v", "2", &["node1", "node2", "node3"]),
    ];
    assert_eq!(judge(&[(t0, other)]).violations.len(), 1);
    // A node that has not noticed yet that the others formed a component without it: tolerated
    // for STALE_VIEW_GRACE, a violation after.
    let stale = vec![
        observed("node1", "Primary", "u", "9", &["node1", "node2"]),
        observed("node3", "Primary", "u", "8", &["node1", "node2", "node3"]),
    ];
    let later = t0 + STALE_VIEW_GRACE + Duration::from_secs(1);
    assert!(judge(&[(t0, stale.clone())]).violations.is_empty());
    let r = judge(&[(t0, stale.clone()), (later, stale)]);
    assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
    assert_eq!(r.rounds, 2);
    // Seed 16 in CI: node3 read mid-change, the new members (node4 back) with the old id,
    // while the others still had the old view. Both sides list each other: tolerated for
    // STALE_VIEW_GRACE like a stale view, a violation after.
    let changing = vec![
        observed(
            "node1",
            "Primary",
            "u",
            "8",
            &["node1", "node2", "node3", "node5"],
        ),
        observed(
            "node3",
            "Primary",
            "u",
            "8",
            &["node1", "node2", "node3", "node4", "node5"],
        ),
    ];
    assert!(judge(&[(t0, changing.clone())]).violations.is_empty());
    let r = judge(&[(t0, changing.clone()), (later, changing)]);
    assert_eq!(r.violations.len(), 1, "{:?}", r.violations);
    assert!(r.violations[0].contains("different members at one configuration id"));
}
