//! Applies one step of a `Decision` to the model, as the quorate command the step names
//! does it (docs/runbook.md, the contract of src/recover/act.rs), optionally failing.

use quorate::recover::decide::{Action, Step};

use crate::model::{Model, NodeId, Proc, RecOutcome, StartMode};

/// What goes wrong with a step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    None,
    /// The command dies before it changes anything.
    Before,
    /// The command dies midway (after its first change).
    Midway,
}

pub fn node_index(m: &Model, name: &str) -> Option<NodeId> {
    (0..m.n()).find(|&i| Model::name(i) == name)
}

/// Applies `step`; returns a line for the history.
pub fn apply_step(m: &mut Model, step: &Step, fault: Fault) -> String {
    let Some(i) = node_index(m, &step.node) else {
        return format!(
            "step names {:?}, which is not a node: nothing done",
            step.node
        );
    };
    if fault == Fault::Before && !matches!(step.action, Action::WaitFor | Action::Investigate) {
        return "the command died before acting: nothing done".into();
    }
    match step.action {
        Action::WaitFor | Action::Investigate => "nothing to do".into(),
        Action::RecoverPosition => {
            // quorate serve on that host runs it (runbook case 5): an unreachable host
            // cannot be asked.
            if m.nodes[i].endpoint_down {
                return "refused: its quorate serve does not answer".into();
            }
            if fault == Fault::Midway {
                return "--wsrep-recover killed midway: no outcome".into();
            }
            match m.run_recover(i) {
                Some(o) => format!("--wsrep-recover: {o:?}"),
                None => "refused: mysqld runs or an SST is in progress".into(),
            }
        }
        Action::Bootstrap => {
            if m.nodes[i].proc != Proc::Stopped {
                return "refused: mysqld runs".into();
            }
            m.set_safe(i);
            if fault == Fault::Midway {
                return "safe_to_bootstrap set, then the start failed".into();
            }
            match m.start(i, StartMode::NewCluster) {
                Ok(()) => "bootstrapped a new Primary (--wsrep-new-cluster)".into(),
                Err(e) => format!("start failed: {e:?}"),
            }
        }
        Action::Promote => {
            if fault == Fault::Midway {
                return "the SQL connection dropped: nothing done".into();
            }
            if m.promote(i) {
                "pc.bootstrap=YES: its component is Primary".into()
            } else {
                "pc.bootstrap=YES had no effect (not a live non-Primary node)".into()
            }
        }
        Action::Rejoin | Action::RejoinMoveAside => {
            let move_aside = step.action == Action::RejoinMoveAside;
            if m.nodes[i].proc != Proc::Stopped {
                return "refused: mysqld runs on it".into();
            }
            let mut out = String::new();
            // act.rs: a rejoin recovers a position only when the plan's step for the node is
            // RecoverPosition (runbook case 4); a Rejoin step starts it with the position it
            // has (a clean grastate.dat or a fresh recovery), else none: then SST.
            if move_aside {
                m.move_aside(i);
                out.push_str("state files moved aside; ");
            } else if m.nodes[i].gvw.is_some() || m.nodes[i].gvw_unreadable {
                // act.rs (since main's 72ece52): a rejoin always moves gvwstate.dat aside, so
                // pc.recovery cannot re-form the node's old Primary.
                m.nodes[i].gvw = None;
                m.nodes[i].gvw_unreadable = false;
                out.push_str("gvwstate.dat moved aside; ");
            }
            let known = if move_aside {
                None
            } else {
                start_position(m, i)
            };
            if fault == Fault::Midway {
                let sst = known.is_none()
                    || m.comps.values().any(|c| {
                        c.primary
                            && c.pos
                                .is_some_and(|p| known.is_some_and(|k| k.0 != m.uuid_of(p)))
                    });
                if sst {
                    m.interrupted_sst(i);
                    out.push_str("the SST was killed midway (sst_in_progress)");
                    return out;
                }
                let r = m.start_from(i, StartMode::WithPosition, known);
                let mut set = std::collections::BTreeSet::new();
                set.insert(i);
                m.crash(&set);
                out.push_str(&format!("started ({r:?}) then killed while joining"));
                return out;
            }
            match m.start_from(i, StartMode::WithPosition, known) {
                Ok(()) => out.push_str("started"),
                Err(e) => out.push_str(&format!("start failed: {e:?}")),
            }
            out
        }
    }
}

fn fresh_recovery(m: &Model, i: NodeId) -> bool {
    let n = &m.nodes[i];
    n.recovered.as_ref().is_some_and(|r| {
        r.fingerprint.is_some() && r.fingerprint == n.grastate.as_ref().map(|_| n.gra_version)
    })
}

/// The position a rejoin passes to the start: grastate.dat's after a clean stop, else the
/// fresh recovered one (runbook case 4); none for a zero UUID.
fn start_position(m: &Model, i: NodeId) -> Option<(u32, i64)> {
    let n = &m.nodes[i];
    if !n.grastate_unreadable {
        if let Some(g) = &n.grastate {
            if g.uuid != 0 && g.seqno >= 0 {
                return Some((g.uuid, g.seqno));
            }
        }
    }
    if fresh_recovery(m, i) {
        if let Some(RecOutcome::Position { uuid, seqno }) =
            n.recovered.as_ref().map(|r| r.outcome.clone())
        {
            if uuid != 0 && seqno >= 0 {
                return Some((uuid, seqno));
            }
        }
    }
    None
}
