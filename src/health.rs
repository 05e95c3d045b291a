//! The HAProxy health endpoint of `quorate serve`: `GET /health/galera`.
//!
//! Answers 200 when the local node can take traffic, 503 with the reason otherwise, in the
//! convention of Percona's clustercheck that HAProxy `option httpchk` setups expect. The node
//! is fit when all of these hold:
//!
//! - the node is not in maintenance (`quorate.health.maintenance_file`, judged by
//!   [`crate::maintenance::judge`]: an unexpired record for it, or a file that is not a record);
//! - the node answered within `quorate.health.timeout`;
//! - it is in the Primary component, `wsrep_ready` is ON and `wsrep_reject_queries` is NONE;
//! - it is Synced, or Donor/Desynced with `allow_donor` (and not rejecting queries as an SST
//!   donor, `wsrep_sst_donor_rejects_queries`);
//! - `read_only` is OFF, or `allow_read_only` is set.
//!
//! [`judge`] is the pure decision; [`galera_health`] is the axum handler around it. Every
//! answer has a Content-Length and `Connection: close`, and comes within the timeout even
//! when mysqld hangs (the collection is bounded by the same deadline as a scrape).

use std::path::Path;
use std::sync::Arc;
use std::time::SystemTime;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use crate::config::HealthSettings;
use crate::galera::collector::{LocalNode, LocalSource};
use crate::galera::parse::{ClusterStatus, LocalState};
use crate::galera::CollectError;
use crate::galera::GaleraReading;
use crate::maintenance::{self, Maintenance};

/// The decision: fit for traffic or not, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthVerdict {
    pub healthy: bool,
    pub reason: String,
}

impl HealthVerdict {
    fn up(reason: impl Into<String>) -> HealthVerdict {
        HealthVerdict {
            healthy: true,
            reason: reason.into(),
        }
    }
    fn down(reason: impl Into<String>) -> HealthVerdict {
        HealthVerdict {
            healthy: false,
            reason: reason.into(),
        }
    }

    /// 200 or 503.
    pub fn status_code(&self) -> StatusCode {
        if self.healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        }
    }
}

/// The verdict while the node is in maintenance: out of the pool, whatever the node says.
pub fn in_maintenance(node: &str, state: &Maintenance, file: &Path, now: i64) -> HealthVerdict {
    HealthVerdict::down(format!(
        "{node}: {} ({})",
        state.describe(now),
        file.display()
    ))
}

/// Decides whether `node` may take traffic, from its reading.
pub fn judge(
    node: &str,
    reading: &Result<GaleraReading, CollectError>,
    settings: &HealthSettings,
) -> HealthVerdict {
    let reading = match reading {
        Ok(r) => r,
        Err(e) => return HealthVerdict::down(format!("{node}: cannot read the node: {e}")),
    };
    let status = &reading.status;
    match status.cluster_status() {
        Some(ClusterStatus::Primary) => {}
        Some(other) => {
            return HealthVerdict::down(format!("{node}: {} (not Primary)", other.as_str()))
        }
        None => return HealthVerdict::down(format!("{node}: no wsrep_cluster_status")),
    }
    if status.ready() != Some(true) {
        return HealthVerdict::down(format!("{node}: wsrep_ready is not ON"));
    }
    if let Some(reject) = reading.variables.reject_queries() {
        if !reject.eq_ignore_ascii_case("none") {
            return HealthVerdict::down(format!("{node}: wsrep_reject_queries={reject}"));
        }
    }
    let comment = status
        .local_state_comment()
        .unwrap_or("unknown state")
        .to_string();
    match status.local_state() {
        Some(LocalState::Synced) => {}
        Some(LocalState::DonorDesynced) if settings.allow_donor => {
            if reading.variables.sst_donor_rejects_queries() == Some(true)
                && reading.variables.desync() != Some(true)
            {
                return HealthVerdict::down(format!(
                    "{node}: {comment} and wsrep_sst_donor_rejects_queries is ON"
                ));
            }
        }
        Some(LocalState::DonorDesynced) => {
            return HealthVerdict::down(format!("{node}: {comment} (donors not allowed)"))
        }
        _ => return HealthVerdict::down(format!("{node}: {comment}")),
    }
    if reading.variables.read_only() == Some(true) && !settings.allow_read_only {
        return HealthVerdict::down(format!("{node}: read_only is ON"));
    }
    HealthVerdict::up(format!("{node}: {comment}, Primary"))
}

/// `GET /health/galera`.
pub async fn galera_health<S: LocalSource>(State(state): State<Arc<S>>) -> Response {
    let LocalNode {
        settings,
        node,
        source,
    } = match state.local_source() {
        Ok(local) => local,
        Err(why) => return answer(&HealthVerdict::down(why)),
    };
    let health = &settings.health;
    let now = crate::unix_time::to_pair(SystemTime::now()).0;
    let maintenance = match &health.maintenance_file {
        Some(file) => maintenance::store::read_within(file, health.timeout)
            .await
            .map(|contents| Some((maintenance::judge(&contents, &node, now), file.as_path()))),
        None => Ok(None),
    };
    let verdict = match maintenance {
        Ok(Some((state, file))) if state.is_active() => in_maintenance(&node, &state, file, now),
        Ok(_) => {
            let snapshot = source.snapshot(health.timeout).await;
            judge(&node, &snapshot.server.value, health)
        }
        // Cannot tell (a hung or unreadable file system): not fit for traffic.
        Err(why) => {
            HealthVerdict::down(format!("{node}: cannot check the maintenance file: {why}"))
        }
    };
    answer(&verdict)
}

fn answer(verdict: &HealthVerdict) -> Response {
    if !verdict.healthy {
        tracing::debug!(reason = %verdict.reason, "health check: 503");
    }
    (
        verdict.status_code(),
        [
            (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
            (header::CONNECTION, "close"),
        ],
        format!("{}\n", verdict.reason),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::galera::test_support::{self, wsrep_fixture};
    use std::time::Duration;

    fn reading(status: &str, variables: &str) -> Result<GaleraReading, CollectError> {
        Ok(test_support::reading(status, variables))
    }

    const SYNCED_VARS: &str = wsrep_fixture!("variables/synced.tsv");

    #[test]
    fn each_captured_state() {
        let s = HealthSettings::default();
        let cases: &[(&str, &str, &str, bool)] = &[
            (
                "synced",
                wsrep_fixture!("status/synced.tsv"),
                SYNCED_VARS,
                true,
            ),
            (
                "donor-sst",
                wsrep_fixture!("status/donor-sst.tsv"),
                SYNCED_VARS,
                false,
            ),
            (
                "donor-desync",
                wsrep_fixture!("status/donor-desync.tsv"),
                wsrep_fixture!("variables/desync-on.tsv"),
                false,
            ),
            (
                "joining",
                wsrep_fixture!("status/joining.tsv"),
                SYNCED_VARS,
                false,
            ),
            (
                "joined",
                wsrep_fixture!("status/joined.tsv"),
                SYNCED_VARS,
                false,
            ),
            (
                "non-primary",
                wsrep_fixture!("status/non-primary.tsv"),
                wsrep_fixture!("variables/non-primary.tsv"),
                false,
            ),
            (
                "disconnected",
                wsrep_fixture!("status/disconnected.tsv"),
                SYNCED_VARS,
                false,
            ),
        ];
        for (name, status, vars, healthy) in cases {
            let v = judge("node1", &reading(status, vars), &s);
            assert_eq!(v.healthy, *healthy, "{name}: {}", v.reason);
            assert_eq!(
                v.status_code(),
                if *healthy {
                    StatusCode::OK
                } else {
                    StatusCode::SERVICE_UNAVAILABLE
                }
            );
        }
    }

    #[test]
    fn donor_read_only_and_maintenance_options() {
        let donor = reading(
            wsrep_fixture!("status/donor-desync.tsv"),
            wsrep_fixture!("variables/desync-on.tsv"),
        );
        let sst = reading(wsrep_fixture!("status/donor-sst.tsv"), SYNCED_VARS);
        let allow = HealthSettings {
            allow_donor: true,
            ..HealthSettings::default()
        };
        assert!(judge("n", &donor, &allow).healthy);
        assert!(judge("n", &sst, &allow).healthy);
        // An SST donor that rejects queries is never fit, even when donors are allowed.
        let rejecting = reading(
            wsrep_fixture!("status/donor-sst.tsv"),
            &SYNCED_VARS.replace(
                "wsrep_sst_donor_rejects_queries\tOFF",
                "wsrep_sst_donor_rejects_queries\tON",
            ),
        );
        let v = judge("n", &rejecting, &allow);
        assert!(!v.healthy && v.reason.contains("rejects"), "{}", v.reason);

        let ro = reading(
            wsrep_fixture!("status/synced.tsv"),
            &SYNCED_VARS.replace("read_only\tOFF", "read_only\tON"),
        );
        let v = judge("n", &ro, &HealthSettings::default());
        assert!(!v.healthy && v.reason.contains("read_only"), "{}", v.reason);
        let allow_ro = HealthSettings {
            allow_read_only: true,
            ..HealthSettings::default()
        };
        assert!(judge("n", &ro, &allow_ro).healthy);

        let marker = maintenance::judge(&maintenance::Contents::Marker, "n", 0);
        let v = in_maintenance("n", &marker, Path::new("/etc/quorate/maintenance"), 0);
        assert!(
            !v.healthy && v.reason.contains("maintenance"),
            "{}",
            v.reason
        );

        let rejecting_all = reading(
            wsrep_fixture!("status/synced.tsv"),
            &SYNCED_VARS.replace("wsrep_reject_queries\tNONE", "wsrep_reject_queries\tALL"),
        );
        assert!(!judge("n", &rejecting_all, &HealthSettings::default()).healthy);
    }

    #[test]
    fn errors_are_503_with_the_reason() {
        let err: Result<GaleraReading, CollectError> = Err(CollectError::Timeout {
            node: "n".into(),
            endpoint: "127.0.0.1:3306".into(),
            timeout: Duration::from_secs(2),
        });
        let v = judge("n", &err, &HealthSettings::default());
        assert!(!v.healthy);
        assert!(v.reason.contains("no answer within"), "{}", v.reason);
    }
}
