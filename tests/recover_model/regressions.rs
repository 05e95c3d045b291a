//! Counterexamples the model found, each as a small explicit scenario: the events that lead
//! there, then quorate's plan → apply loop with every invariant checked. A failure prints
//! the whole history (events, states, plans, steps).
//!
//! A counterexample whose fix has not landed yet is `#[ignore]`d and listed in `known.rs`'s
//! `OPEN` (one form of k today); g's form through a cleanly stopped member nobody can name is
//! ignored as beyond what the reports show (its doc says why). Classes a–f and h pass since main's 9a5bb67 (decide: InnoDB over
//! grastate.dat, unknown positions recovered first, Primaries of different sizes refused,
//! diverged saved views refused, total arithmetic), g and i since 72ece52, the clean-restart
//! form of g since 556876c, g with an assumed-lost member and j's general form since the
//! views-unless-unknown and moved-on-but-behind rules of decide.

use quorate::recover::decide::{decide, Assumptions, ClusterView, NodeView, Observed};
use quorate::recover::report::{FileState, Live, LiveStatus, Mysqld, NodeReport, SavedState};

use crate::apply::Fault;
use crate::history::{run, Ev, Operator, Spec};
use crate::invariants;

fn operator() -> Operator {
    Operator {
        first_step_only: false,
        assume_lost: false,
        faults: vec![Fault::None],
    }
}

/// Runs the scenario and panics with the whole history if an invariant breaks.
fn holds(nodes: usize, events: Vec<Ev>) -> crate::history::Stats {
    holds_with(operator(), nodes, events)
}

/// A history quorate must get through without any excuse: the invariants hold and nothing
/// was counted as unavoidable.
fn refused_not_excused(nodes: usize, events: Vec<Ev>) {
    let stats = holds(nodes, events);
    assert_eq!(stats.unavoidable, 0, "{stats:?}");
}

fn holds_with(operator: Operator, nodes: usize, events: Vec<Ev>) -> crate::history::Stats {
    let spec = Spec {
        nodes,
        legacy_files: false,
        events,
        operator,
    };
    let (stats, res) = run(&spec);
    if let Err(f) = res {
        panic!("{f}");
    }
    assert!(stats.decisions > 0, "quorate planned at least once");
    stats
}

// Node numbers in events are 0-based (node1 is 0).

/// (a) An operator bootstraps node1 by hand while node2+node3 still run a Primary: two
/// Primary components of one history (cluster UUID) that report sizes 1 and 2 (node2's
/// endpoint does not answer, so only two nodes report Primary, no more than the larger
/// size). node4 is stopped. The plan joined node4 to "the Primary" (or waited) instead of
/// refusing: a split brain must be refused (runbook: "two clusters already exist").
#[test]
fn a_two_primaries_of_one_history_with_different_sizes_are_refused() {
    holds(
        4,
        vec![
            Ev::Stop(3),
            Ev::Crash(0),
            Ev::EndpointDown(1),
            Ev::OperatorBootstrap(0),
            Ev::Recover,
        ],
    );
}

/// (a, second form, found by the model with seed 7) node1 left cleanly and was bootstrapped
/// by hand; a partition then split node2+node3 (still Primary) from node1+node4 (node4 joined
/// node1's Primary). node2's and node4's endpoints do not answer: node1 and node3 both report
/// Primary of size 2, so neither the count nor the sizes disagree. Their saved views do:
/// node1's is {node1,node4}, node3's {node2,node3} (different view ids, no common member),
/// so they are two Primary components. The plan waited for the unknown nodes instead of
/// refusing the split brain.
#[test]
fn a_two_primaries_of_equal_size_with_different_views_are_refused() {
    holds(
        4,
        vec![
            Ev::EndpointDown(3),
            Ev::Stop(0),
            Ev::OperatorBootstrap(0),
            Ev::EndpointDown(1),
            Ev::Partition(vec![0, 2, 2, 0]),
            Ev::Recover,
        ],
    );
}

/// (b) After a crash of both nodes, node1 was started plainly: it runs non-Primary with
/// no position (wsrep_last_committed -1). node2 stopped cleanly. The plan bootstrapped
/// node2 without knowing node1's position (node1 may be ahead: it must be stopped and its
/// position recovered first).
#[test]
fn b_live_non_primary_without_position_blocks_bootstrap() {
    holds(
        2,
        vec![
            Ev::Write(0),
            Ev::Crash(0),
            Ev::Stop(1),
            Ev::Start(0, false),
            Ev::Recover,
        ],
    );
}

/// (c) node2's InnoDB was restored from an older backup under its clean grastate.dat
/// (seqno 1); a fresh `--wsrep-recover` says InnoDB holds 0. node1 holds write 1. The plan
/// believed grastate.dat and bootstrapped node2 (tie broken by safe_to_bootstrap), losing
/// write 1: a fresh recovery settles the position (facts).
#[test]
fn c_fresh_recovery_below_clean_grastate_wins() {
    holds(
        2,
        vec![
            Ev::Write(0),
            Ev::Stop(0),
            Ev::Stop(1),
            Ev::RollbackInnodb(1, 1),
            Ev::Recover,
        ],
    );
}

/// (c, second form) Every node crashed and was started plainly: pc.recovery re-formed the
/// Primary with the zero state; a clean stop left `00000000-…:-1, safe_to_bootstrap 1` over
/// node1's InnoDB, which holds the newest write. The operator recovered node1's position
/// (fresh: it holds write 1); the plan must use it, not the zero file. On main the plan
/// refuses ("no node holds a usable Galera state"): safe, but a refusal with every
/// position known.
#[test]
fn c_pc_recovery_zero_file_hides_newest_innodb() {
    let stats = holds(
        2,
        vec![
            Ev::Write(0),
            Ev::CrashMany(0b11),
            Ev::Start(0, false),
            Ev::Start(1, false),
            Ev::Stop(1),
            Ev::Stop(0),
            Ev::RunRecover(0),
            Ev::RunRecover(1),
            Ev::Recover,
        ],
    );
    // Every position is known (fresh recoveries): refusing is not the answer (invariant 6).
    assert!(
        stats.unambiguous_refusals.is_empty(),
        "refused with every position known: {:?} (rerun with QUORATE_MODEL_TRACE=1)",
        stats.unambiguous_refusals
    );
    assert_eq!(
        stats.healthy_at_end, 1,
        "node1 (write 1) bootstrapped, node2 rejoined"
    );
}

/// (d) node1 crashed during DDL (grastate.dat `00000000-…:-1`, docs: node-provisioning),
/// node2 runs non-Primary. The plan promoted node2 as if node1 held no data: a zero UUID
/// never recovered is "position unknown" (facts), its InnoDB may be ahead.
#[test]
fn d_zero_uuid_never_recovered_is_position_unknown() {
    holds(2, vec![Ev::Write(0), Ev::CrashToi(0), Ev::Recover]);
}

/// (e) node1's grastate.dat is unreadable beside a running Primary. The plan went straight
/// to `rejoin --move-aside` (full SST) without recovering node1's position first: if node1
/// were ahead, its writes would be gone.
#[test]
fn e_unreadable_grastate_beside_primary_recovers_first() {
    holds(3, vec![Ev::Stop(0), Ev::CorruptGrastate(0), Ev::Recover]);
}

/// (f) All three crashed with node3 ahead (it committed write 1, the others had not
/// applied it); all three started plainly, pc.recovery re-formed a Primary with the zero
/// state (last_committed -1); node3 crashed again. The plan joined node3 to that Primary
/// (SST from a node without write 1): with the Primary's position unknown, "is the stopped
/// node ahead?" cannot be answered, and must not be skipped.
#[test]
fn f_primary_without_position_keeps_the_ahead_check() {
    holds(
        3,
        vec![
            Ev::Write(2),
            Ev::CrashMany(0b111),
            Ev::Start(0, false),
            Ev::Start(1, false),
            Ev::Start(2, false),
            Ev::Crash(2),
            Ev::Recover,
        ],
    );
}

/// (g) node2 left cleanly, then was bootstrapped by hand while node1 ran the Primary alone:
/// two histories of one UUID, each with a write at seqno 1. node2 crashed; the saved views
/// are {node1} (node1 runs) and {node2}, which share no member: two Primary components,
/// diverged (facts). The plan recovered node2's position (1), compared it by seqno with
/// the Primary (1) and rejoined node2 (IST over a diverged history): node2's write lost.
/// Passes since main's 72ece52 (the node is investigated, not joined).
#[test]
fn g_disjoint_saved_primary_views_are_diverged() {
    holds(
        2,
        vec![
            Ev::Stop(1),
            Ev::OperatorBootstrap(1),
            Ev::Write(1),
            Ev::Crash(1),
            Ev::Write(0),
            Ev::Recover,
        ],
    );
}

/// (h) decide must be total: no overflow panic, whatever a peer reports (a peer's JSON is
/// input). A live status with `wsrep_cluster_size` u64::MAX made decide panic with
/// "attempt to multiply with overflow"; extreme seqnos everywhere must not either.
#[test]
fn h_seqno_overflow_is_not_a_panic() {
    let live = |size: u64, last: i64| NodeReport {
        node: "node1".into(),
        cluster: "model".into(),
        gathered_at: u64::MAX,
        mysqld: Mysqld {
            running: true,
            pid: Some(u32::MAX),
            frozen: false,
            how: String::new(),
        },
        grastate: FileState::Read {
            value: SavedState {
                uuid: "6a3a757c-e627-11f1-8417-e7ac2a1d04b7".into(),
                seqno: i64::MIN,
                safe_to_bootstrap: true,
                safe_to_bootstrap_present: true,
                fingerprint: String::new(),
            },
        },
        gvwstate: FileState::Absent,
        live: Some(Live::Answered(LiveStatus {
            cluster_status: "Primary".into(),
            local_state: Some(i64::MAX),
            local_state_comment: None,
            cluster_size: Some(size),
            cluster_state_uuid: Some("6a3a757c-e627-11f1-8417-e7ac2a1d04b7".into()),
            last_committed: Some(last),
            ready: Some(true),
        })),
        recovered: None,
        sst_in_progress: false,
        action_in_progress: None,
        maintenance: None,
        apart: None,
    };
    let stopped = |seqno: i64| {
        let mut r = live(0, 0);
        r.node = "node2".into();
        r.mysqld.running = false;
        r.live = None;
        if let FileState::Read { value } = &mut r.grastate {
            value.seqno = seqno;
        }
        r
    };
    for (size, last, other) in [
        (u64::MAX, i64::MAX, i64::MIN),
        (u64::MAX / 2 + 1, i64::MIN, i64::MAX),
        (1, i64::MAX, i64::MAX),
        (3, i64::MIN, i64::MIN),
        (2, -1, i64::MAX),
    ] {
        let view = ClusterView {
            nodes: vec![
                NodeView {
                    name: "node1".into(),
                    observed: Observed::Known(Box::new(live(size, last))),
                },
                NodeView {
                    name: "node2".into(),
                    observed: Observed::Known(Box::new(stopped(other))),
                },
            ],
        };
        if let Err(v) = invariants::decide_checked(&view, &Assumptions::default()) {
            panic!("size {size}, last_committed {last}, other seqno {other}: {v:?}");
        }
    }
    // And the shape the arbitrary reports found first: one node with an absurd size.
    let mut r = live(u64::MAX, 0);
    r.live = Some(Live::Answered(LiveStatus {
        cluster_status: "node1".into(),
        local_state: None,
        local_state_comment: None,
        cluster_size: Some(u64::MAX),
        cluster_state_uuid: None,
        last_committed: None,
        ready: None,
    }));
    let view = ClusterView {
        nodes: vec![
            NodeView {
                name: "node1".into(),
                observed: Observed::Known(Box::new(r)),
            },
            NodeView {
                name: "node1".into(),
                observed: Observed::Unknown {
                    reason: String::new(),
                },
            },
        ],
    };
    let d = std::panic::catch_unwind(|| decide(&view, &Assumptions::default()));
    assert!(d.is_ok(), "decide panicked on wsrep_cluster_size u64::MAX");
}

/// (i) found by the model: node1, promoted alone during a three-way partition, crashed;
/// its gvwstate.dat holds the Primary view {node1}. The plan promoted node2 and rejoined
/// node1, which cannot reach node2 across the partition: pc.recovery re-formed {node1}
/// by itself (docs pc.recovery: every member of the saved view is back) — a second
/// Primary. A rejoin must not be able to re-form a saved Primary view that excludes the
/// running Primary (move gvwstate.dat aside, or refuse while the view could re-form).
/// Passes since main's 72ece52 (rejoin always moves gvwstate.dat aside).
#[test]
fn i_rejoin_cannot_reform_a_saved_singleton_primary() {
    holds(
        3,
        vec![
            Ev::Partition(vec![2, 1, 0]),
            Ev::Recover,
            Ev::Crash(0),
            Ev::Recover,
        ],
    );
}

/// Passes on main: the runbook's case 6 end to end (all crashed, positions recovered,
/// the most advanced bootstrapped, the others rejoined), every write kept.
#[test]
fn all_crashed_recovers_the_most_advanced() {
    holds(
        3,
        vec![
            Ev::Write(1),
            Ev::Write(1),
            Ev::CrashMany(0b111),
            Ev::Recover,
        ],
    );
}

/// Passes on main: case 5 with a crashed majority; the survivor is promoted only after
/// the others' positions are recovered, and the cluster ends healthy.
#[test]
fn two_of_three_crashed_promotes_after_recovery() {
    let spec = Spec {
        nodes: 3,
        legacy_files: false,
        events: vec![Ev::Write(0), Ev::Apply, Ev::CrashMany(0b110), Ev::Recover],
        operator: operator(),
    };
    let (stats, res) = run(&spec);
    if let Err(f) = res {
        panic!("{f}");
    }
    assert_eq!(stats.healthy_at_end, 1, "the cluster ends healthy");
}

/// Found by the model after main's fix for (g): node2 crashed, node1 (non-Primary alone)
/// stopped cleanly, so its gvwstate.dat is gone and its next start gets a new gcomm UUID.
/// After node2's position is recovered and node1 bootstrapped, node1's saved view
/// {node1 (new UUID)} shares no member UUID with node2's {node1 (old UUID), node2}: one
/// history, nothing diverged, yet the plan treats node2 as possibly diverged and never
/// rejoins it (invariant 6: every position is known, the cluster must end healthy). Saved
/// views can only be compared by member UUID when no member restarted without pc.recovery.
/// Passes since main's 556876c (members compared as nodes, through each node's my_uuid).
#[test]
fn g_clean_restart_is_not_divergence() {
    // The operator runs one step at a time and plans again (runbook: "then the rejoin
    // steps it prints next").
    let one_step = Operator {
        first_step_only: true,
        ..operator()
    };
    let stats = holds_with(
        one_step,
        2,
        vec![Ev::Write(0), Ev::Crash(1), Ev::Stop(0), Ev::Recover],
    );
    assert!(
        stats.unambiguous_refusals.is_empty(),
        "refused with every position known: {:?} (rerun with QUORATE_MODEL_TRACE=1)",
        stats.unambiguous_refusals
    );
    assert_eq!(
        stats.healthy_at_end, 1,
        "node2 rejoined: the cluster ends healthy"
    );
}

/// Found by the model after main's 556876c (inv 6, liveness): node1 left cleanly, node2 ran
/// the Primary {node2} alone and crashed (saved view {node2}). Both positions are equal and
/// known; quorate bootstraps node1, whose new view {node1} has no node in common with
/// node2's saved {node2}. The next plan leaves node2 to "investigate" forever, though node2
/// holds nothing past the position node1 was bootstrapped from (equal seqnos, one history):
/// the cluster never becomes healthy. Disjoint views show a divergence only when the other
/// side holds writes past the point the running Primary was formed from. Passes since
/// main's 2c2c45a (on a tie, the node the others' saved views name is bootstrapped).
#[test]
fn g_shrunk_primary_then_bootstrap_is_not_divergence() {
    let one_step = Operator {
        first_step_only: true,
        ..operator()
    };
    let stats = holds_with(one_step, 2, vec![Ev::Stop(0), Ev::Crash(1), Ev::Recover]);
    assert!(
        stats.unambiguous_refusals.is_empty(),
        "refused with every position known: {:?} (rerun with QUORATE_MODEL_TRACE=1)",
        stats.unambiguous_refusals
    );
    assert_eq!(
        stats.healthy_at_end, 1,
        "node2 rejoined: the cluster ends healthy"
    );
}

/// Found by the 1 000 000-history run (class g, open on main): node3 left cleanly and was
/// bootstrapped by hand while node1+node2 ran the Primary; each side committed a write at
/// seqno 1 (two histories). node1's endpoint then stopped answering, node2 crashed in DDL,
/// node3 crashed. The saved views are {node1, node2} (node2) and {node3} (node3): no node in
/// common, diverged (facts). With `--assume-lost node1` the plan compared node2 and node3 by
/// seqno (a tie) and bootstrapped node2: node3's write would be discarded when it rejoins.
/// A member that does not answer (or is assumed lost) must not hide the divergence.
#[test]
fn g_disjoint_views_with_an_unknown_member_are_diverged() {
    let assume = Operator {
        assume_lost: true,
        ..operator()
    };
    holds_with(
        assume,
        3,
        vec![
            Ev::Stop(2),
            Ev::EndpointDown(0),
            Ev::Write(0),
            Ev::OperatorBootstrap(2),
            Ev::Write(2),
            Ev::Crash(2),
            Ev::Crash(0),
            Ev::CrashToi(1),
            Ev::Recover,
        ],
    );
}

/// (j) Found by the 1 000 000-history run; passes since main's 2c2c45a (ties go to the node
/// the others' saved views name). Both nodes crashed, node1 holding
/// write 1; node1's endpoint did not answer, so the operator planned with
/// `--assume-lost node1`: node2 was bootstrapped from seqno 0 (the plan's risks said node1's
/// later writes would be discarded). node2's Primary then acknowledged its own write 1 and
/// crashed; node1 came back. Both recover seqno 1 — two different histories. The plan broke
/// the tie by configuration order and bootstrapped node1, discarding the write the running
/// cluster had acknowledged after the assumption. node2's saved view (#2, {node2}) is newer
/// than node1's (#1) and does not include node1: node1 missed that Primary's history, and
/// its seqno cannot be compared with node2's.
#[test]
fn j_assumed_lost_node_back_is_not_preferred_on_a_tie() {
    let assume = Operator {
        assume_lost: true,
        ..operator()
    };
    holds_with(
        assume,
        2,
        vec![
            Ev::Write(0),
            Ev::CrashMany(0b11),
            Ev::EndpointDown(0),
            Ev::Recover,
            Ev::EndpointUp(0),
            Ev::Write(1),
            Ev::Crash(1),
            Ev::Recover,
        ],
    );
}

/// (j, general form) Found by the 1 000 000-history run on main 2c2c45a, open. node3 crashed
/// in the Primary {node2, node3} at seqno 3. node1 (behind, at 0) was bootstrapped by hand,
/// node2 merged into it (its data overwritten), the new Primary {node1, node2} committed its
/// seqno 1, and a partition left node1 and node2 non-Primary. The plan compared seqnos
/// (node3 3 > 1) and bootstrapped node3, discarding the write the later Primary had
/// acknowledged. The reports show why seqnos mean nothing here: node3's saved view (#2,
/// {node2, node3}) is older than node1's (#4, {node1, node2}), which does not include node3,
/// and node2, a member of both, is now *behind* node3 — impossible in one history.
#[test]
fn j_node_that_missed_a_later_primary_is_not_compared_by_seqno() {
    holds(
        3,
        vec![
            Ev::Write(1),
            Ev::Crash(0),
            Ev::Write(1),
            Ev::Write(2),
            Ev::Crash(2),
            Ev::OperatorBootstrap(0),
            Ev::Write(0),
            Ev::Partition(vec![0, 1, 0]),
            Ev::Recover,
        ],
    );
}

/// (j, bootstrapped while behind; found by seed 13 of a 10 000-history run) All five crashed
/// in one view, node4 ahead (seqno 2). node1 (behind) was bootstrapped by hand, node2 and
/// node3 joined it (their data replaced), the new Primary {node1, node2, node3} committed its
/// seqno 1 and crashed. The plan bootstrapped node4 (2 > 1), discarding that write: node1
/// was in node4's view and moved on to a later Primary none of whose members holds node4's
/// writes.
#[test]
fn j_later_primary_started_behind_is_not_compared_by_seqno() {
    holds(
        5,
        vec![
            Ev::Write(1),
            Ev::Write(3),
            Ev::CrashMany(25),
            Ev::OperatorBootstrap(0),
            Ev::Write(0),
            Ev::CrashMany(3),
            Ev::RunRecover(0),
        ],
    );
}

/// (j with an assumed-lost member; found by seed 17) As above on three nodes, the later
/// Primary {node1, node3} holding the write, node1's endpoint down and assumed lost: its
/// position is unknown, and the plan bootstrapped node2 over node3's write.
#[test]
fn j_later_primary_with_an_assumed_lost_member_is_not_compared_by_seqno() {
    let assume = Operator {
        assume_lost: true,
        ..operator()
    };
    holds_with(
        assume,
        3,
        vec![
            Ev::Crash(3),
            Ev::Write(1),
            Ev::Write(1),
            Ev::OperatorBootstrap(0),
            Ev::Write(0),
            Ev::EndpointDown(3),
            Ev::OperatorBootstrap(0),
            Ev::Crash(1),
            Ev::Crash(3),
        ],
    );
}

/// (g; found by seeds 13 and 14 of 10 000-history runs) Someone bootstrapped node4 by
/// hand after a clean stop, then node2 beside the running Primary. The model then had Galera
/// merge a running node that was ahead into the Primary and overwrite its data, which left
/// node1's acknowledged write only on crashed node1 with a position no report could tell from
/// runbook case 4. Galera does not do that: a node that lost its Primary is CONNECTED, below
/// JOINING, and aborts with "states diverged" instead (replicator_smm.cpp,
/// process_non_prim_conf_change; replicator_str.cpp, state_transfer_required). The model now
/// aborts it, the node it leaves is stopped with an unknown position, and the plan recovers
/// it first.
#[test]
fn g_node_ahead_of_a_hand_made_primary_aborts_and_its_write_is_kept() {
    holds(
        5,
        vec![
            Ev::Stop(3),
            Ev::OperatorBootstrap(3),
            Ev::Stop(1),
            Ev::Write(0),
            Ev::OperatorBootstrap(1),
            Ev::Stop(4),
            Ev::Crash(0),
            Ev::Crash(1),
            Ev::Write(2),
        ],
    );
}

// Found by the 1 000 000-history run of 2026-12-03 (seed 1364656145; bench/results/
// recover_model.md). Each starts with a human's bootstrap of a node that was behind, or
// beside a running Primary. Two were quorate's to catch: the only trace of the hand-made
// Primary was an unreadable gvwstate.dat, and decide now refuses to choose while a saved view
// cannot be read. The other two were beyond any tool (the runbook's "What quorate
// guarantees, and what it does not"; their classifier had blamed saved views that had
// nothing to do with the lost write), and since the model gives every Primary configuration
// change a seqno (seen on the sandbox the same day) Galera itself loses their writes first.

/// (g, beyond reach; 26 histories) node2 was bootstrapped by hand while crashed node1 was ahead; the
/// plan then rightly said "node1 is ahead: investigate". Later node2 was bootstrapped by hand
/// again beside node3's Primary, and node3 wrote on. node1's seqno now equals the Primary's,
/// its saved view names node3, and the rejoin discards its write by an IST over a diverged
/// history. Nothing in the reports of that moment remembers the earlier "ahead", and the
/// saved views that do show a second Primary (node2's and node3's) are not node1's. Since
/// view changes take seqnos in the model, Galera itself takes node1 into the hand-made
/// Primary (IST over its diverged history) before quorate is asked: the hand bootstrap's loss.
#[test]
fn g_node_once_ahead_then_equal_after_hand_bootstraps_is_not_rejoined() {
    holds(
        3,
        vec![
            Ev::Write(3),
            Ev::CrashMany(22),
            Ev::OperatorBootstrap(1),
            Ev::Recover,
            Ev::Stop(4),
            Ev::OperatorBootstrap(4),
            Ev::Crash(4),
            Ev::Write(2),
        ],
    );
}

/// (g, beyond reach; 1 history) Three hand bootstraps; node2 received an IST over a diverged history
/// (Galera's own inconsistency) and its grastate.dat became unreadable; its recovered seqno
/// equalled the Primary's, so `rejoin --move-aside` replaced what it held by an SST. Since
/// view changes take seqnos in the model, the history no longer reaches that point.
#[test]
fn g_node_made_inconsistent_by_hand_bootstraps_is_not_moved_aside() {
    holds(
        4,
        vec![
            Ev::Stop(0),
            Ev::Crash(3),
            Ev::OperatorBootstrap(0),
            Ev::Write(4),
            Ev::OperatorBootstrap(3),
            Ev::Write(1),
            Ev::Crash(2),
            Ev::Crash(0),
            Ev::Write(0),
            Ev::Start(4, false),
            Ev::Write(3),
            Ev::CorruptGrastate(1),
        ],
    );
}

/// (j; 6 histories) node2 was bootstrapped by hand while crashed node1 was ahead, and
/// wrote on its own branch; node1's gvwstate.dat is unreadable, so nothing shows that node2's
/// later Primary excluded node1. Both crash; node1 (seqno 2) was bootstrapped over node2's
/// write (seqno 1 of another branch). Now refused until the file is checked and moved aside.
#[test]
fn j_hand_made_branch_behind_an_unreadable_saved_view_is_not_bootstrapped_over() {
    refused_not_excused(
        2,
        vec![
            Ev::Write(0),
            Ev::Write(2),
            Ev::CrashMany(3),
            Ev::CorruptGvwstate(2),
            Ev::OperatorBootstrap(1),
            Ev::Write(1),
            Ev::CrashMany(14),
        ],
    );
}

/// (j; 5 histories) node2 was stopped and bootstrapped by hand beside the running
/// Primary {node1, node3}, wrote, crashed; its gvwstate.dat is unreadable. At a seqno tie of
/// all three, node1 (running non-Primary) was promoted over node2's write. Now refused.
#[test]
fn j_hand_made_primary_at_a_tie_behind_an_unreadable_saved_view_is_not_promoted_over() {
    refused_not_excused(
        3,
        vec![
            Ev::Stop(4),
            Ev::OperatorBootstrap(4),
            Ev::Write(4),
            Ev::Crash(4),
            Ev::Write(2),
            Ev::CorruptGvwstate(1),
            Ev::RollbackInnodb(2, 1),
            Ev::Crash(2),
        ],
    );
}

// Found by the 1 000 000-history run of 2026-12-03 with view-change seqnos (seed 1364656145;
// bench/results/recover_model.md), fixed the same day: rejoins are held while another node's
// position is still to be compared with the Primary's, and a node that stopped cleanly as the
// last of its Primary (safe_to_bootstrap 1) must be strictly ahead of every other node.

/// (21 histories) Clean stops, a partition, a write, a crash, a heal and a start: pc.recovery
/// re-forms {node3, node4} at a position without node1's last write (Galera's own fork), and
/// node1, stopped cleanly at the same seqno, is investigated (the Primary went on without it).
/// Rejoining node2 in the same plan was a view change that took a seqno: the next plan saw
/// node1 behind and rejoined it over the other history. Now node2's rejoin waits.
#[test]
fn rejoin_after_partition_heal_and_start_keeps_the_write() {
    refused_not_excused(
        4,
        vec![
            Ev::Stop(1),
            Ev::Partition(vec![1, 0, 1, 0, 0]),
            Ev::Write(2),
            Ev::Stop(0),
            Ev::Crash(2),
            Ev::Partition(vec![2, 2, 2, 2, 0]),
            Ev::Heal,
            Ev::Start(2, false),
        ],
    );
}

/// (k, 19 histories) A hand bootstrap of node2 from a rolled-back InnoDB; node1, stopped
/// cleanly, is ahead of the Primary and investigated, but node3's rejoin in the same plan
/// took a seqno, then node1 looked equal, then (a Primary node not answering) behind, and was
/// rejoined over its write. Now node3's rejoin waits while node1 is ahead.
#[test]
fn a_node_ahead_of_the_primary_is_not_overtaken_by_rejoining_another() {
    refused_not_excused(
        3,
        vec![
            Ev::Stop(2),
            Ev::Write(0),
            Ev::Write(0),
            Ev::CrashMany(10),
            Ev::Stop(0),
            Ev::RollbackInnodb(1, 1),
            Ev::OperatorBootstrap(1),
            Ev::Write(1),
            Ev::Recover,
            Ev::EndpointDown(1),
            Ev::Recover,
        ],
    );
}

/// (1 history) node1 bootstrapped by hand beside the running Primary, written to, stopped
/// cleanly, its grastate.dat damaged. Its position was recovered (equal to the Primary's,
/// from the other branch) in the same plan that rejoined node2, which moved the Primary on;
/// node1 was then moved aside and joined by SST. Now node2 waits for node1's position.
#[test]
fn an_unknown_position_beside_the_primary_holds_the_other_rejoins() {
    refused_not_excused(
        3,
        vec![
            Ev::Stop(0),
            Ev::OperatorBootstrap(3),
            Ev::Stop(1),
            Ev::Write(0),
            Ev::Stop(3),
            Ev::CorruptGrastate(0),
        ],
    );
}

/// (3 histories) pc.recovery re-forms {node1, node3}; node2, stopped cleanly before, is
/// bootstrapped by hand from behind, written to and stopped as the last of its Primary
/// (safe_to_bootstrap 1, seqno 2). node1 at 3 was bootstrapped over node2's write. In one
/// history the last to leave is strictly ahead: now refused.
#[test]
fn the_last_to_leave_behind_another_node_is_two_histories() {
    refused_not_excused(
        3,
        vec![
            Ev::Stop(1),
            Ev::CrashMany(27),
            Ev::Start(0, false),
            Ev::OperatorBootstrap(1),
            Ev::CrashMany(20),
            Ev::Write(4),
            Ev::Stop(4),
        ],
    );
}

/// (k, 11 histories) A hand bootstrap of node2 beside a partition; at the end node2 (the last
/// to leave its Primary, safe_to_bootstrap 1) and node1 are tied at seqno 2 on two branches,
/// and node2 was bootstrapped over node1's write ("its safe_to_bootstrap is 1" broke the tie).
/// Now refused.
#[test]
fn k_tie_across_branches_after_a_hand_bootstrap_is_not_bootstrapped_over() {
    refused_not_excused(
        3,
        vec![
            Ev::Crash(2),
            Ev::Write(0),
            Ev::Crash(1),
            Ev::Partition(vec![2, 0, 0, 0, 0]),
            Ev::Write(0),
            Ev::OperatorBootstrap(1),
            Ev::Stop(4),
            Ev::Stop(0),
            Ev::Recover,
        ],
    );
}

/// (k, 5 histories) The same tie with a node running non-Primary: node3 was promoted over
/// node2's write while node2, the last to leave its Primary, sat at the same seqno.
#[test]
fn k_promote_tied_with_the_last_to_leave_is_refused() {
    refused_not_excused(
        3,
        vec![
            Ev::Write(2),
            Ev::Crash(4),
            Ev::Partition(vec![1, 0, 2, 0, 0]),
            Ev::OperatorBootstrap(1),
            Ev::Write(1),
            Ev::Stop(0),
            Ev::Stop(4),
        ],
    );
}

/// (g, 6 histories) node4 bootstrapped by hand beside the Primary, then node2 bootstrapped by
/// hand from behind node3's write: node3 rejoined the Primary over it while node4, on a saved
/// view apart from the Primary's, was investigated. node3's rejoin now waits for node4 (the
/// model no longer counts node4's view as a trace of node3's loss: only a view apart from the
/// history that replaced the write is).
#[test]
fn a_saved_view_apart_beside_the_primary_holds_the_other_rejoins() {
    refused_not_excused(
        4,
        vec![
            Ev::Stop(3),
            Ev::OperatorBootstrap(3),
            Ev::Write(2),
            Ev::CrashMany(14),
            Ev::OperatorBootstrap(1),
        ],
    );
}

// Found by the second 1 000 000-history run of 2026-12-03 (after the fixes above).

/// (8 histories) node5 bootstrapped by hand, written to, partitioned and stopped as the last
/// of its Primary (safe_to_bootstrap 1); the others re-formed a Primary that went on to
/// seqno 4. node5 at 2 looked behind and was rejoined over its write. A node that left its
/// Primary last, beside a Primary running now, saw that Primary made after it left: now
/// investigated.
#[test]
fn the_last_to_leave_beside_a_later_primary_is_investigated() {
    refused_not_excused(
        5,
        vec![
            Ev::CrashMany(16),
            Ev::OperatorBootstrap(4),
            Ev::Write(4),
            Ev::Partition(vec![0, 0, 0, 1, 2]),
            Ev::Stop(4),
            Ev::Partition(vec![1, 0, 0, 0, 0]),
        ],
    );
}

/// (k, 16 histories) node3 crashed, recovered at the Primary's seqno from another branch (a
/// hand bootstrap from a rolled-back InnoDB); a Primary member did not answer, so the view
/// could not be called settled and node3 was rejoined. The answering Primary node's saved
/// view leaves node3's gcomm UUID out: the Primary went on without it. Now investigated.
#[test]
fn k_equal_seqno_outside_the_primarys_saved_view_is_not_rejoined() {
    refused_not_excused(
        3,
        vec![
            Ev::Write(0),
            Ev::Write(2),
            Ev::CrashMany(7),
            Ev::EndpointDown(0),
            Ev::RollbackInnodb(3, 1),
            Ev::OperatorBootstrap(3),
            Ev::Start(4, false),
        ],
    );
}

/// (k, open; 2 histories) A hand bootstrap of node2 from behind node1's write, node2 stopped
/// as the last of that Primary and started again plainly (Galera resets its flag), node1
/// stopped cleanly (not the last): node2 running non-Primary and node1 tie at seqno 2 on two
/// branches, and node2 is promoted over node1's write. The only trace: node1 left while
/// others stayed, so a member took seqno 3, yet nobody is past 2 — but that member may be a
/// crashed node whose last view change was not yet durable (power loss with
/// innodb_flush_log_at_trx_commit=2), so quorate does not refuse on it.
#[test]
#[ignore = "open (k): a tie across branches whose only trace needs a durable view change"]
fn k_promote_over_a_clean_node_tied_after_a_plain_restart() {
    refused_not_excused(
        3,
        vec![
            Ev::Crash(2),
            Ev::Write(0),
            Ev::Crash(1),
            Ev::Partition(vec![2, 0, 0, 0, 0]),
            Ev::Write(0),
            Ev::OperatorBootstrap(1),
            Ev::Stop(4),
            Ev::Stop(0),
            Ev::Start(1, false),
        ],
    );
}

// Found by the third 1 000 000-history run of 2026-12-03.

/// (k, 4 histories) node1 stopped cleanly holding a write, node5 bootstrapped by hand from
/// behind it (the model says node3 with 3 nodes), node1 started and aborted ("states
/// diverged": grastate.dat -1, no gvwstate.dat), a Primary member's endpoint down: node1 at
/// the Primary's seqno was rejoined because the view could not be called settled. Without a
/// gvwstate.dat its last run was in no Primary: it is outside the running one. Investigated.
#[test]
fn k_equal_seqno_of_a_node_that_was_in_no_primary_is_not_rejoined() {
    refused_not_excused(
        3,
        vec![
            Ev::Stop(4),
            Ev::Stop(2),
            Ev::Write(3),
            Ev::Stop(0),
            Ev::OperatorBootstrap(4),
            Ev::Start(3, false),
            Ev::Start(2, false),
            Ev::OperatorBootstrap(1),
            Ev::EndpointDown(1),
            Ev::Write(1),
        ],
    );
}

/// (2 histories) node5 bootstrapped by hand while {node2, node3, node4} still ran a Primary
/// behind a partition; node5 took a write, was cut off, stopped cleanly (not the last) and
/// looked like a node that simply left the other Primary. Nothing in the reports shows the
/// split once one side stopped: the model counts it as made outside quorate (unavoidable).
#[test]
fn a_hand_bootstrap_beside_a_running_primary_is_a_fork_made_outside_quorate() {
    let stats = holds(
        5,
        vec![
            Ev::Partition(vec![0, 1, 1, 1, 0]),
            Ev::Freeze(2),
            Ev::Stop(1),
            Ev::CrashMany(16),
            Ev::OperatorBootstrap(4),
            Ev::Write(4),
            Ev::Partition(vec![0, 0, 0, 0, 1]),
            Ev::Stop(4),
            Ev::Heal,
        ],
    );
    assert_eq!(stats.unavoidable, 1, "{stats:?}");
}

// Found by the fourth 1 000 000-history run of 2026-12-03.

/// (k, 2 histories) node3 crashed holding a write, its gvwstate.dat damaged; node1 (the
/// model's node5) bootstrapped by hand from behind; node3, recovered at the Primary's seqno,
/// was rejoined because a Primary member did not answer. An unreadable saved view beside a
/// Primary is now investigated, as it blocks the choice without one.
#[test]
fn k_unreadable_gvwstate_at_the_primarys_seqno_is_not_rejoined() {
    refused_not_excused(
        4,
        vec![
            Ev::EndpointDown(4),
            Ev::Stop(0),
            Ev::Write(2),
            Ev::CrashMany(12),
            Ev::CorruptGvwstate(2),
            Ev::OperatorBootstrap(4),
            Ev::Start(1, false),
        ],
    );
}

/// (g, open; 1 history in the fifth run) node1 crashed holding a write, its saved view
/// {node1, node2, node4}; node2 bootstrapped by hand from behind, stopped cleanly since (its
/// gvwstate.dat, and so its gcomm UUID, gone); node3 restarted into the hand-made Primary and
/// runs it alone (saved view {node3}). node1 at seqno 4 < 5 is rejoined over its write. The
/// views are apart only if the member of node1's view that nobody can name is node2; it could
/// as well be node3 under the gcomm UUID of its previous run, and then node1 is simply behind
/// (a node that restarts and rejoins while another is down is common, see the chaos runs):
/// quorate does not investigate on that alone.
#[test]
#[ignore = "open (g): saved views apart only if an unnamed member is a node stopped cleanly"]
fn g_views_apart_through_a_cleanly_stopped_member_nobody_can_name() {
    refused_not_excused(
        5,
        vec![
            Ev::Crash(2),
            Ev::Stop(4),
            Ev::Write(0),
            Ev::Write(0),
            Ev::CrashMany(26),
            Ev::OperatorBootstrap(1),
            Ev::Start(2, false),
            Ev::Stop(1),
        ],
    );
}

/// (l, found by the model on 2026-12-03 with the decide rule for records switched off) A hand
/// bootstrap of node1, which lacks node2's last write, beside the crashed node2 and node3.
/// The first plan recovers their positions and finds node2 at the Primary's seqno from
/// another branch: investigated, and recorded on its host. Clients then commit on node1,
/// which moves past node2's seqno: without the record the next plan saw node2 merely behind
/// and rejoined it over the only copy of an acknowledged write. The loss is not excused as
/// the environment's (the runner checks it: quorate had recorded the node while it held the
/// write).
#[test]
fn l_a_node_recorded_apart_is_not_rejoined_after_clients_commit_past_it() {
    let stats = holds(
        3,
        vec![
            Ev::Write(1),
            Ev::CrashMany(7),
            Ev::OperatorBootstrap(3),
            Ev::Recover,
            Ev::Write(3),
            Ev::Recover,
        ],
    );
    assert!(stats.decisions >= 3, "{stats:?}");
}
