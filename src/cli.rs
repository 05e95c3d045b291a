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
    /// Cluster recovery: plan (read-only), then position, bootstrap, rejoin or promote.
    #[command(subcommand)]
    Recover(RecoverCommand),
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
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(1..=9))]
        nodes: u16,
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
    /// Start a stopped node again (its position recovered first, as galera_recovery does);
    /// it rejoins the cluster.
    Start(NodeArgs),
    /// Start a stopped node as a new Primary component (--wsrep-new-cluster), its position
    /// recovered first; Galera refuses when its grastate.dat says safe_to_bootstrap: 0.
    Bootstrap(NodeArgs),
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

#[derive(Debug, Subcommand)]
pub enum RecoverCommand {
    /// Gather every node's state and print the case, the decision and the exact steps
    /// (read-only, always safe).
    Plan(RecoverPlanArgs),
    /// Recover the last committed position (--wsrep-recover) of stopped nodes: the local one
    /// directly, the others through their quorate serve.
    Position(RecoverPositionArgs),
    /// Bootstrap a new Primary from this node, if and only if the plan chooses it.
    Bootstrap(RecoverActArgs),
    /// Start this stopped node so that it joins the running Primary; reports IST or SST.
    Rejoin(RecoverRejoinArgs),
    /// Promote this live non-Primary node (pc.bootstrap=YES), if and only if the plan says so.
    Promote(RecoverActArgs),
}

#[derive(Debug, Args)]
pub struct RecoverCommon {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = quorate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// The node this host is (overrides quorate.node and host detection).
    #[arg(long)]
    pub node: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OutputFormat {
    Text,
    Json,
}

#[derive(Debug, Args)]
pub struct RecoverPlanArgs {
    #[command(flatten)]
    pub common: RecoverCommon,
    /// Nodes that do not answer and that you declare lost (the plan says what this risks).
    #[arg(long, num_args = 1..)]
    pub assume_lost: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RecoverPositionArgs {
    #[command(flatten)]
    pub common: RecoverCommon,
    /// Act (otherwise only say which nodes would be asked).
    #[arg(long)]
    pub execute: bool,
    /// Nodes to recover; default: those the plan needs.
    pub nodes: Vec<String>,
}

#[derive(Debug, Args)]
pub struct RecoverActArgs {
    #[command(flatten)]
    pub common: RecoverCommon,
    /// Nodes that do not answer and that you declare lost.
    #[arg(long, num_args = 1..)]
    pub assume_lost: Vec<String>,
    /// The digest printed by `quorate recover plan`: refuse if the situation changed since.
    #[arg(long)]
    pub plan: Option<String>,
    /// Act (otherwise a dry run that says what would be done).
    #[arg(long)]
    pub execute: bool,
}

#[derive(Debug, Args)]
pub struct RecoverRejoinArgs {
    #[command(flatten)]
    pub act: RecoverActArgs,
    /// Move grastate.dat, galera.cache and gvwstate.dat aside first (kept, not deleted): the
    /// node then joins by a full state transfer.
    #[arg(long)]
    pub move_aside: bool,
    /// With --move-aside: proceed although the node is ahead of the Primary or holds another
    /// cluster history (its extra data is replaced by the SST).
    #[arg(long, requires = "move_aside")]
    pub accept_loss: bool,
}
