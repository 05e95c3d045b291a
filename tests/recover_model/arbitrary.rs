//! Arbitrary serde-valid reports (invariant 4): every field any value JSON can carry —
//! seqnos at i64::MIN/MAX, empty and huge strings, sizes at u64::MAX — and views of any
//! shape (no node, duplicate names, unknown nodes, assumptions naming strangers).

use proptest::prelude::*;
use quorate::recover::decide::{Action, Assumptions, ClusterView, Decision, NodeView, Observed};
use quorate::recover::report::{
    ApartRecord, FileState, Live, LiveStatus, Mysqld, NodeReport, RecoverOutcome, Recovered,
    SavedState, SavedView, ZERO_UUID,
};

const UUID_A: &str = "6a3a757c-e627-11f1-8417-e7ac2a1d04b7";
const UUID_B: &str = "00000002-e627-11f1-8417-000000003dde";

fn text() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        Just(ZERO_UUID.to_string()),
        Just(UUID_A.to_string()),
        Just(UUID_B.to_string()),
        Just("Primary".to_string()),
        Just("non-Primary".to_string()),
        Just("Disconnected".to_string()),
        Just("node1".to_string()),
        Just("node2".to_string()),
        Just("x".repeat(4096)),
        Just("é\u{0}\n\"".to_string()),
        "[a-z0-9-]{0,40}",
    ]
}

fn seqno() -> impl Strategy<Value = i64> {
    prop_oneof![
        Just(i64::MIN),
        Just(i64::MAX),
        Just(i64::MAX - 1),
        Just(-1i64),
        Just(-2i64),
        Just(0i64),
        0i64..50,
        any::<i64>(),
    ]
}

fn big_u64() -> impl Strategy<Value = u64> {
    prop_oneof![
        Just(0u64),
        Just(u64::MAX),
        Just(1u64),
        0u64..8,
        any::<u64>()
    ]
}

fn file<T: std::fmt::Debug + Clone + 'static>(
    v: impl Strategy<Value = T> + 'static,
) -> impl Strategy<Value = FileState<T>> {
    prop_oneof![
        Just(FileState::Absent),
        Just(FileState::Unknown),
        text().prop_map(|error| FileState::Unreadable { error }),
        v.prop_map(|value| FileState::Read { value }),
    ]
}

fn saved_state() -> impl Strategy<Value = SavedState> {
    (text(), seqno(), any::<bool>(), any::<bool>(), text()).prop_map(
        |(uuid, seqno, safe_to_bootstrap, safe_to_bootstrap_present, fingerprint)| SavedState {
            uuid,
            seqno,
            safe_to_bootstrap,
            safe_to_bootstrap_present,
            fingerprint,
        },
    )
}

fn apart_record() -> impl Strategy<Value = Option<ApartRecord>> {
    proptest::option::of((text(), seqno(), big_u64(), text()).prop_map(
        |(uuid, seqno, found_at, why)| ApartRecord {
            uuid,
            seqno,
            found_at,
            why,
        },
    ))
}

fn saved_view() -> impl Strategy<Value = SavedView> {
    (
        text(),
        proptest::option::of(seqno()),
        any::<usize>(),
        proptest::option::of(text()),
        proptest::option::of(any::<bool>()),
        proptest::collection::vec(text(), 0..4),
    )
        .prop_map(
            |(my_uuid, view_seq, members, view_uuid, primary, member_uuids)| SavedView {
                my_uuid,
                view_seq,
                members,
                view_uuid,
                primary,
                member_uuids,
            },
        )
}

fn live() -> impl Strategy<Value = Option<Live>> {
    let status = (
        text(),
        proptest::option::of(seqno()),
        proptest::option::of(text()),
        proptest::option::of(big_u64()),
        proptest::option::of(text()),
        proptest::option::of(seqno()),
        proptest::option::of(any::<bool>()),
    )
        .prop_map(
            |(
                cluster_status,
                local_state,
                local_state_comment,
                cluster_size,
                cluster_state_uuid,
                last_committed,
                ready,
            )| LiveStatus {
                cluster_status,
                local_state,
                local_state_comment,
                cluster_size,
                cluster_state_uuid,
                last_committed,
                ready,
            },
        );
    prop_oneof![
        Just(None),
        text().prop_map(|error| Some(Live::NoAnswer { error })),
        status.prop_map(|s| Some(Live::Answered(s))),
    ]
}

fn outcome() -> impl Strategy<Value = RecoverOutcome> {
    prop_oneof![
        (text(), seqno(), proptest::option::of(text()))
            .prop_map(|(uuid, seqno, gtid)| RecoverOutcome::Position { uuid, seqno, gtid }),
        big_u64().prop_map(|count| RecoverOutcome::PreparedTransactions { count }),
        Just(RecoverOutcome::Disabled),
        text().prop_map(|log_tail| RecoverOutcome::Failed { log_tail }),
    ]
}

fn recovered() -> impl Strategy<Value = Option<Recovered>> {
    proptest::option::of(
        (
            big_u64(),
            proptest::option::of(text()),
            any::<bool>(),
            outcome(),
        )
            .prop_map(|(at, grastate_fingerprint, fresh, outcome)| Recovered {
                at,
                grastate_fingerprint,
                fresh,
                outcome,
            }),
    )
}

pub fn report() -> impl Strategy<Value = NodeReport> {
    let reports = (
        (text(), text(), big_u64()),
        (
            any::<bool>(),
            proptest::option::of(any::<u32>()),
            any::<bool>(),
            text(),
        ),
        file(saved_state()),
        file(saved_view()),
        live(),
        recovered(),
        any::<bool>(),
        proptest::option::of(text()),
    )
        .prop_map(
            |(
                (node, cluster, gathered_at),
                (running, pid, frozen, how),
                grastate,
                gvwstate,
                live,
                recovered,
                sst_in_progress,
                action_in_progress,
            )| NodeReport {
                node,
                cluster,
                gathered_at,
                mysqld: Mysqld {
                    running,
                    pid,
                    frozen,
                    how,
                },
                grastate,
                gvwstate,
                live,
                recovered,
                sst_in_progress,
                action_in_progress,
                maintenance: None,
                apart: None,
            },
        )
        .boxed();
    // Apart from the rest: one more member in the tuple above overflows the test thread's
    // stack in a debug build.
    (reports, apart_record().boxed()).prop_map(|(mut r, apart)| {
        r.apart = apart;
        r
    })
}

fn node_name() -> impl Strategy<Value = String> {
    prop_oneof![
        4 => (1u8..=5).prop_map(|i| format!("node{i}")),
        1 => text(),
    ]
}

pub fn view() -> impl Strategy<Value = (ClusterView, Assumptions)> {
    (
        proptest::collection::vec(
            (
                node_name(),
                prop_oneof![
                    1 => text().prop_map(|reason| Observed::Unknown { reason }),
                    4 => report().prop_map(|r| Observed::Known(Box::new(r))),
                ],
            ),
            0..6,
        ),
        proptest::collection::btree_set(node_name(), 0..3),
    )
        .prop_map(|(nodes, lost)| {
            (
                ClusterView {
                    nodes: nodes
                        .into_iter()
                        .map(|(name, observed)| NodeView { name, observed })
                        .collect(),
                },
                Assumptions { assume_lost: lost },
            )
        })
}

/// What must hold of any decision on any view: its steps name nodes of the view, and it
/// never bootstraps or promotes while a node does not answer and is not assumed lost.
pub fn check_any(view: &ClusterView, a: &Assumptions, d: &Decision) -> Result<(), String> {
    for s in &d.steps {
        if !view.nodes.iter().any(|n| n.name == s.node) {
            return Err(format!("step {s:?} names a node that is not in the view"));
        }
    }
    let acts = d
        .steps
        .iter()
        .any(|s| matches!(s.action, Action::Bootstrap | Action::Promote));
    if acts {
        for n in &view.nodes {
            if matches!(n.observed, Observed::Unknown { .. }) && !a.assume_lost.contains(&n.name) {
                return Err(format!(
                    "bootstrap/promote while {} does not answer and is not assumed lost",
                    n.name
                ));
            }
        }
    }
    Ok(())
}
