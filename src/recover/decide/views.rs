//! The saved-view rules: what the nodes' saved Primary views (gvwstate.dat) say about
//! whether their histories can be compared. Every member of a Primary view saves it, so two
//! views of one lineage share a node; views that share none were two Primary components at
//! once, and their seqnos say nothing about which holds more.

use std::collections::{BTreeMap, BTreeSet};

use super::{NodeView, Observed};
use crate::recover::report::SavedView;

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
pub(super) fn diverged_saved_views(nodes: &[NodeView]) -> Vec<String> {
    diverged_view_pairs(nodes)
        .into_iter()
        .map(|(_, _, why)| why)
        .collect()
}

/// [`diverged_saved_views`] as (node, node, sentence).
pub(super) fn diverged_view_pairs(nodes: &[NodeView]) -> Vec<(String, String, String)> {
    let (views, owner) = views_and_owners(nodes);
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

/// Whether nodes `a` and `b` both have a saved Primary view (gvwstate.dat) and neither view
/// names the other by its `my_uuid`.
pub(super) fn leave_each_other_out(nodes: &[NodeView], a: &str, b: &str) -> bool {
    match (view_of(nodes, a), view_of(nodes, b)) {
        (Some(va), Some(vb)) => {
            !va.member_uuids.contains(&vb.my_uuid) && !vb.member_uuids.contains(&va.my_uuid)
        }
        _ => false,
    }
}

/// How many other nodes' saved Primary views do not name node `index` (by its own saved
/// `my_uuid`; a node without gvwstate.dat cannot be named by anyone).
pub(super) fn left_out_by(nodes: &[NodeView], index: usize) -> usize {
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

/// Node `name` saved a view (its gcomm UUID is known) and some node of `primaries` has saved
/// a Primary view that does not name it: the running Primary's view has left it out.
pub(super) fn left_out_of_primary(nodes: &[NodeView], primaries: &[String], name: &str) -> bool {
    let Some(mine) = view_of(nodes, name) else {
        return false;
    };
    primaries
        .iter()
        .filter_map(|p| view_of(nodes, p))
        .any(|v| !v.member_uuids.contains(&mine.my_uuid))
}

/// The saved Primary view of the node named `name`.
fn view_of<'a>(nodes: &'a [NodeView], name: &str) -> Option<&'a SavedView> {
    nodes
        .iter()
        .find(|n| n.name == name)
        .and_then(saved_primary_view)
}

/// A node's saved Primary view (gvwstate.dat), when it reports one with its member list.
pub(super) fn saved_primary_view(n: &NodeView) -> Option<&SavedView> {
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
pub(super) fn views_diverged_unless_unknown(
    nodes: &[NodeView],
    unknown: &[String],
) -> Vec<(String, String, String)> {
    if unknown.is_empty() {
        return Vec::new();
    }
    let (views, owner) = views_and_owners(nodes);
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

/// `uuid:seq` of a saved view, for messages.
pub(super) fn view_label(v: &SavedView) -> String {
    format!(
        "{}:{}",
        v.view_uuid.as_deref().unwrap_or("?"),
        v.view_seq.map_or_else(|| "?".into(), |s| s.to_string())
    )
}

/// The nodes' saved Primary views, and whose each gcomm UUID is (by the node's own saved
/// `my_uuid`).
type ViewsAndOwners<'a> = (Vec<(&'a str, &'a SavedView)>, BTreeMap<&'a str, &'a str>);

fn views_and_owners(nodes: &[NodeView]) -> ViewsAndOwners<'_> {
    let views: Vec<(&str, &SavedView)> = nodes
        .iter()
        .filter_map(|n| saved_primary_view(n).map(|v| (n.name.as_str(), v)))
        .collect();
    let owner: BTreeMap<&str, &str> = views
        .iter()
        .map(|(name, v)| (v.my_uuid.as_str(), *name))
        .collect();
    (views, owner)
}
