//! The Galera source: everything quorate learns about one MariaDB Galera node.
//!
//! - [`parse`] is pure: `SHOW GLOBAL STATUS` / `SHOW GLOBAL VARIABLES` rows, grastate.dat,
//!   gvwstate.dat, provider options and `--wsrep-recover` logs become typed readings.
//! - [`client`] is the I/O around it: one persistent mysql_async pool per node, the
//!   monitoring queries, and reading grastate.dat from a datadir.
//! - [`collector`] collects one node per scrape (server and grastate.dat concurrently, each
//!   with its own deadline) into a [`GaleraSnapshot`], and shares an in-flight collection
//!   between concurrent scrapes.
//!
//! [`GaleraReading`] is what metrics, checks, the health endpoint and recovery all judge, so a
//! fact is parsed once and judged consistently everywhere. Unlike GlusterFS and backups it
//! needs no derivation step: the server's answer, once parsed, is already the reading.

pub mod client;
pub mod collector;
pub mod parse;
#[cfg(test)]
pub(crate) mod test_support;

use parse::{GraState, WsrepStatus, WsrepVariables};

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use crate::collected::Collected;

/// Everything one scrape collected about one node (the Galera source's raw data).
#[derive(Debug, Clone)]
pub struct GaleraSnapshot {
    pub node: String,
    /// The live server's answer (`mysql_up`).
    pub server: Collected<Result<GaleraReading, CollectError>>,
    /// grastate.dat, when the node's datadir is configured (readable with mysqld down).
    pub grastate: Option<Collected<Result<GraState, CollectError>>>,
    /// When the node's source last collected each successfully (this scrape or an earlier
    /// one): `quorate_collector_last_success_timestamp_seconds`.
    pub last_success: LastSuccess,
}

/// When a node's server answer and its grastate.dat were last collected successfully.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct LastSuccess {
    pub server: Option<SystemTime>,
    pub grastate: Option<SystemTime>,
}

/// One node's status and variables as the live server reported them: what every consumer
/// judges.
#[derive(Debug, Clone)]
pub struct GaleraReading {
    /// `SHOW GLOBAL STATUS LIKE 'wsrep%'`.
    pub status: WsrepStatus,
    /// The wsrep variables quorate reads, and `read_only`.
    pub variables: WsrepVariables,
}

/// The global variables queried from every node. Only these: `SHOW GLOBAL VARIABLES LIKE
/// 'wsrep%'` would also return `wsrep_sst_auth`, which may hold a password.
pub const VARIABLES: &[&str] = &[
    "read_only",
    "wsrep_cluster_address",
    "wsrep_cluster_name",
    "wsrep_desync",
    "wsrep_node_name",
    "wsrep_on",
    "wsrep_provider_options",
    "wsrep_reject_queries",
    "wsrep_slave_threads",
    "wsrep_sst_donor_rejects_queries",
    "wsrep_sst_method",
];

/// Why a collection from one node failed. Every variant names the node.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CollectError {
    #[error("node {node} ({endpoint}): no answer within {timeout:?}")]
    Timeout {
        node: String,
        endpoint: String,
        timeout: Duration,
    },
    /// The server answered with an error (bad credentials, missing privilege, ...).
    #[error("node {node} ({endpoint}): server error {code}: {message}")]
    Server {
        node: String,
        endpoint: String,
        code: u16,
        message: String,
    },
    /// Refused, reset, unreachable, protocol trouble.
    #[error("node {node} ({endpoint}): {message}")]
    Connection {
        node: String,
        endpoint: String,
        message: String,
    },
    #[error("node {node}: cannot read {path}: {message}")]
    File {
        node: String,
        path: PathBuf,
        message: String,
    },
    #[error("node {node}: {path}: {message}")]
    Parse {
        node: String,
        path: PathBuf,
        message: String,
    },
}
