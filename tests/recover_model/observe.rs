//! What gathering sees of the truth: one `NodeReport` per node, as `quorate serve`'s
//! `/galera/state` builds it from the files, the process table and the live server; a host
//! whose endpoint does not answer is `Observed::Unknown`. Nothing here looks at `decide`.

use quorate::recover::decide::{ClusterView, NodeView, Observed};
use quorate::recover::report::{
    FileState, Live, LiveStatus, Mysqld, NodeReport, RecoverOutcome, Recovered, SavedState,
    SavedView, ZERO_UUID,
};

use crate::model::{uuid_str, Model, Proc, RecOutcome};

pub const CLUSTER: &str = "model";

pub fn fingerprint(version: u64) -> String {
    // mtime_ns:len as src/recover/position.rs writes it; every rewrite changes the mtime.
    format!(
        "{}:{}",
        1_700_000_000_000_000_000u128 + u128::from(version),
        120
    )
}

pub fn outcome(o: &RecOutcome) -> RecoverOutcome {
    match o {
        RecOutcome::Position { uuid, seqno } => RecoverOutcome::Position {
            uuid: uuid_str(*uuid),
            seqno: *seqno,
            gtid: Some(format!("0-1-{}", seqno.max(&0))),
        },
        RecOutcome::Prepared(n) => RecoverOutcome::PreparedTransactions { count: *n },
        RecOutcome::Failed => RecoverOutcome::Failed {
            log_tail: "[ERROR] InnoDB: Plugin initialization aborted".into(),
        },
    }
}

pub fn report(m: &Model, i: usize) -> NodeReport {
    let n = &m.nodes[i];
    let running = n.proc != Proc::Stopped;
    let grastate = if n.grastate_unreadable {
        FileState::Unreadable {
            error: "grastate.dat: line 3: seqno: expected an integer".into(),
        }
    } else {
        match &n.grastate {
            None => FileState::Absent,
            Some(g) => FileState::Read {
                value: SavedState {
                    uuid: uuid_str(g.uuid),
                    seqno: g.seqno,
                    // The reader: a missing key means 1 (facts).
                    safe_to_bootstrap: g.safe.unwrap_or(true),
                    safe_to_bootstrap_present: g.safe.is_some(),
                    fingerprint: fingerprint(n.gra_version),
                },
            },
        }
    };
    let gvwstate = if n.gvw_unreadable {
        FileState::Unreadable {
            error: "gvwstate.dat: no #vwend".into(),
        }
    } else {
        match &n.gvw {
            None => FileState::Absent,
            Some(v) => FileState::Read {
                value: SavedView {
                    my_uuid: v.my_uuid.clone(),
                    view_seq: Some(v.view_seq as i64),
                    members: v.members.len(),
                    view_uuid: Some(v.view_uuid.clone()),
                    // Galera saves only Primary views (facts).
                    primary: Some(true),
                    member_uuids: v.member_uuids.clone(),
                },
            },
        }
    };
    let live = match n.proc {
        Proc::Stopped => None,
        Proc::Frozen => Some(Live::NoAnswer {
            error: "timed out after 3s".into(),
        }),
        Proc::Running => {
            let c = &m.comps[&n.comp.expect("running node has a component")];
            let (uuid, last) = if c.primary && c.zero_state {
                (ZERO_UUID.to_string(), -1)
            } else if !n.knows_position {
                // Started without a position and not synced since: Galera has only
                // grastate.dat's UUID and seqno -1.
                let u = n.grastate.as_ref().map_or(0, |g| g.uuid);
                (uuid_str(u), -1)
            } else {
                match n.data {
                    Some(d) => (uuid_str(m.uuid_of(d)), d.seqno as i64),
                    None => (ZERO_UUID.to_string(), -1),
                }
            };
            Some(Live::Answered(if c.primary {
                LiveStatus {
                    cluster_status: "Primary".into(),
                    local_state: Some(4),
                    local_state_comment: Some("Synced".into()),
                    cluster_size: Some(c.members.len() as u64),
                    cluster_state_uuid: Some(uuid),
                    last_committed: Some(last),
                    ready: Some(true),
                }
            } else {
                // A node without quorum: Initialized, not ready (PESSIMISTIC choice of the
                // state number: documentation silent; it is not Synced in any case).
                LiveStatus {
                    cluster_status: "non-Primary".into(),
                    local_state: Some(0),
                    local_state_comment: Some("Initialized".into()),
                    cluster_size: Some(c.members.len() as u64),
                    cluster_state_uuid: Some(uuid),
                    last_committed: Some(last),
                    ready: Some(false),
                }
            }))
        }
    };
    let recovered = n.recovered.as_ref().map(|r| {
        let now = n.grastate.as_ref().map(|_| n.gra_version);
        Recovered {
            at: r.at,
            grastate_fingerprint: r.fingerprint.map(fingerprint),
            // Fresh only while grastate.dat is unchanged (src/recover/position.rs).
            fresh: r.fingerprint.is_some() && r.fingerprint == now,
            outcome: outcome(&r.outcome),
        }
    });
    NodeReport {
        node: Model::name(i),
        cluster: CLUSTER.into(),
        gathered_at: m.clock,
        mysqld: Mysqld {
            running,
            pid: running.then_some(4000 + n.incarnation),
            frozen: n.proc == Proc::Frozen,
            how: if running {
                "pid file and InnoDB's lock on ibdata1".into()
            } else {
                "no pid file, ibdata1 not locked".into()
            },
        },
        grastate,
        gvwstate,
        live,
        recovered,
        sst_in_progress: n.sst_in_progress,
        action_in_progress: None,
        maintenance: None,
        apart: n.apart_record.clone(),
    }
}

pub fn view(m: &Model) -> ClusterView {
    ClusterView {
        nodes: (0..m.n())
            .map(|i| NodeView {
                name: Model::name(i),
                observed: if m.nodes[i].endpoint_down {
                    Observed::Unknown {
                        reason: format!(
                            "https://{}:9878/galera/state: connection refused",
                            Model::name(i)
                        ),
                    }
                } else {
                    Observed::Known(Box::new(report(m, i)))
                },
            })
            .collect(),
    }
}

/// The position a report establishes, by the documented meaning of each source (facts):
/// a fresh `--wsrep-recover` result settles it; else a clean grastate.dat (real UUID,
/// seqno ≥ 0); a live node answers its last committed. `Some((ZERO, -1))` is a datadir
/// known to hold nothing (a fresh recovery of a brand-new datadir).
pub fn observed_position(r: &NodeReport) -> Option<(String, i64)> {
    if let Some(Live::Answered(l)) = &r.live {
        return match (&l.cluster_state_uuid, l.last_committed) {
            (Some(u), Some(s)) if u != ZERO_UUID && s >= 0 => Some((u.clone(), s)),
            _ => None,
        };
    }
    if r.mysqld.running {
        return None;
    }
    // A fresh position from InnoDB settles it; a run that found prepared transactions or
    // failed says nothing about the committed position (a clean grastate.dat still does).
    if let Some(rec) = &r.recovered {
        if rec.fresh {
            if let RecoverOutcome::Position { uuid, seqno, .. } = &rec.outcome {
                if (uuid != ZERO_UUID && *seqno >= 0) || (uuid == ZERO_UUID && *seqno == -1) {
                    return Some((uuid.clone(), *seqno));
                }
                return None;
            }
        }
    }
    match &r.grastate {
        FileState::Read { value } if value.uuid != ZERO_UUID && value.seqno >= 0 => {
            Some((value.uuid.clone(), value.seqno))
        }
        _ => None,
    }
}
