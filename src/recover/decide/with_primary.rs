//! The decision when a Primary component runs somewhere: never bootstrap; refuse a split
//! brain, otherwise bring every other node to the Primary (runbook cases 1, 2 and 4).

use std::collections::{BTreeMap, BTreeSet};

use super::classify::{Class, Down, Pos};
use super::views::{
    diverged_view_pairs, leave_each_other_out, left_out_of_primary, views_diverged_unless_unknown,
};
use super::{blank, refuse, step, Action, ApartFinding, Ctx, Decision, RunbookCase, Step, Verdict};
use crate::recover::report::{FileState, LiveStatus};

/// The nodes that report Primary, with their status.
type Primaries<'a> = Vec<(&'a str, &'a LiveStatus)>;

/// A Primary component runs somewhere: never bootstrap; bring the others to it.
pub(super) fn decide_with_primary(ctx: &Ctx<'_>) -> Decision {
    let primaries: Primaries<'_> = ctx
        .view
        .nodes
        .iter()
        .zip(&ctx.classes)
        .filter_map(|(n, c)| match c {
            Class::Primary(st) => Some((n.name.as_str(), st)),
            _ => None,
        })
        .collect();
    let by_uuid = primaries_by_uuid(&primaries);
    if let Some(d) = uuids_disagree(&by_uuid)
        .or_else(|| views_leave_each_other_out(ctx, &primaries))
        .or_else(|| sizes_disagree(&primaries))
        .or_else(|| more_primaries_than_members(&primaries))
    {
        return d;
    }
    let cluster_uuid = by_uuid.keys().next().cloned().unwrap_or_default();
    bring_the_others(ctx, &primaries, &cluster_uuid)
}

/// The Primary nodes by the cluster UUID they report ("?" when they report none).
fn primaries_by_uuid<'a>(primaries: &Primaries<'a>) -> BTreeMap<String, Vec<&'a str>> {
    let mut by_uuid: BTreeMap<String, Vec<&str>> = BTreeMap::new();
    for (n, st) in primaries {
        by_uuid
            .entry(st.cluster_state_uuid.clone().unwrap_or_else(|| "?".into()))
            .or_default()
            .push(n);
    }
    by_uuid
}

/// Split brain: Primary components of different histories.
fn uuids_disagree(by_uuid: &BTreeMap<String, Vec<&str>>) -> Option<Decision> {
    if by_uuid.len() <= 1 {
        return None;
    }
    Some(refuse(
        None,
        "split brain: Primary components with different cluster UUIDs",
        by_uuid
            .iter()
            .map(|(u, ns)| format!("Primary with cluster UUID {u}: {}", ns.join(", ")))
            .chain(std::iter::once(
                "quorate never merges histories: decide which cluster holds the data to keep, stop the other one, and rejoin its nodes with `quorate recover rejoin --move-aside --accept-loss` after saving what you need".into(),
            ))
            .collect(),
    ))
}

/// Split brain: members of one Primary component saved the same current view, so each names
/// the other. Two Primary nodes whose saved views leave each other out are in two components
/// (a joiner is not Primary before it is in the view, so no view change makes this appear for
/// a moment).
fn views_leave_each_other_out(ctx: &Ctx<'_>, primaries: &Primaries<'_>) -> Option<Decision> {
    let nodes = &ctx.view.nodes;
    let apart: Vec<String> = primaries
        .iter()
        .enumerate()
        .flat_map(|(i, (a, _))| primaries.iter().skip(i + 1).map(move |(b, _)| (*a, *b)))
        .filter(|(a, b)| leave_each_other_out(nodes, a, b))
        .map(|(a, b)| format!("{a} and {b}: each one's saved Primary view leaves the other out"))
        .collect();
    if apart.is_empty() {
        return None;
    }
    let mut reasons = apart;
    reasons.push("these are two Primary components of one history (e.g. a bootstrap or pc.bootstrap beside a running Primary): stop writes, decide which component to keep, stop the nodes of the other one and rejoin them (their writes since the split are not in the kept component)".into());
    Some(refuse(
        None,
        "split brain: Primary nodes in different components",
        reasons,
    ))
}

/// Split brain (or a membership change caught half-way): every member of one Primary
/// component reports the same component size. Different sizes (or an unknown one beside
/// others) are two components of one history, for example the survivors of a partition with
/// a member that does not answer: joining either would pick a side blindly.
fn sizes_disagree(primaries: &Primaries<'_>) -> Option<Decision> {
    let sizes: BTreeSet<Option<u64>> = primaries.iter().map(|(_, st)| st.cluster_size).collect();
    if primaries.len() <= 1 || sizes.len() <= 1 {
        return None;
    }
    Some(refuse(
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
    ))
}

/// Split brain: more nodes report Primary than the largest component has members.
fn more_primaries_than_members(primaries: &Primaries<'_>) -> Option<Decision> {
    let max_size = primaries
        .iter()
        .filter_map(|(_, st)| st.cluster_size)
        .max()
        .unwrap_or(0);
    if primaries.len() as u64 <= max_size {
        return None;
    }
    let primary_names: Vec<&str> = primaries.iter().map(|(n, _)| *n).collect();
    Some(refuse(
        None,
        "split brain: more nodes report Primary than any Primary component has members",
        vec![
            format!(
                "{} report Primary but the largest component has {max_size} member(s): there are two Primary components of the same cluster (e.g. pc.bootstrap on both sides of a partition)",
                primary_names.join(", ")
            ),
            "stop writes, decide which component to keep, stop the nodes of the other one and rejoin them (their writes since the split are not in the kept component)".into(),
        ],
    ))
}

/// One Primary component of history `cluster_uuid`: a step for every other node, the runbook
/// case, and the verdict (join it, wait, or healthy).
fn bring_the_others(ctx: &Ctx<'_>, primaries: &Primaries<'_>, cluster_uuid: &str) -> Decision {
    let nodes = &ctx.view.nodes;
    let primary_names: Vec<String> = primaries.iter().map(|(n, _)| n.to_string()).collect();
    let primary_seqno = primaries
        .iter()
        .filter_map(|(_, st)| st.last_committed)
        .max();
    // Every Primary node answered and the view counts no one else: a stopped node is not in
    // it (not a member whose departure Galera has yet to notice).
    let view_settled = primaries
        .iter()
        .all(|(_, st)| st.cluster_size == u64::try_from(primaries.len()).ok());

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
    // Nodes whose position must still be compared with the Primary's (see `hold_rejoins`).
    let mut evidence: Vec<String> = Vec::new();
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
                let join = match (down.recorded_apart.as_deref(), diverged) {
                    // Found apart before, and it has not run since: what made it apart may be
                    // gone from view (the Primary committed past its seqno), but not from it.
                    (Some(found), _) => {
                        d.risks.push(format!(
                            "{name} holds transactions that are not in the Primary's history (recorded when they were still visible, at its current position): joining replaces them"
                        ));
                        step(
                            name,
                            Action::Investigate,
                            format!("{found}; it has not run since. Compare the last rows on both, save what only it holds, then `quorate recover rejoin --move-aside --accept-loss` (which also retires the record)"),
                        )
                    }
                    // Its history may have diverged from the Primary's under the same UUID:
                    // seqnos say nothing, and joining would discard what only it holds.
                    (None, Some((_, _, why))) => {
                        evidence.push(name.to_string());
                        // Not kept (recover::apart): saved views apart say the histories *may*
                        // have diverged, and they change with membership, not with client
                        // writes; the model showed such a record outliving a node that was
                        // merely left behind.
                        d.risks.push(format!(
                            "{name} may hold transactions of another Primary component ({why}): joining replaces them by the Primary's history"
                        ));
                        step(
                            name,
                            Action::Investigate,
                            format!("its saved view has no node in common with a running Primary node's ({why}): the two histories may have diverged; save what only it holds, then `quorate recover rejoin --move-aside --accept-loss`"),
                        )
                    }
                    // Its saved view, the trace of another Primary it may have been in (and of
                    // whether it is still counted in this one), cannot be read: as without a
                    // Primary, nothing is decided over it.
                    (None, None) if gvwstate_unreadable(n) => {
                        evidence.push(name.to_string());
                        step(
                            name,
                            Action::Investigate,
                            "its gvwstate.dat cannot be read: whether it was in another Primary component, or is still counted in this one, cannot be told; check the file and the node's error log by hand, move the file aside (keep it) and plan again",
                        )
                    }
                    (None, None) => {
                        let outside = outside_the_primarys_view(ctx, n, down, &primary_names, view_settled);
                        let (join, holds) = join_step(name, down, cluster_uuid, primary_seqno, outside, &mut d);
                        if holds {
                            evidence.push(name.to_string());
                        }
                        join
                    }
                };
                d.steps.push(join);
            }
            Class::NonPrimary(st) => {
                let ahead = match (st.last_committed, primary_seqno) {
                    (Some(s), Some(p)) if s > p && st.cluster_state_uuid.as_deref() == Some(cluster_uuid) => {
                        evidence.push(name.to_string());
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
    hold_rejoins(&mut d, &evidence);
    // A Primary node still joining or donating may not show the component's position yet.
    if !primaries.iter().all(|(_, st)| st.is_synced()) {
        d.apart.clear();
    }
    d.case = case_beside_primary(clean_down, crashed_down).map(RunbookCase::number);
    join_verdict(&mut d, primaries, &primary_names);
    d
}

/// Whether stopped node `n` is certainly outside the running Primary's view, for the
/// equal-seqno rule (`join_step_for`): every Primary node answered and counts only those that
/// answer (`view_settled`); or it stopped cleanly (a graceful leave is seen at once); or it
/// crashed without a gvwstate.dat (Galera writes one at every Primary view it installs, so its
/// last run was in none); or a Primary node's saved view leaves its gcomm UUID out.
fn outside_the_primarys_view(
    ctx: &Ctx<'_>,
    n: &super::NodeView,
    down: &Down,
    primary_names: &[String],
    view_settled: bool,
) -> bool {
    view_settled
        || down.clean
        || matches!(&n.observed, super::Observed::Known(r) if r.gvwstate == FileState::Absent)
        || left_out_of_primary(&ctx.view.nodes, primary_names, &n.name)
}

/// A risk of joining `name` that comes from its history being apart from the Primary's: said
/// in the plan's risks and listed for the caller to keep ([`ApartFinding`]).
fn found_apart(d: &mut Decision, name: &str, uuid: &str, seqno: i64, risk: String) {
    d.apart.push(ApartFinding {
        node: name.to_string(),
        uuid: uuid.to_string(),
        seqno,
        why: risk.clone(),
    });
    d.risks.push(risk);
}

fn gvwstate_unreadable(n: &super::NodeView) -> bool {
    matches!(&n.observed, super::Observed::Known(r) if matches!(r.gvwstate, FileState::Unreadable { .. }))
}

/// While a node's position must still be compared with the Primary's (unknown, ahead, equal
/// from another branch, or on a saved view apart from it), nothing quorate does may move the
/// Primary on: every join is a configuration change that takes a seqno of its own (Galera 4,
/// seen on the sandbox), after which a node that was ahead, or at the Primary's seqno from
/// another history, looks merely behind, and a later plan would rejoin it over the
/// transactions only it holds (found by the model: a rejoin of another node in the same plan
/// erased the evidence). The other joins wait until those nodes are settled.
fn hold_rejoins(d: &mut Decision, evidence: &[String]) {
    if evidence.is_empty() {
        return;
    }
    let who = evidence.join(", ");
    for s in &mut d.steps {
        if matches!(s.action, Action::Rejoin | Action::RejoinMoveAside) {
            s.action = Action::WaitFor;
            s.why = format!(
                "held until {who} {} settled: joining changes the Primary's view, which takes a seqno, and the Primary's position would no longer show whether {who} {} transactions it lacks; then plan again (it would: {})",
                if evidence.len() == 1 { "is" } else { "are" },
                if evidence.len() == 1 { "holds" } else { "hold" },
                s.why
            );
            d.wait_for.push(s.node.clone());
        }
    }
}

/// The runbook case beside a running Primary, from the nodes that are down: stopped cleanly,
/// or crashed (including those that cannot be reached).
fn case_beside_primary(clean_down: usize, crashed_down: usize) -> Option<RunbookCase> {
    match (clean_down + crashed_down, crashed_down) {
        (0, _) => None,
        (_, c) if c > 0 => Some(RunbookCase::CrashedBesidePrimary),
        (1, _) => Some(RunbookCase::OneStoppedCleanly),
        _ => Some(RunbookCase::SeveralStoppedCleanly),
    }
}

/// Join when a node has a step towards the Primary (saying first why, and which positions
/// must be recovered before), healthy when nothing is to be done and every Primary node is
/// Synced; otherwise the verdict stays Wait.
fn join_verdict(d: &mut Decision, primaries: &Primaries<'_>, primary_names: &[String]) {
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
            primary: primary_names.to_vec(),
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
}

/// How a stopped node joins the running Primary, and whether its position must still be
/// compared with the Primary's (unknown, ahead or diverged: other joins wait for it).
fn join_step(
    name: &str,
    down: &Down,
    cluster_uuid: &str,
    primary_seqno: Option<i64>,
    outside_view: bool,
    d: &mut Decision,
) -> (Step, bool) {
    let step = join_step_for(name, down, cluster_uuid, primary_seqno, outside_view, d);
    // Another cluster UUID stays another history whatever the Primary does next.
    let other_history = matches!(&down.pos, Pos::Known { uuid, .. } if uuid != cluster_uuid);
    let holds =
        matches!(step.action, Action::RecoverPosition | Action::Investigate) && !other_history;
    (step, holds)
}

fn join_step_for(
    name: &str,
    down: &Down,
    cluster_uuid: &str,
    primary_seqno: Option<i64>,
    outside_view: bool,
    d: &mut Decision,
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
            d.risks.push(format!(
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
        Pos::Known { uuid, seqno, .. } if primary_seqno.is_some_and(|p| *seqno > p) => {
            let p = primary_seqno.unwrap_or(-1);
            found_apart(d, name, uuid, *seqno, format!(
                "{name} is ahead of the running Primary (seqno {seqno} > {p}): its last {} transaction(s) are not in the cluster",
                i128::from(*seqno) - i128::from(p)
            ));
            step(
                name,
                Action::Investigate,
                format!("it is ahead of the Primary ({seqno} > {p}): rejoining discards its extra transactions. Either keep its history: stop the Primary's nodes, move its record `apart/{name}.json` aside in quorate's state_dir on its host (the plan keeps one), and plan again (it becomes the source); or accept the loss: `quorate recover rejoin --move-aside --accept-loss`"),
            )
        }
        // In Galera 4 the configuration change that left this node out of the running
        // Primary took a seqno of its own (seen on the sandbox), so in one history it is
        // behind the Primary. At the same seqno it holds a transaction of another history in
        // that seqno's place (a bootstrap from a node that was behind it); an IST would not
        // notice.
        Pos::Known { uuid, seqno, .. } if outside_view && primary_seqno == Some(*seqno) => {
            found_apart(d, name, uuid, *seqno, format!(
                "{name} is at the Primary's seqno ({seqno}) although it is not in the Primary's view: their histories diverged (the view change that left it out takes a seqno of its own), and joining replaces what only it holds"
            ));
            step(
                name,
                Action::Investigate,
                format!("its seqno equals the Primary's ({seqno}) although the Primary went on without it: the histories diverged. Compare the last rows on both, save what only it holds, then `quorate recover rejoin --move-aside --accept-loss`"),
            )
        }
        // Galera wrote safe_to_bootstrap 1: it was the last member of its Primary when it
        // stopped, so the Primary running now was formed after it left, by a bootstrap (by
        // hand, or of a node assumed lost): its last transactions may not be in it, and an IST
        // from its seqno would not notice.
        Pos::Known { uuid, seqno, .. }
            if down.clean && down.safe == Some(true) && down.safe_written =>
        {
            found_apart(d, name, uuid, *seqno, format!(
                "{name} stopped as the last member of its Primary component (safe_to_bootstrap 1, seqno {seqno}), so the running Primary was started after it left and may lack its last transactions: joining replaces them"
            ));
            step(
                name,
                Action::Investigate,
                format!("it stopped cleanly as the last member of its Primary (safe_to_bootstrap 1, seqno {seqno}), yet a Primary runs without it: a bootstrap made that Primary after it left (by hand, or with it assumed lost), and the histories may have diverged. Compare the last rows on both, save what only it holds, then `quorate recover rejoin --move-aside --accept-loss` (if its safe_to_bootstrap was set by hand and it never ran since, set it back to 0 and plan again)"),
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
