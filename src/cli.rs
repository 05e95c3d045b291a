//! Command-line definitions (clap derive): one variant per subcommand. The handlers live in
//! `commands/`, one file each.
//!
//! Every subcommand enum is `defer = true`: clap adds a subcommand's arguments only when the
//! command line names it (or help, man pages and completions ask for the whole tree). Building
//! every subcommand's arguments for each run was half the instructions of starting quorate
//! (bench/results/binary.md), paid by every check a monitoring system runs.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use quorate::check::backup::TypeFilter;
use quorate::check::{Range, Status, TimeoutSpec};

#[derive(Debug, Parser)]
#[command(
    name = "quorate",
    version,
    long_version = quorate::LONG_VERSION,
    about = "Watches and heals a MariaDB Galera cluster, its GlusterFS volume and its mariabackup backups",
    propagate_version = true
)]
pub struct Cli {
    /// Log filter (error, warn, info, debug, trace, or target=level directives, e.g.
    /// `info,mysql_async=debug`); logs go to stderr.
    #[arg(long, global = true, env = "QUORATE_LOG", default_value = "info")]
    pub log_level: String,
    /// Log line format: text for people, json (one object per line) for log shippers.
    #[arg(
        long,
        global = true,
        env = "QUORATE_LOG_FORMAT",
        value_enum,
        default_value_t = LogFormat::Text
    )]
    pub log_format: LogFormat,

    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum Command {
    /// Run the Prometheus exporter (/metrics, /probe?target=NODE, /healthz).
    Serve(ServeArgs),
    /// Monitoring-plugin mode (Nagios, Icinga, NRPE; exit 0/1/2/3) and Zabbix values.
    Check(CheckArgs),
    /// Zabbix low-level discovery (JSON).
    Discover(DiscoverArgs),
    /// Cluster recovery: plan (read-only), then position, bootstrap, rejoin or promote.
    #[command(subcommand)]
    Recover(RecoverCommand),
    /// A real local Galera cluster for the demo, the tests and rehearsals.
    #[command(subcommand)]
    Sandbox(SandboxCommand),
    /// The configuration file: validate it and show the resolved settings.
    #[command(subcommand)]
    Config(ConfigCommand),
    /// Planned maintenance of a node, with an expiry: out of HAProxy, alerts silent, checks OK.
    #[command(subcommand)]
    Maintenance(MaintenanceCommand),
    /// mariabackup backups: prove that they restore.
    #[command(subcommand)]
    Backup(BackupCommand),
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum BackupCommand {
    /// Restore a copy of a backup (an incremental with its whole chain) in a scratch
    /// directory, start a throwaway mariadbd on it (no network, no Galera), check its tables,
    /// remove the copy, and record the outcome beside the backup. Exit 0 if every backup
    /// verified, 1 if not.
    Verify(BackupVerifyArgs),
}

#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["latest", "paths"])))]
pub struct BackupVerifyArgs {
    /// Configuration file (its quorate.backup.directories are scanned for the chain); read
    /// only when given, or when neither --backup-dir nor a PATH says where to look.
    #[arg(long, short = 'c')]
    pub config: Option<PathBuf>,
    /// Backup root instead of quorate.backup.directories (repeatable).
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Vec<PathBuf>,
    /// Verify the newest complete backup (of any type).
    #[arg(long)]
    pub latest: bool,
    /// The backup directories to verify.
    #[arg(value_name = "PATH")]
    pub paths: Vec<PathBuf>,
    /// Where the scratch copy is made (it needs about the chain's size free).
    #[arg(long, value_name = "DIR", default_value = "/var/tmp")]
    pub scratch_dir: PathBuf,
    /// How many tables get CHECK TABLE and a row count (spread over the list of tables).
    #[arg(long, value_name = "N", default_value_t = 20)]
    pub sample: usize,
    /// Bound of each copy and each mariabackup --prepare.
    #[arg(long, value_name = "DURATION", default_value = "4h", value_parser = parse_duration)]
    pub step_timeout: std::time::Duration,
    /// How long the throwaway mariadbd may take to start.
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub start_timeout: std::time::Duration,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum MaintenanceCommand {
    /// Put a node in maintenance until --for runs out: /health/galera answers 503, its alerts
    /// are silent, the checks say "maintenance"; --desync also sets wsrep_desync=ON.
    On(MaintenanceOnArgs),
    /// End a node's maintenance and undo what `on` did (wsrep_desync only if `on` set it).
    Off(MaintenanceOffArgs),
    /// Show the maintenance state of every controller (or of --node).
    Status(MaintenanceStatusArgs),
}

#[derive(Debug, Args)]
pub struct MaintenanceCommon {
    /// Configuration file (its quorate.health.maintenance_file holds the state).
    #[arg(long, short = 'c', default_value = quorate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// The controller (default quorate.node, else this host's controller).
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
}

#[derive(Debug, Args)]
pub struct MaintenanceOnArgs {
    #[command(flatten)]
    pub common: MaintenanceCommon,
    /// How long until it ends by itself (e.g. 30m, 2h; at most 30 days). Running `on` again
    /// extends it from now.
    #[arg(long = "for", value_name = "DURATION", default_value = "2h", value_parser = parse_duration)]
    pub duration: std::time::Duration,
    /// Why (shown by the checks, /health/galera and recover plan).
    #[arg(long, value_name = "TEXT")]
    pub reason: Option<String>,
    /// Also SET GLOBAL wsrep_desync=ON (for a backup or DDL); needs an account with the
    /// privilege (--defaults-file, e.g. /etc/mysql/debian.cnf).
    #[arg(long)]
    pub desync: bool,
    #[command(flatten)]
    pub credentials: MysqlCredentialArgs,
    /// Budget of each statement on the server.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct MaintenanceOffArgs {
    #[command(flatten)]
    pub common: MaintenanceCommon,
    #[command(flatten)]
    pub credentials: MysqlCredentialArgs,
    /// Budget of each statement on the server.
    #[arg(long, value_name = "DURATION", default_value = "30s", value_parser = parse_duration)]
    pub timeout: std::time::Duration,
}

#[derive(Debug, Args)]
pub struct MaintenanceStatusArgs {
    #[command(flatten)]
    pub common: MaintenanceCommon,
    /// Output format.
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
}

fn parse_duration(text: &str) -> Result<std::time::Duration, String> {
    quorate::config::parse_duration(text).map_err(|e| e.to_string())
}

/// How log lines are written (to stderr).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// One human-readable line per event.
    Text,
    /// One JSON object per event (timestamp, level, target, fields).
    Json,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum ConfigCommand {
    /// Validate the configuration as `quorate serve` loads it; print the warnings and the
    /// resolved settings (secrets redacted). Exit 0 if valid, 1 if not.
    Check(ConfigArgs),
}

#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// Configuration file.
    #[arg(long, short = 'c', default_value = quorate::config::DEFAULT_PATH)]
    pub config: PathBuf,
    /// Print only the warnings and the verdict, not the resolved settings.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// `quorate generate man|completions DIR`: a build step of the package, kept out of [`Cli`] so
/// that the man pages and completions it writes (from [`Cli`]) do not offer it. `main` sends
/// `quorate generate ...` here before parsing anything else.
#[derive(Debug, Parser)]
#[command(
    name = "quorate generate",
    bin_name = "quorate generate",
    about = "Write the man pages or the shell completions (a step of the package build)"
)]
pub struct GenerateCli {
    #[command(subcommand)]
    pub what: GenerateCommand,
}

#[derive(Debug, Subcommand)]
pub enum GenerateCommand {
    /// One roff man page per command and subcommand (quorate.1, quorate-check-galera.1, ...).
    Man {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
    /// bash, zsh and fish completion scripts.
    Completions {
        /// Output directory (created if missing).
        dir: PathBuf,
    },
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
    /// Web configuration file (Prometheus exporter-toolkit format: TLS, basic auth, headers),
    /// overriding quorate.web_config_file.
    #[arg(long = "web.config.file", value_name = "FILE")]
    pub web_config_file: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckArgs {
    #[command(subcommand)]
    pub target: CheckTarget,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum CheckTarget {
    /// One Galera node: cluster status, local state, readiness, size, queues, flow control.
    Galera(Box<CheckGaleraArgs>),
    /// The whole cluster from every configured node: one Primary component, all Synced.
    Cluster(Box<CheckClusterArgs>),
    /// GlusterFS volumes: bricks, peers, pending heals, split-brain.
    Gluster(Box<CheckGlusterArgs>),
    /// mariabackup backups: newest backup's age and size, failed attempts, incremental chain.
    Backup(Box<CheckBackupArgs>),
}

/// Output format of `quorate check`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum CheckFormat {
    /// Monitoring-plugin text: `SERVICE STATE - summary | perfdata`, long output.
    Nagios,
    /// Zabbix: a JSON object of every value (master item), or one bare value with --item.
    Zabbix,
}

// Options every check takes.
#[derive(Debug, Args)]
pub struct CheckCommonArgs {
    /// Configuration file (default /etc/quorate/quorate.yaml; with -H or --socket it is read
    /// only when given).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Plugin timeout SECONDS[:STATE]; STATE (ok, warning, critical, unknown) is reported when
    /// it runs out.
    #[arg(
        short = 't',
        long,
        value_name = "SECONDS[:STATE]",
        default_value = "10"
    )]
    pub timeout: TimeoutSpec,
    /// More long output, never truncated to 1024 bytes (repeatable).
    #[arg(short = 'v', long, action = ArgAction::Count)]
    pub verbose: u8,
    /// Output format.
    #[arg(long, value_enum, default_value_t = CheckFormat::Nagios)]
    pub format: CheckFormat,
    /// With --format zabbix: print only this item's bare value.
    #[arg(long, value_name = "NAME")]
    pub item: Option<String>,
}

// MySQL credentials of the checks that talk to MariaDB (galera, cluster): never on argv.
#[derive(Debug, Args)]
pub struct MysqlCredentialArgs {
    /// Monitoring account (overrides the configuration).
    #[arg(short = 'u', long, value_name = "USER")]
    pub user: Option<String>,
    /// my.cnf-style file whose [client] user and password are used.
    #[arg(long, value_name = "FILE", conflicts_with = "password_file")]
    pub defaults_file: Option<PathBuf>,
    /// File whose first line is the password. Also: the QUORATE_MYSQL_PASSWORD environment
    /// variable. Never on the command line.
    #[arg(long, value_name = "FILE")]
    pub password_file: Option<PathBuf>,
}

// Cluster size thresholds (the Primary component's size for `check cluster`).
#[derive(Debug, Args)]
pub struct SizeArgs {
    /// Cluster size warning range (e.g. 3:).
    #[arg(short = 'w', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub warning: Option<Range>,
    /// Cluster size critical range (e.g. 2:).
    #[arg(short = 'c', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub critical: Option<Range>,
    /// Expected cluster size N: WARNING below N, CRITICAL below a majority of N (default: the
    /// number of MariaDB controllers in the configuration). -w/-c override it.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    pub expected_size: Option<u32>,
}

// How Donor/Desynced nodes are judged.
#[derive(Debug, Args)]
pub struct DonorArgs {
    /// State of a Donor/Desynced node.
    #[arg(long, value_name = "STATE", default_value = "warning")]
    pub donor: Status,
    /// A node desynced on purpose (wsrep_desync=ON, e.g. during a backup) is OK.
    #[arg(long)]
    pub allow_desync: bool,
}

#[derive(Debug, Args)]
pub struct CheckGaleraArgs {
    #[command(flatten)]
    pub common: CheckCommonArgs,
    #[command(flatten)]
    pub credentials: MysqlCredentialArgs,
    /// The controller to check (default quorate.node, else this host's controller). With -H
    /// or --socket: the name used in the output and the state file.
    #[arg(long, value_name = "NAME")]
    pub node: Option<String>,
    /// State of a node in planned maintenance (quorate maintenance on; default
    /// quorate.check.maintenance_state, else ok).
    #[arg(long, value_name = "STATE")]
    pub maintenance: Option<Status>,
    /// MySQL host, instead of a node from the configuration.
    #[arg(short = 'H', long, value_name = "HOST", conflicts_with = "socket")]
    pub hostname: Option<String>,
    /// MySQL port with -H.
    #[arg(
        short = 'P',
        long,
        value_name = "PORT",
        default_value_t = 3306,
        requires = "hostname"
    )]
    pub port: u16,
    /// MySQL unix socket, instead of a node from the configuration.
    #[arg(long, value_name = "PATH")]
    pub socket: Option<PathBuf>,
    #[command(flatten)]
    pub size: SizeArgs,
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub recv_queue_warning: Option<Range>,
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub recv_queue_critical: Option<Range>,
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub send_queue_warning: Option<Range>,
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub send_queue_critical: Option<Range>,
    /// Flow control: percent of the time since the previous run that replication was paused.
    #[arg(
        long,
        value_name = "RANGE",
        default_value = "10",
        allow_hyphen_values = true
    )]
    pub fc_warning: Range,
    #[arg(
        long,
        value_name = "RANGE",
        default_value = "50",
        allow_hyphen_values = true
    )]
    pub fc_critical: Range,
    #[command(flatten)]
    pub donor: DonorArgs,
    /// State when the node is not in the Primary component.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub non_primary: Status,
    /// State when wsrep_ready is OFF.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub not_ready: Status,
    /// State when wsrep_connected is OFF.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub not_connected: Status,
    /// State of a Joining or Joined node.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub joining: Status,
    /// State of an Initialized node.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub initialized: Status,
    /// State when read_only is ON.
    #[arg(long, value_name = "STATE", default_value = "ok")]
    pub read_only: Status,
    /// Directory of the flow-control state file (default $QUORATE_STATE_DIR,
    /// quorate.check.state_dir, $XDG_STATE_HOME/quorate, /var/lib/quorate).
    #[arg(long, value_name = "DIR")]
    pub state_dir: Option<PathBuf>,
}

#[derive(Debug, Args)]
pub struct CheckClusterArgs {
    #[command(flatten)]
    pub common: CheckCommonArgs,
    #[command(flatten)]
    pub credentials: MysqlCredentialArgs,
    #[command(flatten)]
    pub size: SizeArgs,
    #[command(flatten)]
    pub donor: DonorArgs,
    /// State of a node that is down or out of sync while the cluster still has a Primary
    /// component.
    #[arg(long, value_name = "STATE", default_value = "warning")]
    pub degraded: Status,
    /// State of a node in planned maintenance (quorate maintenance on; default
    /// quorate.check.maintenance_state, else ok).
    #[arg(long, value_name = "STATE")]
    pub maintenance: Option<Status>,
}

#[derive(Debug, Args)]
pub struct CheckGlusterArgs {
    #[command(flatten)]
    pub common: CheckCommonArgs,
    /// The volume to check (default storage.glusterfs.volume_name, else every volume).
    #[arg(long, value_name = "NAME")]
    pub volume: Option<String>,
    /// Warning range on the fewest bricks up in any replica set (default: below the replica
    /// count, e.g. 3:).
    #[arg(short = 'w', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub warning: Option<Range>,
    /// Critical range on the fewest bricks up in any replica set (default: below a majority
    /// of the replica count, e.g. 2:).
    #[arg(short = 'c', long, value_name = "RANGE", allow_hyphen_values = true)]
    pub critical: Option<Range>,
    /// Pending heal entries warning range.
    #[arg(
        long,
        value_name = "RANGE",
        default_value = "0",
        allow_hyphen_values = true
    )]
    pub pending_warning: Range,
    /// Pending heal entries critical range (none by default).
    #[arg(long, value_name = "RANGE", allow_hyphen_values = true)]
    pub pending_critical: Option<Range>,
    /// State when a brick is down.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub brick_down: Status,
    /// State when a peer is disconnected.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub peer_down: Status,
    /// State when entries are in split-brain.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub split_brain: Status,
    /// State when a brick's heal count cannot be read (it is never taken as 0).
    #[arg(long, value_name = "STATE", default_value = "warning")]
    pub unknown_heal: Status,
    /// State when a client mount's probe (stat, write, read back, remove) fails.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub mount_down: Status,
}

#[derive(Debug, Args)]
pub struct CheckBackupArgs {
    #[command(flatten)]
    pub common: CheckCommonArgs,
    /// Backup root instead of quorate.backup.directories (repeatable); the configuration is
    /// then read only when --config is given (for quorate.backup.timezone).
    #[arg(long, value_name = "DIR")]
    pub backup_dir: Vec<PathBuf>,
    /// Judge only this type: full, incremental, or all (the newest backup of any type).
    #[arg(long = "type", value_name = "TYPE", default_value = "all")]
    pub kind: TypeFilter,
    /// Warning range on the newest complete backup's age; units s, m, h, d (a bare number is
    /// seconds; empty is the default).
    #[arg(
        short = 'w',
        long,
        value_name = "RANGE",
        default_value = quorate::check::backup::DEFAULT_WARNING,
        value_parser = parse_age_warning,
        allow_hyphen_values = true
    )]
    pub warning: Range,
    /// Critical range on the newest complete backup's age.
    #[arg(
        short = 'c',
        long,
        value_name = "RANGE",
        default_value = quorate::check::backup::DEFAULT_CRITICAL,
        value_parser = parse_age_critical,
        allow_hyphen_values = true
    )]
    pub critical: Range,
    /// Smallest acceptable size of the newest complete backup: B, KB/MB/GB/TB (powers of
    /// 1000) or KiB/MiB/GiB/TiB (powers of 1024).
    #[arg(long, value_name = "SIZE", value_parser = parse_size)]
    pub min_size: Option<u64>,
    /// State when the newest backup is smaller than --min-size.
    #[arg(long, value_name = "STATE", default_value = "warning")]
    pub too_small: Status,
    /// State when there is no complete backup.
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub no_backup: Status,
    /// State when the newest attempt failed (killed midway, unreadable files).
    #[arg(long, value_name = "STATE", default_value = "warning")]
    pub failed_attempt: Status,
    /// State when an incremental does not continue its base (from_lsn != base to_lsn).
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub chain_broken: Status,
    /// Also require a successful `quorate backup verify` (of the --type asked for) within
    /// this long (e.g. 8d), and the newest verification not to have failed.
    #[arg(long, value_name = "DURATION", value_parser = parse_duration)]
    pub verified_within: Option<std::time::Duration>,
    /// State when --verified-within is not met (none lately, or the newest one failed).
    #[arg(long, value_name = "STATE", default_value = "critical")]
    pub unverified: Status,
}

/// An age range; empty (a Zabbix key parameter left out) is the default.
fn parse_age_warning(text: &str) -> Result<Range, String> {
    parse_age_or(text, quorate::check::backup::DEFAULT_WARNING)
}

fn parse_age_critical(text: &str) -> Result<Range, String> {
    parse_age_or(text, quorate::check::backup::DEFAULT_CRITICAL)
}

fn parse_age_or(text: &str, default: &str) -> Result<Range, String> {
    let text = if text.trim().is_empty() {
        default
    } else {
        text
    };
    quorate::check::backup::parse_age_range(text).map_err(|e| e.to_string())
}

fn parse_size(text: &str) -> Result<u64, String> {
    quorate::check::backup::parse_size(text)
}

#[derive(Debug, Args)]
pub struct DiscoverArgs {
    #[command(subcommand)]
    pub target: DiscoverTarget,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum DiscoverTarget {
    /// The MariaDB Galera nodes of the configuration: [{"{#NODE}": ..., "{#ENDPOINT}": ...}].
    Galera {
        /// Configuration file.
        #[arg(long, default_value = quorate::config::DEFAULT_PATH)]
        config: PathBuf,
    },
    /// GlusterFS volumes (and with --bricks their bricks), read with the gluster CLI:
    /// [{"{#VOLUME}": ..., "{#TYPE}": ..., "{#REPLICA}": ...}].
    Gluster {
        /// Configuration file.
        #[arg(long, default_value = quorate::config::DEFAULT_PATH)]
        config: PathBuf,
        /// One row per brick: [{"{#VOLUME}": ..., "{#BRICK}": ...}].
        #[arg(long)]
        bricks: bool,
    },
    /// Backup types found on disk ([{"{#TYPE}": "full"}, ...]), or with --dirs the backup
    /// roots ([{"{#DIR}": "/var/backups/mariadb"}]).
    Backup {
        /// Configuration file (quorate.backup.directories, quorate.backup.timezone); with
        /// --backup-dir it is read only when given.
        #[arg(long, value_name = "FILE")]
        config: Option<PathBuf>,
        /// Backup root instead of quorate.backup.directories (repeatable).
        #[arg(long, value_name = "DIR")]
        backup_dir: Vec<PathBuf>,
        /// One row per backup root instead of one per type.
        #[arg(long)]
        dirs: bool,
    },
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
pub enum SandboxCommand {
    /// Start a real N-node Galera cluster on loopback and write DIR/quorate.yaml.
    Up {
        #[arg(long)]
        dir: PathBuf,
        /// Galera nodes (0 only with --gluster: a GlusterFS-only sandbox).
        #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u16).range(0..=9))]
        nodes: u16,
        /// Also start a real GlusterFS pool (two glusterds, each in a network namespace of its
        /// own) with a replica-3 volume, and put it in quorate.yaml.
        #[arg(long)]
        gluster: bool,
        /// Run each Galera node in a network namespace of its own, joined by a bridge, so that
        /// `quorate sandbox partition` can cut the network between them (SQL still goes through
        /// each node's unix socket).
        #[arg(long)]
        netns: bool,
        /// Also start one `quorate serve --node NAME` per node (each node's /galera/state, which
        /// `quorate recover` reads), ended by `down`.
        #[arg(long)]
        serve: bool,
    },
    /// Cut the network of a `--netns` sandbox into segments: each GROUP (comma-separated
    /// nodes, e.g. node1,node2) gets its own; nodes in no group share one. Both sides stay live.
    Partition {
        #[arg(long)]
        dir: PathBuf,
        /// Nodes that stay connected to each other, e.g. node3,node4.
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Put every node of a `--netns` sandbox back on one network.
    Heal {
        #[arg(long)]
        dir: PathBuf,
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
    /// Break or repair the sandbox's GlusterFS pool (`up --gluster`): crash-peer, start-peer,
    /// kill-brick --brick N, start-bricks, heal.
    Gluster {
        #[arg(long)]
        dir: PathBuf,
        #[arg(value_enum)]
        fault: GlusterFault,
        /// The brick of kill-brick, 1-based (b1, b2 on the first server, b3 on the peer).
        #[arg(long, value_parser = clap::value_parser!(u16).range(1..=9))]
        brick: Option<u16>,
    },
    /// Take a real mariabackup backup of a node into DIR/backups (the seed's layout, with
    /// backup_metadata.json): full, or incremental on the newest complete backup.
    Backup {
        #[arg(long)]
        dir: PathBuf,
        /// The node to back up.
        #[arg(long, default_value = "node1")]
        node: String,
        /// An incremental backup (default: full).
        #[arg(long)]
        incremental: bool,
    },
}

/// A fault (or its repair) on the sandbox's GlusterFS pool, for tests and rehearsals.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum GlusterFault {
    /// Kill every process of the peer (its glusterd, brick and self-heal daemon) with SIGKILL.
    CrashPeer,
    /// Start the peer's glusterd again and wait until its brick is back and reachable.
    StartPeer,
    /// Kill one brick's process (`--brick N`, 1-based) with SIGKILL.
    KillBrick,
    /// Restart dead bricks (`volume start gv force`) and wait until the client reaches them.
    StartBricks,
    /// Trigger an index heal (`volume heal gv`).
    Heal,
}

#[derive(Debug, Args)]
pub struct NodeArgs {
    #[arg(long)]
    pub dir: PathBuf,
    /// Node name, e.g. node2.
    pub node: String,
}

#[derive(Debug, Subcommand)]
#[command(defer = true)]
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

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use super::Cli;

    /// clap's own consistency checks, over the whole tree (the deferred parts built too).
    #[test]
    fn the_command_tree_is_consistent() {
        Cli::command().debug_assert();
    }

    /// A deferred subcommand gets its arguments after its own about: an `Args` struct with a
    /// doc comment, flattened into it, would replace the about with that comment.
    #[test]
    fn a_subcommand_built_on_demand_keeps_its_own_about() {
        for (args, about) in [
            (&["check", "galera"][..], "One Galera node:"),
            (
                &["check", "cluster"][..],
                "The whole cluster from every configured node",
            ),
            (&["serve"][..], "Run the Prometheus exporter"),
            (&["recover", "plan"][..], "Gather every node's state"),
        ] {
            let argv = std::iter::once("quorate")
                .chain(args.iter().copied())
                .chain(["--help"]);
            let help = match Cli::command().try_get_matches_from(argv) {
                Err(e) if e.kind() == clap::error::ErrorKind::DisplayHelp => e.to_string(),
                other => panic!("{args:?} --help: {other:?}"),
            };
            assert!(help.starts_with(about), "{args:?}:\n{help}");
        }
    }
}
