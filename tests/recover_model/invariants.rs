//! The invariants every decision and every applied step must keep (issue #11).

use std::collections::BTreeSet;
use std::panic::{catch_unwind, AssertUnwindSafe};

use quorate::recover::decide::{decide, Action, Assumptions, ClusterView, Decision, Observed};
use quorate::recover::report::{FileState, Live, RecoverOutcome, ZERO_UUID};

use crate::apply::node_index;
use crate::known;
use crate::model::{Model, NodeId, Pos, Proc};
use crate::observe::observed_position;

/// An invariant that did not hold.
#[derive(Debug, Clone)]
pub struct Violation {
    pub invariant: u8,
    /// A short class, for counting (no node names or numbers).
    pub kind: String,
    pub detail: String,
    /// The known class of decide bug (issue #11's list, a–i) this matches, if any.
    pub class: Option<char>,
    /// The acknowledged write lost, for a loss (invariant 1).
    pub lost: Option<Pos>,
}

impl Violation {
    pub fn new(invariant: u8, kind: &str, detail: String) -> Violation {
        Violation {
            invariant,
            kind: kind.into(),
            detail,
            class: None,
            lost: None,
        }
    }

    pub fn class(mut self, c: Option<char>) -> Violation {
        self.class = c;
        self
    }

    pub fn lost(mut self, w: Pos) -> Violation {
        self.lost = Some(w);
        self
    }
}

/// Invariants 4 and 5: `decide` returns (no panic, no overflow: tests build with overflow
/// checks) and returns the same decision for the same reports, whoever gathers them and
/// whenever: a copy through JSON, and a copy with every `gathered_at` moved, give the same
/// verdict, steps and digest.
pub fn decide_checked(view: &ClusterView, a: &Assumptions) -> Result<Decision, Violation> {
    let d = catch_unwind(AssertUnwindSafe(|| decide(view, a))).map_err(|e| {
        let msg = e
            .downcast_ref::<String>()
            .cloned()
            .or_else(|| e.downcast_ref::<&str>().map(|s| s.to_string()))
            .unwrap_or_default();
        Violation::new(4, "decide panicked", format!("decide panicked: {msg}"))
            .class(msg.contains("overflow").then_some('h'))
    })?;
    let again = decide(view, a);
    if again != d {
        return Err(Violation::new(
            5,
            "two calls on one view differ",
            format!("first {d:?}\nsecond {again:?}"),
        ));
    }
    let other_host = ClusterView {
        nodes: view
            .nodes
            .iter()
            .map(|n| {
                let mut n = n.clone();
                if let Observed::Known(r) = &mut n.observed {
                    let json = serde_json::to_string(r).expect("a report serializes");
                    let mut back: quorate::recover::report::NodeReport =
                        serde_json::from_str(&json).expect("and reads back");
                    back.gathered_at = back.gathered_at.wrapping_add(7);
                    **r = back;
                }
                n
            })
            .collect(),
    };
    let o = catch_unwind(AssertUnwindSafe(|| decide(&other_host, a))).map_err(|_| {
        Violation::new(
            4,
            "decide panicked on the JSON copy",
            "decide panicked on the same reports read back from JSON".into(),
        )
    })?;
    if o.verdict != d.verdict || o.steps != d.steps || o.digest != d.digest {
        return Err(Violation::new(
            5,
            "another host's copy decides differently",
            format!("here {d:?}\nother host (same reports, later gathered_at) {o:?}"),
        ));
    }
    Ok(d)
}

fn report_of(view: &ClusterView, i: NodeId) -> Option<&quorate::recover::report::NodeReport> {
    match &view.nodes[i].observed {
        Observed::Known(r) => Some(r),
        Observed::Unknown { .. } => None,
    }
}

/// Invariant 2 at decision time: two live Primary components, each seen answering
/// `Primary`, are a split brain: the plan must refuse, never join one of them.
pub fn check_split_brain(m: &Model, view: &ClusterView, d: &Decision) -> Option<Violation> {
    let seen = m
        .primary_comps()
        .into_iter()
        .filter(|c| {
            m.comps[c].members.iter().any(|&x| {
                report_of(view, x)
                    .is_some_and(|r| matches!(&r.live, Some(Live::Answered(l)) if l.is_primary()))
            })
        })
        .count();
    (seen > 1 && !d.is_refusal()).then(|| {
        Violation::new(
            2,
            "split brain not refused",
            format!(
                "{seen} Primary components answer, and the plan is {}",
                serde_json::to_string(&d.verdict).expect("verdict")
            ),
        )
        .class(Some('a'))
    })
}

/// Invariant 3 at decision time: no bootstrap or promotion of a node while another node
/// (not assumed lost) could be ahead of it, or its position is unknown; no move-aside of a
/// node whose own position is unknown or ahead of the Primary.
pub fn check_plan(
    m: &Model,
    view: &ClusterView,
    d: &Decision,
    a: &Assumptions,
    accepted: &BTreeSet<Pos>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    for step in &d.steps {
        let Some(x) = node_index(m, &step.node) else {
            out.push(Violation::new(
                3,
                "a step names no configured node",
                format!("step {step:?}"),
            ));
            continue;
        };
        match step.action {
            Action::Bootstrap | Action::Promote => {
                let what = if step.action == Action::Bootstrap {
                    "bootstrap"
                } else {
                    "promote"
                };
                let others = (0..m.n()).any(|y| y != x && !a.assume_lost.contains(&Model::name(y)));
                if others && report_of(view, x).and_then(observed_position).is_none() {
                    out.push(
                        Violation::new(
                            3,
                            &format!("{what} of a node whose own position is unknown"),
                            format!("{what} {}: its position is not established", step.node),
                        )
                        .class(report_of(view, x).and_then(known::own_position_class)),
                    );
                }
                let xd = m.nodes[x].data;
                for y in 0..m.n() {
                    if y == x || a.assume_lost.contains(&Model::name(y)) {
                        continue;
                    }
                    let yn = &m.nodes[y];
                    match report_of(view, y) {
                        None => out.push(Violation::new(
                            3,
                            &format!("{what} while another node is unknown"),
                            format!(
                                "{what} {} while {} does not answer",
                                step.node,
                                Model::name(y)
                            ),
                        )),
                        Some(r) => {
                            let unknown = observed_position(r).is_none() && !r.sst_in_progress;
                            if unknown {
                                out.push(
                                    Violation::new(
                                        3,
                                        &format!("{what} while another node's position is unknown"),
                                        format!(
                                            "{what} {} while the position of {} is not established",
                                            step.node,
                                            Model::name(y)
                                        ),
                                    )
                                    .class(known::unknown_position_class(r)),
                                );
                            }
                        }
                    }
                    if let (Some(yd), Some(xd)) = (yn.data, xd) {
                        if !m.le(yd, xd) && holds_acked(m, yd, xd, accepted) {
                            let class = known::ahead_class(m, view, d, x, y);
                            out.push(Violation::new(
                                3,
                                &format!("{what} while another node is ahead (truth)"),
                                format!(
                                    "{what} {} at {} while {} holds acknowledged writes it lacks ({})",
                                    step.node,
                                    m.pos_str(xd),
                                    Model::name(y),
                                    m.pos_str(yd)
                                ),
                            ).class(class));
                        }
                    }
                }
            }
            Action::RejoinMoveAside => {
                if let Some(r) = report_of(view, x) {
                    if observed_position(r).is_none() && !r.sst_in_progress {
                        out.push(
                            Violation::new(
                                3,
                                "move-aside of a node whose position is unknown",
                                format!(
                                    "rejoin --move-aside {} without its position (recover it first)",
                                    step.node
                                ),
                            )
                            .class(known::unknown_position_class(r)),
                        );
                    }
                }
            }
            _ => {}
        }
    }
    out
}

/// Whether the data at `y` holds an acknowledged write that `x` lacks (and that nobody
/// accepted to lose already).
fn holds_acked(m: &Model, y: Pos, x: Pos, accepted: &BTreeSet<Pos>) -> bool {
    m.acked
        .iter()
        .any(|w| !accepted.contains(w) && m.contains(y, *w) && !m.contains(x, *w))
}

/// Invariant 6's premise: every node answers, every position is established, one history,
/// nothing in flight or damaged. A refusal then is counted (the aim is none).
pub fn unambiguous(m: &Model, view: &ClusterView) -> bool {
    let mut uuids = BTreeSet::new();
    for i in 0..m.n() {
        let Some(r) = report_of(view, i) else {
            return false;
        };
        if r.mysqld.frozen
            || matches!(r.live, Some(Live::NoAnswer { .. }))
            || r.sst_in_progress
            || matches!(r.grastate, FileState::Unreadable { .. })
            || matches!(r.gvwstate, FileState::Unreadable { .. })
        {
            return false;
        }
        let Some((u, _)) = observed_position(r) else {
            return false;
        };
        if u == ZERO_UUID {
            return false;
        }
        // A fresh recovery that failed or stopped on prepared transactions is an open
        // question for a human (runbook), not complete information.
        if r.recovered
            .as_ref()
            .is_some_and(|rec| rec.fresh && !matches!(rec.outcome, RecoverOutcome::Position { .. }))
        {
            return false;
        }
        // A fresh recovery that contradicts a clean grastate.dat is a conflict to look at.
        if let (Some(rec), FileState::Read { value }) = (&r.recovered, &r.grastate) {
            if let RecoverOutcome::Position { uuid, seqno, .. } = &rec.outcome {
                if rec.fresh && value.seqno >= 0 && (uuid != &value.uuid || *seqno != value.seqno) {
                    return false;
                }
            }
        }
        uuids.insert(u);
        // A restored backup beneath a node's state files contradicts its saved views: the
        // runbook asks a human to look (`quorate recover position`, then decide).
        if m.nodes[i].corrupt || m.nodes[i].rolled_back {
            return false;
        }
    }
    if uuids.len() > 1 || m.primary_comps().len() > 1 {
        return false;
    }
    // A stopped node ahead of the running Primary (someone bootstrapped a stale node): which
    // writes to keep is a human's choice.
    for c in m.primary_comps() {
        if let Some(p) = m.comps[&c].pos {
            if m.nodes
                .iter()
                .any(|n| n.proc == Proc::Stopped && n.data.is_some_and(|d| !m.le(d, p)))
            {
                return false;
            }
        }
    }
    // Saved Primary views with no node in common are a possible divergence (facts): the
    // reports alone cannot tell it from one history, so a human may be asked.
    let n = m.n();
    if (0..n).any(|x| (0..n).any(|y| x != y && known::disjoint_views(m, x, y))) {
        return false;
    }
    // One history: every two positions are ordered.
    let ds: Vec<Pos> = m.nodes.iter().filter_map(|n| n.data).collect();
    ds.iter()
        .all(|&a| ds.iter().all(|&b| m.le(a, b) || m.le(b, a)))
}

/// Whether no single position holds every recoverable acknowledged write (two histories).
pub fn diverged(m: &Model, accepted: &BTreeSet<Pos>) -> bool {
    let held = recoverable(m, accepted);
    if held.is_empty() {
        return false;
    }
    let mut candidates: Vec<Pos> = m.nodes.iter().filter_map(|n| n.data).collect();
    candidates.extend(m.comps.values().filter(|c| c.primary).filter_map(|c| c.pos));
    !candidates
        .iter()
        .any(|&p| held.iter().all(|&w| m.contains(p, w)))
}

/// Acknowledged writes still held somewhere, minus those the operator accepted to lose.
pub fn recoverable(m: &Model, accepted: &BTreeSet<Pos>) -> BTreeSet<Pos> {
    m.acked
        .iter()
        .copied()
        .filter(|w| !accepted.contains(w) && m.recoverable(*w))
        .collect()
}

/// Invariants 1 and 2 after a step: nothing recoverable before is lost; a Primary the step
/// created holds everything recoverable; no second live Primary component appears.
pub fn check_step(
    view: &ClusterView,
    before: &Model,
    after: &Model,
    action: Action,
    d: &Decision,
    a: &Assumptions,
    accepted: &mut BTreeSet<Pos>,
) -> Vec<Violation> {
    let mut out = Vec::new();
    let held = recoverable(before, accepted);
    let lost_ok = |w: &Pos| -> bool {
        // Exempt only if every node that held it was named by --assume-lost and the
        // decision said what that risks.
        let h = before.holders(*w);
        !h.is_empty()
            && h.iter().all(|&n| a.assume_lost.contains(&Model::name(n)))
            && !d.risks.is_empty()
    };
    let new_prims: Vec<u32> = after
        .primary_comps()
        .into_iter()
        .filter(|c| {
            !before.primary_comps().contains(c)
                || after.comps[c].pos != before.comps.get(c).and_then(|b| b.pos)
        })
        .collect();
    for &w in &held {
        let still = after.recoverable(w);
        let in_new_prim = new_prims.iter().all(|c| {
            let comp = &after.comps[c];
            comp.zero_state || comp.pos.is_some_and(|p| after.contains(p, w))
        });
        let fresh_prim = matches!(action, Action::Bootstrap | Action::Promote);
        if !still || (fresh_prim && !in_new_prim) {
            if lost_ok(&w) {
                accepted.insert(w);
                continue;
            }
            out.push(
                Violation::new(
                    1,
                    &format!(
                        "acknowledged write lost by {}",
                        serde_json::to_string(&action)
                            .expect("action")
                            .trim_matches('"')
                    ),
                    format!(
                        "acknowledged write {} (held by {}) {}",
                        before.pos_str(w),
                        before
                            .holders(w)
                            .iter()
                            .map(|&n| Model::name(n))
                            .collect::<Vec<_>>()
                            .join(","),
                        if still {
                            "is not in the Primary this step created"
                        } else {
                            "is no longer held by any node"
                        }
                    ),
                )
                .class(known::loss_class(
                    before,
                    view,
                    d,
                    action,
                    &before.holders(w),
                ))
                .lost(w),
            );
            break;
        }
    }
    let p0 = live_primaries(before);
    let p1 = live_primaries(after);
    if p1 > 1 && p1 > p0 {
        out.push(
            Violation::new(
                2,
                "a second Primary component",
                format!("{p1} live Primary components after the step (before: {p0})"),
            )
            .class(known::second_primary_class(before, after, action)),
        );
    }
    out
}

fn live_primaries(m: &Model) -> usize {
    m.comps
        .values()
        .filter(|c| c.primary && c.members.iter().any(|&x| m.nodes[x].proc == Proc::Running))
        .count()
}
