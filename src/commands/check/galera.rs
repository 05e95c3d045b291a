//! `quorate check galera`: one node, by --hostname/--socket or by the configuration (this
//! host's controller, or --node), judged by [`quorate::check::galera`] with the flow-control
//! sample kept between runs.

use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use quorate::check::flow::{self, FlowObservation, FlowSample};
use quorate::check::galera::{self, GaleraPolicy};
use quorate::check::{state, CheckResult, Status, Thresholds};
use quorate::config::{HostIdentity, MysqlAuth, MysqlEndpoint, Settings};
use quorate::galera::client::NodeClient;

use super::auth::resolve_auth;
use super::watchdog::{begin, emit, push_time, runtime};
use super::{config_path, load_settings, maintenance_of, maintenance_state, size_thresholds};
use crate::cli::CheckGaleraArgs;

/// What a galera check reads: one endpoint, with a name.
struct Target {
    node: String,
    endpoint: MysqlEndpoint,
    auth: MysqlAuth,
    settings: Option<Settings>,
}

fn resolve_target(a: &CheckGaleraArgs) -> Result<Target, String> {
    let direct = match (&a.hostname, &a.socket) {
        (Some(host), _) => Some(MysqlEndpoint::Tcp {
            host: host.clone(),
            port: a.port,
        }),
        (None, Some(socket)) => Some(MysqlEndpoint::Socket(socket.clone())),
        (None, None) => None,
    };
    if let Some(endpoint) = direct {
        // A configuration is read only when named: it may supply the credentials.
        let settings = match &a.common.config {
            Some(path) => Some(load_settings(path)?),
            None => None,
        };
        let auth = resolve_auth(&a.credentials, settings.as_ref().map(|s| &s.mysql))?;
        let node = a
            .node
            .clone()
            .filter(|n| !n.is_empty())
            .unwrap_or_else(|| endpoint.to_string());
        return Ok(Target {
            node,
            endpoint,
            auth,
            settings,
        });
    }
    let path = config_path(&a.common);
    let settings = load_settings(&path)?;
    // An empty --node (a Zabbix key without its parameter) means "this host".
    let explicit = a.node.as_deref().filter(|n| !n.is_empty());
    let node = settings
        .resolve_local_node(explicit, &HostIdentity::current())
        .map_err(|e| e.to_string())?
        .ok_or_else(|| {
            format!(
                "cannot tell which controller of {} is this host; pass --node NAME or set quorate.node",
                path.display()
            )
        })?
        .clone();
    if !node.mariadb {
        return Err(format!(
            "controller {} does not run MariaDB (services.mariadb is not true in {})",
            node.name,
            path.display()
        ));
    }
    let auth = resolve_auth(&a.credentials, Some(&settings.mysql))?;
    Ok(Target {
        node: node.name.clone(),
        endpoint: node.mysql.clone(),
        auth,
        settings: Some(settings),
    })
}

fn galera_policy(a: &CheckGaleraArgs, configured_nodes: Option<u32>) -> GaleraPolicy {
    let cluster_size = size_thresholds(&a.size, configured_nodes);
    GaleraPolicy {
        non_primary: a.non_primary,
        not_ready: a.not_ready,
        not_connected: a.not_connected,
        joining: a.joining,
        initialized: a.initialized,
        donor: a.donor.donor,
        allow_desync: a.donor.allow_desync,
        read_only: a.read_only,
        cluster_size,
        recv_queue: Thresholds::new(a.recv_queue_warning.clone(), a.recv_queue_critical.clone()),
        send_queue: Thresholds::new(a.send_queue_warning.clone(), a.send_queue_critical.clone()),
        flow_control: Thresholds::new(Some(a.fc_warning.clone()), Some(a.fc_critical.clone())),
    }
}

fn unix_ms(t: SystemTime) -> u64 {
    t.duration_since(UNIX_EPOCH)
        .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
}

pub(super) fn run(a: CheckGaleraArgs) -> i32 {
    let (started, out, budget) = match begin(&a.common, galera::SERVICE) {
        Ok(b) => b,
        Err(code) => return code,
    };

    let target = match resolve_target(&a) {
        Ok(t) => t,
        Err(e) => return emit(&CheckResult::new(galera::SERVICE, Status::Unknown, e), &out),
    };
    let galera_nodes: Vec<&str> = target
        .settings
        .as_ref()
        .map(|s| s.galera_nodes().map(|n| n.name.as_str()).collect())
        .unwrap_or_default();
    let (now, maintenance) = maintenance_of(target.settings.as_ref(), &galera_nodes);
    // Nodes in maintenance are not expected in the cluster (unless -w/-c/--expected-size).
    let in_maintenance = maintenance.iter().filter(|m| m.is_active()).count();
    let configured_nodes =
        Some(galera_nodes.len().saturating_sub(in_maintenance) as u32).filter(|n| *n > 0);
    let own_maintenance = galera_nodes
        .iter()
        .position(|n| *n == target.node)
        .and_then(|i| maintenance.get(i).cloned())
        .unwrap_or(quorate::maintenance::Maintenance::Off);
    let policy = galera_policy(&a, configured_nodes);
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return emit(&CheckResult::new(galera::SERVICE, Status::Unknown, e), &out),
    };
    let client = NodeClient::single_use(&target.node, &target.endpoint, &target.auth);
    let deadline = budget.saturating_sub(started.elapsed());
    let (collected, read_at) = rt.block_on(async {
        let result = client.clone().collect(deadline).await;
        let read_at = SystemTime::now();
        if result.is_ok() {
            // Close the connection politely (no "Aborted connection" in the server log), but
            // never wait long for it; after a failure there is nothing worth waiting for.
            let left = budget.saturating_sub(started.elapsed());
            let _ = tokio::time::timeout(left.min(Duration::from_millis(200)), client.disconnect())
                .await;
        }
        (result, read_at)
    });

    let result = match &collected {
        Ok(reading) => {
            let state_dir = state::state_dir(
                a.state_dir.as_deref(),
                |k| std::env::var(k).ok(),
                target
                    .settings
                    .as_ref()
                    .and_then(|s| s.check.state_dir.as_deref()),
            );
            let flow = flow_observation(
                &state::flow_state_path(&state_dir, &target.node),
                reading,
                read_at,
            );
            galera::judge(&target.node, reading, &flow, &policy)
        }
        Err(e) => galera::judge_error(&target.node, e, a.common.timeout.state, &policy),
    };
    let mut result = quorate::check::maintenance::overlay(
        result,
        &target.node,
        &own_maintenance,
        now,
        maintenance_state(a.maintenance, target.settings.as_ref()),
        collected.as_ref().ok().and_then(|r| r.variables.desync()),
    );
    let elapsed = started.elapsed();
    push_time(&mut result, elapsed);
    result.verbose_details.push(format!(
        "node {} at {} as {}, {:.1} ms",
        target.node,
        target.endpoint,
        target.auth.user,
        elapsed.as_secs_f64() * 1000.0
    ));
    emit(&result, &out)
}

/// Reads the previous flow-control sample, saves this one, and compares them.
fn flow_observation(
    path: &Path,
    reading: &quorate::galera::GaleraReading,
    read_at: SystemTime,
) -> FlowObservation {
    let Some(paused_ns) = reading.status.flow_control_paused_ns() else {
        return FlowObservation::Unavailable(
            "the server does not report wsrep_flow_control_paused_ns".into(),
        );
    };
    let current = FlowSample {
        paused_ns,
        at_unix_ms: unix_ms(read_at),
        gcomm_uuid: reading.status.gcomm_uuid(),
    };
    let previous = state::load(path);
    let saved = state::save(path, &current);
    match (previous, saved) {
        (_, Err(e)) => FlowObservation::Unavailable(format!(
            "{e} (set --state-dir, $QUORATE_STATE_DIR or quorate.check.state_dir to a writable directory)"
        )),
        (Err(e), Ok(())) => FlowObservation::Unavailable(e.to_string()),
        (Ok(previous), Ok(())) => flow::observe(previous.as_ref(), &current),
    }
}
