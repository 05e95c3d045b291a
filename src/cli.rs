//! Command-line definitions (clap derive): one variant per subcommand. The handlers live in
//! `commands/`, one file each.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Debug, Parser)]
#[command(
    name = "quorate",
    version,
    about = "Watches and heals a MariaDB Galera cluster, its GlusterFS volume and its mariabackup backups",
    propagate_version = true
)]
pub struct Cli {
    /// Log filter (error, warn, info, debug, trace, or tracing directives); logs go to stderr.
    #[arg(long, global = true, env = "QUORATE_LOG", default_value = "info")]
    pub log_level: String,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the Prometheus exporter (/metrics, /probe?target=NODE, /healthz).
    Serve(ServeArgs),
    /// Nagios/Icinga plugin mode (not available yet).
    Check(NotYet),
    /// Zabbix low-level discovery (not available yet).
    Discover(NotYet),
    /// Recovery runbook commands (not available yet).
    Recover(NotYet),
    /// A real local Galera cluster for the demo, the tests and rehearsals.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = quorate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Listen address, overriding quorate.listen (e.g. 127.0.0.1:9878).
    #[arg(long)]
    pub listen: Option<SocketAddr>,
    /// The controller (hostname) that /metrics reports on, overriding quorate.node.
    #[arg(long)]
    pub node: Option<String>,
}

/// Arguments of a subcommand that is not implemented yet: accepted and ignored.
#[derive(Debug, Args)]
pub struct NotYet {
    #[arg(trailing_var_arg = true, allow_hyphen_values = true, hide = true)]
    pub args: Vec<String>,
}

#[derive(Debug, Subcommand)]
pub enum SandboxCommand {
    /// Start a real N-node Galera cluster on loopback and write DIR/quorate.yaml.
    Up {
        #[arg(long)]
        dir: PathBuf,
        /// Galera nodes (0 only with --gluster: a GlusterFS-only sandbox).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(0..=9))]
        nodes: u16,
        /// Also start a real glusterd in a network namespace of its own with a replica-3
        /// volume, and put it in quorate.yaml.
        #[arg(long)]
        gluster: bool,
    },
    /// Show each node's process and wsrep state.
    Status {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Stop every process the sandbox started and remove DIR.
    Down {
        #[arg(long)]
        dir: PathBuf,
    },
    /// Stop one node cleanly (SIGTERM, wait).
    Stop(NodeArgs),
    /// Start a stopped node again; it rejoins the cluster.
    Start(NodeArgs),
    /// Kill one node with SIGKILL (a crash).
    Crash(NodeArgs),
    /// Freeze one node with SIGSTOP (a hang).
    Freeze(NodeArgs),
    /// Thaw a frozen node with SIGCONT.
    Thaw(NodeArgs),
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// Node name, e.g. node2.
    pub node: String,
}
