//! The configuration file: the seed's cluster layout (`cluster`, `database`, `storage`,
//! `nodes.controllers[]`) plus quorate's own `quorate:` section, validated into [`Settings`].
//!
//! Owns: strict YAML decoding (an unknown key is an error naming the key and its line),
//! `${VAR}` expansion of the values quorate uses, durations like `3s`, credential resolution
//! (literal, password file or a my.cnf-style `[client]` defaults file) and the permission
//! warnings for files holding secrets. Nothing here talks to the network.
//!
//! Values quorate never uses (the seed's `database.mariadb` root and SST passwords) are kept
//! unexpanded, so monitoring does not need the database root password in its environment.

use std::collections::BTreeMap;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::{Deserialize, Deserializer};

/// Where `quorate` looks for its configuration when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/quorate/quorate.yaml";
/// The default listen address of `quorate serve`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9878";
/// The default backup root of the seed's backup script.
pub const DEFAULT_BACKUP_DIR: &str = "/var/backups/mariadb";

/// Why a configuration could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors and unknown keys; serde_yaml_ng's message carries the key and line.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    /// A value that decoded but does not make sense (names the key).
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A file the configuration points at (password file, defaults file) is unusable.
    #[error("{path}: {key}: cannot read {file}: {message}")]
    SecretFile {
        path: PathBuf,
        key: String,
        file: PathBuf,
        message: String,
    },
}

/// A secret value. It is never printed: `Debug` and `Display` show `<redacted>`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    pub fn new(value: impl Into<String>) -> Self {
        Secret(value.into())
    }
    /// The secret itself, for handing to a client library. Never log the result.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("<redacted>")
    }
}

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

/// The MySQL account quorate monitors with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MysqlAuth {
    pub user: String,
    pub password: Option<Secret>,
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

/// `quorate.tls`: `quorate serve` speaks HTTPS on its listen address (every endpoint).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key (kept 0600: a world-readable key is warned about).
    pub key_file: PathBuf,
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

/// `quorate.gluster`: how to run the gluster CLI.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlusterCliSettings {
    /// argv prefix, e.g. `["gluster"]` or `["ip", "netns", "exec", "NS", "gluster"]`.
    pub command: Vec<String>,
    /// Hard timeout of one `volume info` / `volume status` / `peer status`.
    pub timeout: Duration,
    /// Hard timeout of one `volume heal V info summary` (heal info can take minutes).
    pub heal_timeout: Duration,
    /// How often volume, brick and peer state is refreshed.
    pub interval: Duration,
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
            explicit: false,
        }
    }
}

/// `quorate.check`: settings of `quorate check`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CheckSettings {
    /// Where checks keep state between runs (the flow-control sample).
    pub state_dir: Option<PathBuf>,
}

/// A validated configuration. Cheap to clone; the server swaps whole `Settings` on reload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settings {
    /// The file this was loaded from.
    pub path: PathBuf,
    pub cluster_name: String,
    pub nodes: Vec<Node>,
    pub listen: SocketAddr,
    /// `quorate.tls`: serve HTTPS instead of HTTP.
    pub tls: Option<TlsFiles>,
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
    pub recovery: crate::recover::config::RecoverySettings,
    /// `quorate.gluster`.
    pub gluster_cli: GlusterCliSettings,
}

/// A loaded configuration and the warnings met on the way (e.g. a world-readable secret file).
#[derive(Debug, Clone)]
pub struct Loaded {
    pub settings: Settings,
    pub warnings: Vec<String>,
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

    /// Which node is "this host": `explicit` (from `--node`), else `quorate.node`, else the one
    /// controller whose hostname or address is this machine's. `None` when that is not unique.
    pub fn resolve_local_node(
        &self,
        explicit: Option<&str>,
        host: &HostIdentity,
    ) -> Result<Option<&Node>, String> {
        if let Some(name) = explicit.or(self.local_node.as_deref()) {
            return self.node(name).map(Some).ok_or_else(|| {
                format!(
                    "node {name:?} is not a controller in {}",
                    self.path.display()
                )
            });
        }
        let by_name: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| host.names.iter().any(|h| h.eq_ignore_ascii_case(&n.name)))
            .collect();
        if by_name.len() == 1 {
            return Ok(Some(by_name[0]));
        }
        let by_ip: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| host.addresses.contains(&n.ip_address))
            .collect();
        if by_ip.len() == 1 {
            return Ok(Some(by_ip[0]));
        }
        Ok(None)
    }
}

/// This machine's names and addresses, for finding the local node.
#[derive(Debug, Clone, Default)]
pub struct HostIdentity {
    pub names: Vec<String>,
    pub addresses: Vec<IpAddr>,
}

impl HostIdentity {
    /// Reads the hostname (and its short form) and every interface address.
    pub fn current() -> HostIdentity {
        let mut names = Vec::new();
        if let Some(name) = hostname() {
            if let Some((short, _)) = name.split_once('.') {
                names.push(short.to_string());
            }
            names.push(name);
        }
        HostIdentity {
            names,
            addresses: interface_addresses(),
        }
    }
}

fn hostname() -> Option<String> {
    let mut buf = [0u8; 256];
    // SAFETY: the buffer is valid for its length; gethostname NUL-terminates on success
    // when the name fits, and we bound the search by the buffer length anyway.
    let rc = unsafe { libc::gethostname(buf.as_mut_ptr().cast(), buf.len()) };
    if rc != 0 {
        return None;
    }
    let end = buf.iter().position(|&b| b == 0).unwrap_or(buf.len());
    let name = String::from_utf8_lossy(&buf[..end]).trim().to_string();
    (!name.is_empty()).then_some(name)
}

fn interface_addresses() -> Vec<IpAddr> {
    let mut out = Vec::new();
    let mut list: *mut libc::ifaddrs = std::ptr::null_mut();
    // SAFETY: getifaddrs fills `list` with a linked list we free with freeifaddrs below;
    // each sockaddr is read according to its own sa_family.
    unsafe {
        if libc::getifaddrs(&mut list) != 0 {
            return out;
        }
        let mut cur = list;
        while !cur.is_null() {
            let addr = (*cur).ifa_addr;
            if !addr.is_null() {
                match i32::from((*addr).sa_family) {
                    libc::AF_INET => {
                        let sin = &*(addr as *const libc::sockaddr_in);
                        out.push(IpAddr::from(
                            u32::from_be(sin.sin_addr.s_addr).to_be_bytes(),
                        ));
                    }
                    libc::AF_INET6 => {
                        let sin6 = &*(addr as *const libc::sockaddr_in6);
                        out.push(IpAddr::from(sin6.sin6_addr.s6_addr));
                    }
                    _ => {}
                }
            }
            cur = (*cur).ifa_next;
        }
        libc::freeifaddrs(list);
    }
    out
}

/// Loads and validates the configuration at `path`, resolving credentials from the files it
/// names and the environment.
pub fn load(path: &Path) -> Result<Loaded, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let mut warnings = Vec::new();
    let (settings, literal_secret) =
        parse_with_origin(path, &text, &std::env::vars().collect(), &mut warnings)?;
    if literal_secret {
        if let Ok(meta) = std::fs::metadata(path) {
            if meta.permissions().mode() & 0o004 != 0 {
                warnings.push(format!(
                    "{}: quorate.mysql.password is written in this file, which every user can read (mode {:o}); use ${{VAR}}, password_file or chmod o-r",
                    path.display(),
                    meta.permissions().mode() & 0o777
                ));
            }
        }
    }
    Ok(Loaded { settings, warnings })
}

/// Parses configuration text. `env` is the environment used for `${VAR}` expansion; files
/// named by the configuration are read relative to the current directory.
pub fn parse(
    path: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<Settings, ConfigError> {
    parse_with_origin(path, text, env, warnings).map(|(settings, _)| settings)
}

/// [`parse`], also saying whether the file itself holds a password (not a `${VAR}`).
fn parse_with_origin(
    path: &Path,
    text: &str,
    env: &BTreeMap<String, String>,
    warnings: &mut Vec<String>,
) -> Result<(Settings, bool), ConfigError> {
    let raw: RawFile = ENV.set(env, || {
        serde_yaml_ng::from_str(text).map_err(|e| ConfigError::Syntax {
            path: path.to_path_buf(),
            message: e.to_string(),
        })
    })?;
    let literal_secret = raw
        .quorate
        .mysql
        .password
        .as_ref()
        .is_some_and(|p| p.1 == Origin::Literal);
    Ok((validate(path, raw, warnings)?, literal_secret))
}

// ---------------------------------------------------------------------------------------------
// Raw file shape: exactly the keys we accept, nothing else.

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawFile {
    cluster: RawCluster,
    #[serde(default)]
    #[allow(dead_code)]
    database: Option<RawDatabase>,
    #[serde(default)]
    storage: Option<RawStorage>,
    nodes: RawNodes,
    #[serde(default)]
    quorate: RawQuorate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawCluster {
    name: Expanded,
}

/// The seed's database credentials. Kept as written: quorate does not use them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawDatabase {
    #[serde(default)]
    #[allow(dead_code)]
    mariadb: Option<RawMariadbCredentials>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawMariadbCredentials {
    #[serde(default)]
    root_password: Option<String>,
    #[serde(default)]
    sst_user: Option<String>,
    #[serde(default)]
    sst_password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawStorage {
    #[serde(default)]
    glusterfs: Option<RawGluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGluster {
    #[serde(default)]
    volume_name: Option<Expanded>,
    #[serde(default)]
    replica_count: Option<RawReplicaCount>,
    #[serde(default)]
    brick_path: Option<Expanded>,
    #[serde(default)]
    mount_point: Option<Expanded>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum RawReplicaCount {
    Number(u32),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodes {
    controllers: Vec<RawController>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawController {
    hostname: Expanded,
    ip_address: Expanded,
    #[serde(default)]
    priority: Option<i64>,
    #[serde(default)]
    services: RawServices,
    #[serde(default)]
    #[allow(dead_code)]
    vip_owner: Option<bool>,
}

/// The services of the seed's controllers. quorate reads `mariadb` and `glusterfs`; the others
/// are accepted so the cluster file can be used as it is.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
struct RawServices {
    #[serde(default)]
    mariadb: bool,
    #[serde(default)]
    glusterfs: bool,
    #[serde(default)]
    redis: bool,
    #[serde(default)]
    slurm: bool,
    #[serde(default)]
    web: bool,
    #[serde(default)]
    keepalived: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawQuorate {
    #[serde(default)]
    listen: Option<Expanded>,
    #[serde(default)]
    node: Option<Expanded>,
    #[serde(default)]
    mysql: RawMysql,
    #[serde(default)]
    timeouts: RawTimeouts,
    #[serde(default)]
    intervals: RawIntervals,
    #[serde(default)]
    backup: RawBackup,
    #[serde(default)]
    recovery: crate::recover::config::RawRecovery,
    #[serde(default)]
    nodes: BTreeMap<String, RawNodeOverride>,
    #[serde(default)]
    health: RawHealth,
    #[serde(default)]
    check: RawCheck,
    #[serde(default)]
    gluster: Option<RawGlusterCli>,
    #[serde(default)]
    tls: Option<RawTls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTls {
    cert_file: Expanded,
    key_file: Expanded,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawHealth {
    #[serde(default)]
    maintenance_file: Option<Expanded>,
    #[serde(default)]
    allow_donor: Option<bool>,
    #[serde(default)]
    allow_read_only: Option<bool>,
    #[serde(default)]
    timeout: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawCheck {
    #[serde(default)]
    state_dir: Option<Expanded>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawGlusterCli {
    #[serde(default)]
    command: Option<Vec<Expanded>>,
    #[serde(default)]
    timeout: Option<RawDuration>,
    #[serde(default)]
    heal_timeout: Option<RawDuration>,
    #[serde(default)]
    interval: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawMysql {
    #[serde(default)]
    user: Option<Expanded>,
    #[serde(default)]
    password: Option<Expanded>,
    #[serde(default)]
    password_file: Option<Expanded>,
    #[serde(default)]
    defaults_file: Option<Expanded>,
    #[serde(default)]
    port: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawTimeouts {
    #[serde(default)]
    galera: Option<RawDuration>,
    #[serde(default)]
    scrape: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawIntervals {
    #[serde(default)]
    gluster_heal: Option<RawDuration>,
    #[serde(default)]
    backup_rescan: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawBackup {
    #[serde(default)]
    directories: Option<Vec<Expanded>>,
    #[serde(default)]
    enabled: Option<bool>,
    #[serde(default)]
    timezone: Option<Expanded>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawNodeOverride {
    #[serde(default)]
    mysql_address: Option<Expanded>,
    #[serde(default)]
    mysql_socket: Option<Expanded>,
    #[serde(default)]
    datadir: Option<Expanded>,
}

/// A duration written as `3s`, `500ms`, `2m`, `1h`, `1d` or a bare number of seconds.
pub(crate) struct RawDuration(pub(crate) Duration);

impl<'de> Deserialize<'de> for RawDuration {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Number(f64),
            Text(String),
        }
        let text = match Either::deserialize(d)? {
            Either::Number(n) => format!("{n}s"),
            Either::Text(t) => expand(&t).map_err(serde::de::Error::custom)?,
        };
        parse_duration(&text)
            .map(RawDuration)
            .map_err(serde::de::Error::custom)
    }
}

/// Parses `3s`, `250ms`, `1.5m`, `2h`, `1d` or a bare number of seconds. Must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number
        .parse()
        .map_err(|_| format!("invalid duration {text:?} (use e.g. 3s, 500ms, 2m, 1h)"))?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => {
            return Err(format!(
                "invalid duration unit {other:?} in {text:?} (use ms, s, m, h or d)"
            ))
        }
    };
    let secs = value * scale;
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(format!("duration {text:?} must be positive"));
    }
    Ok(Duration::from_secs_f64(secs))
}

// ---------------------------------------------------------------------------------------------
// `${VAR}` expansion. The environment is passed in (tests use their own) through a scoped
// thread-local, because serde's Deserialize has no context argument; expanding while decoding
// lets serde_yaml_ng attach the line of a missing variable to the error.

struct ScopedEnv {
    current: std::cell::RefCell<Option<BTreeMap<String, String>>>,
}

thread_local! {
    static ENV_SLOT: ScopedEnv = const { ScopedEnv { current: std::cell::RefCell::new(None) } };
}

struct EnvScope;
static ENV: EnvScope = EnvScope;

impl EnvScope {
    fn set<T>(&self, env: &BTreeMap<String, String>, f: impl FnOnce() -> T) -> T {
        ENV_SLOT.with(|slot| *slot.current.borrow_mut() = Some(env.clone()));
        let out = f();
        ENV_SLOT.with(|slot| *slot.current.borrow_mut() = None);
        out
    }
}

fn lookup_env(name: &str) -> Option<String> {
    ENV_SLOT.with(|slot| {
        slot.current
            .borrow()
            .as_ref()
            .map(|env| env.get(name).cloned())
            .unwrap_or_else(|| std::env::var(name).ok())
    })
}

/// Replaces every `${NAME}` with the environment variable NAME. `$${` writes a literal `${`.
pub fn expand(text: &str) -> Result<String, String> {
    expand_counting(text).map(|(value, _)| value)
}

/// [`expand`], also counting the variables substituted.
fn expand_counting(text: &str) -> Result<(String, usize), String> {
    let mut substitutions = 0;
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(stripped) = after.strip_prefix("${") {
            out.push_str("${");
            rest = stripped;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unterminated ${{...}} in {text:?}"))?;
            let name = &body[..end];
            if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
                return Err(format!("invalid environment variable name {name:?}"));
            }
            let value = lookup_env(name)
                .ok_or_else(|| format!("environment variable {name} is not set"))?;
            out.push_str(&value);
            substitutions += 1;
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok((out, substitutions))
}

/// A string value with `${VAR}` expanded at decode time.
pub(crate) struct Expanded(pub(crate) String, Origin);

/// Whether a value was written in the file or came from the environment.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Origin {
    Literal,
    Environment,
}

impl Expanded {
    fn new(raw: &str) -> Result<Expanded, String> {
        let (value, substitutions) = expand_counting(raw)?;
        let origin = if substitutions == 0 {
            Origin::Literal
        } else {
            Origin::Environment
        };
        Ok(Expanded(value, origin))
    }
}

impl<'de> Deserialize<'de> for Expanded {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // A visitor rather than an untagged enum: untagged buffers the value and loses the
        // line that serde_yaml_ng would attach to an expansion error.
        struct ScalarVisitor;
        impl serde::de::Visitor<'_> for ScalarVisitor {
            type Value = Expanded;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string, number or boolean")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Expanded, E> {
                Expanded::new(v).map_err(E::custom)
            }
            fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
            fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
            fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
            fn visit_bool<E: serde::de::Error>(self, v: bool) -> Result<Expanded, E> {
                Ok(Expanded(v.to_string(), Origin::Literal))
            }
        }
        d.deserialize_any(ScalarVisitor)
    }
}

// ---------------------------------------------------------------------------------------------
// Validation: raw shape → Settings.

fn validate(
    path: &Path,
    raw: RawFile,
    warnings: &mut Vec<String>,
) -> Result<Settings, ConfigError> {
    let invalid = |key: &str, message: String| ConfigError::Invalid {
        path: path.to_path_buf(),
        key: key.to_string(),
        message,
    };
    let base_dir = path.parent().unwrap_or(Path::new("."));

    let cluster_name = raw.cluster.name.0.trim().to_string();
    if cluster_name.is_empty() {
        return Err(invalid("cluster.name", "must not be empty".into()));
    }
    if raw.nodes.controllers.is_empty() {
        return Err(invalid("nodes.controllers", "lists no controller".into()));
    }

    let q = raw.quorate;
    let default_port = q.mysql.port.unwrap_or(3306);
    let mut nodes = Vec::new();
    for (i, c) in raw.nodes.controllers.iter().enumerate() {
        let key = format!("nodes.controllers[{i}]");
        let name = c.hostname.0.trim().to_string();
        if name.is_empty() {
            return Err(invalid(
                &format!("{key}.hostname"),
                "must not be empty".into(),
            ));
        }
        if nodes.iter().any(|n: &Node| n.name == name) {
            return Err(invalid(
                &format!("{key}.hostname"),
                format!("{name:?} is listed twice"),
            ));
        }
        let ip_address: IpAddr = c.ip_address.0.trim().parse().map_err(|_| {
            invalid(
                &format!("{key}.ip_address"),
                format!("{:?} is not an IP address (node {name})", c.ip_address.0),
            )
        })?;
        let over = q.nodes.get(&name);
        let okey = format!("quorate.nodes.{name}");
        let mysql = match over.map(|o| (&o.mysql_address, &o.mysql_socket)) {
            Some((Some(_), Some(_))) => {
                return Err(invalid(
                    &okey,
                    "set mysql_address or mysql_socket, not both".into(),
                ))
            }
            Some((Some(addr), None)) => parse_mysql_address(&addr.0, default_port)
                .map_err(|m| invalid(&format!("{okey}.mysql_address"), m))?,
            Some((None, Some(sock))) => MysqlEndpoint::Socket(resolve_path(base_dir, &sock.0)),
            _ => MysqlEndpoint::Tcp {
                host: ip_address.to_string(),
                port: default_port,
            },
        };
        let datadir = over
            .and_then(|o| o.datadir.as_ref())
            .map(|d| resolve_path(base_dir, &d.0));
        nodes.push(Node {
            name,
            ip_address,
            priority: c.priority,
            mariadb: c.services.mariadb,
            glusterfs: c.services.glusterfs,
            mysql,
            datadir,
        });
    }
    for name in q.nodes.keys() {
        if !nodes.iter().any(|n| &n.name == name) {
            return Err(invalid(
                &format!("quorate.nodes.{name}"),
                format!("no controller has hostname {name:?}"),
            ));
        }
    }

    let local_node = q.node.map(|n| n.0.trim().to_string());
    if let Some(name) = &local_node {
        if !nodes.iter().any(|n| &n.name == name) {
            return Err(invalid(
                "quorate.node",
                format!("no controller has hostname {name:?}"),
            ));
        }
    }

    let listen_text = q
        .listen
        .map(|l| l.0)
        .unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    let listen: SocketAddr = listen_text.trim().parse().map_err(|_| {
        invalid(
            "quorate.listen",
            format!("{listen_text:?} is not an address:port (e.g. 0.0.0.0:9878 or [::1]:9878)"),
        )
    })?;

    let tls = match q.tls {
        None => None,
        Some(t) => {
            let files = TlsFiles {
                cert_file: resolve_path(base_dir, &t.cert_file.0),
                key_file: resolve_path(base_dir, &t.key_file.0),
            };
            // Read once here so a missing or world-readable key is reported with the file.
            read_secret_file(path, "quorate.tls.key_file", &files.key_file, warnings)?;
            Some(files)
        }
    };

    let mysql = resolve_mysql_auth(path, base_dir, &q.mysql, warnings)?;

    let gluster = raw
        .storage
        .and_then(|s| s.glusterfs)
        .map(|g| -> Result<_, ConfigError> {
            let replica_count = match g.replica_count {
                None => None,
                Some(RawReplicaCount::Number(0)) => {
                    return Err(invalid(
                        "storage.glusterfs.replica_count",
                        "must be at least 1".into(),
                    ))
                }
                Some(RawReplicaCount::Number(n)) => Some(n),
                Some(RawReplicaCount::Word(w)) if w.trim() == "auto" => None,
                Some(RawReplicaCount::Word(w)) => {
                    return Err(invalid(
                        "storage.glusterfs.replica_count",
                        format!("{w:?} is neither 'auto' nor a number"),
                    ))
                }
            };
            Ok(GlusterStorage {
                volume_name: g.volume_name.map(|v| v.0),
                replica_count,
                brick_path: g.brick_path.map(|p| PathBuf::from(p.0)),
                mount_point: g.mount_point.map(|p| PathBuf::from(p.0)),
            })
        });
    let gluster = gluster.transpose()?;
    let recovery = crate::recover::config::validate(
        path,
        base_dir,
        q.recovery,
        &nodes,
        listen,
        tls.is_some(),
        warnings,
    )?;

    let gluster_cli = match q.gluster {
        None => GlusterCliSettings::default(),
        Some(g) => {
            let defaults = GlusterCliSettings::default();
            let command = match g.command {
                None => defaults.command,
                Some(words) => {
                    let words: Vec<String> = words.into_iter().map(|w| w.0).collect();
                    if words.is_empty() || words[0].trim().is_empty() {
                        return Err(invalid(
                            "quorate.gluster.command",
                            "must name a program, e.g. [gluster]".into(),
                        ));
                    }
                    words
                }
            };
            GlusterCliSettings {
                command,
                timeout: g.timeout.map_or(defaults.timeout, |d| d.0),
                heal_timeout: g.heal_timeout.map_or(defaults.heal_timeout, |d| d.0),
                interval: g.interval.map_or(defaults.interval, |d| d.0),
                explicit: true,
            }
        }
    };

    let backup_dirs = match q.backup.directories {
        Some(dirs) if dirs.is_empty() => {
            return Err(invalid("quorate.backup.directories", "is empty".into()))
        }
        Some(dirs) => dirs
            .into_iter()
            .map(|d| resolve_path(base_dir, &d.0))
            .collect(),
        None => vec![PathBuf::from(DEFAULT_BACKUP_DIR)],
    };
    let backup_timezone = match q.backup.timezone {
        Some(tz) => {
            let name = tz.0.trim().to_string();
            if let Err(e) = jiff::tz::TimeZone::get(&name) {
                return Err(invalid("quorate.backup.timezone", e.to_string()));
            }
            Some(name)
        }
        None => None,
    };

    Ok(Settings {
        path: path.to_path_buf(),
        cluster_name,
        nodes,
        listen,
        tls,
        local_node,
        mysql,
        galera_timeout: q.timeouts.galera.map_or(Duration::from_secs(3), |d| d.0),
        scrape_timeout: q.timeouts.scrape.map_or(Duration::from_secs(10), |d| d.0),
        gluster_heal_interval: q
            .intervals
            .gluster_heal
            .map_or(Duration::from_secs(60), |d| d.0),
        backup_rescan_interval: q
            .intervals
            .backup_rescan
            .map_or(Duration::from_secs(300), |d| d.0),
        backup_dirs,
        backup_enabled: q.backup.enabled.unwrap_or(true),
        backup_timezone,
        gluster,
        health: HealthSettings {
            maintenance_file: q
                .health
                .maintenance_file
                .map(|f| resolve_path(base_dir, &f.0)),
            allow_donor: q.health.allow_donor.unwrap_or(false),
            allow_read_only: q.health.allow_read_only.unwrap_or(false),
            timeout: q.health.timeout.map_or(Duration::from_secs(2), |d| d.0),
        },
        check: CheckSettings {
            state_dir: q.check.state_dir.map(|d| resolve_path(base_dir, &d.0)),
        },
        recovery,
        gluster_cli,
    })
}

/// Relative paths in the config are relative to the config file's directory.
pub(crate) fn resolve_path(base: &Path, value: &str) -> PathBuf {
    let p = PathBuf::from(value.trim());
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// `host:port`, `[v6]:port`, or a bare host (then `default_port`).
fn parse_mysql_address(text: &str, default_port: u16) -> Result<MysqlEndpoint, String> {
    let t = text.trim();
    if t.is_empty() {
        return Err("is empty".into());
    }
    if let Ok(sa) = t.parse::<SocketAddr>() {
        return Ok(MysqlEndpoint::Tcp {
            host: sa.ip().to_string(),
            port: sa.port(),
        });
    }
    if let Ok(ip) = t.trim_matches(['[', ']']).parse::<IpAddr>() {
        return Ok(MysqlEndpoint::Tcp {
            host: ip.to_string(),
            port: default_port,
        });
    }
    match t.rsplit_once(':') {
        Some((host, port)) if !host.contains(':') => {
            let port = port
                .parse::<u16>()
                .map_err(|_| format!("{t:?}: port {port:?} is not a number from 1 to 65535"))?;
            Ok(MysqlEndpoint::Tcp {
                host: host.to_string(),
                port,
            })
        }
        _ => Ok(MysqlEndpoint::Tcp {
            host: t.to_string(),
            port: default_port,
        }),
    }
}

fn resolve_mysql_auth(
    path: &Path,
    base_dir: &Path,
    raw: &RawMysql,
    warnings: &mut Vec<String>,
) -> Result<MysqlAuth, ConfigError> {
    let sources = [
        raw.password.is_some(),
        raw.password_file.is_some(),
        raw.defaults_file.is_some(),
    ];
    if sources.iter().filter(|s| **s).count() > 1 {
        return Err(ConfigError::Invalid {
            path: path.to_path_buf(),
            key: "quorate.mysql".into(),
            message: "set only one of password, password_file and defaults_file".into(),
        });
    }
    let mut user = raw.user.as_ref().map(|u| u.0.trim().to_string());
    let mut password = raw.password.as_ref().map(|p| Secret::new(p.0.clone()));

    if let Some(file) = &raw.password_file {
        let file = resolve_path(base_dir, &file.0);
        let text = read_secret_file(path, "quorate.mysql.password_file", &file, warnings)?;
        let first = text.lines().next().unwrap_or("").trim_end_matches('\r');
        if first.is_empty() {
            return Err(ConfigError::SecretFile {
                path: path.to_path_buf(),
                key: "quorate.mysql.password_file".into(),
                file,
                message: "the first line is empty".into(),
            });
        }
        password = Some(Secret::new(first));
    }
    if let Some(file) = &raw.defaults_file {
        let file = resolve_path(base_dir, &file.0);
        let text = read_secret_file(path, "quorate.mysql.defaults_file", &file, warnings)?;
        let client = parse_defaults_file(&text);
        if user.is_none() {
            user = client.user;
        }
        password = client.password.map(Secret::new);
    }
    Ok(MysqlAuth {
        user: user
            .filter(|u| !u.is_empty())
            .unwrap_or_else(|| "quorate".to_string()),
        password,
    })
}

pub(crate) fn read_secret_file(
    path: &Path,
    key: &str,
    file: &Path,
    warnings: &mut Vec<String>,
) -> Result<String, ConfigError> {
    let err = |message: String| ConfigError::SecretFile {
        path: path.to_path_buf(),
        key: key.to_string(),
        file: file.to_path_buf(),
        message,
    };
    let meta = std::fs::metadata(file).map_err(|e| err(e.to_string()))?;
    if meta.permissions().mode() & 0o004 != 0 {
        warnings.push(format!(
            "{}: {key}: {} holds a secret and is readable by every user (mode {:o}); chmod o-r it",
            path.display(),
            file.display(),
            meta.permissions().mode() & 0o777
        ));
    }
    std::fs::read_to_string(file).map_err(|e| err(e.to_string()))
}

/// The `user` and `password` of a my.cnf-style file's `[client]` (or `[client-mariadb]`) group.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct ClientDefaults {
    pub user: Option<String>,
    pub password: Option<String>,
}

/// Reads the `[client]` and `[client-mariadb]` groups of a my.cnf-style file. Later values win,
/// as in the MariaDB client. Quotes around a value are removed.
pub fn parse_defaults_file(text: &str) -> ClientDefaults {
    let mut out = ClientDefaults::default();
    let mut in_client = false;
    for line in text.lines() {
        let line = line.trim();
        if line.is_empty()
            || line.starts_with('#')
            || line.starts_with(';')
            || line.starts_with('!')
        {
            continue;
        }
        if let Some(group) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            let group = group.trim();
            in_client = group == "client" || group == "client-mariadb";
            continue;
        }
        if !in_client {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let key = key.trim().replace('-', "_");
        let mut value = value.trim();
        if value.len() >= 2
            && ((value.starts_with('"') && value.ends_with('"'))
                || (value.starts_with('\'') && value.ends_with('\'')))
        {
            value = &value[1..value.len() - 1];
        }
        match key.as_str() {
            "user" => out.user = Some(value.to_string()),
            "password" => out.password = Some(value.to_string()),
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    fn parse_text(text: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
        let mut warnings = Vec::new();
        parse(
            Path::new("/etc/quorate/test.yaml"),
            text,
            &env(pairs),
            &mut warnings,
        )
    }

    const MINIMAL: &str = "cluster:\n  name: c1\nnodes:\n  controllers:\n    - hostname: a\n      ip_address: 10.0.0.1\n      services:\n        mariadb: true\n";

    #[test]
    fn example_file_in_repo_is_valid() {
        let text = include_str!("../examples/quorate.yaml");
        let s = parse_text(text, &[]).unwrap_err();
        // The example names a password file that does not exist on a build machine.
        assert!(s.to_string().contains("/etc/quorate/mysql.password"), "{s}");
    }

    #[test]
    fn example_file_with_literal_password_loads() {
        let text = include_str!("../examples/quorate.yaml").replace(
            "password_file: /etc/quorate/mysql.password",
            "password: ${QUORATE_MYSQL_PASSWORD}",
        );
        let s = parse_text(&text, &[("QUORATE_MYSQL_PASSWORD", "s3cret")]).unwrap();
        assert_eq!(s.cluster_name, "my_multihead_cluster");
        assert_eq!(s.nodes.len(), 3);
        assert_eq!(s.nodes[0].name, "server1");
        assert_eq!(
            s.nodes[0].mysql,
            MysqlEndpoint::Socket("/run/mysqld/mysqld.sock".into())
        );
        assert_eq!(
            s.nodes[0].datadir.as_deref(),
            Some(Path::new("/var/lib/mysql"))
        );
        assert_eq!(
            s.nodes[1].mysql,
            MysqlEndpoint::Tcp {
                host: "192.168.1.102".into(),
                port: 3306
            }
        );
        assert_eq!(s.mysql.user, "quorate");
        assert_eq!(
            s.mysql.password.as_ref().map(Secret::expose),
            Some("s3cret")
        );
        assert_eq!(s.galera_timeout, Duration::from_secs(3));
        assert_eq!(s.backup_rescan_interval, Duration::from_secs(300));
        assert!(s.backup_enabled);
        assert_eq!(s.backup_timezone, None);
        assert_eq!(s.listen, "0.0.0.0:9878".parse().unwrap());
        let g = s.gluster.unwrap();
        assert_eq!(g.volume_name.as_deref(), Some("shared_data"));
        assert_eq!(g.replica_count, None);
    }

    #[test]
    fn seed_layouts_parse_without_a_quorate_section() {
        // The two YAML blocks of the seeds (000 and 003), unmodified.
        let seed_000 = "cluster:\n  name: my_multihead_cluster\n\ndatabase:\n  mariadb:\n    root_password: ${MARIADB_ROOT_PASSWORD}  # Environment variable\n    sst_user: sstuser\n    sst_password: ${MARIADB_SST_PASSWORD}    # Environment variable\n\nnodes:\n  controllers:\n    - hostname: server1\n      ip_address: 192.168.1.101\n      services:\n        mariadb: true    # Enable MariaDB on this controller\n";
        let s = parse_text(seed_000, &[]).unwrap();
        assert_eq!(
            s.nodes[0].mysql,
            MysqlEndpoint::Tcp {
                host: "192.168.1.101".into(),
                port: 3306
            }
        );
        assert!(s.nodes[0].mariadb);
        assert_eq!(s.mysql.password, None);

        let seed_003 = "cluster:\n  name: x\nstorage:\n  glusterfs:\n    volume_name: shared_data          # Volume name\n    replica_count: auto\n    brick_path: /data/glusterfs/shared\n    mount_point: /mnt/gluster\n\nnodes:\n  controllers:\n    - hostname: server1\n      ip_address: 192.168.1.101\n      priority: 100\n      services:\n        glusterfs: true\n        mariadb: true\n        redis: true\n        slurm: true\n        web: true\n        keepalived: true\n      vip_owner: true\n";
        let s = parse_text(seed_003, &[]).unwrap();
        assert_eq!(s.nodes[0].priority, Some(100));
        assert!(s.nodes[0].glusterfs);
        assert_eq!(
            s.gluster.unwrap().brick_path,
            Some(PathBuf::from("/data/glusterfs/shared"))
        );
    }

    #[test]
    fn unknown_key_names_key_and_line() {
        let text = format!("{MINIMAL}quorate:\n  listen: 127.0.0.1:1\n  mysql:\n    usr: x\n");
        let err = parse_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("usr"), "{err}");
        assert!(err.contains("line 12"), "{err}");
        assert!(err.contains("/etc/quorate/test.yaml"), "{err}");
    }

    #[test]
    fn unknown_service_is_an_error() {
        let text = MINIMAL.replace("mariadb: true", "mariabd: true");
        let err = parse_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("mariabd") && err.contains("line 8"), "{err}");
    }

    #[test]
    fn env_expansion_and_missing_variable() {
        let text = format!(
            "{MINIMAL}quorate:\n  mysql:\n    user: ${{MON_USER}}\n    password: \"p${{PW}}q\"\n"
        );
        let s = parse_text(&text, &[("MON_USER", "mon"), ("PW", "a:b#c")]).unwrap();
        assert_eq!(s.mysql.user, "mon");
        assert_eq!(s.mysql.password.unwrap().expose(), "pa:b#cq");
        let err = parse_text(&text, &[("MON_USER", "mon")])
            .unwrap_err()
            .to_string();
        assert!(err.contains("environment variable PW is not set"), "{err}");
        assert!(err.contains("line 12"), "{err}");
    }

    #[test]
    fn unused_seed_secrets_are_not_expanded() {
        let text = "cluster:\n  name: c\ndatabase:\n  mariadb:\n    root_password: ${NOT_SET_ANYWHERE}\nnodes:\n  controllers:\n    - hostname: a\n      ip_address: 10.0.0.1\n";
        assert!(parse_text(text, &[]).is_ok());
    }

    #[test]
    fn expand_edge_cases() {
        ENV.set(&env(&[("A", "1")]), || {
            assert_eq!(expand("x${A}y$A$${A}").unwrap(), "x1y$A${A}");
            assert!(expand("${A").unwrap_err().contains("unterminated"));
            assert!(expand("${}").unwrap_err().contains("invalid"));
            assert!(expand("${A-B}").unwrap_err().contains("invalid"));
        });
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
        assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
        assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
        assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
        assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
        assert!(parse_duration("0s").is_err());
        assert!(parse_duration("-1s").is_err());
        assert!(parse_duration("3 weeks").is_err());
        assert!(parse_duration("s").is_err());
        let text = format!("{MINIMAL}quorate:\n  timeouts:\n    galera: 2x\n");
        let err = parse_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("\"x\"") && err.contains("line 11"), "{err}");
        let text = format!("{MINIMAL}quorate:\n  timeouts:\n    galera: 1.5\n");
        assert_eq!(
            parse_text(&text, &[]).unwrap().galera_timeout,
            Duration::from_millis(1500)
        );
    }

    #[test]
    fn invalid_values_name_their_key() {
        let cases = [
            (MINIMAL.replace("10.0.0.1", "not-an-ip"), "nodes.controllers[0].ip_address"),
            (format!("{MINIMAL}quorate:\n  listen: nowhere\n"), "quorate.listen"),
            (format!("{MINIMAL}quorate:\n  node: b\n"), "quorate.node"),
            (format!("{MINIMAL}quorate:\n  nodes:\n    b:\n      datadir: /x\n"), "quorate.nodes.b"),
            (
                format!("{MINIMAL}quorate:\n  nodes:\n    a:\n      mysql_address: h:99999\n"),
                "quorate.nodes.a.mysql_address",
            ),
            (
                format!("{MINIMAL}quorate:\n  nodes:\n    a:\n      mysql_address: h:1\n      mysql_socket: /s\n"),
                "quorate.nodes.a",
            ),
            (
                format!("{MINIMAL}quorate:\n  mysql:\n    password: x\n    password_file: /y\n"),
                "quorate.mysql",
            ),
            (format!("{MINIMAL}storage:\n  glusterfs:\n    replica_count: lots\n"), "storage.glusterfs.replica_count"),
            (
                format!("{MINIMAL}    - hostname: a\n      ip_address: 10.0.0.2\n"),
                "nodes.controllers[1].hostname",
            ),
        ];
        for (text, key) in cases {
            let err = parse_text(&text, &[]).unwrap_err().to_string();
            assert!(err.contains(key), "expected {key} in: {err}");
        }
    }

    #[test]
    fn backup_keys() {
        let s = parse_text(
            &format!("{MINIMAL}quorate:\n  backup:\n    directories: [bk, /abs]\n    enabled: false\n    timezone: Europe/Berlin\n"),
            &[],
        )
        .unwrap();
        assert_eq!(
            s.backup_dirs,
            vec![PathBuf::from("/etc/quorate/bk"), PathBuf::from("/abs")]
        );
        assert!(!s.backup_enabled);
        assert_eq!(s.backup_timezone.as_deref(), Some("Europe/Berlin"));
        let err = parse_text(
            &format!("{MINIMAL}quorate:\n  backup:\n    timezone: Mars/Olympus\n"),
            &[],
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("quorate.backup.timezone"), "{err}");
    }

    #[test]
    fn garbage_and_empty_files_are_errors_not_panics() {
        for text in [
            "",
            ":",
            "[1, 2]",
            "cluster: 5",
            "\u{0}\u{1}",
            "nodes: {controllers: []}\ncluster: {name: x}",
        ] {
            let err = parse_text(text, &[]).unwrap_err();
            assert!(
                err.to_string().starts_with("/etc/quorate/test.yaml"),
                "{err}"
            );
        }
    }

    #[test]
    fn mysql_addresses() {
        let t = |s| parse_mysql_address(s, 3306).unwrap();
        assert_eq!(
            t("10.0.0.1:3307"),
            MysqlEndpoint::Tcp {
                host: "10.0.0.1".into(),
                port: 3307
            }
        );
        assert_eq!(
            t("10.0.0.1"),
            MysqlEndpoint::Tcp {
                host: "10.0.0.1".into(),
                port: 3306
            }
        );
        assert_eq!(
            t("[::1]:3307"),
            MysqlEndpoint::Tcp {
                host: "::1".into(),
                port: 3307
            }
        );
        assert_eq!(
            t("::1"),
            MysqlEndpoint::Tcp {
                host: "::1".into(),
                port: 3306
            }
        );
        assert_eq!(
            t("db1.example:3310"),
            MysqlEndpoint::Tcp {
                host: "db1.example".into(),
                port: 3310
            }
        );
        assert_eq!(t("db1").to_string(), "db1:3306");
        assert!(parse_mysql_address("db:x", 3306).is_err());
    }

    #[test]
    fn defaults_file_groups_and_quotes() {
        let text = "[mysqld]\nuser=mysql\n[client]\nuser = mon\npassword=\"p w\"\n# comment\n[mysql]\npassword=other\n[client-mariadb]\npassword='final'\n";
        assert_eq!(
            parse_defaults_file(text),
            ClientDefaults {
                user: Some("mon".into()),
                password: Some("final".into())
            }
        );
        assert_eq!(
            parse_defaults_file("garbage\n[client\n=\n"),
            ClientDefaults::default()
        );
    }

    #[test]
    fn secret_files_and_world_readable_warning() {
        let dir = tempfile::tempdir().unwrap();
        let pw = dir.path().join("pw");
        std::fs::write(&pw, "hunter2\nignored\n").unwrap();
        std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
        let cnf = dir.path().join("my.cnf");
        std::fs::write(&cnf, "[client]\nuser=mon\npassword=fromcnf\n").unwrap();
        std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).unwrap();
        let cfg = dir.path().join("q.yaml");

        let mut warnings = Vec::new();
        let text = format!("{MINIMAL}quorate:\n  mysql:\n    password_file: pw\n");
        let s = parse(&cfg, &text, &env(&[]), &mut warnings).unwrap();
        assert_eq!(s.mysql.password.unwrap().expose(), "hunter2");
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].contains("readable by every user") && warnings[0].contains("pw"));

        let mut warnings = Vec::new();
        let text = format!(
            "{MINIMAL}quorate:\n  mysql:\n    defaults_file: {}\n",
            cnf.display()
        );
        let s = parse(&cfg, &text, &env(&[]), &mut warnings).unwrap();
        assert_eq!(s.mysql.user, "mon");
        assert_eq!(s.mysql.password.unwrap().expose(), "fromcnf");
        assert!(warnings.is_empty());

        let text = format!("{MINIMAL}quorate:\n  mysql:\n    password_file: missing\n");
        let err = parse(&cfg, &text, &env(&[]), &mut Vec::new())
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("quorate.mysql.password_file") && err.contains("missing"),
            "{err}"
        );
    }

    #[test]
    fn literal_password_in_a_world_readable_file_warns() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = dir.path().join("q.yaml");
        let write = |password: &str, mode: u32| {
            std::fs::write(
                &cfg,
                format!("{MINIMAL}quorate:\n  mysql:\n    password: {password}\n"),
            )
            .unwrap();
            std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(mode)).unwrap();
        };
        write("literal", 0o644);
        let loaded = load(&cfg).unwrap();
        assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
        assert!(loaded.warnings[0].contains("quorate.mysql.password"));
        assert!(
            !loaded.warnings[0].contains("literal"),
            "the warning never shows the secret"
        );
        write("literal", 0o640);
        assert!(load(&cfg).unwrap().warnings.is_empty());
        // A ${VAR} reference keeps the secret out of the file: no warning.
        write("${PATH}", 0o644);
        assert!(load(&cfg).unwrap().warnings.is_empty());
    }

    #[test]
    fn health_and_check_sections() {
        let s = parse_text(MINIMAL, &[]).unwrap();
        assert_eq!(s.health, HealthSettings::default());
        assert_eq!(s.health.timeout, Duration::from_secs(2));
        assert_eq!(s.check.state_dir, None);
        let text = format!(
            "{MINIMAL}quorate:\n  health:\n    maintenance_file: maint\n    allow_donor: true\n    allow_read_only: true\n    timeout: 500ms\n  check:\n    state_dir: ${{STATE}}\n"
        );
        let s = parse_text(&text, &[("STATE", "/var/tmp/q")]).unwrap();
        assert_eq!(
            s.health.maintenance_file,
            Some(PathBuf::from("/etc/quorate/maint"))
        );
        assert!(s.health.allow_donor && s.health.allow_read_only);
        assert_eq!(s.health.timeout, Duration::from_millis(500));
        assert_eq!(s.check.state_dir, Some(PathBuf::from("/var/tmp/q")));
        let text = format!("{MINIMAL}quorate:\n  health:\n    allow_doner: true\n");
        let err = parse_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains("allow_doner"), "{err}");
    }

    #[test]
    fn secret_never_prints() {
        let s = Secret::new("topsecret");
        assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
        let auth = MysqlAuth {
            user: "u".into(),
            password: Some(s),
        };
        assert!(!format!("{auth:?}").contains("topsecret"));
    }

    #[test]
    fn gluster_cli_section() {
        let base = "cluster: {name: c}\nnodes:\n  controllers:\n    - {hostname: a, ip_address: 10.0.0.1}\n";
        let s = parse_text(base, &[]).expect("no section");
        assert_eq!(s.gluster_cli, GlusterCliSettings::default());
        assert!(!s.gluster_cli.explicit);
        let s = parse_text(
            &format!("{base}quorate:\n  gluster:\n    command: [ip, netns, exec, \"${{NS}}\", gluster]\n    timeout: 3s\n    heal_timeout: 2m\n    interval: 5s\n"),
            &[("NS", "qsb-1")],
        )
        .expect("full section");
        assert_eq!(
            s.gluster_cli.command,
            ["ip", "netns", "exec", "qsb-1", "gluster"]
        );
        assert_eq!(s.gluster_cli.timeout, Duration::from_secs(3));
        assert_eq!(s.gluster_cli.heal_timeout, Duration::from_secs(120));
        assert_eq!(s.gluster_cli.interval, Duration::from_secs(5));
        assert!(s.gluster_cli.explicit);
        let s = parse_text(&format!("{base}quorate:\n  gluster: {{}}\n"), &[]).expect("empty");
        assert!(s.gluster_cli.explicit);
        assert_eq!(s.gluster_cli.command, ["gluster"]);
        let err = parse_text(
            &format!("{base}quorate:\n  gluster:\n    command: []\n"),
            &[],
        )
        .expect_err("empty command");
        assert!(err.to_string().contains("quorate.gluster.command"), "{err}");
        let err = parse_text(
            &format!("{base}quorate:\n  gluster:\n    comand: [x]\n"),
            &[],
        )
        .expect_err("unknown key");
        assert!(err.to_string().contains("comand"), "{err}");
    }

    #[test]
    fn local_node_resolution() {
        let text = format!("{MINIMAL}    - hostname: b\n      ip_address: 10.0.0.2\n");
        let s = parse_text(&text, &[]).unwrap();
        let host = HostIdentity {
            names: vec!["B".into()],
            addresses: vec![],
        };
        assert_eq!(
            s.resolve_local_node(None, &host).unwrap().unwrap().name,
            "b"
        );
        let host = HostIdentity {
            names: vec!["z".into()],
            addresses: vec!["10.0.0.1".parse().unwrap()],
        };
        assert_eq!(
            s.resolve_local_node(None, &host).unwrap().unwrap().name,
            "a"
        );
        assert_eq!(
            s.resolve_local_node(Some("b"), &host)
                .unwrap()
                .unwrap()
                .name,
            "b"
        );
        assert!(s.resolve_local_node(Some("nope"), &host).is_err());
        assert!(s
            .resolve_local_node(None, &HostIdentity::default())
            .unwrap()
            .is_none());
        assert!(!HostIdentity::current().addresses.is_empty());
    }
}
