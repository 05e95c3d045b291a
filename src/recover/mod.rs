//! Cluster recovery: gather every node's state, decide (purely) what is safe, act on one node
//! with re-verification, a lock and an audit line.
//!
//! - [`report`]: [`report::NodeReport`], one node's state as served by `GET /galera/state`.
//! - [`gather`]: builds a report from the local node's files, processes and server, and asks
//!   peers for theirs; a peer that does not answer is *unknown*.
//! - [`decide`]: the pure, total decision ([`decide::decide`]), unit-tested per scenario.
//! - [`apart`]: the records of stopped nodes a plan found apart from the running Primary's
//!   history, kept on their hosts so that the finding outlives its evidence.
//! - [`position`]: `mariadbd --wsrep-recover`, run only on request, cached with its time.
//! - [`act`]: `bootstrap`, `rejoin`, `promote`, `position`: re-gather, re-decide, compare with
//!   the plan, lock, act, wait, audit.
//! - [`transfer`]: reads a joiner's error log to tell IST from SST (pure).
//! - [`sys`]: process and lock probes (/proc, `fcntl(F_GETLK)`, `flock`).
//! - [`peer`]: the HTTP client for peers' `/galera/state` and `/galera/recover-position`.
//! - [`http`]: the recovery endpoints of `quorate serve`.
//! - [`render`]: a decision as text for the operator, with the exact commands.
//!
//! The `quorate.recovery` section is part of the configuration: [`crate::config::recovery`].

pub mod act;
pub mod apart;
pub mod decide;
pub mod gather;
pub mod http;
pub mod peer;
pub mod position;
pub mod render;
pub mod report;
pub mod sys;
pub mod transfer;

use std::path::PathBuf;

/// Why a recovery operation failed. Each variant names the node, file or command.
#[derive(Debug, thiserror::Error)]
pub enum RecoverError {
    #[error("node {node} is not a MariaDB controller in the configuration (known: {known})")]
    UnknownNode { node: String, known: String },
    #[error("cannot tell which node this host is: pass --node or set quorate.node")]
    NoLocalNode,
    #[error("node {node}: no datadir configured (quorate.nodes.{node}.datadir)")]
    NoDatadir { node: String },
    #[error(
        "neither quorate.recovery.token (or token_file) nor client_cert_file is set: peers' /galera/state cannot be asked"
    )]
    NoToken,
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("node {node}: {message}")]
    Refused { node: String, message: String },
    #[error("node {node}: command {command} failed ({status}): {output}")]
    Command {
        node: String,
        command: String,
        status: String,
        output: String,
    },
    #[error("node {node}: {message}")]
    Timeout { node: String, message: String },
    #[error("node {node}: peer {endpoint}: {message}")]
    Peer {
        node: String,
        endpoint: String,
        message: String,
    },
}

impl RecoverError {
    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        RecoverError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Whole seconds since the Unix epoch (0 before it: audit lines, lock files and moved-aside
/// directory names never predate 1970).
pub(crate) fn unix_now() -> u64 {
    let (secs, _) = crate::unix_time::to_pair(std::time::SystemTime::now());
    u64::try_from(secs).unwrap_or(0)
}
