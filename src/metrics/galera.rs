//! Metric names for the Galera source, built from one node's [`GaleraSnapshot`] (its
//! [`GaleraReading`] and grastate.dat).
//!
//! Everything mysqld_exporter exports about Galera keeps its name and meaning (`mysql_up`,
//! `mysql_global_status_wsrep_*`, `mysql_global_variables_*`, `mysql_galera_*`), so existing
//! alerts and dashboards work unchanged. What mysqld_exporter drops because the value is not
//! a number is added under new names: the local state comment, the Galera-4 `true`/`false`
//! flow-control flags, the number of incoming addresses and the on-disk grastate.dat.

use super::{collector, Family, Kind, MetricSet};
use crate::galera::parse::{bool_flag, status_value_as_f64, GraState};
use crate::galera::{GaleraReading, GaleraSnapshot};

/// Collector names used in `quorate_collector_*{collector}`.
pub const COLLECTOR_GALERA: &str = "galera";
pub const COLLECTOR_GRASTATE: &str = "grastate";

/// Status variables whose Galera-4 values are `true`/`false` (mysqld_exporter drops them).
const BOOL_FLAG_STATUS: &[&str] = &["wsrep_flow_control_active", "wsrep_flow_control_requested"];

/// The one status variable exported under a different name than mysqld_exporter's: its
/// `_ns` name fails `promtool check metrics` (abbreviated unit), so it becomes a counter in
/// seconds, which is also what a rate() of paused time wants.
const FLOW_CONTROL_PAUSED_NS: &str = "wsrep_flow_control_paused_ns";
pub const FLOW_CONTROL_PAUSED_SECONDS: &str =
    "mysql_global_status_wsrep_flow_control_paused_seconds_total";

/// The metrics of one node's snapshot.
pub fn families(snapshot: &GaleraSnapshot) -> MetricSet {
    let mut set = MetricSet::default();
    set.push(Family::single(
        "mysql_up",
        "Whether the MySQL server answered the monitoring queries (1) or not (0).",
        f64::from(u8::from(snapshot.server.succeeded())),
    ));
    if let Ok(reading) = &snapshot.server.value {
        set.extend(reading_families(reading));
    }
    if let Some(Ok(grastate)) = snapshot.grastate.as_ref().map(|g| &g.value) {
        set.extend(grastate_families(grastate));
    }
    let last = snapshot.last_success;
    set.extend(collector::families(
        COLLECTOR_GALERA,
        &snapshot.server.status(last.server),
    ));
    if let Some(grastate) = &snapshot.grastate {
        set.extend(collector::families(
            COLLECTOR_GRASTATE,
            &grastate.status(last.grastate),
        ));
    }
    set
}

/// A metric name built from a server variable name, or None if it would not be a valid one.
fn metric_name(prefix: &str, variable: &str) -> Option<String> {
    let valid = !variable.is_empty()
        && variable
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_');
    valid.then(|| {
        // Built in one allocation: this runs for every status row on every scrape.
        let mut name = String::with_capacity(prefix.len() + variable.len());
        name.push_str(prefix);
        name.extend(variable.chars().map(|c| c.to_ascii_lowercase()));
        name
    })
}

fn reading_families(reading: &GaleraReading) -> Vec<Family> {
    let mut out = Vec::new();
    let status = &reading.status;

    // Every numeric or ON/OFF/Primary status value, untyped, as mysqld_exporter does.
    for (name, value) in status.iter() {
        if name == FLOW_CONTROL_PAUSED_NS {
            if let Some(ns) = status_value_as_f64(value) {
                out.push(
                    Family::single(
                        FLOW_CONTROL_PAUSED_SECONDS,
                        "Total time replication was paused by flow control (wsrep_flow_control_paused_ns in seconds).",
                        ns / 1e9,
                    )
                    .of_kind(Kind::Counter),
                );
            }
            continue;
        }
        let Some(metric) = metric_name("mysql_global_status_", name) else {
            continue;
        };
        let number = status_value_as_f64(value).or_else(|| {
            // Extension: the Galera-4 "true"/"false" flags under the same naming scheme.
            BOOL_FLAG_STATUS
                .contains(&name)
                .then(|| bool_flag(value).map(|b| f64::from(u8::from(b))))
                .flatten()
        });
        if let Some(v) = number {
            out.push(
                Family::single(metric, "Generic metric from SHOW GLOBAL STATUS.", v)
                    .of_kind(Kind::Untyped),
            );
        }
    }
    for (name, value) in reading.variables.iter() {
        let Some(metric) = metric_name("mysql_global_variables_", name) else {
            continue;
        };
        if let Some(v) = status_value_as_f64(value) {
            out.push(Family::single(
                metric,
                "Generic gauge metric from SHOW GLOBAL VARIABLES.",
                v,
            ));
        }
    }

    let text = |v: Option<&str>| v.unwrap_or("").to_string();
    out.push(
        Family::new("mysql_galera_status_info", "PXC/Galera status information.").with(
            vec![
                (
                    "wsrep_local_state_uuid".into(),
                    text(status.get("wsrep_local_state_uuid")),
                ),
                (
                    "wsrep_cluster_state_uuid".into(),
                    text(status.get("wsrep_cluster_state_uuid")),
                ),
                (
                    "wsrep_provider_version".into(),
                    text(status.provider_version()),
                ),
            ],
            1.0,
        ),
    );
    out.push(
        Family::new(
            "mysql_galera_variables_info",
            "PXC/Galera variables information.",
        )
        .with(
            vec![(
                "wsrep_cluster_name".into(),
                text(reading.variables.cluster_name()),
            )],
            1.0,
        ),
    );
    if let Some(bytes) = reading.variables.gcache_size_bytes() {
        out.push(Family::single(
            "mysql_galera_gcache_size_bytes",
            "PXC/Galera gcache size.",
            bytes as f64,
        ));
    }
    if let Some(lat) = status.evs_repl_latency() {
        let parts = [
            ("min_seconds", "Min value.", lat.min),
            ("avg_seconds", "Avg value.", lat.avg),
            ("max_seconds", "Max value.", lat.max),
            ("stdev", "Standard Deviation.", lat.stdev),
            ("sample_size", "Sample Size.", lat.sample_size as f64),
        ];
        for (suffix, what, value) in parts {
            out.push(Family::single(
                format!("mysql_galera_evs_repl_latency_{suffix}"),
                format!("PXC/Galera group communication latency. {what}"),
                value,
            ));
        }
    }

    // Extensions: what mysqld_exporter drops.
    if let Some(comment) = status.local_state_comment() {
        out.push(
            Family::new(
                "mysql_galera_local_state_comment_info",
                "wsrep_local_state_comment as a label (e.g. Synced, Donor/Desynced, Joining: receiving State Transfer), value 1.",
            )
            .with(vec![("wsrep_local_state_comment".into(), comment.to_string())], 1.0),
        );
    }
    if status.get("wsrep_incoming_addresses").is_some() {
        out.push(Family::single(
            "mysql_galera_incoming_addresses",
            "Number of client addresses in wsrep_incoming_addresses (cluster members accepting clients).",
            status.incoming_addresses().len() as f64,
        ));
    }
    out
}

fn grastate_families(g: &GraState) -> Vec<Family> {
    vec![
        Family::new(
            "mysql_galera_grastate_info",
            "The cluster state UUID saved in grastate.dat, value 1.",
        )
        .with(vec![("uuid".into(), g.uuid.clone())], 1.0),
        Family::single(
            "mysql_galera_grastate_seqno",
            "seqno saved in grastate.dat; -1 while the node runs or after a crash (position unknown).",
            g.seqno as f64,
        ),
        Family::single(
            "mysql_galera_grastate_safe_to_bootstrap",
            "safe_to_bootstrap saved in grastate.dat (a missing key counts as 1, as Galera reads it).",
            f64::from(u8::from(g.safe_to_bootstrap)),
        ),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::collected::Collected;
    use crate::galera::parse::parse_grastate;
    use crate::galera::test_support::{reading, wsrep_fixture};
    use crate::galera::CollectError;
    use crate::metrics::Format;
    use std::time::{Duration, SystemTime};

    fn snapshot(
        galera: Result<GaleraReading, CollectError>,
        grastate: Option<&str>,
    ) -> GaleraSnapshot {
        GaleraSnapshot {
            node: "node1".into(),
            server: Collected {
                value: galera,
                at: SystemTime::UNIX_EPOCH,
                duration: Duration::from_millis(3),
            },
            grastate: grastate.map(|text| Collected {
                at: SystemTime::UNIX_EPOCH,
                value: parse_grastate(text).map_err(|e| CollectError::Parse {
                    node: "node1".into(),
                    path: "grastate.dat".into(),
                    message: e.to_string(),
                }),
                duration: Duration::from_micros(40),
            }),
            last_success: Default::default(),
        }
    }

    /// A failed scrape keeps the time of the node's last success; a successful one exports
    /// its own time.
    #[test]
    fn the_last_success_is_kept_across_failed_scrapes() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1000);
        let mut failed = snapshot(
            Err(CollectError::Timeout {
                node: "node1".into(),
                endpoint: "127.0.0.1:3306".into(),
                timeout: Duration::from_secs(1),
            }),
            None,
        );
        let last = |set: &MetricSet| {
            set.value(
                "quorate_collector_last_success_timestamp_seconds",
                &[("collector", "galera")],
            )
        };
        assert_eq!(last(&families(&failed)), None, "no success yet");
        failed.last_success.server = Some(at);
        let set = families(&failed);
        assert_eq!(last(&set), Some(1000.0));
        assert_eq!(
            set.value("quorate_collector_success", &[("collector", "galera")]),
            Some(0.0)
        );
        let r = reading(
            wsrep_fixture!("status/synced.tsv"),
            wsrep_fixture!("variables/synced.tsv"),
        );
        let mut ok = snapshot(Ok(r), None);
        ok.server.at = at + Duration::from_secs(5);
        ok.last_success.server = Some(at);
        assert_eq!(last(&families(&ok)), Some(1005.0));
    }

    #[test]
    fn synced_node_keeps_mysqld_exporter_names() {
        let r = reading(
            wsrep_fixture!("status/synced.tsv"),
            wsrep_fixture!("variables/synced.tsv"),
        );
        let set = families(&snapshot(
            Ok(r),
            Some(wsrep_fixture!("grastate/running.dat")),
        ));
        let v = |name: &str| set.value(name, &[]);
        assert_eq!(v("mysql_up"), Some(1.0));
        assert_eq!(v("mysql_global_status_wsrep_cluster_size"), Some(3.0));
        assert_eq!(v("mysql_global_status_wsrep_local_state"), Some(4.0));
        assert_eq!(v("mysql_global_status_wsrep_cluster_status"), Some(1.0));
        assert_eq!(v("mysql_global_status_wsrep_ready"), Some(1.0));
        assert_eq!(v("mysql_global_status_wsrep_connected"), Some(1.0));
        assert_eq!(v("mysql_global_variables_wsrep_desync"), Some(0.0));
        assert_eq!(v("mysql_global_variables_read_only"), Some(0.0));
        assert_eq!(
            v("mysql_global_status_wsrep_flow_control_active"),
            Some(0.0)
        );
        assert_eq!(v(FLOW_CONTROL_PAUSED_SECONDS), Some(0.0));
        assert_eq!(v("mysql_global_status_wsrep_flow_control_paused_ns"), None);
        assert_eq!(v("mysql_galera_evs_repl_latency_max_seconds"), Some(1.0006));
        assert_eq!(v("mysql_galera_evs_repl_latency_sample_size"), Some(15.0));
        assert_eq!(v("mysql_galera_incoming_addresses"), Some(3.0));
        assert_eq!(
            v("mysql_galera_gcache_size_bytes"),
            Some(32.0 * 1024.0 * 1024.0)
        );
        assert_eq!(
            set.value(
                "mysql_galera_local_state_comment_info",
                &[("wsrep_local_state_comment", "Synced")]
            ),
            Some(1.0)
        );
        assert_eq!(v("mysql_galera_grastate_seqno"), Some(-1.0));
        assert_eq!(
            set.value("quorate_collector_success", &[("collector", "galera")]),
            Some(1.0)
        );
        assert_eq!(
            set.value("quorate_collector_success", &[("collector", "grastate")]),
            Some(1.0)
        );
        // Strings are never exported as generic values.
        assert_eq!(v("mysql_global_status_wsrep_local_state_uuid"), None);
        assert_eq!(v("mysql_global_variables_wsrep_provider_options"), None);
        let text = set.encode(Format::Text);
        assert!(
            text.contains("# TYPE mysql_global_status_wsrep_cluster_size untyped\n"),
            "{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {FLOW_CONTROL_PAUSED_SECONDS} counter\n")),
            "{text}"
        );
    }

    #[test]
    fn donor_and_non_primary_states() {
        let r = reading(
            wsrep_fixture!("status/donor-desync.tsv"),
            wsrep_fixture!("variables/desync-on.tsv"),
        );
        let set = families(&snapshot(Ok(r), None));
        assert_eq!(
            set.value("mysql_global_status_wsrep_local_state", &[]),
            Some(2.0)
        );
        assert_eq!(
            set.value("mysql_global_variables_wsrep_desync", &[]),
            Some(1.0)
        );
        assert_eq!(
            set.value(
                "mysql_galera_local_state_comment_info",
                &[("wsrep_local_state_comment", "Donor/Desynced")]
            ),
            Some(1.0)
        );
        // No grastate collector when no datadir is configured.
        assert_eq!(
            set.value("quorate_collector_success", &[("collector", "grastate")]),
            None
        );

        let r = reading(
            wsrep_fixture!("status/non-primary.tsv"),
            wsrep_fixture!("variables/non-primary.tsv"),
        );
        let set = families(&snapshot(Ok(r), None));
        assert_eq!(
            set.value("mysql_global_status_wsrep_cluster_status", &[]),
            Some(0.0)
        );
        assert_eq!(
            set.value("mysql_global_status_wsrep_cluster_size", &[]),
            Some(1.0)
        );
        assert!((set.value(FLOW_CONTROL_PAUSED_SECONDS, &[]).unwrap() - 0.919881309).abs() < 1e-12);
    }

    #[test]
    fn down_node_keeps_grastate_and_reports_failure() {
        let err = CollectError::Connection {
            node: "node1".into(),
            endpoint: "127.0.0.1:1".into(),
            message: "Connection refused".into(),
        };
        let set = families(&snapshot(
            Err(err),
            Some(wsrep_fixture!("grastate/clean-last-stopped.dat")),
        ));
        assert_eq!(set.value("mysql_up", &[]), Some(0.0));
        assert_eq!(
            set.value("mysql_global_status_wsrep_cluster_size", &[]),
            None
        );
        assert_eq!(
            set.value("quorate_collector_success", &[("collector", "galera")]),
            Some(0.0)
        );
        assert_eq!(set.value("mysql_galera_grastate_seqno", &[]), Some(35.0));
        assert_eq!(
            set.value("mysql_galera_grastate_safe_to_bootstrap", &[]),
            Some(1.0)
        );

        // An unreadable grastate fails its own collector only.
        let set = families(&snapshot(
            Err(CollectError::Timeout {
                node: "node1".into(),
                endpoint: "x".into(),
                timeout: Duration::from_secs(1),
            }),
            Some(wsrep_fixture!("grastate/hand-garbage-seqno.dat")),
        ));
        assert_eq!(
            set.value("quorate_collector_success", &[("collector", "grastate")]),
            Some(0.0)
        );
        assert_eq!(set.value("mysql_galera_grastate_seqno", &[]), None);
    }

    #[test]
    fn help_texts_need_no_escaping() {
        let r = reading(
            wsrep_fixture!("status/synced.tsv"),
            wsrep_fixture!("variables/synced.tsv"),
        );
        let mut set = families(&snapshot(
            Ok(r),
            Some(wsrep_fixture!("grastate/running.dat")),
        ));
        set.extend(crate::metrics::self_families(&Default::default()));
        for f in set.families() {
            assert!(!f.help.contains(['\\', '\n']), "{}", f.name);
            assert!(!f.help.is_empty(), "{}", f.name);
        }
    }
}
