//! `quorate check cluster`: every configured node's reading → one verdict for the whole
//! cluster, so a single service check covers it. Pure.
//!
//! Default policy, in short: no Primary component, or more than one (split brain), is
//! CRITICAL; a node down or out of sync while a Primary serves is WARNING (`--degraded`); the
//! Primary component's size is judged by range. The full table, the reference, is in
//! docs/checks.md ("What `check cluster` judges").
//!
//! Primary components are told apart by (`wsrep_cluster_state_uuid`, `wsrep_cluster_conf_id`):
//! members of one component share both; two halves of a split that were each promoted share
//! the state UUID but not the configuration id.

use std::collections::BTreeMap;

use serde_json::{Map, Value};

use super::galera::{donor_state, error_reason, error_status, problems, state_comment};
use super::output::{CheckResult, PerfDatum};
use super::range::Thresholds;
use super::{Finding, Status};
use crate::galera::parse::{ClusterStatus, LocalState};
use crate::galera::CollectError;
use crate::galera::GaleraReading;
use crate::maintenance::Maintenance;

/// The first words of the plugin output.
pub const SERVICE: &str = "GALERA CLUSTER";

/// How the cluster's observations map to states.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterPolicy {
    /// Size of the Primary component.
    pub cluster_size: Thresholds,
    /// A node down or out of sync while the cluster still has a Primary component.
    pub degraded: Status,
    /// A Donor/Desynced node.
    pub donor: Status,
    /// A node desynced on purpose (`wsrep_desync=ON`) is OK.
    pub allow_desync: bool,
    /// A node that did not answer within the timeout counts as down with this state at worst.
    pub timeout_state: Status,
    /// A node in planned maintenance (whatever it says about itself).
    pub maintenance: Status,
}

impl ClusterPolicy {
    /// Defaults for a cluster of `configured` nodes: size thresholds as `--expected-size`.
    pub fn for_nodes(configured: u32) -> ClusterPolicy {
        ClusterPolicy {
            cluster_size: Thresholds::expected_size(configured),
            degraded: Status::Warning,
            donor: Status::Warning,
            allow_desync: false,
            timeout_state: Status::Critical,
            maintenance: Status::Ok,
        }
    }
}

/// A Primary component: (`wsrep_cluster_state_uuid`, `wsrep_cluster_conf_id`).
type ComponentId = (String, i64);
/// A member of a component and the cluster size it reports.
type Member<'a> = (&'a str, Option<u64>);

/// One node's outcome as the cluster check sees it.
pub struct NodeOutcome<'a> {
    pub node: &'a str,
    pub result: &'a Result<GaleraReading, CollectError>,
    /// Its maintenance state (see [`super::maintenance`]).
    pub maintenance: &'a Maintenance,
}

/// Judges the cluster from every configured node's outcome at `now` (Unix seconds).
pub fn judge(nodes: &[NodeOutcome<'_>], policy: &ClusterPolicy, now: i64) -> CheckResult {
    let mut findings: Vec<Finding> = Vec::new();
    // The findings of a node in maintenance take the maintenance state; marked once the
    // node's own findings are all in (the loop below leaves a node at several places).
    let mut pending: Option<(usize, &NodeOutcome<'_>)> = None;
    let mut in_maintenance: Vec<Value> = Vec::new();
    let mut node_states = Map::new();
    let mut up = 0u32;
    // Nodes that answered with a credentials/privilege error: not down, just not judgeable.
    let mut unjudged = 0u32;
    let mut synced = 0u32;
    let mut components: BTreeMap<ComponentId, Vec<Member<'_>>> = BTreeMap::new();

    for n in nodes {
        if let Some((start, prev)) = pending.take() {
            mark_maintenance(&mut findings[start..], prev, policy, now);
        }
        if n.maintenance.is_active() {
            in_maintenance.push(Value::from(n.node));
            findings.push(Finding::new(
                policy.maintenance,
                format!("{}: {}", n.node, n.maintenance.describe(now)),
            ));
        }
        pending = Some((findings.len(), n));
        let desync_now = n.result.as_ref().ok().and_then(|r| r.variables.desync());
        if let Some(f) = super::maintenance::owed_desync(n.node, n.maintenance, now, desync_now) {
            findings.push(f);
        }
        let reading = match n.result {
            Ok(r) => r,
            Err(e) => {
                let s = error_status(e, policy.timeout_state);
                // A node that cannot be judged (credentials) is UNKNOWN; one that is down is a
                // degraded cluster, never worse than the timeout state for a hung one.
                let state = match (s, e) {
                    (Status::Unknown, _) => {
                        unjudged += 1;
                        Status::Unknown
                    }
                    (_, CollectError::Timeout { .. }) => {
                        policy.degraded.min_with(policy.timeout_state)
                    }
                    _ => policy.degraded,
                };
                findings.push(Finding::new(
                    state,
                    format!("{}: {}", n.node, error_reason(e)),
                ));
                node_states.insert(n.node.to_string(), Value::from("down"));
                continue;
            }
        };
        up += 1;
        let status = &reading.status;
        let comment = state_comment(status);
        node_states.insert(n.node.to_string(), Value::from(comment.as_str()));
        let cluster_status = status.cluster_status();
        if cluster_status == Some(ClusterStatus::Primary) {
            let key = (
                status.cluster_state_uuid().unwrap_or_default(),
                status.cluster_conf_id().unwrap_or(-1),
            );
            components
                .entry(key)
                .or_default()
                .push((n.node, status.cluster_size()));
        } else {
            let what = cluster_status
                .as_ref()
                .map_or("cluster status unknown", |c| c.as_str());
            findings.push(Finding::new(policy.degraded, format!("{}: {what}", n.node)));
            continue;
        }
        match status.local_state() {
            Some(LocalState::Synced) => synced += 1,
            Some(LocalState::DonorDesynced) => {
                let (state, why) = donor_state(
                    reading.variables.desync(),
                    policy.donor,
                    policy.allow_desync,
                );
                findings.push(Finding::new(state, format!("{}: {comment}: {why}", n.node)));
            }
            _ => findings.push(Finding::new(
                policy.degraded,
                format!("{}: {comment}", n.node),
            )),
        }
    }

    if let Some((start, prev)) = pending.take() {
        mark_maintenance(&mut findings[start..], prev, policy, now);
    }

    let total = nodes.len() as u32;
    let primary_components = components.len() as u32;
    let mut component_size: Option<u64> = None;
    if up == 0 && unjudged == total {
        findings.push(Finding::new(
            Status::Unknown,
            format!("none of the {total} nodes could be judged"),
        ));
    } else if up == 0 {
        findings.push(Finding::new(
            Status::Critical,
            format!("none of the {total} nodes answered"),
        ));
    } else if primary_components == 0 {
        findings.push(Finding::new(
            Status::Critical,
            format!(
                "no Primary component among the {up} reachable nodes: the cluster refuses writes"
            ),
        ));
    } else if primary_components > 1 {
        let parts: Vec<String> = components
            .values()
            .map(|members| {
                members
                    .iter()
                    .map(|(n, _)| *n)
                    .collect::<Vec<_>>()
                    .join("+")
            })
            .collect();
        findings.push(Finding::new(
            Status::Critical,
            format!(
                "split brain: {primary_components} Primary components ({})",
                parts.join(" | ")
            ),
        ));
    } else if let Some(members) = components.values().next() {
        let sizes: Vec<u64> = members.iter().filter_map(|(_, s)| *s).collect();
        component_size = sizes.iter().copied().max();
        if sizes.iter().any(|s| Some(*s) != component_size) {
            let list: Vec<String> = members
                .iter()
                .map(|(n, s)| format!("{n} {}", s.map_or("?".into(), |s| s.to_string())))
                .collect();
            findings.push(Finding::new(
                Status::Warning,
                format!(
                    "Primary members disagree on the cluster size ({})",
                    list.join(", ")
                ),
            ));
        }
        if let Some(size) = component_size {
            findings.push(Finding::new(
                policy.cluster_size.evaluate(size as f64),
                format!("Primary component size {size}"),
            ));
        }
    }

    let overall = findings
        .iter()
        .fold(Status::Ok, |acc, f| acc.worst(f.status));
    let summary = if overall == Status::Ok {
        let maintenance = if in_maintenance.is_empty() {
            String::new()
        } else {
            let names: Vec<&str> = in_maintenance.iter().filter_map(Value::as_str).collect();
            format!("; in maintenance: {}", names.join(", "))
        };
        format!(
            "{synced}/{total} nodes Synced, one Primary component of size {}{maintenance}",
            component_size.map_or("?".into(), |s| s.to_string())
        )
    } else {
        problems(&findings)
    };
    let mut result = CheckResult::new(SERVICE, overall, summary);
    result.details = findings
        .iter()
        .map(|f| format!("[{}] {}", f.status, f.text))
        .collect();
    result.verbose_details = node_states
        .iter()
        .map(|(n, s)| format!("{n}: {}", s.as_str().unwrap_or("?")))
        .collect();
    result.perfdata = vec![
        PerfDatum::new("cluster_size", component_size.map(|s| s as f64))
            .thresholds(&policy.cluster_size)
            .min(0.0),
        PerfDatum::new("nodes_up", Some(f64::from(up)))
            .min(0.0)
            .max(f64::from(total)),
        PerfDatum::new("nodes_synced", Some(f64::from(synced)))
            .min(0.0)
            .max(f64::from(total)),
        PerfDatum::new("primary_components", Some(f64::from(primary_components))).min(0.0),
    ];
    let mut v = Map::new();
    v.insert("nodes_total".into(), Value::from(total));
    v.insert("nodes_up".into(), Value::from(up));
    v.insert("nodes_synced".into(), Value::from(synced));
    v.insert("primary_components".into(), Value::from(primary_components));
    v.insert(
        "cluster_size".into(),
        component_size.map_or(Value::Null, Value::from),
    );
    v.insert("nodes".into(), Value::Object(node_states));
    v.insert("maintenance".into(), Value::Array(in_maintenance));
    result.values = v;
    result
}

/// A node's findings while it is in maintenance: the maintenance state, with the reason and
/// what the finding would have been.
fn mark_maintenance(
    findings: &mut [Finding],
    n: &NodeOutcome<'_>,
    policy: &ClusterPolicy,
    now: i64,
) {
    if !n.maintenance.is_active() {
        return;
    }
    let why = n.maintenance.describe(now);
    for f in findings {
        f.text = format!("{} (in {why}; otherwise {})", f.text, f.status);
        f.status = policy.maintenance;
    }
}

impl Status {
    /// The milder of two states (for capping a node-level state).
    fn min_with(self, other: Status) -> Status {
        if self.severity() <= other.severity() {
            self
        } else {
            other
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::galera::test_support::{self, wsrep_fixture};
    use std::time::Duration;

    fn reading(status: &str, variables: &str) -> Result<GaleraReading, CollectError> {
        Ok(test_support::reading(status, variables))
    }

    fn synced() -> Result<GaleraReading, CollectError> {
        reading(
            wsrep_fixture!("status/synced.tsv"),
            wsrep_fixture!("variables/synced.tsv"),
        )
    }

    fn refused(node: &str) -> Result<GaleraReading, CollectError> {
        Err(CollectError::Connection {
            node: node.into(),
            endpoint: "127.0.0.1:1".into(),
            message: "Connection refused (os error 111)".into(),
        })
    }

    fn outcomes<'a>(
        results: &'a [(&'a str, Result<GaleraReading, CollectError>)],
    ) -> Vec<NodeOutcome<'a>> {
        results
            .iter()
            .map(|(n, r)| NodeOutcome {
                node: n,
                result: r,
                maintenance: &Maintenance::Off,
            })
            .collect()
    }

    fn run(results: &[(&str, Result<GaleraReading, CollectError>)]) -> CheckResult {
        judge(
            &outcomes(results),
            &ClusterPolicy::for_nodes(results.len() as u32),
            0,
        )
    }

    #[test]
    fn a_node_in_maintenance_is_reported_with_the_maintenance_state() {
        let results = [
            ("node1", synced()),
            ("node2", refused("node2")),
            ("node3", synced()),
        ];
        let active = Maintenance::Active {
            record: None,
            why: "kernel update".into(),
        };
        let mut nodes = outcomes(&results);
        nodes[1].maintenance = &active;
        // Expected size 2: the command leaves the node in maintenance out.
        let mut policy = ClusterPolicy::for_nodes(2);
        let r = judge(&nodes, &policy, 0);
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(
            r.summary.ends_with("in maintenance: node2"),
            "{}",
            r.summary
        );
        assert!(
            r.details.iter().any(|d| d.contains("otherwise WARNING")),
            "{:?}",
            r.details
        );
        assert_eq!(r.values["maintenance"], serde_json::json!(["node2"]));
        policy.maintenance = Status::Warning;
        assert_eq!(judge(&nodes, &policy, 0).status, Status::Warning);
        nodes[1].maintenance = &Maintenance::Off;
        assert_eq!(judge(&nodes, &policy, 0).status, Status::Warning);
    }

    #[test]
    fn healthy_cluster_is_ok() {
        let r = run(&[
            ("node1", synced()),
            ("node2", synced()),
            ("node3", synced()),
        ]);
        assert_eq!(r.status, Status::Ok, "{}", r.render_plugin(true));
        let out = r.render_plugin(false);
        assert!(
            out.starts_with("GALERA CLUSTER OK - 3/3 nodes Synced, one Primary component of size 3 | cluster_size=3;3:;2:;0 nodes_up=3;;;0;3"),
            "{out}"
        );
        assert_eq!(r.values["primary_components"], 1);
    }

    #[test]
    fn a_node_down_is_degraded_and_a_donor_follows_policy() {
        let r = run(&[
            ("node1", synced()),
            ("node2", synced()),
            ("node3", refused("node3")),
        ]);
        assert_eq!(r.status, Status::Warning, "{}", r.render_plugin(true));
        assert!(
            r.summary.contains("node3: Connection refused"),
            "{}",
            r.summary
        );

        let donor = reading(
            wsrep_fixture!("status/donor-desync.tsv"),
            wsrep_fixture!("variables/desync-on.tsv"),
        );
        let results = [("node1", synced()), ("node2", donor), ("node3", synced())];
        assert_eq!(run(&results).status, Status::Warning);
        let outcomes = outcomes(&results);
        let mut p = ClusterPolicy::for_nodes(3);
        p.allow_desync = true;
        assert_eq!(judge(&outcomes, &p, 0).status, Status::Ok);
        p.allow_desync = false;
        p.donor = Status::Critical;
        assert_eq!(judge(&outcomes, &p, 0).status, Status::Critical);
    }

    #[test]
    fn no_primary_component_is_critical() {
        let np = reading(
            wsrep_fixture!("status/non-primary.tsv"),
            wsrep_fixture!("variables/non-primary.tsv"),
        );
        let r = run(&[
            ("node1", np),
            ("node2", refused("node2")),
            ("node3", refused("node3")),
        ]);
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("no Primary component"), "{}", r.summary);
        let r = run(&[("node1", refused("node1")), ("node2", refused("node2"))]);
        assert_eq!(r.status, Status::Critical);
        assert!(
            r.summary.contains("none of the 2 nodes answered"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn two_primary_components_are_a_split_brain() {
        let other_view = wsrep_fixture!("status/synced.tsv").replace(
            &format!(
                "wsrep_cluster_conf_id\t{}",
                synced()
                    .unwrap()
                    .status
                    .get("wsrep_cluster_conf_id")
                    .unwrap()
            ),
            "wsrep_cluster_conf_id\t99",
        );
        let split = reading(&other_view, wsrep_fixture!("variables/synced.tsv"));
        let r = run(&[("node1", synced()), ("node2", synced()), ("node3", split)]);
        assert_eq!(r.status, Status::Critical, "{}", r.render_plugin(true));
        assert!(
            r.summary.contains("split brain: 2 Primary components"),
            "{}",
            r.summary
        );
    }

    #[test]
    fn size_disagreement_and_small_component() {
        let smaller = reading(
            &wsrep_fixture!("status/synced.tsv")
                .replace("wsrep_cluster_size\t3", "wsrep_cluster_size\t2"),
            wsrep_fixture!("variables/synced.tsv"),
        );
        let r = run(&[("node1", synced()), ("node2", smaller)]);
        assert!(r.summary.contains("disagree"), "{}", r.summary);
        assert_eq!(r.status, Status::Warning);
        // Expected 5 nodes, component of 3 answered: WARNING (3 is still a majority of 5).
        let results: Vec<(&str, Result<GaleraReading, CollectError>)> =
            vec![("a", synced()), ("b", synced()), ("c", synced())];
        let outcomes = outcomes(&results);
        assert_eq!(
            judge(&outcomes, &ClusterPolicy::for_nodes(5), 0).status,
            Status::Warning
        );
        assert_eq!(
            judge(&outcomes, &ClusterPolicy::for_nodes(7), 0).status,
            Status::Critical
        );
    }

    #[test]
    fn credentials_are_unknown_timeouts_follow_their_state() {
        let denied: Result<GaleraReading, CollectError> = Err(CollectError::Server {
            node: "node3".into(),
            endpoint: "e".into(),
            code: 1045,
            message: "Access denied".into(),
        });
        let r = run(&[
            ("node1", synced()),
            ("node2", synced()),
            ("node3", denied.clone()),
        ]);
        // node3 cannot be judged; the cluster size of 3 still says it is a member.
        assert_eq!(r.status, Status::Unknown, "{}", r.render_plugin(true));
        // Wrong credentials everywhere: UNKNOWN, never "the cluster is down".
        let r = run(&[("node1", denied.clone()), ("node2", denied)]);
        assert_eq!(r.status, Status::Unknown, "{}", r.render_plugin(true));
        assert!(r.summary.contains("Access denied"), "{}", r.summary);
        let hung: Result<GaleraReading, CollectError> = Err(CollectError::Timeout {
            node: "node3".into(),
            endpoint: "e".into(),
            timeout: Duration::from_secs(1),
        });
        let results = [("node1", synced()), ("node2", synced()), ("node3", hung)];
        let outcomes = outcomes(&results);
        let mut p = ClusterPolicy::for_nodes(3);
        assert_eq!(judge(&outcomes, &p, 0).status, Status::Warning);
        p.timeout_state = Status::Unknown;
        assert_eq!(judge(&outcomes, &p, 0).status, Status::Unknown);
    }
}
