//! The recovery decision: a pure, total function from what was gathered about every node
//! ([`ClusterView`]) and what the operator asserts ([`Assumptions`]) to a [`Decision`].
//!
//! No I/O, no clock, no randomness: the same view always gives the same decision, which is
//! what lets an action re-gather, re-decide and compare with the plan the operator read, and
//! what lets every scenario be unit-tested.
//!
//! The rules, each of which exists because a real tool lost data without it:
//!
//! - A node that does not answer is **unknown, never absent**: no bootstrap and no promotion
//!   while any node is unknown, unless the operator names it with `--assume-lost`, and then the
//!   decision says what that risks. (galera_initiator bootstraps a stale node when the newer
//!   ones are unreachable; they then SST and drop their data.)
//! - Cluster UUIDs must agree: nodes from different histories are never compared by seqno.
//! - seqno -1 (a crash) means "position unknown": it is recovered (`--wsrep-recover`) first.
//! - A zero UUID is never a source; `safe_to_bootstrap: 1` counts only with a real UUID and
//!   position (pc.recovery without a start position leaves exactly that combination behind).
//! - The most advanced node wins; ties are broken deterministically and the reason is given.
//! - A running Primary component anywhere means "join it", never bootstrap.
//! - A stopped node found apart from the running Primary's history (ahead of it, at its seqno
//!   from another branch) is listed in [`Decision::apart`] for the caller to keep; while its
//!   position is the one a kept record names, it is investigated, never rejoined or compared,
//!   however far the Primary has committed since (the seqnos no longer show it).
//!
//! Layout: [`classify`] reads each node (its class, evidence and digest key), [`views`] holds
//! the saved-view rules (gvwstate.dat), and the decision itself is [`with_primary`] (bring
//! the stopped nodes to the running Primary) or [`without_primary`] (choose the most advanced
//! node, or refuse), each a sequence of named steps. The situations of the runbook
//! (docs/runbook.md) are [`RunbookCase`]s.

use std::collections::BTreeSet;

use serde::Serialize;

use super::report::NodeReport;

mod classify;
mod views;
mod with_primary;
mod without_primary;

use classify::{classify, digest_key, evidence_of, fnv1a, Class};
use with_primary::decide_with_primary;
use without_primary::decide_without_primary;
// What the scenario tests build and inspect.
#[cfg(test)]
use super::report::{FileState, Live, LiveStatus, RecoverOutcome};
#[cfg(test)]
use classify::uuids_of;
#[cfg(test)]
use std::collections::BTreeMap;

/// Every configured node, in configuration order, with what is known about it.
#[derive(Debug, Clone)]
pub struct ClusterView {
    pub nodes: Vec<NodeView>,
}

/// One node of the view.
#[derive(Debug, Clone)]
pub struct NodeView {
    pub name: String,
    pub observed: Observed,
}

/// What gathering found.
#[derive(Debug, Clone)]
pub enum Observed {
    Known(Box<NodeReport>),
    /// Nothing answered for this node (endpoint down, timeout, bad token, wrong node...).
    Unknown {
        reason: String,
    },
}

/// What the operator asserts beyond the evidence.
#[derive(Debug, Clone, Default)]
pub struct Assumptions {
    /// Nodes the operator declares lost (`--assume-lost`): they will not come back before the
    /// cluster is recovered, and they will not be started or promoted elsewhere meanwhile.
    pub assume_lost: BTreeSet<String>,
}

/// The decision.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Decision {
    pub verdict: Verdict,
    /// The case of the runbook (1–7, see docs/runbook.md) this situation is, when it is one:
    /// [`RunbookCase::number`].
    pub case: Option<u8>,
    /// One line describing the situation.
    pub situation: String,
    /// Why this decision (including how ties were broken), or why there is none.
    pub reasons: Vec<String>,
    /// What the decision risks (only ever from operator assumptions).
    pub risks: Vec<String>,
    /// Nodes the decision is waiting for.
    pub wait_for: Vec<String>,
    /// What to do, in order.
    pub steps: Vec<Step>,
    /// Per node: the facts the decision used.
    pub evidence: Vec<Evidence>,
    /// Short hash of the decision-relevant evidence and the verdict: an action refuses to run
    /// when it differs from the plan the operator read.
    pub digest: String,
    /// Stopped nodes found apart from the running Primary's history, for the caller to keep
    /// (`recover::apart`): the evidence disappears once clients commit past their seqno.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub apart: Vec<ApartFinding>,
}

/// A stopped node apart from the running Primary's history at a known position: ahead of it,
/// at its seqno from another branch, or the last member of another Primary (what the seqnos
/// show, and client writes erase; saved views apart only say it *may* be, and are not kept).
/// Listed only when every Primary node is Synced, so that the Primary's position is exact and
/// a transient state is never kept.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ApartFinding {
    pub node: String,
    pub uuid: String,
    pub seqno: i64,
    /// The plan's reason, in words.
    pub why: String,
}

impl Decision {
    pub fn is_refusal(&self) -> bool {
        matches!(self.verdict, Verdict::Refuse)
    }
}

/// What the decision is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Verdict {
    /// Every node is Synced in one Primary component.
    Healthy,
    /// A Primary runs; nodes are joining or must be looked at; nothing to start now.
    Wait,
    /// A Primary runs: start the stopped nodes so that they join it.
    Join { primary: Vec<String> },
    /// Positions must be recovered before a source can be chosen.
    RecoverPositions { nodes: Vec<String> },
    /// Bootstrap a new Primary from this (stopped) node.
    Bootstrap { node: String },
    /// Promote this live non-Primary node (`pc.bootstrap=YES`).
    Promote { node: String },
    /// No safe action: the reasons say why, `wait_for` whom.
    Refuse,
}

/// One step of a plan.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Step {
    pub node: String,
    pub action: Action,
    pub why: String,
}

/// What a step does (the command is rendered by the caller, who knows the paths).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    /// `quorate recover position` for this node.
    RecoverPosition,
    /// `quorate recover bootstrap` on this node.
    Bootstrap,
    /// `quorate recover promote` on this node.
    Promote,
    /// `quorate recover rejoin` on this node (start it; it joins by IST or SST). Its saved
    /// view (gvwstate.dat) is moved aside first, so it cannot re-form an old Primary by
    /// pc.recovery instead of joining.
    Rejoin,
    /// `quorate recover rejoin --move-aside`: its state files are unusable.
    RejoinMoveAside,
    /// Needs a human decision before anything is started on this node.
    Investigate,
    /// Wait for this node (it does not answer, or it is busy).
    WaitFor,
}

/// The facts about one node that the decision used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    pub node: String,
    /// e.g. `Primary, Synced (size 3)`, `stopped, crashed`, `unknown: ...`.
    pub state: String,
    pub uuid: Option<String>,
    pub seqno: Option<i64>,
    /// Where the seqno comes from: `grastate.dat`, `recovered <time>`, `wsrep_last_committed`.
    pub seqno_source: Option<String>,
    pub safe_to_bootstrap: Option<bool>,
    /// The node's planned maintenance (`quorate maintenance`), in words: shown, not judged.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<String>,
}

/// The situations the runbook (docs/runbook.md) describes, numbered there and in the
/// decision's output as 1 to 7.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RunbookCase {
    /// Case 1: a Primary runs and one node is stopped cleanly.
    OneStoppedCleanly,
    /// Case 2: a Primary runs and several nodes are stopped cleanly.
    SeveralStoppedCleanly,
    /// Case 3: no Primary; every node is stopped cleanly.
    AllStoppedCleanly,
    /// Case 4: a Primary runs and a node crashed (or cannot be reached).
    CrashedBesidePrimary,
    /// Case 5: no Primary; non-Primary survivors run, the others crashed or cannot be reached.
    NonPrimarySurvivors,
    /// Case 6: no Primary and no node runs; at least one crashed or cannot be reached.
    AllDownAfterCrash,
    /// Case 7: no Primary; an even split (half the nodes on each side).
    EvenSplit,
}

impl RunbookCase {
    /// The case's number in the runbook.
    pub fn number(self) -> u8 {
        match self {
            RunbookCase::OneStoppedCleanly => 1,
            RunbookCase::SeveralStoppedCleanly => 2,
            RunbookCase::AllStoppedCleanly => 3,
            RunbookCase::CrashedBesidePrimary => 4,
            RunbookCase::NonPrimarySurvivors => 5,
            RunbookCase::AllDownAfterCrash => 6,
            RunbookCase::EvenSplit => 7,
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The decision.

struct Ctx<'a> {
    view: &'a ClusterView,
    classes: Vec<Class>,
    lost: &'a BTreeSet<String>,
}

impl Ctx<'_> {
    fn names_where(&self, f: impl Fn(&Class) -> bool) -> Vec<String> {
        self.view
            .nodes
            .iter()
            .zip(&self.classes)
            .filter(|(_, c)| f(c))
            .map(|(n, _)| n.name.clone())
            .collect()
    }
}

/// Decides what to do. Total: every view gives a decision (possibly a refusal).
pub fn decide(view: &ClusterView, assumptions: &Assumptions) -> Decision {
    let classes: Vec<Class> = view
        .nodes
        .iter()
        .map(|n| match &n.observed {
            Observed::Known(r) => classify(r),
            Observed::Unknown { reason } => Class::Unknown(reason.clone()),
        })
        .collect();
    let evidence: Vec<Evidence> = view
        .nodes
        .iter()
        .zip(&classes)
        .map(|(n, c)| evidence_of(n, c, assumptions.assume_lost.contains(&n.name)))
        .collect();
    let ctx = Ctx {
        view,
        classes,
        lost: &assumptions.assume_lost,
    };
    let mut d = decide_classified(&ctx);
    let mut key: Vec<String> = view
        .nodes
        .iter()
        .zip(&ctx.classes)
        .map(|(n, c)| digest_key(&n.name, c))
        .collect();
    key.push(format!("verdict={:?}", d.verdict));
    key.push(format!("lost={:?}", assumptions.assume_lost));
    d.digest = fnv1a(&key.join("\n"));
    d.evidence = evidence;
    d
}

fn blank(verdict: Verdict, case: Option<RunbookCase>, situation: impl Into<String>) -> Decision {
    Decision {
        verdict,
        case: case.map(RunbookCase::number),
        situation: situation.into(),
        reasons: Vec::new(),
        risks: Vec::new(),
        wait_for: Vec::new(),
        steps: Vec::new(),
        evidence: Vec::new(),
        digest: String::new(),
        apart: Vec::new(),
    }
}

fn refuse(
    case: Option<RunbookCase>,
    situation: impl Into<String>,
    reasons: Vec<String>,
) -> Decision {
    let mut d = blank(Verdict::Refuse, case, situation);
    d.reasons = reasons;
    d
}

fn step(node: &str, action: Action, why: impl Into<String>) -> Step {
    Step {
        node: node.to_string(),
        action,
        why: why.into(),
    }
}

fn decide_classified(ctx: &Ctx<'_>) -> Decision {
    let nodes = &ctx.view.nodes;
    if nodes.is_empty() {
        return refuse(
            None,
            "no MariaDB node is configured",
            vec!["the configuration lists no controller with services.mariadb: true".into()],
        );
    }

    // The operator's assumptions must be about nodes that really are out of reach.
    let mut bad_assumptions = Vec::new();
    for name in ctx.lost {
        match nodes.iter().position(|n| &n.name == name) {
            None => bad_assumptions.push(format!(
                "--assume-lost {name}: no such MariaDB node in the configuration"
            )),
            Some(i) => match &ctx.classes[i] {
                Class::Unknown(_) | Class::Unresponsive(_) => {}
                other => bad_assumptions.push(format!(
                    "--assume-lost {name}: {name} answers ({}); only nodes that cannot be reached may be assumed lost",
                    short_state(other)
                )),
            },
        }
    }
    if !bad_assumptions.is_empty() {
        return refuse(
            None,
            "the operator's assumptions contradict the evidence",
            bad_assumptions,
        );
    }

    if let Some(d) = stale_views(ctx) {
        return d;
    }
    if ctx.classes.iter().any(|c| matches!(c, Class::Primary(_))) {
        decide_with_primary(ctx)
    } else {
        decide_without_primary(ctx)
    }
}

/// A live node whose component counts more members than there are nodes that can be in it
/// reports a view Galera has not updated yet: a node thawed after SIGSTOP still reports the
/// view it was frozen in, and a component keeps a member that stopped until the others have
/// evicted it. Such a view is about to change (a Primary loses its quorum), nothing can join
/// it, and `pc.bootstrap` during the change fails (seen: ERROR 1210). The members of one
/// component all report it, with its size: a possible member answers with the same status
/// and size, or does not answer at all; a stopped node or a node of another component is not
/// one.
fn stale_views(ctx: &Ctx<'_>) -> Option<Decision> {
    let nodes = &ctx.view.nodes;
    let mut stale = Vec::new();
    let mut reasons = Vec::new();
    for (n, c) in nodes.iter().zip(&ctx.classes) {
        let (Class::Primary(st) | Class::NonPrimary(st)) = c else {
            continue;
        };
        let Some(size) = st.cluster_size else {
            continue;
        };
        let possible = ctx
            .classes
            .iter()
            .filter(|other| match other {
                Class::Primary(o) | Class::NonPrimary(o) => {
                    o.is_primary() == st.is_primary() && o.cluster_size == Some(size)
                }
                Class::Unknown(_) | Class::Unresponsive(_) | Class::Busy(_) => true,
                Class::Disconnected | Class::Down(_) => false,
            })
            .count() as u64;
        if size > possible {
            stale.push(n.name.clone());
            reasons.push(format!(
                "{} reports a {} component of {size} member(s), but at most {possible} node(s) can be in it (the others are stopped or in another component): its view is stale, e.g. it was frozen and has just been thawed, or a member that left has not been evicted yet",
                n.name,
                if st.is_primary() { "Primary" } else { "non-Primary" },
            ));
        }
    }
    if stale.is_empty() {
        return None;
    }
    reasons.push("plan again in a few seconds, when the view has been updated (quorate does not know Galera arbitrators: a garbd member is not counted)".into());
    let mut d = refuse(
        None,
        "a stale view: more members than nodes left to be in the component",
        reasons,
    );
    d.wait_for = stale;
    Some(d)
}

fn short_state(c: &Class) -> String {
    match c {
        Class::Unknown(r) => format!("unknown: {r}"),
        Class::Unresponsive(r) => r.clone(),
        Class::Busy(w) => format!("busy: {w}"),
        Class::Primary(_) => "in the Primary component".into(),
        Class::NonPrimary(_) => "running, non-Primary".into(),
        Class::Disconnected => "running, Disconnected".into(),
        Class::Down(_) => "mysqld is stopped and its state was read".into(),
    }
}

#[cfg(test)]
mod tests;
