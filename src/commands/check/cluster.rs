//! `quorate check cluster`: every MariaDB controller of the configuration, read in parallel and
//! judged together by [`quorate::check::cluster`].

use std::time::Duration;

use quorate::check::cluster::{self, ClusterPolicy, NodeOutcome};
use quorate::check::{CheckResult, Status};
use quorate::config;
use quorate::galera::client::NodeClient;

use super::auth::resolve_auth;
use super::watchdog::{begin, emit, push_time, runtime};
use super::{config_path, load_settings, maintenance_of, maintenance_state, size_thresholds};
use crate::cli::CheckClusterArgs;

/// The verdict's options from the command line; `configured` MariaDB controllers are the
/// expected cluster size unless -w/-c or --expected-size say otherwise.
fn policy(a: &CheckClusterArgs, configured: u32, settings: &config::Settings) -> ClusterPolicy {
    ClusterPolicy {
        cluster_size: size_thresholds(&a.size, Some(configured)),
        degraded: a.degraded,
        donor: a.donor.donor,
        allow_desync: a.donor.allow_desync,
        timeout_state: a.common.timeout.state,
        maintenance: maintenance_state(a.maintenance, Some(settings)),
    }
}

pub(super) fn run(a: CheckClusterArgs) -> i32 {
    let (started, out, budget) = match begin(&a.common, cluster::SERVICE) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let unknown = |e: String| CheckResult::new(cluster::SERVICE, Status::Unknown, e);

    let path = config_path(&a.common);
    let settings = match load_settings(&path) {
        Ok(s) => s,
        Err(e) => return emit(&unknown(e), &out),
    };
    let auth = match resolve_auth(&a.credentials, Some(&settings.mysql)) {
        Ok(a) => a,
        Err(e) => return emit(&unknown(e), &out),
    };
    let nodes: Vec<&config::Node> = settings.galera_nodes().collect();
    if nodes.is_empty() {
        return emit(
            &unknown(format!(
                "{}: no controller has services.mariadb: true",
                path.display()
            )),
            &out,
        );
    }
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return emit(&unknown(e), &out),
    };
    let deadline = budget.saturating_sub(started.elapsed());
    let results = rt.block_on(async {
        let clients: Vec<NodeClient> = nodes
            .iter()
            .map(|n| NodeClient::single_use(&n.name, &n.mysql, &auth))
            .collect();
        let results = futures::future::join_all(clients.iter().map(|c| c.collect(deadline))).await;
        // Polite close of the connections that worked, within what is left of the budget.
        let left = budget.saturating_sub(started.elapsed());
        let answered = clients
            .into_iter()
            .zip(results.iter())
            .filter(|(_, r)| r.is_ok())
            .map(|(c, _)| c.disconnect());
        let _ = tokio::time::timeout(
            left.min(Duration::from_millis(200)),
            futures::future::join_all(answered),
        )
        .await;
        results
    });
    let names: Vec<&str> = nodes.iter().map(|n| n.name.as_str()).collect();
    let (now, maintenance) = maintenance_of(Some(&settings), &names);
    let outcomes: Vec<NodeOutcome<'_>> = nodes
        .iter()
        .zip(results.iter())
        .zip(maintenance.iter())
        .map(|((n, r), m)| NodeOutcome {
            node: &n.name,
            result: r,
            maintenance: m,
        })
        .collect();
    // Nodes in maintenance are not expected (unless -w/-c or --expected-size say otherwise).
    let expected = nodes.len() - maintenance.iter().filter(|m| m.is_active()).count();
    let policy = policy(&a, (expected as u32).max(1), &settings);
    let mut result = cluster::judge(&outcomes, &policy, now);
    push_time(&mut result, started.elapsed());
    emit(&result, &out)
}
