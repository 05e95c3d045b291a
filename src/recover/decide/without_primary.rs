//! The decision when no Primary component runs: choose the most advanced node and bootstrap
//! or promote it, or refuse (runbook cases 3, 5, 6 and 7). A sequence of named steps, each
//! of which may end the decision: another action running, cluster UUIDs that disagree, saved
//! views that diverged, nodes unknown or unusable, saved views that may have diverged,
//! positions to recover, then the candidates, positions that contradict one history, and the
//! choice among the candidates with its tie-break.

use std::collections::BTreeMap;

use super::classify::{live_position, uuids_of, Class, Down, Pos};
use super::views::{
    diverged_saved_views, left_out_by, saved_primary_view, view_label,
    views_diverged_unless_unknown,
};
use super::{blank, refuse, step, Action, Ctx, Decision, NodeView, Observed, RunbookCase, Verdict};
use crate::recover::report::FileState;

/// No Primary anywhere: choose the most advanced node, or refuse.
pub(super) fn decide_without_primary(ctx: &Ctx<'_>) -> Decision {
    let nodes = &ctx.view.nodes;
    if let Some(d) = action_running(ctx) {
        return d;
    }
    let case = runbook_case(ctx);
    let situation = situation(ctx);
    let refused = |reasons| refuse(Some(case), situation.clone(), reasons);

    // 1. Cluster UUIDs must agree.
    if let Some(reasons) = uuids_disagree(nodes) {
        return refused(reasons);
    }
    // 1b. Saved Primary views that share no member were two Primary components at some
    // point: the histories behind them may have diverged under one cluster UUID, and their
    // seqnos are not comparable.
    if let Some(reasons) = saved_views_diverged(nodes) {
        return refused(reasons);
    }
    // 1c. A node found apart from the Primary that ran then, and not run since, holds another
    // history than that Primary's members: which one is to be kept, nobody can tell from the
    // seqnos (the Primary may itself have been the hand-made fork).
    if let Some(reasons) = recorded_apart(ctx) {
        return refused(reasons);
    }
    // 2. Nothing may be unknown (unless the operator assumes it lost).
    let needs_recovery = ctx.names_where(|c| {
        matches!(
            c,
            Class::Down(Down {
                pos: Pos::NeedsRecovery,
                ..
            })
        )
    });
    let blockers = Blockers::of(ctx);
    if !blockers.reasons.is_empty() {
        let mut steps = blockers.steps;
        // What can be done meanwhile.
        for n in &needs_recovery {
            steps.push(step(
                n,
                Action::RecoverPosition,
                "can be done now: crashed (seqno -1), its position is needed for the choice",
            ));
        }
        let mut d = refused(blockers.reasons);
        d.wait_for = blockers.wait_for;
        d.steps = steps;
        return d;
    }
    // 2b. Saved views that are disjoint unless an unnamed member is a node assumed lost or
    // one without a saved view (stopped cleanly: its gcomm UUID is gone with the file).
    if let Some(reasons) = saved_views_may_have_diverged(nodes) {
        let mut d = refused(reasons);
        d.wait_for = ctx.names_where(|c| matches!(c, Class::Unknown(_) | Class::Unresponsive(_)));
        return d;
    }
    // 3. Crashed nodes: recover their positions first.
    if !needs_recovery.is_empty() {
        return recover_positions_first(needs_recovery, case, situation);
    }
    // 4. Candidates: live non-Primary nodes and stopped nodes with a real position.
    let mut candidates = candidates(ctx);
    if candidates.is_empty() {
        return refused(vec![
            "no node holds a usable Galera state (a real cluster UUID and position); a zero UUID or missing grastate.dat is never a source".into(),
            "if the data on one node is known to be good, bootstrap it by hand (galera_new_cluster) after checking it".into(),
        ]);
    }
    // 4b. A node that moved on to a later Primary without another one yet is behind it.
    if let Some(reasons) = positions_contradict(nodes, &candidates) {
        return refused(reasons);
    }
    rank(nodes, &mut candidates);
    choose(ctx, &candidates, case, situation)
}

/// Why the seqnos cannot be compared when a stopped node carries the record of an earlier
/// finding that it was apart from the running Primary's history, at its current position.
fn recorded_apart(ctx: &Ctx<'_>) -> Option<Vec<String>> {
    let found = ctx
        .view
        .nodes
        .iter()
        .zip(&ctx.classes)
        .filter_map(|(n, c)| match c {
            Class::Down(Down {
                recorded_apart: Some(found),
                ..
            }) => Some(format!(
                "{}: {found}, and it has not run since (once its history is settled, its record `apart/{}.json` in quorate's state_dir on its host can be moved aside)",
                n.name, n.name
            )),
            _ => None,
        })
        .collect();
    explained(
        "a node holds another history than the Primary component that ran when quorate last looked: their seqnos cannot be compared",
        found,
        COMPARE_BY_HAND,
    )
}

/// Another action (bootstrap, promote, position recovery) may change everything below.
fn action_running(ctx: &Ctx<'_>) -> Option<Decision> {
    let busy = ctx.names_where(|c| matches!(c, Class::Busy(_)));
    if busy.is_empty() {
        return None;
    }
    let mut d = refuse(
        None,
        "a quorate recovery action is already running",
        ctx.view
            .nodes
            .iter()
            .zip(&ctx.classes)
            .filter_map(|(n, c)| match c {
                Class::Busy(what) => Some(format!("{}: {what}", n.name)),
                _ => None,
            })
            .collect(),
    );
    d.wait_for = busy;
    Some(d)
}

/// Which runbook case a cluster without a Primary is.
fn runbook_case(ctx: &Ctx<'_>) -> RunbookCase {
    let total = ctx.view.nodes.len();
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
    if !live.is_empty() {
        if total % 2 == 0 && (live.len() * 2 == total || half_components) {
            RunbookCase::EvenSplit
        } else {
            RunbookCase::NonPrimarySurvivors
        }
    } else if all_down_known && !any_crash {
        RunbookCase::AllStoppedCleanly
    } else {
        RunbookCase::AllDownAfterCrash
    }
}

/// The situation in one line: every reachable node stopped, or which run non-Primary.
fn situation(ctx: &Ctx<'_>) -> String {
    let live = ctx.names_where(|c| matches!(c, Class::NonPrimary(_)));
    if live.is_empty() {
        "no Primary component: every reachable node is stopped".to_string()
    } else {
        format!(
            "no Primary component: {} run{} non-Primary",
            live.join(", "),
            if live.len() == 1 { "s" } else { "" }
        )
    }
}

/// What to do when two histories cannot be compared.
const COMPARE_BY_HAND: &str = "compare the data of both sides by hand (the last rows written on each), keep one, and start it by hand; quorate will not choose";

/// The reasons of a refusal: what was found (`head`), each finding, and what to do (`tail`);
/// `None` when nothing was found.
fn explained(head: &str, found: Vec<String>, tail: &str) -> Option<Vec<String>> {
    if found.is_empty() {
        return None;
    }
    let mut reasons = vec![head.to_string()];
    reasons.extend(found);
    reasons.push(tail.to_string());
    Some(reasons)
}

/// Why the nodes do not share one history, when the cluster UUIDs they report disagree.
fn uuids_disagree(nodes: &[NodeView]) -> Option<Vec<String>> {
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
    if by_uuid.len() <= 1 {
        return None;
    }
    let mut reasons = vec![
        "cluster UUIDs disagree: these nodes do not share one history, so their seqnos cannot be compared".to_string(),
    ];
    reasons.extend(
        by_uuid
            .iter()
            .map(|(u, who)| format!("UUID {u}: {}", who.join(", "))),
    );
    reasons.push("decide by hand which history to keep; quorate will not choose".into());
    Some(reasons)
}

/// Why the seqnos cannot be compared, when saved Primary views share no member.
fn saved_views_diverged(nodes: &[NodeView]) -> Option<Vec<String>> {
    explained(
        "the saved views (gvwstate.dat) show two Primary components with no node in common: their histories may have diverged under one cluster UUID, so their seqnos cannot be compared",
        diverged_saved_views(nodes),
        COMPARE_BY_HAND,
    )
}

/// The nodes that keep any node from being chosen: unknown ones (unless assumed lost), and
/// those whose position cannot be read or used. Each adds a reason; an unknown node is also
/// waited for.
struct Blockers {
    reasons: Vec<String>,
    wait_for: Vec<String>,
    steps: Vec<super::Step>,
}

impl Blockers {
    fn of(ctx: &Ctx<'_>) -> Blockers {
        let mut u = Blockers {
            reasons: Vec::new(),
            wait_for: Vec::new(),
            steps: Vec::new(),
        };
        for (n, c) in ctx.view.nodes.iter().zip(&ctx.classes) {
            let lost = ctx.lost.contains(&n.name);
            match c {
                Class::Unknown(r) | Class::Unresponsive(r) if !lost => {
                    u.reasons.push(format!(
                        "{}: {r}. An unreachable node may hold the most recent transactions; it is unknown, not absent",
                        n.name
                    ));
                    u.wait_for.push(n.name.clone());
                    u.steps.push(step(
                        &n.name,
                        Action::WaitFor,
                        "bring it (or its quorate serve) back, then plan again; if it is truly gone, plan again with --assume-lost",
                    ));
                }
                Class::Disconnected => u.reasons.push(format!(
                    "{}: mysqld runs but is Disconnected from the group; stop it cleanly (its position is then saved) and plan again",
                    n.name
                )),
                // Its InnoDB may hold the newest transactions: without its position nobody
                // else may be chosen.
                Class::NonPrimary(st) if live_position(st).is_none() => u.reasons.push(format!(
                    "{}: runs non-Primary but reports no usable position (cluster UUID {}, wsrep_last_committed {}); it may hold the newest transactions: stop it cleanly so that its position is saved or can be recovered, then plan again",
                    n.name,
                    st.cluster_state_uuid.as_deref().unwrap_or("missing"),
                    st.last_committed.map_or_else(|| "missing".into(), |s| s.to_string())
                )),
                Class::Down(Down {
                    pos: Pos::Unreadable(why),
                    ..
                }) => u.reasons.push(format!(
                    "{}: {why}; it may be the most advanced node: repair the file by hand (see `mariadbd --wsrep-recover`) or, if its data is not needed, `quorate recover rejoin --move-aside` it later",
                    n.name
                )),
                Class::Down(Down {
                    pos: Pos::Blocked(why),
                    ..
                }) => u.reasons.push(format!("{}: {why}", n.name)),
                _ => {}
            }
            // The saved view is the only trace of a Primary component formed beside the
            // others (a hand bootstrap): unreadable, it cannot show one, and seqnos of two
            // histories would be compared as if they were one.
            if let Observed::Known(r) = &n.observed {
                if let FileState::Unreadable { error } = &r.gvwstate {
                    if !lost {
                        u.reasons.push(format!(
                            "{}: gvwstate.dat cannot be read ({error}): whether this node was in another Primary component cannot be told; check it by hand, move the file aside (keep it) and plan again",
                            n.name
                        ));
                    }
                }
            }
        }
        u
    }
}

/// Why the seqnos cannot be compared, when saved views are disjoint unless an unnamed member
/// is a node without identity (assumed lost, or without a saved view).
fn saved_views_may_have_diverged(nodes: &[NodeView]) -> Option<Vec<String>> {
    let no_identity: Vec<String> = nodes
        .iter()
        .filter(|n| saved_primary_view(n).is_none())
        .map(|n| n.name.clone())
        .collect();
    let unsettled: Vec<String> = views_diverged_unless_unknown(nodes, &no_identity)
        .into_iter()
        .map(|(_, _, why)| why)
        .collect();
    explained(
        "the saved views (gvwstate.dat) may show two Primary components: their histories may have diverged under one cluster UUID, so their seqnos cannot be compared",
        unsettled,
        "assuming a node lost does not settle this: a node that does not answer names itself once back (its gvwstate.dat); otherwise compare the data of both sides by hand, keep one and start it by hand",
    )
}

/// The crashed nodes' positions are needed before the most advanced node can be chosen.
fn recover_positions_first(
    needs_recovery: Vec<String>,
    case: RunbookCase,
    situation: String,
) -> Decision {
    let mut d = blank(
        Verdict::RecoverPositions {
            nodes: needs_recovery.clone(),
        },
        Some(case),
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
    d
}

/// A candidate source for a new Primary.
struct Candidate<'a> {
    index: usize,
    name: &'a str,
    seqno: i64,
    live: bool,
    safe: bool,
    /// Stopped cleanly as the last member of its Primary: Galera wrote `safe_to_bootstrap: 1`.
    last_to_leave: bool,
    clean: bool,
    /// Its grastate.dat cannot be read: it cannot be marked safe to bootstrap.
    file_problem: Option<&'a str>,
    /// How many other nodes' saved Primary views do not name it.
    left_out_by: usize,
}

/// Live non-Primary nodes with a usable position and stopped nodes with a real one, in
/// configuration order.
fn candidates<'a>(ctx: &'a Ctx<'a>) -> Vec<Candidate<'a>> {
    let mut candidates = Vec::new();
    for (i, (n, c)) in ctx.view.nodes.iter().zip(&ctx.classes).enumerate() {
        match c {
            Class::NonPrimary(st) => {
                if let Some(seqno) = live_position(st) {
                    candidates.push(Candidate {
                        index: i,
                        name: &n.name,
                        seqno,
                        live: true,
                        safe: false,
                        last_to_leave: false,
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
                safe_written,
                file_problem,
                ..
            }) => candidates.push(Candidate {
                index: i,
                name: &n.name,
                seqno: *seqno,
                live: false,
                // Galera's flag counts only in a file that also holds a real position.
                safe: safe.unwrap_or(false) && *clean,
                last_to_leave: safe.unwrap_or(false) && *clean && *safe_written,
                clean: *clean,
                file_problem: file_problem.as_deref(),
                left_out_by: 0,
            }),
            _ => {}
        }
    }
    candidates
}

/// Why the seqnos cannot be compared, when the candidates' positions contradict one history
/// (see [`moved_on_but_behind`]).
fn positions_contradict(nodes: &[NodeView], candidates: &[Candidate<'_>]) -> Option<Vec<String>> {
    let mut why = moved_on_but_behind(nodes, candidates);
    why.extend(tied_but_left_out(nodes, candidates));
    why.extend(last_to_leave_not_ahead(candidates));

    explained(
        "the positions contradict one history: their seqnos cannot be compared",
        why,
        COMPARE_BY_HAND,
    )
}

/// Pairs of candidates where one stopped cleanly as the last member of its Primary component
/// (Galera set `safe_to_bootstrap: 1`) and the other is not behind it. Every member that left
/// that component before it did so through a configuration change that took a seqno of its
/// own (Galera 4, seen on the sandbox), and a node outside it never took that component's
/// seqnos: in one history the last to leave is strictly ahead of every other node. A node at
/// or past its seqno got there in a Primary formed after it left, by a bootstrap (by hand, or
/// of a node assumed lost): the histories diverged and the seqnos say nothing. Each as a
/// sentence.
fn last_to_leave_not_ahead(candidates: &[Candidate<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for last in candidates.iter().filter(|c| c.last_to_leave) {
        for other in candidates
            .iter()
            .filter(|c| c.index != last.index && c.seqno >= last.seqno)
        {
            out.push(format!(
                "{l} stopped cleanly as the last member of its Primary component (safe_to_bootstrap 1, seqno {}), yet {o} is at seqno {}: every node that left before {l} is behind it (a leave takes a seqno), so {o}'s position comes from a Primary formed after {l} left, by a bootstrap (by hand, or of a node assumed lost): the two histories diverged. (If {l}'s safe_to_bootstrap was set by hand and it never ran since, set it back to 0 and plan again.)",
                last.seqno,
                other.seqno,
                l = last.name,
                o = other.name,
            ));
        }
    }
    out
}

/// Pairs of candidates at the same seqno where one's last Primary view leaves the other out.
/// In Galera 4 the configuration change that installed that view took a seqno of its own,
/// which the node left out never took; in one history their seqnos would differ. The node
/// left out is identified by its saved view's gcomm UUID; without one (a clean stop removes
/// gvwstate.dat) it is left out when every member of the view is another node's current
/// UUID. Each as a sentence.
fn tied_but_left_out(nodes: &[NodeView], candidates: &[Candidate<'_>]) -> Vec<String> {
    let my_uuid = |i: usize| {
        nodes
            .get(i)
            .and_then(saved_primary_view)
            .map(|v| v.my_uuid.as_str())
    };
    let mut out = Vec::new();
    for a in candidates {
        let Some(va) = nodes.get(a.index).and_then(saved_primary_view) else {
            continue;
        };
        for b in candidates
            .iter()
            .filter(|b| b.index != a.index && b.seqno == a.seqno)
        {
            let left_out = match my_uuid(b.index) {
                Some(u) => !va.member_uuids.iter().any(|m| m == u),
                None => va.member_uuids.iter().all(|m| {
                    (0..nodes.len()).any(|i| i != b.index && my_uuid(i) == Some(m.as_str()))
                }),
            };
            if left_out {
                out.push(format!(
                    "{a_name}'s last Primary view ({}) leaves {b_name} out, yet both are at seqno {}: the view change alone takes a seqno, so in one history they would differ; {b_name}'s data and {a_name}'s belong to different histories (a bootstrap from a node that was behind)",
                    view_label(va),
                    a.seqno,
                    a_name = a.name,
                    b_name = b.name,
                ));
            }
        }
    }
    out
}

/// Pairs of candidates whose positions contradict one history: node `b` was a member of
/// `a`'s last Primary view (named there by its current gcomm UUID), has since saved a later
/// Primary view without `a`, and is not ahead of `a`. Every write committed in `a`'s view was
/// delivered to `b` before `b` moved on, and in Galera 4 the configuration change that left
/// `a` out takes a seqno of its own (seen on the sandbox: `wsrep_last_committed` +1 at each
/// Primary view change; InnoDB's recovered position includes it): in one history `b` is
/// ahead of `a`. `b` not ahead means its data was replaced after that view, likely by a
/// bootstrap or state transfer from a node that was behind: the histories diverged, and the
/// later Primary's writes are not in `a`. (Or `b`'s data was put back by a restored backup;
/// quorate cannot tell which.) Each as a sentence.
fn moved_on_but_behind(nodes: &[NodeView], candidates: &[Candidate<'_>]) -> Vec<String> {
    let mut out = Vec::new();
    for a in candidates {
        let Some(va) = nodes.get(a.index).and_then(saved_primary_view) else {
            continue;
        };
        for b in candidates.iter().filter(|b| b.seqno <= a.seqno) {
            let Some(vb) = nodes.get(b.index).and_then(saved_primary_view) else {
                continue;
            };
            let same_view = va.view_uuid.is_some()
                && va.view_uuid == vb.view_uuid
                && va.view_seq == vb.view_seq;
            // `b` alone not being ahead is explained by its InnoDB lagging the views it took
            // part in (gvwstate.dat is written when a view is installed, InnoDB catches up
            // later): then another member of its later view is ahead of `a`. When no member of
            // that view whose position is known is, the later Primary did not start from `a`'s
            // history.
            let later_members_behind = !candidates.iter().any(|c| {
                c.seqno > a.seqno
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
                    "{b_name} was a member of {a_name}'s last Primary view ({}) and saved a later one without {a_name} ({}), yet {b_name} (seqno {}) is not ahead of {a_name} (seqno {}; the view change alone takes a seqno): its data was replaced after that view, likely by a bootstrap or state transfer from a node that was behind (the histories diverged), or put back by a restored backup",
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

/// Orders the candidates, most advanced first; then the node the fewest other saved views
/// leave out (a Primary started from a node that another node's last Primary view does not
/// name makes that node's view look like another component's afterwards), then a live node
/// (no restart), then a clean shutdown, then configuration order. (Galera's own pick,
/// safe_to_bootstrap, never ties: the last to leave is strictly ahead of every other node, or
/// the positions contradict one history and the decision stopped before.)
fn rank(nodes: &[NodeView], candidates: &mut [Candidate<'_>]) {
    for c in candidates.iter_mut() {
        c.left_out_by = left_out_by(nodes, c.index);
    }
    candidates.sort_by(|a, b| {
        b.seqno
            .cmp(&a.seqno)
            .then(a.left_out_by.cmp(&b.left_out_by))
            .then(b.live.cmp(&a.live))
            .then(b.clean.cmp(&a.clean))
            .then(a.index.cmp(&b.index))
    });
}

/// The first of the ranked (non-empty) `candidates` becomes the Primary: promoted when it
/// runs, bootstrapped when it is stopped (refused when its grastate.dat cannot be marked), with
/// why it was chosen and a step for every other node.
fn choose(
    ctx: &Ctx<'_>,
    candidates: &[Candidate<'_>],
    case: RunbookCase,
    situation: String,
) -> Decision {
    let nodes = &ctx.view.nodes;
    let best = &candidates[0];
    if let (false, Some(problem)) = (best.live, best.file_problem) {
        return refuse(
            Some(case),
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
    let mut d = blank(verdict, Some(case), situation);
    why_chosen(nodes, &ctx.classes, candidates, &mut d.reasons);
    d.steps.push(first);
    after_the_primary(ctx, best, &mut d);
    d
}

/// Why the first of the ranked `candidates` was chosen: its position, how a tie was broken,
/// which flags were not trusted and what the bootstrap will change.
fn why_chosen(
    nodes: &[NodeView],
    classes: &[Class],
    candidates: &[Candidate<'_>],
    reasons: &mut Vec<String>,
) {
    let best = &candidates[0];
    let tied: Vec<&Candidate> = candidates
        .iter()
        .filter(|c| c.seqno == best.seqno)
        .collect();
    reasons.push(format!(
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
        } else if tied[1].clean != best.clean {
            "it was stopped cleanly"
        } else {
            "it comes first in the configuration"
        };
        reasons.push(format!(
            "tie at seqno {} between {}: chose {} because {why}",
            best.seqno,
            tied.iter().map(|c| c.name).collect::<Vec<_>>().join(", "),
            best.name
        ));
    }
    if !best.live && !best.safe {
        reasons.push(format!(
            "safe_to_bootstrap is 0 on {}: `quorate recover bootstrap` sets it to 1 after checking that no mysqld holds its datadir",
            best.name
        ));
    }
    for (n, c) in nodes.iter().zip(classes) {
        if let Class::Down(Down {
            pos: Pos::NoState(why),
            safe: Some(true),
            ..
        }) = c
        {
            reasons.push(format!(
                "{} has safe_to_bootstrap 1 but {why}: never a source",
                n.name
            ));
        }
    }
}

/// A step for every node but the chosen one: stopped nodes rejoin the new Primary, live ones
/// merge into it by themselves, and those assumed lost carry a risk.
fn after_the_primary(ctx: &Ctx<'_>, best: &Candidate<'_>, d: &mut Decision) {
    for (n, c) in ctx.view.nodes.iter().zip(&ctx.classes) {
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
}
