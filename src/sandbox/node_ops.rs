//! Operating one node's mariadbd: start (optionally from its recovered position), stop, crash,
//! freeze, thaw, wait for a wsrep state. A process is signalled only by a pid that /proc
//! confirms is a mariadbd on that node's datadir.

use std::fs;
use std::process::Command;
use std::time::{Duration, Instant};

use super::node;
use super::state::NodeState;
use super::{
    net, sql, Sandbox, SandboxError, BOOTSTRAP_TIMEOUT, JOIN_TIMEOUT, KILL_TIMEOUT, SYNCED,
};
use crate::process::{self, Kill, RunFailure};

/// A clean Galera shutdown (leave the group, flush InnoDB) takes a few seconds.
const STOP_TIMEOUT: Duration = Duration::from_secs(60);
/// The bound on a node's `mariadbd --wsrep-recover` (seconds on a sandbox's small data).
const RECOVER_TIMEOUT: Duration = Duration::from_secs(300);

impl Sandbox {
    /// The node's mariadbd pid, only if that process is alive and really is a mariadbd on this
    /// node's datadir (a recycled pid is never reported). Unknown nodes have no pid.
    pub fn pid(&self, node: &str) -> Option<u32> {
        self.state.node(node).ok().and_then(verified_pid)
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

    /// Spawns mariadbd for a stopped node and records its pid (no waiting).
    ///
    /// With `recover_position`, the node's last committed position is recovered first
    /// (`--wsrep-recover`) and passed as `--wsrep-start-position`, as systemd's
    /// `galera_recovery` and `mysqld_safe` do on every start. Without it, a crashed node
    /// starts from the zero position: it then needs a full SST to join, and a whole crashed
    /// cluster restarted that way re-forms by pc.recovery with a zero state UUID (seen).
    pub(super) fn start(
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
        let mut child = Command::new(&self.tools.mariadbd);
        child.args(&args);
        let out = match process::run(&mut child, None, RECOVER_TIMEOUT, Kill::Group) {
            Ok(out) => out,
            Err(RunFailure::Spawn(source)) => {
                return Err(SandboxError::Spawn {
                    command: command.clone(),
                    source,
                })
            }
            Err(e) => {
                return Err(SandboxError::CommandFailed {
                    node: n.name.clone(),
                    command,
                    status: e.to_string(),
                    output: String::new(),
                })
            }
        };
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
            _ => Err(failed(crate::recover::position::tail(&out.stderr, 30))),
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
}

/// The node's pid if /proc confirms it is a live mariadbd on the node's datadir: first the pid
/// we recorded, then the server's own pid file (covers a node started by another process).
pub(super) fn verified_pid(n: &NodeState) -> Option<u32> {
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
pub(super) fn stop_all(targets: &[(&NodeState, u32)]) -> Result<(), SandboxError> {
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
