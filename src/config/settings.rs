//! The validated configuration: [`Settings`] and the per-section types it holds. Plain data;
//! built only by `validate`, read by every other module of quorate.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use super::MysqlAuth;

/// How to reach one node's MySQL server.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum MysqlEndpoint {
    Tcp { host: String, port: u16 },
    Socket(PathBuf),
}

impl fmt::Display for MysqlEndpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MysqlEndpoint::Tcp { host, port } if host.contains(':') => write!(f, "[{host}]:{port}"),
            MysqlEndpoint::Tcp { host, port } => write!(f, "{host}:{port}"),
            MysqlEndpoint::Socket(path) => write!(f, "unix:{}", path.display()),
        }
    }
}

/// One controller of the cluster, as quorate sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// The controller's `hostname`; the node's name everywhere in quorate.
    pub name: String,
    pub ip_address: IpAddr,
    pub priority: Option<i64>,
    /// Runs MariaDB Galera (`services.mariadb`).
    pub mariadb: bool,
    /// Runs a GlusterFS brick (`services.glusterfs`).
    pub glusterfs: bool,
    pub mysql: MysqlEndpoint,
    /// The datadir holding grastate.dat, when it is readable from this host.
    pub datadir: Option<PathBuf>,
}

/// `storage.glusterfs` of the seed layout.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlusterStorage {
    pub volume_name: Option<String>,
    /// `None` means `auto` (one replica per GlusterFS controller).
    pub replica_count: Option<u32>,
    pub brick_path: Option<PathBuf>,
    pub mount_point: Option<PathBuf>,
}

/// `quorate.health`: the HAProxy health endpoint `/health/galera` of `quorate serve`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HealthSettings {
    /// While this file exists the node answers 503 (taken out of the load balancer).
    pub maintenance_file: Option<PathBuf>,
    /// A Donor/Desynced node answers 200 (unless it rejects queries during SST).
    pub allow_donor: bool,
    /// A node with `read_only=ON` answers 200.
    pub allow_read_only: bool,
    /// Budget for reading the node; the answer (503 at worst) comes within it.
    pub timeout: Duration,
}

impl Default for HealthSettings {
    fn default() -> HealthSettings {
        HealthSettings {
            maintenance_file: None,
            allow_donor: false,
            allow_read_only: false,
            timeout: Duration::from_secs(2),
        }
    }
}

/// `quorate.http`: the limits of `quorate serve`'s HTTP server, which keep clients that send
/// half a request, stall a TLS handshake or open thousands of connections from holding it.
/// Read for every new connection: a reload applies to the connections accepted after it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// A request's head must arrive within this, on a new connection and between requests on
    /// a kept-alive one (so it is also the idle keep-alive timeout).
    pub header_read_timeout: Duration,
    /// A TLS handshake must finish within this.
    pub tls_handshake_timeout: Duration,
    /// Open connections at most (lowered to what the open-file limit allows); at the cap a new
    /// connection closes the oldest one that is not answering a request.
    pub max_connections: usize,
    /// Requests announcing a larger body are refused (413); no endpoint takes a body.
    pub max_request_body: usize,
}

impl Default for HttpSettings {
    fn default() -> HttpSettings {
        HttpSettings {
            header_read_timeout: Duration::from_secs(10),
            tls_handshake_timeout: Duration::from_secs(10),
            max_connections: 1024,
            max_request_body: 64 * 1024,
        }
    }
}

/// `quorate.gluster`: how to run the gluster CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlusterCliSettings {
    /// argv prefix, e.g. `["gluster"]` or `["ip", "netns", "exec", "NS", "gluster"]`.
    pub command: Vec<String>,
    /// Hard timeout of one `volume info` / `volume status` / `peer status`.
    pub timeout: Duration,
    /// Hard timeout of one `volume heal V info summary` (heal info can take minutes).
    pub heal_timeout: Duration,
    /// How often volume, brick and peer state is refreshed, and how often each client mount
    /// is probed.
    pub interval: Duration,
    /// Whether `storage.glusterfs.mount_point` is probed.
    pub probe_mount_point: bool,
    /// Client mounts probed besides `storage.glusterfs.mount_point` (absolute paths).
    pub probe_mounts: Vec<PathBuf>,
    /// Hard timeout of one mount probe (stat, write, read back, remove).
    pub probe_timeout: Duration,
    /// The `quorate.gluster` section is present: run the GlusterFS source even when the
    /// local node is not a GlusterFS controller.
    pub explicit: bool,
}

impl Default for GlusterCliSettings {
    fn default() -> Self {
        GlusterCliSettings {
            command: vec!["gluster".to_string()],
            timeout: Duration::from_secs(10),
            heal_timeout: Duration::from_secs(300),
            interval: Duration::from_secs(15),
            probe_mount_point: true,
            probe_mounts: Vec::new(),
            probe_timeout: Duration::from_secs(5),
            explicit: false,
        }
    }
}

/// `quorate.check`: settings of `quorate check`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSettings {
    /// Where checks keep state between runs (the flow-control sample).
    pub state_dir: Option<PathBuf>,
    /// The state `check galera|cluster` give a node in planned maintenance (`--maintenance`
    /// overrides it).
    pub maintenance_state: StateName,
}

/// A plugin state named in the file. The checks turn it into their own `check::Status`
/// (configuration depends on no module that reads it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum StateName {
    #[default]
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl StateName {
    /// `ok`, `warning`, `critical` or `unknown`, in any case.
    pub fn parse(text: &str) -> Option<StateName> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ok" => Some(StateName::Ok),
            "warning" => Some(StateName::Warning),
            "critical" => Some(StateName::Critical),
            "unknown" => Some(StateName::Unknown),
            _ => None,
        }
    }
}

/// A validated configuration. Cheap to clone; the server swaps whole `Settings` on reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The file this was loaded from.
    pub path: PathBuf,
    pub cluster_name: String,
    pub nodes: Vec<Node>,
    pub listen: SocketAddr,
    /// Serve HTTPS instead of HTTP: the web configuration file's `tls_server_config`, or
    /// `quorate.tls` (its certificate-only alias).
    pub tls: Option<super::ServerTls>,
    /// The web configuration file's basic authentication and response headers.
    pub web: super::WebSettings,
    /// `quorate.node`: the controller that is "this host", when set.
    pub local_node: Option<String>,
    pub mysql: MysqlAuth,
    /// Budget for one node's whole Galera collection (connect and queries).
    pub galera_timeout: Duration,
    /// Scrape budget when Prometheus sends no `X-Prometheus-Scrape-Timeout-Seconds`.
    pub scrape_timeout: Duration,
    pub gluster_heal_interval: Duration,
    pub backup_rescan_interval: Duration,
    pub backup_dirs: Vec<PathBuf>,
    /// `quorate.backup.enabled`: scan the backup directories (`quorate serve`).
    pub backup_enabled: bool,
    /// `quorate.backup.timezone`: IANA zone mariabackup's local times are read in; the host's
    /// zone when unset.
    pub backup_timezone: Option<String>,
    pub gluster: Option<GlusterStorage>,
    /// `quorate.health`.
    pub health: HealthSettings,
    /// `quorate.check`.
    pub check: CheckSettings,
    /// `quorate.recovery`: how `quorate recover` reaches, starts and audits the nodes.
    pub recovery: super::RecoverySettings,
    /// `quorate.gluster`.
    pub gluster_cli: GlusterCliSettings,
    /// `quorate.http`.
    pub http: HttpSettings,
    /// The files secrets and certificates were read from (password, defaults, token, TLS):
    /// a change to one of them is a reason to reload.
    pub secret_files: Vec<PathBuf>,
}

impl Settings {
    /// The node called `name`.
    pub fn node(&self, name: &str) -> Option<&Node> {
        self.nodes.iter().find(|n| n.name == name)
    }

    /// The nodes that run MariaDB Galera.
    pub fn galera_nodes(&self) -> impl Iterator<Item = &Node> {
        self.nodes.iter().filter(|n| n.mariadb)
    }
}
