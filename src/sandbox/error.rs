//! The sandbox's error type, and how a command the sandbox runs words its failure.
//!
//! Every variant names what it is about (a node, a file, a command) so that a failed `up` or a
//! failed test says where to look without a debugger. Variants about a node that did not come up
//! carry the tail of that node's error log, read before the sandbox directory is removed.

use std::io;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;

use crate::process::{self, Kill, RunFailure};

/// The Debian packages that provide everything the sandbox runs.
pub const PACKAGES: &str = "mariadb-server galera-4 mariadb-client rsync socat";

/// Why a sandbox operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    /// A program or library the sandbox needs is not on this machine.
    #[error("{what} not found; install the Debian packages {packages}")]
    NotInstalled {
        what: String,
        packages: &'static str,
    },

    /// `up` was pointed at a directory that already holds a sandbox.
    #[error(
        "{} already holds a sandbox (sandbox.json exists); run `quorate sandbox down` on it first",
        dir.display()
    )]
    AlreadyExists { dir: PathBuf },

    /// `up` was pointed at a non-empty directory: `down` removes the whole directory, so the
    /// sandbox must own all of it.
    #[error("{} is not empty; the sandbox needs a new or empty directory", dir.display())]
    DirNotEmpty { dir: PathBuf },

    /// `open`/`down` was pointed at a directory without sandbox.json.
    #[error("{} holds no sandbox (no sandbox.json)", dir.display())]
    NotASandbox { dir: PathBuf },

    /// A unix socket path would exceed the kernel's limit.
    #[error(
        "socket path {} is {len} bytes, over the {max}-byte unix socket limit; use a shorter sandbox directory",
        path.display()
    )]
    PathTooLong {
        path: PathBuf,
        len: usize,
        max: usize,
    },

    /// The `mysql` user could not reach the sandbox directory.
    #[error(
        "{} is not traversable by the mysql user (mariadbd drops to it); chmod o+x it or choose another directory",
        path.display()
    )]
    NotTraversable { path: PathBuf },

    /// Asked for a node count the sandbox cannot build.
    #[error("a sandbox needs at least one node (asked for {nodes})")]
    BadNodeCount { nodes: usize },

    /// A partition request the sandbox network cannot carry out.
    #[error("bad partition: {why}")]
    BadPartition { why: String },

    /// A network operation on a sandbox started without `--netns`.
    #[error("this sandbox runs on loopback; partitions need one started with `quorate sandbox up --netns`")]
    NoNetwork,

    /// sandbox.json's GlusterFS part lists no server (edited by hand, or another version's).
    #[error("the sandbox's GlusterFS part lists no server (is sandbox.json from another quorate version?)")]
    NoGlusterServer,

    /// An incremental backup asked for with no complete backup to base it on.
    #[error("no complete backup under {} to base an incremental on: take a full backup first", root.display())]
    NoBackupBase { root: PathBuf },

    /// The named node is not part of this sandbox.
    #[error("no node named {node:?} in this sandbox (nodes: {known})")]
    UnknownNode { node: String, known: String },

    /// `start_node` on a node whose mariadbd still runs.
    #[error("{node} is already running (pid {pid})")]
    NodeRunning { node: String, pid: u32 },

    /// An operation that needs a live mariadbd found none.
    #[error("{node} is not running")]
    NodeNotRunning { node: String },

    /// A file or directory operation failed.
    #[error("{what} {}: {source}", path.display())]
    Io {
        what: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    /// A program could not be started at all.
    #[error("cannot run {command}: {source}")]
    Spawn {
        command: String,
        #[source]
        source: io::Error,
    },

    /// A program ran and failed.
    #[error("{command} failed ({status}) for {node}:\n{output}")]
    CommandFailed {
        node: String,
        command: String,
        status: String,
        output: String,
    },

    /// The `mariadb` client reported an error (its stderr; never the SQL, which may hold a secret).
    #[error("SQL on {node} failed: {message}")]
    Sql { node: String, message: String },

    /// The `mariadb` client did not finish in time.
    #[error("SQL on {node} did not finish within {timeout:?}")]
    SqlTimeout { node: String, timeout: Duration },

    /// mariadbd exited while we waited for it.
    #[error("mariadbd of {node} exited while {doing}; tail of {}:\n{log_tail}", log.display())]
    NodeDied {
        node: String,
        doing: &'static str,
        log: PathBuf,
        log_tail: String,
    },

    /// The node did not reach the wanted wsrep_local_state in time.
    #[error(
        "{node} did not reach wsrep_local_state {want} within {waited:?} (last seen: {last}); tail of {}:\n{log_tail}",
        log.display()
    )]
    StateTimeout {
        node: String,
        want: u32,
        waited: Duration,
        last: String,
        log: PathBuf,
        log_tail: String,
    },

    /// sandbox.json could not be read or written.
    #[error("sandbox state {}: {source}", path.display())]
    State {
        path: PathBuf,
        #[source]
        source: serde_json::Error,
    },

    /// No free loopback port could be reserved.
    #[error("cannot reserve a free port on 127.0.0.1: {0}")]
    Ports(#[source] io::Error),

    /// Processes survived SIGKILL (only in an uninterruptible kernel wait).
    #[error("mariadbd processes still alive after SIGKILL: {pids:?}")]
    Unkillable { pids: Vec<u32> },
}

impl SandboxError {
    /// Whether a node failed because one of its ports was taken (mariadbd: "Bind on TCP/IP
    /// port ... Address already in use"; Galera: "bind: Address already in use").
    pub(crate) fn is_port_collision(&self) -> bool {
        match self {
            SandboxError::NodeDied { log_tail, .. }
            | SandboxError::StateTimeout { log_tail, .. } => {
                log_tail.contains("Address already in use")
            }
            _ => false,
        }
    }

    pub(crate) fn io(what: &'static str, path: impl Into<PathBuf>, source: io::Error) -> Self {
        SandboxError::Io {
            what,
            path: path.into(),
            source,
        }
    }
}

/// Runs a command of the sandbox part `who` (`network`, `gluster`) to completion with
/// [`process::run_checked`] (its process group killed at `timeout`), returning its stdout; a
/// failure names `who` and `what` and carries stderr and stdout.
pub(crate) fn run_command(
    command: &mut Command,
    who: &str,
    what: &str,
    timeout: Duration,
) -> Result<String, SandboxError> {
    let lossy = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
    let (status, output) = match process::run_checked(command, None, timeout, Kill::Group) {
        Ok(done) => return Ok(lossy(&done.stdout)),
        Err(RunFailure::Spawn(source)) => {
            return Err(SandboxError::Spawn {
                command: what.to_string(),
                source,
            })
        }
        Err(RunFailure::Exit(done)) => (
            done.status.to_string(),
            format!(
                "{}{}",
                lossy(&done.stderr).trim(),
                lossy(&done.stdout).trim()
            ),
        ),
        Err(RunFailure::TimedOut(timeout)) => {
            (format!("timed out after {timeout:?}"), String::new())
        }
        Err(e @ (RunFailure::Wait(_) | RunFailure::TooLarge { .. })) => {
            (e.to_string(), String::new())
        }
    };
    Err(SandboxError::CommandFailed {
        node: who.into(),
        command: what.to_string(),
        status,
        output,
    })
}
