//! Gathering: the local node's report from its files, its process table and its server; the
//! peers' reports from their `/galera/state`. A peer that does not answer, answers for another
//! node or another cluster, or answers garbage is [`Observed::Unknown`] with the reason: never
//! silently absent.

use std::path::Path;

use hyper::{Method, StatusCode};

use super::decide::{ClusterView, NodeView, Observed};
use super::report::{FileState, Live, LiveStatus, NodeReport, SavedState, SavedView};
use super::{peer, position, sys, unix_now};
use crate::config::{Node, Settings};
use crate::galera::client::NodeClient;
use crate::galera::parse::{parse_grastate, parse_gvwstate};
use crate::maintenance;

/// The report of the local node `node`. `client` reaches its server (the serve process passes
/// its pooled one; the CLI builds one).
pub async fn local_report(settings: &Settings, node: &Node, client: &NodeClient) -> NodeReport {
    let nr = settings.recovery.node(&node.name);
    let datadir = node.datadir.clone();
    let pid_file = nr.and_then(|r| r.pid_file.clone());
    let lock_file = nr.map(|r| r.lock_file.clone());
    let files = {
        let settings = settings.clone();
        let name = node.name.clone();
        tokio::task::spawn_blocking(move || {
            read_files(
                &settings,
                &name,
                datadir.as_deref(),
                pid_file.as_deref(),
                lock_file.as_deref(),
            )
        })
    };
    let live = client.collect(settings.galera_timeout).await;
    let mut report = match files.await {
        Ok(r) => r,
        Err(e) => {
            // Only a panic in the blocking task gets here; report it rather than guess.
            let mut r = empty_report(settings, &node.name);
            r.grastate = FileState::Unreadable {
                error: format!("gathering failed: {e}"),
            };
            r
        }
    };
    report.live = match live {
        Ok(reading) => {
            let st = &reading.status;
            report.mysqld.running = true;
            Some(Live::Answered(LiveStatus {
                cluster_status: st
                    .get("wsrep_cluster_status")
                    .unwrap_or("unknown")
                    .to_string(),
                local_state: st.get("wsrep_local_state").and_then(|v| v.parse().ok()),
                local_state_comment: st.local_state_comment().map(str::to_string),
                cluster_size: st.cluster_size(),
                cluster_state_uuid: st.cluster_state_uuid(),
                last_committed: st.last_committed(),
                ready: st.ready(),
            }))
        }
        Err(e) if report.mysqld.running => Some(Live::NoAnswer {
            error: e.to_string(),
        }),
        Err(_) => None,
    };
    report
}

fn empty_report(settings: &Settings, node: &str) -> NodeReport {
    NodeReport {
        node: node.to_string(),
        cluster: settings.cluster_name.clone(),
        gathered_at: unix_now(),
        mysqld: super::report::Mysqld {
            running: false,
            pid: None,
            frozen: false,
            how: String::new(),
        },
        grastate: FileState::Unknown,
        gvwstate: FileState::Unknown,
        live: None,
        recovered: None,
        sst_in_progress: false,
        action_in_progress: None,
        maintenance: None,
        apart: None,
    }
}

fn read_files(
    settings: &Settings,
    node: &str,
    datadir: Option<&Path>,
    pid_file: Option<&Path>,
    lock_file: Option<&Path>,
) -> NodeReport {
    let mut r = empty_report(settings, node);
    r.action_in_progress = lock_file.and_then(sys::action_in_progress);
    r.maintenance = maintenance_of(settings, node);
    r.apart = super::apart::load(settings, node);
    let Some(datadir) = datadir else {
        r.mysqld.how = "no datadir configured: cannot tell whether mysqld runs from files".into();
        if let Some(pf) = pid_file {
            r.mysqld = sys::find_mysqld(Path::new("/nonexistent-datadir"), Some(pf));
        }
        return r;
    };
    r.mysqld = sys::find_mysqld(datadir, pid_file);
    r.grastate = match read_state_file(&datadir.join("grastate.dat")) {
        Err(e) if e.is_not_found() => FileState::Absent,
        Err(e) => FileState::Unreadable {
            error: e.to_string(),
        },
        Ok(bytes) => match parse_grastate(&String::from_utf8_lossy(&bytes)) {
            Ok(g) => FileState::Read {
                value: SavedState {
                    uuid: g.uuid,
                    seqno: g.seqno,
                    safe_to_bootstrap: g.safe_to_bootstrap,
                    safe_to_bootstrap_present: g.safe_to_bootstrap_present,
                    fingerprint: position::fingerprint(datadir).unwrap_or_default(),
                },
            },
            Err(e) => FileState::Unreadable {
                error: e.to_string(),
            },
        },
    };
    r.gvwstate = match read_state_file(&datadir.join("gvwstate.dat")) {
        Err(e) if e.is_not_found() => FileState::Absent,
        Err(e) => FileState::Unreadable {
            error: e.to_string(),
        },
        Ok(bytes) => match parse_gvwstate(&String::from_utf8_lossy(&bytes)) {
            Ok(v) => FileState::Read {
                value: SavedView {
                    my_uuid: v.my_uuid,
                    view_seq: v.view_id.as_ref().map(|id| id.seq),
                    members: v.members.len(),
                    view_uuid: v.view_id.as_ref().map(|id| id.uuid.clone()),
                    primary: v.view_id.as_ref().map(|id| id.is_primary()),
                    member_uuids: v.members.iter().map(|(u, _)| u.clone()).collect(),
                },
            },
            Err(e) => FileState::Unreadable {
                error: e.to_string(),
            },
        },
    };
    r.sst_in_progress = datadir.join("sst_in_progress").exists();
    r.recovered = position::load_cached(settings, node, Some(datadir));
    r
}

/// The node's maintenance from this host's maintenance file, in words; `None` when it has
/// none (or no maintenance file is configured).
fn maintenance_of(settings: &Settings, node: &str) -> Option<String> {
    let file = settings.health.maintenance_file.as_deref()?;
    let now = unix_now() as i64;
    let state = maintenance::judge(&maintenance::store::read(file), node, now);
    (state != maintenance::Maintenance::Off).then(|| state.describe(now))
}

/// A Galera state file, size-capped and refusing a FIFO or device (see [`crate::bounded`]).
fn read_state_file(path: &Path) -> Result<Vec<u8>, crate::bounded::ReadError> {
    crate::bounded::read(path, crate::bounded::SMALL_FILE_CAP)
}

/// Asks a peer's `/galera/state`.
pub async fn peer_report(settings: &Settings, node: &str) -> Observed {
    let unknown = |reason: String| Observed::Unknown { reason };
    let timeout = settings.recovery.peer_timeout;
    let asked = peer::ask(
        &settings.recovery,
        node,
        Method::GET,
        "/galera/state",
        None,
        timeout,
    );
    let (endpoint, body) = match asked.await {
        Ok(a) if a.answer.status == StatusCode::OK => (a.endpoint, a.answer.body),
        Ok(a) => return unknown(a.unexpected()),
        Err(e) => return unknown(e),
    };
    match serde_json::from_str::<NodeReport>(&body) {
        Ok(r) if r.node != node => unknown(format!(
            "{endpoint} answers for node {:?}, not {node:?} (check its --node / quorate.node)",
            r.node
        )),
        Ok(r) if r.cluster != settings.cluster_name => unknown(format!(
            "{endpoint} belongs to cluster {:?}, not {:?}",
            r.cluster, settings.cluster_name
        )),
        Ok(r) => Observed::Known(Box::new(r)),
        Err(e) => unknown(format!("{endpoint}/galera/state: unreadable answer: {e}")),
    }
}

/// Every MariaDB node, in configuration order: `local` from its files, the others from their
/// endpoints, concurrently.
pub async fn gather(settings: &Settings, local: Option<&str>) -> ClusterView {
    let futures = settings.galera_nodes().map(|node| async move {
        let observed = if Some(node.name.as_str()) == local {
            let client = NodeClient::new(&node.name, &node.mysql, &settings.mysql);
            let report = local_report(settings, node, &client).await;
            client.disconnect().await;
            Observed::Known(Box::new(report))
        } else {
            peer_report(settings, &node.name).await
        };
        NodeView {
            name: node.name.clone(),
            observed,
        }
    });
    ClusterView {
        nodes: futures::future::join_all(futures).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_files_that_are_fifos_or_huge_are_unreadable_not_a_hang() {
        let settings = crate::config::parse(
            Path::new("/etc/quorate/q.yaml"),
            "cluster: {name: c}\nnodes:\n  controllers:\n    - {hostname: a, ip_address: 10.0.0.1}\n",
            &Default::default(),
            &mut Vec::new(),
        )
        .expect("valid");
        let dir = tempfile::tempdir().expect("tempdir");
        let fifo = dir.path().join("grastate.dat");
        crate::bounded::test_files::fifo(&fifo);
        crate::bounded::test_files::sparse(&dir.path().join("gvwstate.dat"), 2 << 30);
        let datadir = dir.path().to_path_buf();
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let _ = tx.send(read_files(&settings, "a", Some(&datadir), None, None));
        });
        let r = rx
            .recv_timeout(std::time::Duration::from_secs(3))
            .expect("read_files returned");
        let FileState::Unreadable { error } = &r.grastate else {
            panic!("grastate: {:?}", r.grastate);
        };
        assert!(
            error.contains("grastate.dat") && error.contains("FIFO"),
            "{error}"
        );
        let FileState::Unreadable { error } = &r.gvwstate else {
            panic!("gvwstate: {:?}", r.gvwstate);
        };
        assert!(
            error.contains("gvwstate.dat") && error.contains("limit"),
            "{error}"
        );
    }
}
