//! The Galera source: everything quorate learns about one MariaDB Galera node.
//!
//! - [`parse`] is pure: `SHOW GLOBAL STATUS` / `SHOW GLOBAL VARIABLES` rows, grastate.dat,
//!   gvwstate.dat, provider options and `--wsrep-recover` logs become typed readings.
//! - [`client`] is the I/O around it: one persistent mysql_async pool per node, the
//!   monitoring queries, and reading grastate.dat from a datadir.
//!
//! [`GaleraReading`] is the contract between the two: metrics, checks and recovery all judge
//! the same reading, so a fact is parsed once and judged consistently everywhere.

pub mod client;
pub mod parse;
#[cfg(test)]
pub(crate) mod test_support;

use parse::{WsrepStatus, WsrepVariables};

/// What one successful collection from a live node returned.
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
