//! A real N-node MariaDB Galera cluster on loopback, for the demo, the integration tests and the
//! benchmarks.
//!
//! This module owns the sandbox directory and every process in it:
//!
//! ```text
//! DIR/                 0755: mariadbd runs as `mysql` and must traverse it
//!   sandbox.json       ports, paths and pids of every node (see state.rs)
//!   quorate.yaml       a configuration for `quorate serve` pointing at the nodes
//!   mysql.password     0600, the monitoring user's password (one line)
//!   n1/                owned by mysql
//!     data/  tmp/  sock  mariadbd.pid  error.log  console.log  install.log
//!   n2/ ...
//! ```
//!
//! Everything is synchronous (std::process): the sandbox is driven by a CLI and by tests, and a
//! node operation is a handful of child processes and polls. The mariadbd processes are detached
//! and outlive the process that started them; sandbox.json lets any later process find them.
//! Processes are only ever signalled by a pid that /proc confirms is a mariadbd on this sandbox's
//! datadir, so other clusters on the same machine are never touched.
//!
//! ```no_run
//! use std::time::Duration;
//! use quorate::sandbox::{self, SandboxGuard, UpOptions, SYNCED};
//!
//! // The guard tears the cluster down even if the test panics.
//! let mut sb = SandboxGuard::new(sandbox::up(&UpOptions::new("/tmp/qsb"))?);
//! sb.stop_node("node3")?;
//! sb.start_node("node3")?;
//! sb.wait_state("node3", SYNCED, Duration::from_secs(30))?;
//! let rows = sb.sql("node1", "SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'")?;
//! assert_eq!(rows[0][1], "3");
//! sb.down()?;
//! # Ok::<(), quorate::sandbox::SandboxError>(())
//! ```
//!
//! The module is split by responsibility: paths and the directory (`layout.rs`), building and tearing down (`lifecycle.rs`), operating one node
//! (`node_ops.rs`), SQL and status (`query.rs`), quorate.yaml and the per-node `quorate serve`
//! (`serve.rs`), the test guard (`guard.rs`); below them the process helpers (`node.rs`), the
//! port reservation (`ports.rs`), sandbox.json (`state.rs`), the generated YAML (`yaml.rs`),
//! network namespaces (`net.rs`), GlusterFS (`gluster.rs`) and backups (`backup.rs`).

mod backup;
mod error;
mod gluster;
mod guard;
mod layout;
mod lifecycle;
mod net;
mod node;
mod node_ops;
mod ports;
mod query;
mod serve;
mod sql;
mod state;
mod yaml;

use std::path::PathBuf;
use std::time::Duration;

pub use backup::{write_metadata, TakenBackup, BACKUP_PACKAGES};
pub use error::{SandboxError, PACKAGES};
pub use gluster::{Gluster, GLUSTER_PACKAGES};
pub use guard::SandboxGuard;
pub use lifecycle::{down_dir, open, up, up_gluster, up_gluster_netns, up_netns};
pub use net::Network;
pub use query::NodeStatus;

use node::Tools;
use state::State;

/// wsrep_local_state of a node that is a full member of the Primary component.
pub const SYNCED: u32 = 4;

/// Name of the monitoring account created by [`up`].
pub const MONITOR_USER: &str = "quorate";

/// The bootstrap node only initialises InnoDB and Galera: seconds.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(60);
/// A joiner does a full rsync SST (~10 s here); generous for a loaded 2-core machine running
/// several sandboxes.
const JOIN_TIMEOUT: Duration = Duration::from_secs(180);
/// After SIGKILL only the kernel has work left.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound for [`Sandbox::sql`].
const SQL_TIMEOUT: Duration = Duration::from_secs(30);

/// What [`up`] builds.
#[derive(Debug, Clone)]
pub struct UpOptions {
    /// The sandbox directory: created if missing, must be empty if present.
    pub dir: PathBuf,
    /// Number of Galera nodes (default 3).
    pub nodes: usize,
}

impl UpOptions {
    /// Three nodes in `dir`.
    pub fn new(dir: impl Into<PathBuf>) -> UpOptions {
        UpOptions {
            dir: dir.into(),
            nodes: 3,
        }
    }
}

/// A running (or partly stopped) sandbox cluster.
///
/// Dropping it leaves the cluster running (that is what `quorate sandbox up` wants); use
/// [`Sandbox::down`], or a [`SandboxGuard`] in tests.
#[derive(Debug)]
pub struct Sandbox {
    /// Canonical sandbox directory (where sandbox.json was found or created).
    dir: PathBuf,
    state: State,
    tools: Tools,
}
