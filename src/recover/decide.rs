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

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use super::report::{
    FileState, Live, LiveStatus, NodeReport, RecoverOutcome, SavedView, ZERO_UUID,
};

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
    /// The case of the runbook (1–7, see docs/runbook.md) this situation is, when it is one.
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
}

// ---------------------------------------------------------------------------------------------
// Classification of one node.

#[derive(Debug, Clone)]
enum Class {
    Unknown(String),
    /// mysqld runs but gives no status (frozen, starting, in SST).
    Unresponsive(String),
    /// A quorate action holds the node's lock.
    Busy(String),
    Primary(LiveStatus),
    NonPrimary(LiveStatus),
    Disconnected,
    Down(Down),
}

#[derive(Debug, Clone)]
struct Down {
    /// grastate.dat had a real UUID and seqno (clean shutdown).
    clean: bool,
    safe: Option<bool>,
    pos: Pos,
    /// grastate.dat cannot be used as it is (unreadable): a rejoin must move it aside, and a
    /// bootstrap cannot set `safe_to_bootstrap` in it.
    file_problem: Option<String>,
    /// A contradiction between grastate.dat and InnoDB, settled in InnoDB's favour.
    note: Option<String>,
}

#[derive(Debug, Clone)]
enum Pos {
    Known {
        uuid: String,
        seqno: i64,
        source: String,
    },
    /// The position is unknown until `--wsrep-recover` reads it from InnoDB: after a crash
    /// (seqno -1), with the zero UUID that pc.recovery leaves behind, without grastate.dat,
    /// or when grastate.dat cannot be read.
    NeedsRecovery,
    /// No usable state: will join by SST, never a source.
    NoState(String),
    /// State files cannot be read and no datadir is known: a human must look (the node may
    /// be the most advanced).
    Unreadable(String),
    /// Position recovery ran and did not give a position, or contradicts grastate.dat.
    Blocked(String),
}

fn classify(report: &NodeReport) -> Class {
    if let Some(what) = &report.action_in_progress {
        return Class::Busy(what.clone());
    }
    match &report.live {
        Some(Live::Answered(st)) if st.is_primary() => return Class::Primary(st.clone()),
        Some(Live::Answered(st)) if st.cluster_status == "Disconnected" => {
            return Class::Disconnected
        }
        Some(Live::Answered(st)) => return Class::NonPrimary(st.clone()),
        _ => {}
    }
    if report.mysqld.running {
        let pid = report
            .mysqld
            .pid
            .map_or_else(String::new, |p| format!(" (pid {p})"));
        let why = if report.mysqld.frozen {
            format!("mysqld{pid} is frozen (stopped by a signal) and cannot answer")
        } else if report.sst_in_progress {
            format!("mysqld{pid} is receiving a state transfer (sst_in_progress)")
        } else {
            let err = match &report.live {
                Some(Live::NoAnswer { error }) => error.clone(),
                _ => "no status".to_string(),
            };
            format!("mysqld{pid} runs but does not answer: {err}")
        };
        return Class::Unresponsive(why);
    }
    Class::Down(down_state(report))
}

/// A stopped node's position. InnoDB is the truth: a fresh `--wsrep-recover` result wins
/// over grastate.dat, whatever the file says (a clean seqno above what InnoDB holds, or the
/// zero-UUID file pc.recovery leaves over the newest data), and a file that cannot be read
/// or holds no position means "position unknown", never "no data".
fn down_state(report: &NodeReport) -> Down {
    let (saved, file_problem) = match &report.grastate {
        FileState::Read { value } => (Some(value), None),
        FileState::Absent => (None, None),
        FileState::Unreadable { error } => (None, Some(format!("grastate.dat: {error}"))),
        FileState::Unknown => {
            return Down {
                clean: false,
                safe: None,
                pos: Pos::Unreadable(
                    "no datadir configured: its grastate.dat cannot be read".into(),
                ),
                file_problem: None,
                note: None,
            }
        }
    };
    let real_saved = saved.filter(|s| s.uuid != ZERO_UUID);
    let clean = real_saved.is_some_and(|s| s.seqno >= 0);
    let mut down = Down {
        clean,
        safe: saved.map(|s| s.safe_to_bootstrap),
        pos: Pos::NeedsRecovery,
        file_problem,
        note: None,
    };
    if report.sst_in_progress {
        down.pos = Pos::NoState(
            "an interrupted state transfer left sst_in_progress: its data is incomplete".into(),
        );
        return down;
    }
    let Some(recovered) = report.recovered.as_ref().filter(|r| r.fresh) else {
        if let (true, Some(s)) = (clean, real_saved) {
            down.pos = Pos::Known {
                uuid: s.uuid.clone(),
                seqno: s.seqno,
                source: "grastate.dat".into(),
            };
        }
        return down;
    };
    down.pos = match &recovered.outcome {
        RecoverOutcome::Position { uuid, seqno, .. } => {
            let real = uuid != ZERO_UUID && *seqno >= 0;
            match real_saved {
                Some(s) if real && s.uuid != *uuid => Pos::Blocked(format!(
                    "grastate.dat names cluster {} but InnoDB holds position {uuid}:{seqno}: compare the two by hand before using this node",
                    s.uuid
                )),
                Some(s) if clean && !real => Pos::Blocked(format!(
                    "grastate.dat says a clean stop at {}:{} but --wsrep-recover found no Galera position in InnoDB ({uuid}:{seqno}): check its data by hand",
                    s.uuid, s.seqno
                )),
                _ if !real => Pos::NoState(format!(
                    "its storage holds no Galera position ({uuid}:{seqno})"
                )),
                _ => {
                    if let Some(s) = real_saved.filter(|s| clean && s.seqno != *seqno) {
                        down.note = Some(format!(
                            "grastate.dat says seqno {} but InnoDB holds {seqno}: InnoDB is what the node has, so {seqno} is used",
                            s.seqno
                        ));
                    }
                    Pos::Known {
                        uuid: uuid.clone(),
                        seqno: *seqno,
                        source: format!("recovered at {}", recovered.at),
                    }
                }
            }
        }
        RecoverOutcome::PreparedTransactions { count } => Pos::Blocked(format!(
            "--wsrep-recover found {count} prepared transaction(s): run mariadbd once with \
             --tc-heuristic-recover=rollback (or commit), then recover the position again"
        )),
        RecoverOutcome::Disabled => Pos::Blocked(
            "--wsrep-recover says wsrep is disabled: recover_command lacks the node's wsrep options"
                .into(),
        ),
        RecoverOutcome::Failed { log_tail } => {
            Pos::Blocked(format!("position recovery failed: {log_tail}"))
        }
    };
    down
}

/// A live non-Primary node's position, when it reports a usable one (a real cluster UUID and
/// a committed seqno). Without one its InnoDB may still hold the newest transactions.
fn live_position(st: &LiveStatus) -> Option<i64> {
    let uuid_ok = st
        .cluster_state_uuid
        .as_deref()
        .is_some_and(|u| u != ZERO_UUID && !u.is_empty());
    st.last_committed.filter(|s| uuid_ok && *s >= 0)
}

/// Every real cluster UUID a node's evidence names, with where it came from.
fn uuids_of(report: &NodeReport) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(saved) = report.grastate.value() {
        out.push((saved.uuid.clone(), "grastate.dat"));
    }
    if let Some(r) = report.recovered.as_ref().filter(|r| r.fresh) {
        if let RecoverOutcome::Position { uuid, .. } = &r.outcome {
            out.push((uuid.clone(), "recovered position"));
        }
    }
    if let Some(Live::Answered(st)) = &report.live {
        if let Some(u) = &st.cluster_state_uuid {
            out.push((u.clone(), "wsrep_cluster_state_uuid"));
        }
    }
    out.retain(|(u, _)| u != ZERO_UUID);
    out
}

fn evidence_of(view: &NodeView, class: &Class, assumed_lost: bool) -> Evidence {
    let mut ev = Evidence {
        node: view.name.clone(),
        state: String::new(),
        uuid: None,
        seqno: None,
        seqno_source: None,
        safe_to_bootstrap: None,
    };
    let report = match &view.observed {
        Observed::Known(r) => Some(r.as_ref()),
        Observed::Unknown { .. } => None,
    };
    if let Some(saved) = report.and_then(|r| r.grastate.value()) {
        ev.uuid = Some(saved.uuid.clone());
        ev.seqno = Some(saved.seqno);
        ev.seqno_source = Some("grastate.dat".into());
        ev.safe_to_bootstrap = Some(saved.safe_to_bootstrap);
    }
    let live = |st: &LiveStatus, ev: &mut Evidence| {
        ev.uuid = st.cluster_state_uuid.clone();
        ev.seqno = st.last_committed;
        ev.seqno_source = Some("wsrep_last_committed".into());
    };
    ev.state = match class {
        Class::Unknown(reason) => format!("unknown: {reason}"),
        Class::Unresponsive(reason) => reason.clone(),
        Class::Busy(what) => format!("busy: {what}"),
        Class::Primary(st) => {
            live(st, &mut ev);
            format!(
                "Primary, {} (size {})",
                st.local_state_comment.as_deref().unwrap_or("?"),
                st.cluster_size
                    .map_or_else(|| "?".into(), |s| s.to_string())
            )
        }
        Class::NonPrimary(st) => {
            live(st, &mut ev);
            format!(
                "non-Primary (size {})",
                st.cluster_size
                    .map_or_else(|| "?".into(), |s| s.to_string())
            )
        }
        Class::Disconnected => "running, Disconnected from the group".into(),
        Class::Down(d) => {
            if let Pos::Known {
                uuid,
                seqno,
                source,
            } = &d.pos
            {
                ev.uuid = Some(uuid.clone());
                ev.seqno = Some(*seqno);
                ev.seqno_source = Some(source.clone());
            }
            // seqno -1 means "no position saved": after a crash, but also in the file Galera
            // leaves when a node's history was reset (zero UUID), even after a clean stop.
            let zero = report
                .and_then(|r| r.grastate.value())
                .is_some_and(|g| g.uuid == ZERO_UUID);
            let how = if d.clean {
                "stopped cleanly".to_string()
            } else if let Some(problem) = &d.file_problem {
                format!("stopped, {problem}")
            } else if zero {
                "stopped, no position saved (zero UUID, seqno -1)".to_string()
            } else if report.is_some_and(|r| matches!(r.grastate, FileState::Absent)) {
                "stopped, no grastate.dat".to_string()
            } else {
                "stopped, crashed (seqno -1)".to_string()
            };
            let mut state = match &d.pos {
                Pos::Known { .. } => how,
                Pos::NeedsRecovery => format!("{how}, position not recovered yet"),
                Pos::NoState(why) | Pos::Unreadable(why) | Pos::Blocked(why) => {
                    format!("{how}: {why}")
                }
            };
            if let Some(note) = &d.note {
                state = format!("{state} ({note})");
            }
            state
        }
    };
    if assumed_lost {
        ev.state = format!("assumed lost by the operator ({})", ev.state);
    }
    ev
}

/// The part of a node's evidence that must not change between plan and action (a running
/// Primary's seqno moves with every commit and is left out).
fn digest_key(name: &str, class: &Class) -> String {
    match class {
        Class::Unknown(_) => format!("{name}=unknown"),
        Class::Unresponsive(_) => format!("{name}=unresponsive"),
        // Whether another node's action runs does not change what this node should do beside
        // a Primary; without one, Busy refuses anyway.
        Class::Busy(_) => format!("{name}=busy"),
        Class::Primary(st) => format!(
            "{name}=primary:{}",
            st.cluster_state_uuid.as_deref().unwrap_or("-")
        ),
        Class::NonPrimary(st) => format!(
            "{name}=nonprimary:{}:{}",
            st.cluster_state_uuid.as_deref().unwrap_or("-"),
            st.last_committed.unwrap_or(-1)
        ),
        Class::Disconnected => format!("{name}=disconnected"),
        Class::Down(d) => match &d.pos {
            Pos::Known { uuid, seqno, .. } => format!(
                "{name}=down:{uuid}:{seqno}:{:?}:{}:{}",
                d.safe,
                d.clean,
                d.file_problem.is_some()
            ),
            Pos::NeedsRecovery => format!("{name}=down:needs-recovery"),
            Pos::NoState(_) => format!("{name}=down:no-state"),
            Pos::Unreadable(_) => format!("{name}=down:unreadable"),
            Pos::Blocked(_) => format!("{name}=down:blocked"),
        },
    }
}

/// FNV-1a, 64 bits: change detection between a plan and an action, not security.
fn fnv1a(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
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

fn blank(verdict: Verdict, case: Option<u8>, situation: impl Into<String>) -> Decision {
    Decision {
        verdict,
        case,
        situation: situation.into(),
        reasons: Vec::new(),
        risks: Vec::new(),
        wait_for: Vec::new(),
        steps: Vec::new(),
        evidence: Vec::new(),
        digest: String::new(),
    }
}

fn refuse(case: Option<u8>, situation: impl Into<String>, reasons: Vec<String>) -> Decision {
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

/// A Primary component runs somewhere: never bootstrap; bring the others to it.
fn decide_with_primary(ctx: &Ctx<'_>) -> Decision {
    let nodes = &ctx.view.nodes;
    let primaries: Vec<(&str, &LiveStatus)> = nodes
        .iter()
        .zip(&ctx.classes)
        .filter_map(|(n, c)| match c {
            Class::Primary(st) => Some((n.name.as_str(), st)),
            _ => None,
        })
        .collect();
    let primary_names: Vec<String> = primaries.iter().map(|(n, _)| n.to_string()).collect();

    let mut by_uuid: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (n, st) in &primaries {
        by_uuid
            .entry(st.cluster_state_uuid.clone().unwrap_or_else(|| "?".into()))
            .or_default()
            .push(n);
    }
    if by_uuid.len() > 1 {
        return refuse(
            None,
            "split brain: Primary components with different cluster UUIDs",
            by_uuid
                .iter()
                .map(|(u, ns)| format!("Primary with cluster UUID {u}: {}", ns.join(", ")))
                .chain(std::iter::once(
                    "quorate never merges histories: decide which cluster holds the data to keep, stop the other one, and rejoin its nodes with `quorate recover rejoin --move-aside --accept-loss` after saving what you need".into(),
                ))
                .collect(),
        );
    }
    // Members of one Primary component saved the same current view, so each names the
    // other. Two Primary nodes whose saved views leave each other out are in two
    // components (a joiner is not Primary before it is in the view, so no view change
    // makes this appear for a moment).
    let apart: Vec<String> = primaries
        .iter()
        .enumerate()
        .flat_map(|(i, (a, _))| primaries.iter().skip(i + 1).map(move |(b, _)| (*a, *b)))
        .filter(|(a, b)| leave_each_other_out(nodes, a, b))
        .map(|(a, b)| format!("{a} and {b}: each one's saved Primary view leaves the other out"))
        .collect();
    if !apart.is_empty() {
        let mut reasons = apart;
        reasons.push("these are two Primary components of one history (e.g. a bootstrap or pc.bootstrap beside a running Primary): stop writes, decide which component to keep, stop the nodes of the other one and rejoin them (their writes since the split are not in the kept component)".into());
        return refuse(
            None,
            "split brain: Primary nodes in different components",
            reasons,
        );
    }
    // Every member of one Primary component reports the same component size. Different
    // sizes (or an unknown one beside others) are two components of one history, for
    // example the survivors of a partition with a member that does not answer: joining
    // either would pick a side blindly.
    let sizes: BTreeSet<Option<u64>> = primaries.iter().map(|(_, st)| st.cluster_size).collect();
    if primaries.len() > 1 && sizes.len() > 1 {
        return refuse(
            None,
            "split brain: nodes report Primary components of different sizes",
            primaries
                .iter()
                .map(|(n, st)| {
                    format!(
                        "{n}: Primary of size {}",
                        st.cluster_size.map_or_else(|| "?".into(), |s| s.to_string())
                    )
                })
                .chain([
                    "members of one component report the same size: these are two Primary components of one history (e.g. pc.bootstrap on both sides of a partition), or a membership change was caught half-way".into(),
                    "plan again in a few seconds; if it persists, stop writes, decide which component to keep, stop the nodes of the other one and rejoin them (their writes since the split are not in the kept component)".into(),
                ])
                .collect(),
        );
    }
    let max_size = primaries
        .iter()
        .filter_map(|(_, st)| st.cluster_size)
        .max()
        .unwrap_or(0);
    if primaries.len() as u64 > max_size {
        return refuse(
            None,
            "split brain: more nodes report Primary than any Primary component has members",
            vec![
                format!(
                    "{} report Primary but the largest component has {max_size} member(s): there are two Primary components of the same cluster (e.g. pc.bootstrap on both sides of a partition)",
                    primary_names.join(", ")
                ),
                "stop writes, decide which component to keep, stop the nodes of the other one and rejoin them (their writes since the split are not in the kept component)".into(),
            ],
        );
    }
    let cluster_uuid = by_uuid.keys().next().cloned().unwrap_or_default();
    let primary_seqno = primaries
        .iter()
        .filter_map(|(_, st)| st.last_committed)
        .max();

    let mut d = blank(
        Verdict::Wait,
        None,
        format!("a Primary component runs on {}", primary_names.join(", ")),
    );
    let mut crashed_down = 0;
    let mut clean_down = 0;
    // A member of the running Primary's view that nobody can name is a live member that does
    // not answer (the view changes when a member leaves): it is one of the unknown nodes.
    let unanswered = ctx.names_where(|c| matches!(c, Class::Unknown(_) | Class::Unresponsive(_)));
    let mut diverged = diverged_view_pairs(nodes);
    diverged.extend(views_diverged_unless_unknown(nodes, &unanswered));
    for (n, c) in nodes.iter().zip(&ctx.classes) {
        let name = n.name.as_str();
        match c {
            Class::Primary(st) => {
                if !st.is_synced() {
                    d.reasons.push(format!(
                        "{name} is in the Primary component but {} (wait for Synced)",
                        st.local_state_comment.as_deref().unwrap_or("not Synced")
                    ));
                }
            }
            Class::Down(down) => {
                if down.clean {
                    clean_down += 1;
                } else {
                    crashed_down += 1;
                }
                let diverged = diverged.iter().find(|(a, b, _)| {
                    (a == name && primary_names.contains(b))
                        || (b == name && primary_names.contains(a))
                });
                d.steps.push(match diverged {
                    // Its history may have diverged from the Primary's under the same UUID:
                    // seqnos say nothing, and joining would discard what only it holds.
                    Some((_, _, why)) => {
                        d.risks.push(format!(
                            "{name} may hold transactions of another Primary component ({why}): joining replaces them by the Primary's history"
                        ));
                        step(
                            name,
                            Action::Investigate,
                            format!("its saved view has no node in common with a running Primary node's ({why}): the two histories may have diverged; save what only it holds, then `quorate recover rejoin --move-aside --accept-loss`"),
                        )
                    }
                    None => join_step(name, down, &cluster_uuid, primary_seqno, &mut d.risks),
                });
            }
            Class::NonPrimary(st) => {
                let ahead = match (st.last_committed, primary_seqno) {
                    (Some(s), Some(p)) if s > p && st.cluster_state_uuid.as_deref() == Some(&cluster_uuid) => {
                        format!(" It is ahead of the Primary (seqno {s} > {p}): do not restart it before deciding what to do with those transactions.")
                    }
                    _ => String::new(),
                };
                d.steps.push(step(
                    name,
                    Action::Investigate,
                    format!("runs non-Primary beside the Primary: a partition, or it has not merged back yet. It merges by itself when it can reach the Primary; if it does not, stop it cleanly and run `quorate recover rejoin` on it.{ahead}"),
                ));
            }
            Class::Disconnected => d.steps.push(step(
                name,
                Action::Investigate,
                "runs but is Disconnected from the group (empty wsrep_cluster_address?): stop it cleanly, then `quorate recover rejoin` on it",
            )),
            Class::Unknown(reason) | Class::Unresponsive(reason) => {
                crashed_down += 1;
                d.wait_for.push(name.to_string());
                d.steps.push(step(
                    name,
                    Action::WaitFor,
                    format!("{reason}; when it is back, plan again"),
                ));
            }
            // Rejoins of several nodes may run side by side; wait for this one.
            Class::Busy(what) => {
                d.wait_for.push(name.to_string());
                d.steps.push(step(name, Action::WaitFor, format!("a recovery action runs on it: {what}")));
            }
        }
    }
    let down = clean_down + crashed_down;
    d.case = match (down, crashed_down) {
        (0, _) => None,
        (_, c) if c > 0 => Some(4),
        (1, _) => Some(1),
        _ => Some(2),
    };
    let to_recover: Vec<String> = d
        .steps
        .iter()
        .filter(|s| s.action == Action::RecoverPosition)
        .map(|s| s.node.clone())
        .collect();
    if d.steps.iter().any(|s| {
        matches!(
            s.action,
            Action::Rejoin | Action::RejoinMoveAside | Action::RecoverPosition
        )
    }) {
        d.verdict = Verdict::Join {
            primary: primary_names.clone(),
        };
        if !to_recover.is_empty() {
            d.reasons.insert(
                0,
                format!(
                    "{} must have {} position recovered before {} can rejoin: a node whose position is unknown may be ahead of the Primary (`rejoin` on it recovers the position, plans again and starts it only if it is not ahead)",
                    to_recover.join(", "),
                    if to_recover.len() == 1 { "its" } else { "their" },
                    if to_recover.len() == 1 { "it" } else { "they" },
                ),
            );
        }
        d.reasons.insert(
            0,
            format!(
                "a Primary component runs ({}): stopped nodes join it; quorate never bootstraps while a Primary exists",
                primary_names.join(", ")
            ),
        );
    } else if d.steps.is_empty() && primaries.iter().all(|(_, st)| st.is_synced()) {
        d.verdict = Verdict::Healthy;
        d.situation = format!(
            "healthy: {} Synced in one Primary component",
            primary_names.join(", ")
        );
    }
    d
}

/// How a stopped node joins the running Primary.
fn join_step(
    name: &str,
    down: &Down,
    cluster_uuid: &str,
    primary_seqno: Option<i64>,
    risks: &mut Vec<String>,
) -> Step {
    // A state file that cannot be read is moved aside (kept) before the start; Galera would
    // otherwise refuse to start or misread it.
    let (join, how) = match &down.file_problem {
        Some(problem) => (
            Action::RejoinMoveAside,
            format!("{problem}: `rejoin --move-aside` moves its state files aside (kept, not deleted) and it joins by SST"),
        ),
        None => (Action::Rejoin, String::new()),
    };
    match &down.pos {
        Pos::Known { uuid, seqno, .. } if uuid != cluster_uuid => {
            risks.push(format!(
                "{name} holds another cluster history ({uuid}, seqno {seqno}) than the Primary ({cluster_uuid}): joining replaces its data by a full state transfer"
            ));
            step(
                name,
                Action::Investigate,
                format!("its cluster UUID {uuid} differs from the Primary's {cluster_uuid}: save what you need from it, then `quorate recover rejoin --move-aside --accept-loss`"),
            )
        }
        // Without the Primary's position nobody can tell whether this node is ahead of it.
        Pos::Known { seqno, .. } if primary_seqno.is_none() => step(
            name,
            Action::WaitFor,
            format!("its position is {seqno} but the Primary reports no wsrep_last_committed, so quorate cannot check that it is not ahead: plan again when the Primary answers with its position"),
        ),
        Pos::Known { seqno, .. } if primary_seqno.is_some_and(|p| *seqno > p) => {
            let p = primary_seqno.unwrap_or(-1);
            risks.push(format!(
                "{name} is ahead of the running Primary (seqno {seqno} > {p}): its last {} transaction(s) are not in the cluster",
                i128::from(*seqno) - i128::from(p)
            ));
            step(
                name,
                Action::Investigate,
                format!("it is ahead of the Primary ({seqno} > {p}): rejoining discards its extra transactions. Either stop the Primary and plan again (it becomes the source), or accept the loss: `quorate recover rejoin --move-aside --accept-loss`"),
            )
        }
        Pos::Known { seqno, .. } if down.file_problem.is_some() => step(
            name,
            join,
            format!("not ahead of the Primary (InnoDB holds seqno {seqno}); {how}"),
        ),
        Pos::Known { seqno, .. } => step(
            name,
            Action::Rejoin,
            format!("start it: it joins from seqno {seqno} (IST if a donor's gcache still holds the writesets after it, else SST)"),
        ),
        Pos::NeedsRecovery => step(
            name,
            Action::RecoverPosition,
            "its position is unknown (crashed, zero UUID, no or unreadable grastate.dat): recover it from InnoDB first, then plan again; it rejoins only if it is not ahead of the Primary",
        ),
        Pos::NoState(why) if down.file_problem.is_some() => step(name, join, format!("{why}; {how}")),
        Pos::NoState(why) => step(
            name,
            Action::Rejoin,
            format!("{why}: it joins by a full state transfer (SST)"),
        ),
        Pos::Unreadable(why) | Pos::Blocked(why) => step(name, Action::Investigate, why.clone()),
    }
}

/// Pairs of nodes whose saved Primary views (gvwstate.dat) hold provably different nodes,
/// each as a sentence.
///
/// Every member of a Primary view saves that view, and a new Primary view keeps a majority
/// of the previous one, so two views of one lineage share a node. Members are gcomm UUIDs,
/// and a node keeps its UUID across a restart only while its gvwstate.dat exists (Galera
/// reads `my_uuid` back from it); after a clean stop it gets a new one. So a member is
/// identified only through a node's current `my_uuid`, and a pair is reported only when every
/// member of both views is identified and no node is in both: two Primary components at once
/// (a bootstrap or `pc.bootstrap` beside a running Primary), whose histories may have
/// diverged under one cluster UUID. A member nobody can name (a node that restarted since, a
/// report of an older quorate without the member list) could be the common node: such pairs
/// are not reported.
fn diverged_saved_views(nodes: &[NodeView]) -> Vec<String> {
    diverged_view_pairs(nodes)
        .into_iter()
        .map(|(_, _, why)| why)
        .collect()
}

/// [`diverged_saved_views`] as (node, node, sentence).
fn diverged_view_pairs(nodes: &[NodeView]) -> Vec<(String, String, String)> {
    let views: Vec<(&str, &SavedView)> = nodes
        .iter()
        .filter_map(|n| saved_primary_view(n).map(|v| (n.name.as_str(), v)))
        .collect();
    let owner: BTreeMap<&str, &str> = views
        .iter()
        .map(|(name, v)| (v.my_uuid.as_str(), *name))
        .collect();
    // The nodes of a view, or None when a member cannot be named.
    let named = |v: &SavedView| -> Option<BTreeSet<&str>> {
        v.member_uuids
            .iter()
            .map(|m| owner.get(m.as_str()).copied())
            .collect()
    };
    let mut out = Vec::new();
    for (i, (a, va)) in views.iter().enumerate() {
        for (b, vb) in views.iter().skip(i + 1) {
            let (Some(na), Some(nb)) = (named(va), named(vb)) else {
                continue;
            };
            if na.is_disjoint(&nb) {
                let list = |s: &BTreeSet<&str>| s.iter().copied().collect::<Vec<_>>().join(", ");
                out.push((
                    a.to_string(),
                    b.to_string(),
                    format!(
                        "{a} saved the Primary view {} of {{{}}}, {b} the Primary view {} of {{{}}}: no node in common",
                        view_label(va),
                        list(&na),
                        view_label(vb),
                        list(&nb),
                    ),
                ));
            }
        }
    }
    out
}

/// A candidate source for a new Primary.
struct Candidate<'a> {
    index: usize,
    name: &'a str,
    seqno: i64,
    live: bool,
    safe: bool,
    clean: bool,
    /// Its grastate.dat cannot be read: it cannot be marked safe to bootstrap.
    file_problem: Option<&'a str>,
    /// How many other nodes' saved Primary views do not name it.
    left_out_by: usize,
}

/// Whether nodes `a` and `b` both have a saved Primary view (gvwstate.dat) and neither view
/// names the other by its `my_uuid`.
fn leave_each_other_out(nodes: &[NodeView], a: &str, b: &str) -> bool {
    let view = |name: &str| {
        nodes
            .iter()
            .find(|n| n.name == name)
            .and_then(saved_primary_view)
    };
    match (view(a), view(b)) {
        (Some(va), Some(vb)) => {
            !va.member_uuids.contains(&vb.my_uuid) && !vb.member_uuids.contains(&va.my_uuid)
        }
        _ => false,
    }
}

/// How many other nodes' saved Primary views do not name node `index` (by its own saved
/// `my_uuid`; a node without gvwstate.dat cannot be named by anyone).
fn left_out_by(nodes: &[NodeView], index: usize) -> usize {
    let me = nodes
        .get(index)
        .and_then(saved_primary_view)
        .map(|v| v.my_uuid.as_str());
    nodes
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index)
        .filter_map(|(_, n)| saved_primary_view(n))
        .filter(|v| me.is_none_or(|m| !v.member_uuids.iter().any(|u| u == m)))
        .count()
}

/// A node's saved Primary view (gvwstate.dat), when it reports one with its member list.
fn saved_primary_view(n: &NodeView) -> Option<&SavedView> {
    match &n.observed {
        Observed::Known(r) => r
            .gvwstate
            .value()
            .filter(|v| v.primary != Some(false) && !v.member_uuids.is_empty()),
        Observed::Unknown { .. } => None,
    }
}

/// Saved views that may be two Primary components although a member of one cannot be named:
/// their named members are disjoint, and a member nobody can name may be one of `unknown`,
/// nodes whose gcomm UUID nobody can tell. (It may also be an older UUID of a node of the
/// other view, so with every node's identity known such pairs are not reported; see
/// [`diverged_view_pairs`].) As (node, node, sentence).
fn views_diverged_unless_unknown(
    nodes: &[NodeView],
    unknown: &[String],
) -> Vec<(String, String, String)> {
    if unknown.is_empty() {
        return Vec::new();
    }
    let views: Vec<(&str, &SavedView)> = nodes
        .iter()
        .filter_map(|n| saved_primary_view(n).map(|v| (n.name.as_str(), v)))
        .collect();
    let owner: BTreeMap<&str, &str> = views
        .iter()
        .map(|(name, v)| (v.my_uuid.as_str(), *name))
        .collect();
    let split = |v: &SavedView| -> (BTreeSet<&str>, usize) {
        let named: BTreeSet<&str> = v
            .member_uuids
            .iter()
            .filter_map(|m| owner.get(m.as_str()).copied())
            .collect();
        let unnamed = v
            .member_uuids
            .iter()
            .filter(|m| !owner.contains_key(m.as_str()))
            .count();
        (named, unnamed)
    };
    let mut out = Vec::new();
    for (i, (a, va)) in views.iter().enumerate() {
        for (b, vb) in views.iter().skip(i + 1) {
            let ((na, ua), (nb, ub)) = (split(va), split(vb));
            if ua + ub == 0 || !na.is_disjoint(&nb) {
                continue;
            }
            let list = |s: &BTreeSet<&str>, unnamed: usize| {
                let mut l: Vec<String> = s.iter().map(|n| n.to_string()).collect();
                if unnamed > 0 {
                    l.push(format!("{unnamed} member(s) nobody can name"));
                }
                l.join(", ")
            };
            out.push((
                a.to_string(),
                b.to_string(),
                format!(
                    "{a} saved the Primary view {} of {{{}}}, {b} the Primary view {} of {{{}}}: no node that can be named is in both; if the unnamed member is {} (whose identity is unknown), the two were separate Primary components",
                    view_label(va),
                    list(&na, ua),
                    view_label(vb),
                    list(&nb, ub),
                    unknown.join(" or "),
                ),
            ));
        }
    }
    out
}

/// Pairs of candidates whose positions contradict one history: node `b` was a member of
/// `a`'s last Primary view (named there by its current gcomm UUID), has since saved a later
/// Primary view without `a` but with a node from outside `a`'s view, and is now behind `a`.
/// Every write committed in `a`'s view was delivered to `b` before `b` moved on; `b` being
/// behind means its data was replaced after that view, likely by a state transfer from the
/// newcomer, which was behind: the histories diverged, and the later Primary's writes are not
/// in `a`. (Or `b`'s data was put back by a restored backup; quorate cannot tell which.)
/// Each as a sentence.
fn moved_on_but_behind(nodes: &[NodeView], candidates: &[Candidate<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for a in candidates {
        let Some(va) = nodes.get(a.index).and_then(saved_primary_view) else {
            continue;
        };
        for b in candidates.iter().filter(|b| b.seqno < a.seqno) {
            let Some(vb) = nodes.get(b.index).and_then(saved_primary_view) else {
                continue;
            };
            let same_view = va.view_uuid.is_some()
                && va.view_uuid == vb.view_uuid
                && va.view_seq == vb.view_seq;
            // `b` alone being behind is explained by its InnoDB lagging the views it took part
            // in (writesets are applied after they are delivered): then another member of its
            // later view holds `a`'s writes. When no member of that view whose position is
            // known holds them, the later Primary did not start from `a`'s history.
            let later_members_behind = !candidates.iter().any(|c| {
                c.seqno >= a.seqno
                    && nodes
                        .get(c.index)
                        .and_then(saved_primary_view)
                        .is_some_and(|v| vb.member_uuids.contains(&v.my_uuid))
            });
            if va.member_uuids.contains(&vb.my_uuid)
                && !vb.member_uuids.contains(&va.my_uuid)
                && !same_view
                && later_members_behind
            {
                out.push(format!(
                    "{b_name} was a member of {a_name}'s last Primary view ({}) and saved a later one without {a_name} ({}), yet {b_name} (seqno {}) is behind {a_name} (seqno {}): its data was replaced after that view, likely by a state transfer from a newcomer that was behind (the histories diverged), or put back by a restored backup",
                    view_label(va),
                    view_label(vb),
                    b.seqno,
                    a.seqno,
                    a_name = a.name,
                    b_name = b.name,
                ));
            }
        }
    }
    out
}

/// `uuid:seq` of a saved view, for messages.
fn view_label(v: &SavedView) -> String {
    format!(
        "{}:{}",
        v.view_uuid.as_deref().unwrap_or("?"),
        v.view_seq.map_or_else(|| "?".into(), |s| s.to_string())
    )
}

/// No Primary anywhere: choose the most advanced node, or refuse.
fn decide_without_primary(ctx: &Ctx<'_>) -> Decision {
    let nodes = &ctx.view.nodes;
    // Another action (bootstrap, promote, position recovery) may change everything below.
    let busy = ctx.names_where(|c| matches!(c, Class::Busy(_)));
    if !busy.is_empty() {
        let mut d = refuse(
            None,
            "a quorate recovery action is already running",
            nodes
                .iter()
                .zip(&ctx.classes)
                .filter_map(|(n, c)| match c {
                    Class::Busy(what) => Some(format!("{}: {what}", n.name)),
                    _ => None,
                })
                .collect(),
        );
        d.wait_for = busy;
        return d;
    }

    let total = nodes.len();
    let live = ctx.names_where(|c| matches!(c, Class::NonPrimary(_)));
    let all_down_known = ctx.classes.iter().all(|c| matches!(c, Class::Down(_)));
    let any_crash = ctx
        .classes
        .iter()
        .any(|c| !matches!(c, Class::Down(Down { clean: true, .. })));
    // An even split: half the nodes answer and the rest are unknown, or every live node sits in
    // a component of exactly half the cluster (both halves of a partition seen from outside).
    let half_components = total % 2 == 0
        && ctx.classes.iter().all(|c| match c {
            Class::NonPrimary(st) => st
                .cluster_size
                .is_some_and(|s| s.checked_mul(2) == Some(total as u64)),
            _ => true,
        });
    let case = if !live.is_empty() {
        if total % 2 == 0 && (live.len() * 2 == total || half_components) {
            Some(7)
        } else {
            Some(5)
        }
    } else if all_down_known && !any_crash {
        Some(3)
    } else {
        Some(6)
    };
    let situation = if live.is_empty() {
        "no Primary component: every reachable node is stopped".to_string()
    } else {
        format!(
            "no Primary component: {} run{} non-Primary",
            live.join(", "),
            if live.len() == 1 { "s" } else { "" }
        )
    };

    // 1. Cluster UUIDs must agree.
    let mut by_uuid: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for n in nodes {
        if let Observed::Known(r) = &n.observed {
            for (u, src) in uuids_of(r) {
                let who = format!("{} ({src})", n.name);
                let list = by_uuid.entry(u).or_default();
                if !list.contains(&who) {
                    list.push(who);
                }
            }
        }
    }
    if by_uuid.len() > 1 {
        let mut reasons = vec![
            "cluster UUIDs disagree: these nodes do not share one history, so their seqnos cannot be compared".to_string(),
        ];
        reasons.extend(
            by_uuid
                .iter()
                .map(|(u, who)| format!("UUID {u}: {}", who.join(", "))),
        );
        reasons.push("decide by hand which history to keep; quorate will not choose".into());
        return refuse(case, situation, reasons);
    }

    // 1b. Saved Primary views that share no member were two Primary components at some
    // point: the histories behind them may have diverged under one cluster UUID, and their
    // seqnos are not comparable.
    let diverged = diverged_saved_views(nodes);
    if !diverged.is_empty() {
        let mut reasons = vec![
            "the saved views (gvwstate.dat) show two Primary components with no node in common: their histories may have diverged under one cluster UUID, so their seqnos cannot be compared".to_string(),
        ];
        reasons.extend(diverged);
        reasons.push("compare the data of both sides by hand (the last rows written on each), keep one, and start it by hand; quorate will not choose".into());
        return refuse(case, situation, reasons);
    }

    // 2. Nothing may be unknown (unless the operator assumes it lost).
    let mut reasons = Vec::new();
    let mut wait_for = Vec::new();
    let mut steps = Vec::new();
    for (n, c) in nodes.iter().zip(&ctx.classes) {
        let lost = ctx.lost.contains(&n.name);
        match c {
            Class::Unknown(r) | Class::Unresponsive(r) if !lost => {
                reasons.push(format!(
                    "{}: {r}. An unreachable node may hold the most recent transactions; it is unknown, not absent",
                    n.name
                ));
                wait_for.push(n.name.clone());
                steps.push(step(
                    &n.name,
                    Action::WaitFor,
                    "bring it (or its quorate serve) back, then plan again; if it is truly gone, plan again with --assume-lost",
                ));
            }
            Class::Disconnected => reasons.push(format!(
                "{}: mysqld runs but is Disconnected from the group; stop it cleanly (its position is then saved) and plan again",
                n.name
            )),
            // Its InnoDB may hold the newest transactions: without its position nobody else
            // may be chosen.
            Class::NonPrimary(st) if live_position(st).is_none() => reasons.push(format!(
                "{}: runs non-Primary but reports no usable position (cluster UUID {}, wsrep_last_committed {}); it may hold the newest transactions: stop it cleanly so that its position is saved or can be recovered, then plan again",
                n.name,
                st.cluster_state_uuid.as_deref().unwrap_or("missing"),
                st.last_committed.map_or_else(|| "missing".into(), |s| s.to_string())
            )),
            Class::Down(Down {
                pos: Pos::Unreadable(why),
                ..
            }) => reasons.push(format!(
                "{}: {why}; it may be the most advanced node: repair the file by hand (see `mariadbd --wsrep-recover`) or, if its data is not needed, `quorate recover rejoin --move-aside` it later",
                n.name
            )),
            Class::Down(Down {
                pos: Pos::Blocked(why),
                ..
            }) => reasons.push(format!("{}: {why}", n.name)),
            _ => {}
        }
    }
    let needs_recovery = ctx.names_where(|c| {
        matches!(
            c,
            Class::Down(Down {
                pos: Pos::NeedsRecovery,
                ..
            })
        )
    });
    if !reasons.is_empty() {
        // What can be done meanwhile.
        for n in &needs_recovery {
            steps.push(step(
                n,
                Action::RecoverPosition,
                "can be done now: crashed (seqno -1), its position is needed for the choice",
            ));
        }
        let mut d = refuse(case, situation, reasons);
        d.wait_for = wait_for;
        d.steps = steps;
        return d;
    }

    // 2b. Saved views that are disjoint unless an unnamed member is a node assumed lost or
    // one without a saved view (stopped cleanly: its gcomm UUID is gone with the file).
    let no_identity: Vec<String> = nodes
        .iter()
        .filter(|n| saved_primary_view(n).is_none())
        .map(|n| n.name.clone())
        .collect();
    let unsettled: Vec<String> = views_diverged_unless_unknown(nodes, &no_identity)
        .into_iter()
        .map(|(_, _, why)| why)
        .collect();
    if !unsettled.is_empty() {
        let mut reasons = vec![
            "the saved views (gvwstate.dat) may show two Primary components: their histories may have diverged under one cluster UUID, so their seqnos cannot be compared".to_string(),
        ];
        reasons.extend(unsettled);
        reasons.push("assuming a node lost does not settle this: a node that does not answer names itself once back (its gvwstate.dat); otherwise compare the data of both sides by hand, keep one and start it by hand".into());
        let mut d = refuse(case, situation, reasons);
        d.wait_for = ctx.names_where(|c| matches!(c, Class::Unknown(_) | Class::Unresponsive(_)));
        return d;
    }

    // 3. Crashed nodes: recover their positions first.
    if !needs_recovery.is_empty() {
        let mut d = blank(
            Verdict::RecoverPositions {
                nodes: needs_recovery.clone(),
            },
            case,
            situation,
        );
        d.reasons.push(format!(
            "{} crashed (grastate.dat seqno -1): the last committed position is in InnoDB and must be recovered (`--wsrep-recover`) before the most advanced node can be chosen",
            needs_recovery.join(", ")
        ));
        d.steps = needs_recovery
            .iter()
            .map(|n| {
                step(
                    n,
                    Action::RecoverPosition,
                    "recover its last committed position",
                )
            })
            .collect();
        return d;
    }

    // 4. Candidates: live non-Primary nodes and stopped nodes with a real position.
    let mut candidates = Vec::new();
    for (i, (n, c)) in nodes.iter().zip(&ctx.classes).enumerate() {
        match c {
            Class::NonPrimary(st) => {
                if let Some(seqno) = live_position(st) {
                    candidates.push(Candidate {
                        index: i,
                        name: &n.name,
                        seqno,
                        live: true,
                        safe: false,
                        clean: false,
                        file_problem: None,
                        left_out_by: 0,
                    });
                }
            }
            Class::Down(Down {
                pos: Pos::Known { seqno, .. },
                clean,
                safe,
                file_problem,
                ..
            }) => candidates.push(Candidate {
                index: i,
                name: &n.name,
                seqno: *seqno,
                live: false,
                // Galera's flag counts only in a file that also holds a real position.
                safe: safe.unwrap_or(false) && *clean,
                clean: *clean,
                file_problem: file_problem.as_deref(),
                left_out_by: 0,
            }),
            _ => {}
        }
    }
    if candidates.is_empty() {
        let mut d = refuse(
            case,
            situation,
            vec![
                "no node holds a usable Galera state (a real cluster UUID and position); a zero UUID or missing grastate.dat is never a source".into(),
                "if the data on one node is known to be good, bootstrap it by hand (galera_new_cluster) after checking it".into(),
            ],
        );
        d.wait_for = wait_for;
        return d;
    }
    // Most advanced first; then the node the fewest other saved views leave out (a Primary
    // started from a node that another node's last Primary view does not name makes that
    // node's view look like another component's afterwards), then a live node (no restart),
    // then Galera's own pick (safe_to_bootstrap), then a clean shutdown, then configuration
    // order.
    // 4b. A node that moved on to a later Primary without another one yet is behind it.
    let contradicted = moved_on_but_behind(nodes, &candidates);
    if !contradicted.is_empty() {
        let mut reasons = vec![
            "the positions contradict one history: their seqnos cannot be compared".to_string(),
        ];
        reasons.extend(contradicted);
        reasons.push("compare the data of both sides by hand (the last rows written on each), keep one, and start it by hand; quorate will not choose".into());
        return refuse(case, situation, reasons);
    }
    for c in &mut candidates {
        c.left_out_by = left_out_by(nodes, c.index);
    }
    candidates.sort_by(|a, b| {
        b.seqno
            .cmp(&a.seqno)
            .then(a.left_out_by.cmp(&b.left_out_by))
            .then(b.live.cmp(&a.live))
            .then(b.safe.cmp(&a.safe))
            .then(b.clean.cmp(&a.clean))
            .then(a.index.cmp(&b.index))
    });
    let best = &candidates[0];
    if let (false, Some(problem)) = (best.live, best.file_problem) {
        return refuse(
            case,
            situation,
            vec![
                format!(
                    "{} is the most advanced node (seqno {}, recovered from InnoDB) but {problem}",
                    best.name, best.seqno
                ),
                format!(
                    "a bootstrap needs a readable grastate.dat with safe_to_bootstrap: 1: write one by hand on {} (its cluster UUID and seqno {}, safe_to_bootstrap: 1, owned by mysql), then plan again",
                    best.name, best.seqno
                ),
            ],
        );
    }
    let tied: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.seqno == best.seqno)
        .collect();

    let (verdict, first) = if best.live {
        (
            Verdict::Promote {
                node: best.name.to_string(),
            },
            step(
                best.name,
                Action::Promote,
                "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES' on it: its component becomes the Primary",
            ),
        )
    } else {
        (
            Verdict::Bootstrap {
                node: best.name.to_string(),
            },
            step(
                best.name,
                Action::Bootstrap,
                "start it as a new Primary component (safe_to_bootstrap set to 1 first if needed)",
            ),
        )
    };
    let mut d = blank(verdict, case, situation);
    d.reasons.push(format!(
        "{} is the most advanced node: seqno {} ({})",
        best.name,
        best.seqno,
        candidates
            .iter()
            .map(|c| format!("{} {}", c.name, c.seqno))
            .collect::<Vec<_>>()
            .join(", ")
    ));
    if tied.len() > 1 {
        let why = if tied[1].left_out_by != best.left_out_by {
            "the others' saved views (gvwstate.dat) name it: the new Primary continues their last one"
        } else if tied[1].live != best.live {
            "it runs already (promoting needs no restart)"
        } else if tied[1].safe != best.safe {
            "its safe_to_bootstrap is 1 (Galera marked it the last to leave)"
        } else if tied[1].clean != best.clean {
            "it was stopped cleanly"
        } else {
            "it comes first in the configuration"
        };
        d.reasons.push(format!(
            "tie at seqno {} between {}: chose {} because {why}",
            best.seqno,
            tied.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
            best.name
        ));
    }
    for c in candidates.iter().skip(1) {
        if c.safe && !best.safe {
            d.reasons.push(format!(
                "{} has safe_to_bootstrap 1 but is behind (seqno {} < {}): the flag is not trusted over the position",
                c.name, c.seqno, best.seqno
            ));
        }
    }
    if !best.live && !best.safe {
        d.reasons.push(format!(
            "safe_to_bootstrap is 0 on {}: `quorate recover bootstrap` sets it to 1 after checking that no mysqld holds its datadir",
            best.name
        ));
    }
    for (n, c) in nodes.iter().zip(&ctx.classes) {
        if let Class::Down(Down {
            pos: Pos::NoState(why),
            safe: Some(true),
            ..
        }) = c
        {
            d.reasons.push(format!(
                "{} has safe_to_bootstrap 1 but {why}: never a source",
                n.name
            ));
        }
    }
    d.steps.push(first);
    for (n, c) in nodes.iter().zip(&ctx.classes) {
        if n.name == best.name {
            continue;
        }
        match c {
            Class::Down(down) => {
                let action = if down.file_problem.is_some() {
                    Action::RejoinMoveAside
                } else {
                    Action::Rejoin
                };
                d.steps.push(match (&down.pos, &down.file_problem) {
                    (_, Some(problem)) => step(
                        &n.name,
                        action,
                        format!("after the Primary is up: {problem}; its state files are moved aside (kept) and it joins by SST"),
                    ),
                    (Pos::NoState(why), None) => step(
                        &n.name,
                        action,
                        format!("after the Primary is up: {why}; it joins by SST"),
                    ),
                    _ => step(
                        &n.name,
                        action,
                        "after the Primary is up: start it, it joins (IST or SST)",
                    ),
                })
            }
            Class::NonPrimary(_) => d.steps.push(step(
                &n.name,
                Action::WaitFor,
                format!(
                    "runs non-Primary: it merges into the new Primary by itself once {} is Primary and it can reach it (after a network partition: when the network heals)",
                    best.name
                ),
            )),
            Class::Unknown(_) | Class::Unresponsive(_) => {
                d.risks.push(format!(
                    "{} is assumed lost and was not seen: if it comes back holding transactions after seqno {}, they are discarded when it rejoins (SST); if it is alive behind a partition and is bootstrapped or promoted there too, there will be two clusters (split brain). Make sure that cannot happen before acting.",
                    n.name, best.seqno
                ));
                d.steps.push(step(
                    &n.name,
                    Action::Investigate,
                    "assumed lost: when it is back, keep it from starting on its own and run `quorate recover plan`; it joins the new Primary with `quorate recover rejoin`",
                ));
            }
            _ => {}
        }
    }
    d
}

#[cfg(test)]
mod tests;
