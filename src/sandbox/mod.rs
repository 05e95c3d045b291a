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

mod backup;
mod error;
mod gluster;
mod net;
mod node;
mod ports;
mod sql;
mod state;
mod yaml;

use std::fmt;
use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

pub use backup::{write_metadata, TakenBackup, BACKUP_PACKAGES};
pub use error::{SandboxError, PACKAGES};
pub use gluster::{Gluster, GLUSTER_PACKAGES};
pub use net::Network;

use node::Tools;
use state::{NodeState, State, STATE_FILE};

/// wsrep_local_state of a node that is a full member of the Primary component.
pub const SYNCED: u32 = 4;

/// Name of the monitoring account created by [`up`].
pub const MONITOR_USER: &str = "quorate";

/// The bootstrap node only initialises InnoDB and Galera: seconds.
const BOOTSTRAP_TIMEOUT: Duration = Duration::from_secs(60);
/// A joiner does a full rsync SST (~10 s here); generous for a loaded 2-core machine running
/// several sandboxes.
const JOIN_TIMEOUT: Duration = Duration::from_secs(180);
/// mariadb-install-db takes under a second.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);
/// A clean Galera shutdown (leave the group, flush InnoDB) takes a few seconds.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// After SIGKILL only the kernel has work left.
const KILL_TIMEOUT: Duration = Duration::from_secs(10);
/// Default bound for [`Sandbox::sql`].
const SQL_TIMEOUT: Duration = Duration::from_secs(30);
/// `quorate serve` binds its port at once; generous for a loaded machine.
const SERVE_START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound per node for [`Sandbox::status`]: a frozen node must not hang it.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);
/// How often `up` tries with fresh ports after a port collision.
const UP_ATTEMPTS: u32 = 3;
/// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

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

/// One line of [`Sandbox::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub name: String,
    /// The verified mariadbd pid, if it runs.
    pub pid: Option<u32>,
    pub alive: bool,
    pub mysql_port: u16,
    /// wsrep_local_state, when the node answered.
    pub local_state: Option<u32>,
    /// wsrep_local_state_comment (`Synced`, `Donor/Desynced`, ...), when the node answered.
    pub state_comment: Option<String>,
    /// wsrep_cluster_status (`Primary`, `non-Primary`, ...), when the node answered.
    pub cluster_status: Option<String>,
    /// wsrep_cluster_size, when the node answered.
    pub cluster_size: Option<u32>,
    /// Why the node did not answer, if it runs but could not be queried.
    pub error: Option<String>,
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        write!(
            f,
            "{:<8} pid {:<8} port {:<6} ",
            self.name, pid, self.mysql_port
        )?;
        if !self.alive {
            return write!(f, "stopped");
        }
        match (&self.state_comment, &self.error) {
            (Some(comment), _) => write!(
                f,
                "{} {} size {}",
                comment,
                self.cluster_status.as_deref().unwrap_or("?"),
                self.cluster_size
                    .map_or_else(|| "?".to_owned(), |s| s.to_string())
            ),
            (None, Some(err)) => write!(f, "running, not answering: {err}"),
            (None, None) => write!(f, "running"),
        }
    }
}

/// Builds and starts a sandbox cluster in `opts.dir`.
///
/// On failure every process started so far is stopped and the directory is removed; the error
/// quotes the failing node's error log first.
pub fn up(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_on(opts, false)
}

/// Like [`up`], but every node runs in a network namespace of its own, joined by a bridge that
/// [`Sandbox::network`] can cut into segments (a real partition, see net.rs). SQL still reaches
/// each node through its unix socket.
pub fn up_netns(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_on(opts, true)
}

fn up_on(opts: &UpOptions, netns: bool) -> Result<Sandbox, SandboxError> {
    if opts.nodes == 0 {
        return Err(SandboxError::BadNodeCount { nodes: opts.nodes });
    }
    let tools = Tools::locate()?;
    let (uid, gid) = node::mysql_ids()?;
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        match up_once(opts, &tools, uid, gid, netns) {
            Ok(sandbox) => {
                tracing::info!(
                    dir = %sandbox.dir.display(),
                    nodes = opts.nodes,
                    elapsed = ?started.elapsed(),
                    "sandbox up"
                );
                return Ok(sandbox);
            }
            // Another process took a port between our reservation and mariadbd's bind (see
            // ports.rs): everything was torn down, so simply try again with fresh ports.
            Err(e) if e.is_port_collision() && attempt < UP_ATTEMPTS => {
                tracing::warn!("sandbox up: port collision, retrying with new ports: {e}");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One attempt of [`up`]: on failure, everything it started is stopped and DIR removed.
fn up_once(
    opts: &UpOptions,
    tools: &Tools,
    uid: u32,
    gid: u32,
    netns: bool,
) -> Result<Sandbox, SandboxError> {
    let prefix = if netns {
        Some(gluster::namespace_name()?)
    } else {
        None
    };
    let dir = prepare_dir(&opts.dir, opts.nodes)?;
    // From here on DIR is ours (new or empty): any failure removes it.
    let reservation = match ports::Reservation::new(5 * opts.nodes + 1) {
        Ok(r) => r,
        Err(e) => {
            remove_dir(&dir);
            return Err(e);
        }
    };
    let mut state = State::new(&dir, opts.nodes, reservation.ports());
    state.network = prefix
        .map(|p| net::NetworkState::new(p, state.nodes.iter().map(|n| n.name.clone()).collect()));
    let mut sandbox = Sandbox {
        state,
        dir,
        tools: tools.clone(),
    };
    match sandbox.build(reservation, uid, gid) {
        Ok(()) => Ok(sandbox),
        Err(err) => {
            if let Err(e) = teardown(&sandbox.state, &sandbox.dir) {
                tracing::warn!("cleaning up after a failed sandbox up: {e}");
            }
            Err(err)
        }
    }
}

/// Builds a sandbox with a real GlusterFS replica-3 volume (two peered glusterds, each in a
/// network namespace of its own, see `gluster.rs`) and `opts.nodes` Galera nodes; `nodes: 0`
/// builds the GlusterFS part only. The generated quorate.yaml points at both.
///
/// On failure everything started so far is stopped and the directory is removed.
pub fn up_gluster(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_gluster_on(opts, false)
}

/// [`up_gluster`] with the Galera nodes in network namespaces of their own, as [`up_netns`]
/// (the GlusterFS servers have their own namespaces and addresses either way).
pub fn up_gluster_netns(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_gluster_on(opts, true)
}

fn up_gluster_on(opts: &UpOptions, netns: bool) -> Result<Sandbox, SandboxError> {
    gluster::check_installed()?;
    let mut sandbox = if opts.nodes > 0 {
        up_on(opts, netns)?
    } else {
        let dir = prepare_dir(&opts.dir, 0)?;
        let reservation = match ports::Reservation::new(1) {
            Ok(r) => r,
            Err(e) => {
                remove_dir(&dir);
                return Err(e);
            }
        };
        let state = State::new(&dir, 0, reservation.ports());
        let tools = match Tools::locate() {
            Ok(t) => t,
            // Galera tools are only needed by Galera nodes; a GlusterFS-only sandbox works
            // without them (node operations then fail naming the packages).
            Err(_) => Tools::absent(),
        };
        Sandbox { dir, state, tools }
    };
    match sandbox.add_gluster() {
        Ok(()) => Ok(sandbox),
        Err(err) => {
            if let Err(e) = teardown(&sandbox.state, &sandbox.dir) {
                tracing::warn!("cleaning up after a failed sandbox up: {e}");
            }
            Err(err)
        }
    }
}

/// Loads the sandbox in `dir` (written by [`up`], possibly in another process).
pub fn open(dir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
    let canonical = resolve(dir.as_ref())?;
    let state = State::load(&canonical)?;
    let tools = if state.nodes.is_empty() {
        Tools::locate().unwrap_or_else(|_| Tools::absent())
    } else {
        Tools::locate()?
    };
    Ok(Sandbox {
        dir: canonical,
        state,
        tools,
    })
}

/// Stops every node of the sandbox in `dir` and removes the directory (`quorate sandbox down`).
/// Refuses a directory without sandbox.json, so it never deletes anything else.
pub fn down_dir(dir: impl AsRef<Path>) -> Result<(), SandboxError> {
    let canonical = resolve(dir.as_ref())?;
    // Deliberately without Tools::locate: tearing down needs only /proc and signals.
    let state = State::load(&canonical)?;
    teardown(&state, &canonical)
}

impl Sandbox {
    /// The sandbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/quorate.yaml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("quorate.yaml")
    }

    /// `DIR/mysql.password`: the monitoring user's password.
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("mysql.password")
    }

    /// The address reserved for `quorate serve` (also in quorate.yaml).
    pub fn listen_address(&self) -> String {
        format!("127.0.0.1:{}", self.state.listen_port)
    }

    /// The nodes' network (partition, heal), when the sandbox was started with `--netns`.
    pub fn network(&self) -> Result<Network<'_>, SandboxError> {
        self.state
            .network
            .as_ref()
            .map(|st| Network { st })
            .ok_or(SandboxError::NoNetwork)
    }

    /// The GlusterFS volume, when the sandbox has one.
    pub fn gluster(&self) -> Option<Gluster<'_>> {
        self.state.gluster.as_ref().map(|st| Gluster { st })
    }

    /// Starts the GlusterFS part (namespace, glusterd, volume, mount) and rewrites
    /// quorate.yaml to include it. Errors leave cleanup to the caller.
    fn add_gluster(&mut self) -> Result<(), SandboxError> {
        let st = gluster::GlusterState::new(&self.dir, gluster::namespace_name()?);
        // Saved before anything starts, so teardown finds the namespace even after a failure.
        self.state.gluster = Some(st.clone());
        self.state.save()?;
        let mut st = st;
        let state = &mut self.state;
        let t = Instant::now();
        gluster::start(&mut st, &mut |current| {
            state.gluster = Some(current.clone());
            state.save()
        })?;
        tracing::info!(namespace = %st.first().map_or("", |s| s.namespace.as_str()), elapsed = ?t.elapsed(), "GlusterFS volume up");
        self.state.gluster = Some(st);
        self.state.save()?;
        // Regenerate quorate.yaml so it also names the volume and the namespaced gluster CLI.
        // A GlusterFS-only sandbox has no Galera `up` that wrote the recovery token the
        // generated file names.
        if !self.token_file().exists() {
            write_secret_file(&self.token_file(), &random_password()?)?;
        }
        self.write_config(&default_quorate_binary())
    }

    /// `node1`, `node2`, ... in order.
    pub fn node_names(&self) -> Vec<String> {
        self.state.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The node's MariaDB TCP port on 127.0.0.1.
    pub fn mysql_port(&self, node: &str) -> Result<u16, SandboxError> {
        Ok(self.state.node(node)?.mysql_port)
    }

    /// The node's unix socket.
    pub fn socket(&self, node: &str) -> Result<PathBuf, SandboxError> {
        Ok(self.state.node(node)?.socket.clone())
    }

    /// The node's datadir (grastate.dat lives here).
    pub fn datadir(&self, node: &str) -> Result<PathBuf, SandboxError> {
        Ok(self.state.node(node)?.datadir.clone())
    }

    /// The node's mariadbd error log.
    pub fn error_log(&self, node: &str) -> Result<PathBuf, SandboxError> {
        Ok(self.state.node(node)?.log_error.clone())
    }

    /// The node's mariadbd pid, only if that process is alive and really is a mariadbd on this
    /// node's datadir (a recycled pid is never reported). Unknown nodes have no pid.
    pub fn pid(&self, node: &str) -> Option<u32> {
        self.state.node(node).ok().and_then(verified_pid)
    }

    /// Runs `sql` as root over the node's socket (SQL on stdin) and returns the rows, each value
    /// unescaped. Bounded by 30 s.
    pub fn sql(&self, node: &str, sql: &str) -> Result<Vec<Vec<String>>, SandboxError> {
        self.sql_with_timeout(node, sql, SQL_TIMEOUT)
    }

    /// [`Sandbox::sql`] with an explicit bound.
    pub fn sql_with_timeout(
        &self,
        node: &str,
        sql: &str,
        timeout: Duration,
    ) -> Result<Vec<Vec<String>>, SandboxError> {
        let n = self.state.node(node)?;
        sql::run(&self.tools.client, &n.name, &n.socket, sql, timeout, None)
    }

    /// Waits until the node's wsrep_local_state equals `state` (4 = Synced), polling its socket.
    /// Fails early if the node's mariadbd exits, quoting its error log.
    pub fn wait_state(
        &self,
        node: &str,
        state: u32,
        timeout: Duration,
    ) -> Result<(), SandboxError> {
        let n = self.state.node(node)?;
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            if verified_pid(n).is_none() {
                return Err(SandboxError::NodeDied {
                    node: n.name.clone(),
                    doing: "waiting for its wsrep state",
                    log: n.log_error.clone(),
                    log_tail: node::node_log_tail(n),
                });
            }
            let left = deadline.saturating_duration_since(Instant::now());
            let query = "SHOW GLOBAL STATUS WHERE Variable_name IN \
                         ('wsrep_local_state', 'wsrep_local_state_comment')";
            // While an SST runs the server has no socket yet: errors here just mean "not yet".
            let last = match sql::run(
                &self.tools.client,
                &n.name,
                &n.socket,
                query,
                left.clamp(Duration::from_secs(1), Duration::from_secs(5)),
                None,
            ) {
                Ok(rows) => {
                    let value = |name: &str| {
                        rows.iter()
                            .find(|r| r.first().is_some_and(|v| v.eq_ignore_ascii_case(name)))
                            .and_then(|r| r.get(1).cloned())
                    };
                    let current = value("wsrep_local_state");
                    if current.as_deref().and_then(|v| v.parse::<u32>().ok()) == Some(state) {
                        tracing::debug!(node = %n.name, state, elapsed = ?started.elapsed(), "reached state");
                        return Ok(());
                    }
                    format!(
                        "wsrep_local_state {} ({})",
                        current.as_deref().unwrap_or("?"),
                        value("wsrep_local_state_comment").as_deref().unwrap_or("?")
                    )
                }
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(SandboxError::StateTimeout {
                    node: n.name.clone(),
                    want: state,
                    waited: started.elapsed(),
                    last,
                    log: n.log_error.clone(),
                    log_tail: node::node_log_tail(n),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Stops the node cleanly: SIGTERM, wait (bounded) until the process is gone, SIGKILL with a
    /// warning if it did not go. A node that is not running is left alone (Ok).
    pub fn stop_node(&mut self, node: &str) -> Result<(), SandboxError> {
        let n = self.state.node(node)?;
        if let Some(pid) = verified_pid(n) {
            stop_all(&[(n, pid)])?;
        }
        self.record_pid(node, None)
    }

    /// Restarts a stopped node as a joiner (same options, full gcomm:// list) and waits until it
    /// is Synced. If it does not get there, it is left running for inspection (`down` stops it).
    pub fn start_node(&mut self, node: &str) -> Result<(), SandboxError> {
        self.start(node, false, true)?;
        self.wait_state(node, SYNCED, JOIN_TIMEOUT)
    }

    /// Starts a stopped node with `--wsrep-new-cluster` (a new Primary component) and waits until
    /// it is Synced. Galera refuses when the node's grastate.dat says safe_to_bootstrap: 0.
    pub fn bootstrap_node(&mut self, node: &str) -> Result<(), SandboxError> {
        self.start(node, true, true)?;
        self.wait_state(node, SYNCED, BOOTSTRAP_TIMEOUT)
    }

    /// Kills the node with SIGKILL (a crash: grastate.dat keeps seqno -1) and waits until it is
    /// gone.
    pub fn crash_node(&mut self, node: &str) -> Result<(), SandboxError> {
        let n = self.state.node(node)?;
        let pid = verified_pid(n).ok_or_else(|| SandboxError::NodeNotRunning {
            node: n.name.clone(),
        })?;
        node::signal(pid, libc::SIGKILL);
        if !node::wait_gone(pid, KILL_TIMEOUT) {
            return Err(SandboxError::Unkillable { pids: vec![pid] });
        }
        self.record_pid(node, None)
    }

    /// Suspends the node with SIGSTOP: it keeps its sockets but answers nothing, like a hung
    /// host. Peers evict it after the Galera suspect timeout.
    pub fn freeze_node(&self, node: &str) -> Result<(), SandboxError> {
        self.send(node, libc::SIGSTOP)
    }

    /// Resumes a frozen node with SIGCONT.
    pub fn thaw_node(&self, node: &str) -> Result<(), SandboxError> {
        self.send(node, libc::SIGCONT)
    }

    /// One line per node: pid, port and, when it answers within 3 s, its wsrep state.
    pub fn status(&self) -> Vec<NodeStatus> {
        self.state
            .nodes
            .iter()
            .map(|n| {
                let pid = verified_pid(n);
                let mut st = NodeStatus {
                    name: n.name.clone(),
                    pid,
                    alive: pid.is_some(),
                    mysql_port: n.mysql_port,
                    local_state: None,
                    state_comment: None,
                    cluster_status: None,
                    cluster_size: None,
                    error: None,
                };
                if pid.is_none() {
                    return st;
                }
                let query = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', \
                     'wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size')";
                match sql::run(
                    &self.tools.client,
                    &n.name,
                    &n.socket,
                    query,
                    STATUS_TIMEOUT,
                    None,
                ) {
                    Ok(rows) => {
                        for row in rows {
                            let (Some(name), Some(value)) = (row.first(), row.get(1)) else {
                                continue;
                            };
                            match name.to_ascii_lowercase().as_str() {
                                "wsrep_local_state" => st.local_state = value.parse().ok(),
                                "wsrep_local_state_comment" => {
                                    st.state_comment = Some(value.clone())
                                }
                                "wsrep_cluster_status" => st.cluster_status = Some(value.clone()),
                                "wsrep_cluster_size" => st.cluster_size = value.parse().ok(),
                                _ => {}
                            }
                        }
                    }
                    Err(e) => st.error = Some(e.to_string()),
                }
                st
            })
            .collect()
    }

    /// Stops every node this sandbox started (by verified pid) and removes the directory.
    pub fn down(self) -> Result<(), SandboxError> {
        teardown(&self.state, &self.dir)
    }

    /// The exact mariadbd command line (without the program) for `node`; recovery appends e.g.
    /// `--wsrep-recover` to it.
    pub(crate) fn mariadbd_args(
        &self,
        node: &str,
        bootstrap: bool,
    ) -> Result<Vec<String>, SandboxError> {
        let n = self.state.node(node)?;
        Ok(node::mariadbd_args(
            &self.state,
            n,
            &self.tools.provider,
            bootstrap,
        ))
    }

    /// All of `up` after the directory and ports exist. Any error leaves cleanup to the caller.
    /// `ports` holds this sandbox's ports until each node is about to bind them.
    fn build(
        &mut self,
        mut ports: ports::Reservation,
        uid: u32,
        gid: u32,
    ) -> Result<(), SandboxError> {
        // Saved first so that even a half-built sandbox can be found and torn down.
        self.state.save()?;
        if let Some(network) = &self.state.network {
            net::create(network)?;
        }
        for n in &self.state.nodes {
            for d in [&n.home, &n.tmpdir] {
                fs::create_dir(d).map_err(|e| SandboxError::io("cannot create", d, e))?;
                std::os::unix::fs::chown(d, Some(uid), Some(gid))
                    .map_err(|e| SandboxError::io("cannot chown to mysql", d, e))?;
            }
        }
        // Independent per node and mostly I/O: run them side by side.
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .state
                .nodes
                .iter()
                .map(|n| scope.spawn(|| install_db(&self.tools, n)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(SandboxError::Spawn {
                            command: "mariadb-install-db".to_owned(),
                            source: io::Error::other("install thread panicked"),
                        })
                    })
                })
                .collect::<Result<Vec<()>, _>>()
        })?;

        let first = self.state.nodes[0].name.clone();
        let t = Instant::now();
        ports.release(0..4);
        self.start(&first, true, false)?;
        self.wait_state(&first, SYNCED, BOOTSTRAP_TIMEOUT)?;
        tracing::info!(node = %first, elapsed = ?t.elapsed(), "bootstrapped");

        // Created before the others join: their SST copies it.
        self.create_monitor_user(&first)?;

        for (i, name) in self.node_names().into_iter().enumerate().skip(1) {
            let t = Instant::now();
            ports.release(4 * i..4 * i + 4);
            self.start(&name, false, false)?;
            self.wait_state(&name, SYNCED, JOIN_TIMEOUT)?;
            tracing::info!(node = %name, elapsed = ?t.elapsed(), "joined");
        }

        write_secret_file(&self.token_file(), &random_password()?)?;
        // The backup root quorate.yaml names, empty until `quorate sandbox backup`.
        let backups = self.backup_root();
        fs::create_dir_all(&backups).map_err(|e| SandboxError::io("cannot create", &backups, e))?;
        self.write_config(&default_quorate_binary())
    }

    /// `DIR/recovery.token`: the bearer token of the nodes' `/galera/*` endpoints (0600).
    pub fn token_file(&self) -> PathBuf {
        self.dir.join("recovery.token")
    }

    /// The address of `node`'s own `quorate serve` (its `/galera/state` endpoint).
    pub fn serve_address(&self, node: &str) -> Result<String, SandboxError> {
        Ok(format!("127.0.0.1:{}", self.state.node(node)?.serve_port))
    }

    /// Starts one `quorate serve --node NAME` per node (the realistic recovery topology: each
    /// host serves its own `/galera/state`), detached and recorded in sandbox.json so that
    /// `down` ends them by pid; waits until each accepts connections. `binary` is the quorate
    /// to run; quorate.yaml is rewritten to name it in the recovery commands too.
    pub fn start_serves(&mut self, binary: &Path) -> Result<(), SandboxError> {
        self.write_config(binary)?;
        let config = self.config_path();
        for name in self.node_names() {
            let n = self.state.node(&name)?;
            if let Some(pid) = n
                .serve_pid
                .filter(|&p| node::is_our_serve(p, &config, &name))
            {
                tracing::debug!(node = %name, pid, "quorate serve already runs");
                continue;
            }
            let listen = self.serve_address(&name)?;
            let mut command = Command::new(binary);
            command
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .args(["--node", &name, "--listen", &listen]);
            let console = n.home.join("serve.log");
            let pid = node::spawn_detached(&mut command, &console, "quorate serve")?;
            self.state.node_mut(&name)?.serve_pid = Some(pid);
            self.state.save()?;
            wait_listening(&listen, pid, &console, SERVE_START_TIMEOUT).map_err(|output| {
                SandboxError::CommandFailed {
                    node: name.clone(),
                    command: format!("quorate serve --node {name} --listen {listen}"),
                    status: "not listening".into(),
                    output,
                }
            })?;
        }
        Ok(())
    }

    /// Rewrites `DIR/quorate.yaml` so that the recovery commands run `quorate` at `binary`
    /// (tests pass the binary cargo built; `quorate sandbox up` uses itself).
    pub fn write_config(&self, binary: &Path) -> Result<(), SandboxError> {
        let config = self.config_path();
        let text = yaml::render(
            &self.state,
            &self.password_file(),
            &yaml::Recovery {
                token_file: &self.token_file(),
                quorate: binary,
                mariadbd: &self.tools.mariadbd,
                client: &self.tools.client,
                args: &|n| self.mariadbd_args(n, false).unwrap_or_default(),
            },
        );
        fs::write(&config, text).map_err(|e| SandboxError::io("cannot write", &config, e))
    }

    /// Spawns mariadbd for a stopped node and records its pid (no waiting).
    ///
    /// With `recover_position`, the node's last committed position is recovered first
    /// (`--wsrep-recover`) and passed as `--wsrep-start-position`, as systemd's
    /// `galera_recovery` and `mysqld_safe` do on every start. Without it, a crashed node
    /// starts from the zero position: it then needs a full SST to join, and a whole crashed
    /// cluster restarted that way re-forms by pc.recovery with a zero state UUID (seen).
    fn start(
        &mut self,
        node: &str,
        bootstrap: bool,
        recover_position: bool,
    ) -> Result<(), SandboxError> {
        let n = self.state.node(node)?;
        if let Some(pid) = verified_pid(n) {
            return Err(SandboxError::NodeRunning {
                node: n.name.clone(),
                pid,
            });
        }
        let mut args = self.mariadbd_args(node, bootstrap)?;
        if recover_position {
            if let Some(position) = self.recover_position(node)? {
                args.push(format!("--wsrep-start-position={position}"));
            }
        }
        let n = self.state.node(node)?;
        let namespace = self.state.namespace(n).map(|ns| net::namespace_path(&ns));
        let pid = node::spawn_mariadbd(&self.tools, n, &args, namespace.as_deref())?;
        tracing::debug!(node, pid, bootstrap, "started mariadbd");
        self.record_pid(node, Some(pid))
    }

    /// Runs `mariadbd <node's options> --wsrep-recover --disable-log-error` (the server log on
    /// stderr, as galera_recovery reads it) and returns `uuid:seqno[,gtid]`, or `None` when
    /// the server skipped recovery.
    fn recover_position(&self, node: &str) -> Result<Option<String>, SandboxError> {
        use crate::galera::parse::{parse_recover_log, RecoveredPosition};
        let n = self.state.node(node)?;
        let mut args = self.mariadbd_args(node, false)?;
        args.push("--wsrep-recover".to_owned());
        args.push("--disable-log-error".to_owned());
        let command = format!("{} --wsrep-recover", self.tools.mariadbd.display());
        let out = Command::new(&self.tools.mariadbd)
            .args(&args)
            .env("PATH", node::search_path())
            .stdin(Stdio::null())
            .output()
            .map_err(|source| SandboxError::Spawn {
                command: command.clone(),
                source,
            })?;
        let failed = |why: String| SandboxError::CommandFailed {
            node: n.name.clone(),
            command: command.clone(),
            status: out.status.to_string(),
            output: why,
        };
        match parse_recover_log(&out.stderr) {
            RecoveredPosition::Position { uuid, seqno, gtid } if out.status.success() => {
                Ok(Some(match gtid {
                    Some(g) => format!("{uuid}:{seqno},{g}"),
                    None => format!("{uuid}:{seqno}"),
                }))
            }
            RecoveredPosition::Disabled | RecoveredPosition::GivenAtStartup { .. }
                if out.status.success() =>
            {
                Ok(None)
            }
            _ => Err(failed(String::from_utf8_lossy(&out.stderr).into_owned())),
        }
    }

    fn record_pid(&mut self, node: &str, pid: Option<u32>) -> Result<(), SandboxError> {
        self.state.node_mut(node)?.pid = pid;
        self.state.save()
    }

    fn send(&self, node: &str, sig: libc::c_int) -> Result<(), SandboxError> {
        let n = self.state.node(node)?;
        let pid = verified_pid(n).ok_or_else(|| SandboxError::NodeNotRunning {
            node: n.name.clone(),
        })?;
        node::signal(pid, sig);
        Ok(())
    }

    /// Creates the least-privilege monitoring account and writes its password file (0600).
    fn create_monitor_user(&self, node: &str) -> Result<(), SandboxError> {
        let password = random_password()?;
        let user = MONITOR_USER;
        // quorate's queries (SHOW GLOBAL STATUS / VARIABLES, SET SESSION wsrep_sync_wait)
        // need no privilege at all (checked on MariaDB 10.11), so the account gets none: a
        // leaked monitoring password then reads nothing but server status.
        // 'localhost' matches socket connections, '127.0.0.1' TCP ones (skip-name-resolve).
        let mut statements = String::new();
        for host in ["127.0.0.1", "localhost"] {
            statements.push_str(&format!(
                "CREATE USER '{user}'@'{host}' IDENTIFIED BY {pw};\n",
                pw = sql::quote(&password),
            ));
        }
        let n = self.state.node(node)?;
        sql::run(
            &self.tools.client,
            &n.name,
            &n.socket,
            &statements,
            SQL_TIMEOUT,
            Some(&password),
        )?;

        let path = self.password_file();
        let mut file = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&path)
            .map_err(|e| SandboxError::io("cannot create", &path, e))?;
        io::Write::write_all(&mut file, format!("{password}\n").as_bytes())
            .map_err(|e| SandboxError::io("cannot write", &path, e))
    }
}

/// Guard for tests: tears the sandbox down when dropped, so a failing (panicking) test leaves no
/// process and no directory behind.
#[derive(Debug)]
pub struct SandboxGuard(Option<Sandbox>);

impl SandboxGuard {
    pub fn new(sandbox: Sandbox) -> SandboxGuard {
        SandboxGuard(Some(sandbox))
    }

    /// Tears down now and reports errors (Drop can only log them).
    pub fn down(mut self) -> Result<(), SandboxError> {
        match self.0.take() {
            Some(sandbox) => sandbox.down(),
            None => Ok(()),
        }
    }

    /// Takes the sandbox back out: it will no longer be torn down automatically.
    pub fn into_inner(mut self) -> Option<Sandbox> {
        self.0.take()
    }
}

impl From<Sandbox> for SandboxGuard {
    fn from(sandbox: Sandbox) -> SandboxGuard {
        SandboxGuard::new(sandbox)
    }
}

impl std::ops::Deref for SandboxGuard {
    type Target = Sandbox;

    fn deref(&self) -> &Sandbox {
        // Only down/into_inner empty it, and both consume the guard.
        self.0
            .as_ref()
            .unwrap_or_else(|| unreachable!("SandboxGuard emptied only by consuming methods"))
    }
}

impl std::ops::DerefMut for SandboxGuard {
    fn deref_mut(&mut self) -> &mut Sandbox {
        self.0
            .as_mut()
            .unwrap_or_else(|| unreachable!("SandboxGuard emptied only by consuming methods"))
    }
}

impl Drop for SandboxGuard {
    fn drop(&mut self) {
        if let Some(sandbox) = self.0.take() {
            let dir = sandbox.dir.clone();
            if let Err(e) = sandbox.down() {
                eprintln!("sandbox {}: teardown failed: {e}", dir.display());
            }
        }
    }
}

/// The node's pid if /proc confirms it is a live mariadbd on the node's datadir: first the pid
/// we recorded, then the server's own pid file (covers a node started by another process).
fn verified_pid(n: &NodeState) -> Option<u32> {
    let from_file = || {
        fs::read_to_string(&n.pid_file)
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
    };
    n.pid
        .filter(|&p| node::is_our_mariadbd(p, &n.datadir))
        .or_else(|| from_file().filter(|&p| node::is_our_mariadbd(p, &n.datadir)))
}

/// Stops the given nodes together: SIGTERM all, wait (bounded), SIGKILL stragglers.
fn stop_all(targets: &[(&NodeState, u32)]) -> Result<(), SandboxError> {
    for (_, pid) in targets {
        node::signal(*pid, libc::SIGTERM);
        // A frozen (SIGSTOPped) node would never act on SIGTERM.
        node::signal(*pid, libc::SIGCONT);
    }
    let deadline = Instant::now() + STOP_TIMEOUT;
    let mut stragglers = Vec::new();
    for (n, pid) in targets {
        if !node::wait_gone(*pid, deadline.saturating_duration_since(Instant::now())) {
            stragglers.push((*n, *pid));
        }
    }
    let mut unkillable = Vec::new();
    for (n, pid) in stragglers {
        // Checked again: in the meantime it may have exited and the pid been reused.
        if !node::is_our_mariadbd(pid, &n.datadir) {
            continue;
        }
        tracing::warn!(node = %n.name, pid, "mariadbd ignored SIGTERM for {STOP_TIMEOUT:?}; sending SIGKILL");
        node::signal(pid, libc::SIGKILL);
        if !node::wait_gone(pid, KILL_TIMEOUT) {
            unkillable.push(pid);
        }
    }
    if unkillable.is_empty() {
        Ok(())
    } else {
        Err(SandboxError::Unkillable { pids: unkillable })
    }
}

/// Waits until something accepts TCP connections on `addr`; the error is the tail of
/// `console` (the process died, or never listened within `timeout`).
fn wait_listening(addr: &str, pid: u32, console: &Path, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        if !node::is_alive(pid) || Instant::now() >= deadline {
            return Err(node::log_tail(console, 15));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Ends the per-node `quorate serve` processes (SIGTERM, then SIGKILL), each only after
/// /proc confirms it is the one the sandbox started.
fn stop_serves(state: &State) {
    let config = state.dir.join("quorate.yaml");
    let targets: Vec<u32> = state
        .nodes
        .iter()
        .filter_map(|n| {
            n.serve_pid
                .filter(|&p| node::is_our_serve(p, &config, &n.name))
        })
        .collect();
    for &pid in &targets {
        node::signal(pid, libc::SIGTERM);
    }
    for &pid in &targets {
        if !node::wait_gone(pid, Duration::from_secs(10)) {
            node::signal(pid, libc::SIGKILL);
            node::wait_gone(pid, KILL_TIMEOUT);
        }
    }
}

/// Stops every running node of `state` and removes `dir`.
fn teardown(state: &State, dir: &Path) -> Result<(), SandboxError> {
    stop_serves(state);
    // GlusterFS first: the mount must be gone before DIR is removed (removing through a live
    // FUSE mount would delete the volume's files through the client, or hang).
    let gluster_stopped = match &state.gluster {
        Some(g) => gluster::stop(g),
        None => Ok(()),
    };
    let targets: Vec<(&NodeState, u32)> = state
        .nodes
        .iter()
        .filter_map(|n| verified_pid(n).map(|p| (n, p)))
        .collect();
    let stopped = stop_all(&targets);
    // After the nodes: a namespace deleted under a running mariadbd would live on unnamed.
    let stopped = match (&state.network, stopped) {
        (Some(network), Ok(())) => net::destroy(network),
        (_, stopped) => stopped,
    };
    if let Err(e) = &gluster_stopped {
        // Keep DIR (bricks, logs) for inspection when the volume could not be taken down.
        tracing::warn!("GlusterFS teardown failed; {} kept: {e}", dir.display());
        stopped?;
        return gluster_stopped;
    }
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            stopped?;
            return Err(SandboxError::io("cannot remove", dir, e));
        }
    }
    stopped
}

/// Canonical path of an existing sandbox directory.
fn resolve(dir: &Path) -> Result<PathBuf, SandboxError> {
    fs::canonicalize(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => SandboxError::NotASandbox {
            dir: dir.to_path_buf(),
        },
        _ => SandboxError::io("cannot resolve", dir, e),
    })
}

fn remove_dir(dir: &Path) {
    if let Err(e) = fs::remove_dir_all(dir) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!("cannot remove {}: {e}", dir.display());
        }
    }
}

/// Creates (or accepts an empty) sandbox directory and makes it usable by the mysql user.
/// Returns its canonical path. Refuses a directory holding a sandbox or anything else.
fn prepare_dir(dir: &Path, nodes: usize) -> Result<PathBuf, SandboxError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if dir.join(STATE_FILE).exists() {
                return Err(SandboxError::AlreadyExists {
                    dir: dir.to_path_buf(),
                });
            }
            if entries.next().is_some() {
                return Err(SandboxError::DirNotEmpty {
                    dir: dir.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| SandboxError::io("cannot create", dir, e))?;
        }
        Err(e) => return Err(SandboxError::io("cannot read", dir, e)),
    }
    let checked = (|| {
        let canonical =
            fs::canonicalize(dir).map_err(|e| SandboxError::io("cannot resolve", dir, e))?;
        // The longest socket path is the last node's.
        let socket = canonical.join(format!("n{nodes}")).join("sock");
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(SandboxError::PathTooLong {
                path: socket,
                len,
                max: MAX_SOCKET_PATH,
            });
        }
        // mariadbd (and mariadb-install-db, and the rsync SST daemon) run as mysql and must reach
        // DIR/nK. Temp dirs are created 0700 by root, so open DIR itself up for traversal and
        // listing; its secrets (mysql.password) are 0600 files of their own.
        fs::set_permissions(&canonical, fs::Permissions::from_mode(0o755))
            .map_err(|e| SandboxError::io("cannot chmod", &canonical, e))?;
        // Only mariadbd (which runs as mysql) needs to traverse DIR.
        if nodes > 0 {
            check_traversable(&canonical)?;
        }
        Ok(canonical)
    })();
    if checked.is_err() {
        remove_dir(dir);
    }
    checked
}

/// Every ancestor of `dir` must be searchable by the mysql user; we do not chmod directories we
/// did not create, we say which one blocks.
fn check_traversable(dir: &Path) -> Result<(), SandboxError> {
    let (uid, gid) = node::mysql_ids()?;
    for ancestor in dir.ancestors().skip(1) {
        let meta =
            fs::metadata(ancestor).map_err(|e| SandboxError::io("cannot stat", ancestor, e))?;
        let mode = meta.mode();
        let ok = if meta.uid() == uid {
            mode & 0o100 != 0
        } else if meta.gid() == gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(SandboxError::NotTraversable {
                path: ancestor.to_path_buf(),
            });
        }
    }
    Ok(())
}

/// Runs mariadb-install-db for one node, bounded, its output in `nK/install.log`.
fn install_db(tools: &Tools, n: &NodeState) -> Result<(), SandboxError> {
    let log_path = n.home.join("install.log");
    let log =
        fs::File::create(&log_path).map_err(|e| SandboxError::io("cannot create", &log_path, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| SandboxError::io("cannot create", &log_path, e))?;
    let command = tools.install_db.display().to_string();
    let mut child = Command::new(&tools.install_db)
        // --no-defaults must come first.
        .arg("--no-defaults")
        .arg("--user=mysql")
        .arg(format!("--datadir={}", n.datadir.display()))
        .arg(format!("--tmpdir={}", n.tmpdir.display()))
        // Root over the socket with no password: only this machine's root can connect.
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg("--skip-name-resolve")
        // Passed on to the bootstrap mariadbd: a small redo log from the start (SST copies it).
        .arg("--innodb-log-file-size=8M")
        .arg("--innodb-buffer-pool-size=64M")
        .env("PATH", node::search_path())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|source| SandboxError::Spawn {
            command: command.clone(),
            source,
        })?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.to_string(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break format!("timed out after {INSTALL_TIMEOUT:?}");
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                break e.to_string();
            }
        }
    };
    if n.datadir.join("mysql").is_dir() && status == "exit status: 0" {
        return Ok(());
    }
    Err(SandboxError::CommandFailed {
        node: n.name.clone(),
        command,
        status,
        output: node::error_lines(&log_path),
    })
}

/// The `quorate` that recovery commands in quorate.yaml run: this program when it is quorate
/// (`quorate sandbox up`), else `quorate` from PATH (tests rewrite it with `write_config`).
fn default_quorate_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|p| p.file_name().is_some_and(|n| n == "quorate"))
        .unwrap_or_else(|| PathBuf::from("quorate"))
}

/// Creates `path` (mode 0600) holding `secret` and a newline.
fn write_secret_file(path: &Path, secret: &str) -> Result<(), SandboxError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| SandboxError::io("cannot create", path, e))?;
    io::Write::write_all(&mut file, format!("{secret}\n").as_bytes())
        .map_err(|e| SandboxError::io("cannot write", path, e))
}

/// 24 random bytes from the kernel, hex-encoded: safe in SQL, YAML and shells.
fn random_password() -> Result<String, SandboxError> {
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 24];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| SandboxError::io("cannot read", path, e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_random_hex() {
        let a = random_password().expect("password");
        let b = random_password().expect("password");
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }

    #[test]
    fn prepare_dir_refuses_sandbox_and_non_empty_dirs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(STATE_FILE), b"{}").expect("write");
        assert!(matches!(
            prepare_dir(tmp.path(), 3),
            Err(SandboxError::AlreadyExists { .. })
        ));
        fs::remove_file(tmp.path().join(STATE_FILE)).expect("rm");
        fs::write(tmp.path().join("other"), b"x").expect("write");
        assert!(matches!(
            prepare_dir(tmp.path(), 3),
            Err(SandboxError::DirNotEmpty { .. })
        ));
        // Refusals never delete anything.
        assert!(tmp.path().join("other").exists());
    }

    #[test]
    fn prepare_dir_rejects_long_socket_paths() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let long = tmp.path().join("x".repeat(100));
        let err = prepare_dir(&long, 3).expect_err("too long");
        assert!(matches!(err, SandboxError::PathTooLong { .. }), "{err}");
        // What we created for the attempt is gone again.
        assert!(!long.exists());
    }

    #[test]
    fn prepare_dir_names_an_untraversable_parent() {
        if node::mysql_ids().is_err() {
            eprintln!("no mysql user on this machine; skipped");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let inner = tmp.path().join("sb");
        let err = prepare_dir(&inner, 3).expect_err("parent is 0700");
        match err {
            SandboxError::NotTraversable { ref path } => assert_eq!(path, tmp.path()),
            other => panic!("unexpected: {other}"),
        }
        assert!(!inner.exists());
        // The directory itself may be 0700: up opens it up.
        let ok = prepare_dir(tmp.path(), 3).expect("tempdir itself");
        let mode = fs::metadata(&ok).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }

    #[test]
    fn status_line_is_readable() {
        let st = NodeStatus {
            name: "node1".to_owned(),
            pid: Some(42),
            alive: true,
            mysql_port: 3306,
            local_state: Some(4),
            state_comment: Some("Synced".to_owned()),
            cluster_status: Some("Primary".to_owned()),
            cluster_size: Some(3),
            error: None,
        };
        let line = st.to_string();
        assert!(line.contains("Synced Primary size 3"), "{line}");
        let stopped = NodeStatus {
            pid: None,
            alive: false,
            ..st
        };
        assert!(stopped.to_string().ends_with("stopped"));
    }
}
