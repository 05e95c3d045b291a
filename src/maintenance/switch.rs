//! `quorate maintenance on|off|status`: the changes, in order, under the file's lock.
//!
//! `on` records the maintenance (and with `desync`, sets `wsrep_desync=ON` first, if it was
//! OFF, noting that it did); `off` sets `wsrep_desync` back OFF only when the record says `on`
//! set it, then removes the record. A record is written only after the server change it
//! describes succeeded, and removed only after the undo succeeded, so the file never claims
//! less than was done: a failed `off` can be run again.
//!
//! At expiry nothing changes on the server (`quorate serve` only reads the file): the node is
//! back in HAProxy's pool and the alerts speak again, but a desync done by `on` stays until
//! `off`; `status`, `check galera` and the `quorate_maintenance_desync` metric say so.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::record::{self, Maintenance, RecordError};
use super::store::{self, Lock, StoreError};
use crate::config::{MysqlAuth, Node, Settings};
use crate::galera::client::NodeClient;

/// The longest maintenance `on` records: an expiry is the point.
pub const MAX_DURATION: Duration = Duration::from_secs(30 * 86_400);

/// Why `on`, `off` or `status` did not do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum MaintenanceError {
    #[error("{}: quorate.health.maintenance_file is not set: set it to the file quorate serve reads (e.g. /var/lib/quorate/maintenance.json)", config.display())]
    NoFile { config: PathBuf },
    #[error("{node} is not a controller in {}", config.display())]
    UnknownNode { node: String, config: PathBuf },
    #[error("{node}: --desync needs a MariaDB controller (services.mariadb is not true)")]
    NotMariadb { node: String },
    #[error("maintenance duration {0:?}: it must be more than 0 and at most 30 days")]
    Duration(Duration),
    #[error("the maintenance file {}: {problem}", path.display())]
    Record { path: PathBuf, problem: RecordError },
    #[error(transparent)]
    Store(#[from] StoreError),
    #[error("{node}: cannot {doing}: {message}")]
    Server {
        node: String,
        doing: &'static str,
        message: String,
    },
}

/// What `on` is asked to do.
#[derive(Debug, Clone)]
pub struct OnOptions {
    pub node: String,
    pub duration: Duration,
    pub reason: Option<String>,
    pub desync: bool,
    /// Who runs it, recorded as `by`.
    pub by: Option<String>,
    /// The account for `wsrep_desync` (the configured one with the command line's overrides).
    pub auth: MysqlAuth,
    /// Budget of each server statement.
    pub timeout: Duration,
}

/// What `off` is asked to do.
#[derive(Debug, Clone)]
pub struct OffOptions {
    pub node: String,
    pub auth: MysqlAuth,
    pub timeout: Duration,
}

/// What was done: the node's state afterwards and one line per change or observation.
#[derive(Debug, Clone)]
pub struct Outcome {
    pub node: String,
    pub file: PathBuf,
    pub state: Maintenance,
    pub done: Vec<String>,
}

/// The maintenance file of `settings`.
pub fn file_of(settings: &Settings) -> Result<&Path, MaintenanceError> {
    settings
        .health
        .maintenance_file
        .as_deref()
        .ok_or_else(|| MaintenanceError::NoFile {
            config: settings.path.clone(),
        })
}

fn node_of<'a>(settings: &'a Settings, name: &str) -> Result<&'a Node, MaintenanceError> {
    settings
        .node(name)
        .ok_or_else(|| MaintenanceError::UnknownNode {
            node: name.to_string(),
            config: settings.path.clone(),
        })
}

/// The records `on` and `off` change (none when there is no file).
fn records(file: &Path) -> Result<record::Document, MaintenanceError> {
    store::read(file)
        .document()
        .map_err(|problem| MaintenanceError::Record {
            path: file.to_path_buf(),
            problem,
        })
}

fn now() -> i64 {
    crate::unix_time::to_pair(SystemTime::now()).0
}

/// Puts `o.node` in maintenance (or extends it).
pub async fn on(settings: &Settings, o: &OnOptions) -> Result<Outcome, MaintenanceError> {
    let file = file_of(settings)?;
    let node = node_of(settings, &o.node)?;
    if o.duration.is_zero() || o.duration > MAX_DURATION {
        return Err(MaintenanceError::Duration(o.duration));
    }
    if o.desync && !node.mariadb {
        return Err(MaintenanceError::NotMariadb {
            node: node.name.clone(),
        });
    }
    let _lock = Lock::acquire(file)?;
    let mut doc = records(file)?;
    let previous = doc.nodes.get(&node.name).cloned();
    let mut done = Vec::new();
    let mut desynced_now = false;
    let client = NodeClient::new(&node.name, &node.mysql, &o.auth);
    if o.desync {
        if previous.as_ref().is_some_and(|p| p.desync) {
            done.push("wsrep_desync: already set ON by an earlier maintenance on".into());
        } else if desync_of(&client, o.timeout).await? {
            done.push(
                "wsrep_desync: already ON, not set by quorate: maintenance off will leave it ON"
                    .into(),
            );
        } else {
            set_desync(&client, true, o.timeout).await?;
            desynced_now = true;
            done.push("set wsrep_desync=ON (maintenance off sets it back OFF)".into());
        }
    }
    let now = now();
    let rec = record::start(
        previous.as_ref(),
        record::clean_reason(o.reason.as_deref()),
        now,
        i64::try_from(o.duration.as_secs()).unwrap_or(i64::MAX),
        desynced_now,
        o.by.clone(),
    );
    doc.nodes.insert(node.name.clone(), rec);
    if let Err(e) = store::write(file, &doc) {
        if desynced_now {
            // Nothing records the desync: take it back rather than leave it unaccounted for.
            if let Err(undo) = set_desync(&client, false, o.timeout).await {
                tracing::error!(node = %node.name, error = %undo, "could not set wsrep_desync back OFF");
            }
        }
        client.disconnect().await;
        return Err(e.into());
    }
    client.disconnect().await;
    done.push(format!("recorded in {}", file.display()));
    Ok(Outcome {
        node: node.name.clone(),
        file: file.to_path_buf(),
        state: record::judge(&store::read(file), &node.name, now),
        done,
    })
}

/// Ends `o.node`'s maintenance, undoing what `on` did.
pub async fn off(settings: &Settings, o: &OffOptions) -> Result<Outcome, MaintenanceError> {
    let file = file_of(settings)?;
    let node = node_of(settings, &o.node)?;
    let _lock = Lock::acquire(file)?;
    let mut doc = records(file)?;
    let mut done = Vec::new();
    let Some(previous) = doc.nodes.remove(&node.name) else {
        done.push("was not in maintenance: nothing to do".into());
        return Ok(Outcome {
            node: node.name.clone(),
            file: file.to_path_buf(),
            state: Maintenance::Off,
            done,
        });
    };
    if previous.desync {
        let client = NodeClient::new(&node.name, &node.mysql, &o.auth);
        let result = set_desync(&client, false, o.timeout).await;
        client.disconnect().await;
        result?;
        done.push("set wsrep_desync=OFF (maintenance on had set it ON)".into());
    }
    store::write(file, &doc)?;
    done.push(format!("removed its record from {}", file.display()));
    Ok(Outcome {
        node: node.name.clone(),
        file: file.to_path_buf(),
        state: Maintenance::Off,
        done,
    })
}

/// The time judged at (Unix seconds) and every controller's maintenance state, or only
/// `node`'s; no lock (a reader).
pub fn status(
    settings: &Settings,
    node: Option<&str>,
) -> Result<(i64, Vec<(String, Maintenance)>), MaintenanceError> {
    let file = file_of(settings)?;
    let contents = store::read(file);
    let now = now();
    let names: Vec<String> = match node {
        Some(n) => vec![node_of(settings, n)?.name.clone()],
        None => settings.nodes.iter().map(|n| n.name.clone()).collect(),
    };
    let states = names
        .into_iter()
        .map(|n| {
            let state = record::judge(&contents, &n, now);
            (n, state)
        })
        .collect();
    Ok((now, states))
}

async fn desync_of(client: &NodeClient, timeout: Duration) -> Result<bool, MaintenanceError> {
    let reading = client
        .collect(timeout)
        .await
        .map_err(|e| MaintenanceError::Server {
            node: client.node().to_string(),
            doing: "read wsrep_desync",
            message: e.to_string(),
        })?;
    Ok(reading.variables.desync() == Some(true))
}

/// Sets `wsrep_desync` and reads it back.
async fn set_desync(
    client: &NodeClient,
    on: bool,
    timeout: Duration,
) -> Result<(), MaintenanceError> {
    let doing = if on {
        "set wsrep_desync=ON"
    } else {
        "set wsrep_desync=OFF"
    };
    let err = |message: String| MaintenanceError::Server {
        node: client.node().to_string(),
        doing,
        message,
    };
    client
        .set_desync(on, timeout)
        .await
        .map_err(|e| err(e.to_string()))?;
    if desync_of(client, timeout).await? != on {
        return Err(err("the server still reports the old value".into()));
    }
    Ok(())
}
