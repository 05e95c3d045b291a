//! Validation: the raw shape ([`RawFile`]) → [`Settings`], one function per section. Every
//! error names the file and the key; relative paths are relative to the file's directory.
//!
//! The sections are validated in the order of [`validate`], which is also the order in which
//! their errors and warnings are reported.

use std::collections::BTreeMap;
use std::net::{IpAddr, SocketAddr};
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::expand::Expanded;
use super::raw::{
    RawBackup, RawCheck, RawController, RawFile, RawGluster, RawGlusterCli, RawHealth, RawHttp,
    RawNodeOverride, RawReplicaCount, RawTls,
};
use super::secrets::{read_secret_file, resolve_mysql_auth};
use super::{
    CheckSettings, ConfigError, GlusterCliSettings, GlusterStorage, HealthSettings, HttpSettings,
    MysqlEndpoint, Node, ServerTls, Settings, StateName, WebConfig, WebSettings,
    DEFAULT_BACKUP_DIR, DEFAULT_LISTEN,
};

/// The file being validated: errors name it, relative paths are resolved against its directory.
#[derive(Clone, Copy)]
pub(super) struct ConfigFile<'a> {
    pub(super) path: &'a Path,
    pub(super) base_dir: &'a Path,
}

impl ConfigFile<'_> {
    /// A value at `key` that decoded but does not make sense.
    pub(super) fn invalid(&self, key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::invalid(self.path, key, message)
    }

    /// `value` as a path, relative to the configuration file's directory.
    pub(super) fn resolve(&self, value: &str) -> PathBuf {
        resolve_path(self.base_dir, value)
    }
}

/// Raw shape → [`Settings`]. `warnings` collects the world-readable secret files met.
pub(super) fn validate(
    path: &Path,
    raw: RawFile,
    warnings: &mut Vec<String>,
) -> Result<Settings, ConfigError> {
    let file = ConfigFile {
        path,
        base_dir: path.parent().unwrap_or(Path::new(".")),
    };
    let cluster_name = cluster_name(file, &raw.cluster.name.0)?;
    let q = raw.quorate;
    let nodes = controllers(
        file,
        &raw.nodes.controllers,
        &q.nodes,
        q.mysql.port.unwrap_or(3306),
    )?;
    let local_node = local_node(file, q.node.map(|n| n.0), &nodes)?;
    let listen = listen(file, q.listen.map(|l| l.0))?;
    let (tls, web) = serve_tls(file, q.tls, q.web_config_file, warnings)?;
    let mysql = resolve_mysql_auth(file, &q.mysql, warnings)?;
    // What a change should reload besides this file (the server watches them).
    let secret_files = [
        q.mysql.password_file.as_ref(),
        q.mysql.defaults_file.as_ref(),
        q.recovery.token_file.as_ref(),
    ]
    .into_iter()
    .flatten()
    .map(|f| file.resolve(&f.0))
    .chain(tls.iter().flat_map(|t| {
        [
            Some(&t.cert_file),
            Some(&t.key_file),
            t.client_ca_file.as_ref(),
        ]
        .into_iter()
        .flatten()
        .cloned()
    }))
    .chain(web.file.clone())
    .chain(q.recovery.client_files().map(|f| file.resolve(&f.0)))
    .collect();
    let gluster = match raw.storage.and_then(|s| s.glusterfs) {
        Some(g) => Some(gluster_storage(file, g)?),
        None => None,
    };
    let recovery =
        super::recovery::validate(file, q.recovery, &nodes, listen, tls.is_some(), warnings)?;
    let gluster_cli = match q.gluster {
        Some(g) => gluster_cli(file, g)?,
        None => GlusterCliSettings::default(),
    };
    let backup = backup(file, q.backup)?;
    Ok(Settings {
        path: path.to_path_buf(),
        cluster_name,
        nodes,
        listen,
        tls,
        web,
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
        backup_dirs: backup.dirs,
        backup_enabled: backup.enabled,
        backup_timezone: backup.timezone,
        gluster,
        health: health(file, q.health),
        check: check(file, q.check)?,
        recovery,
        gluster_cli,
        http: http(file, q.http)?,
        secret_files,
    })
}

/// `cluster.name`: must not be empty.
fn cluster_name(file: ConfigFile<'_>, name: &str) -> Result<String, ConfigError> {
    let name = name.trim().to_string();
    if name.is_empty() {
        return Err(file.invalid("cluster.name", "must not be empty"));
    }
    Ok(name)
}

/// `nodes.controllers[]` with their `quorate.nodes.<name>` overrides (MySQL endpoint, datadir).
/// Every override must name a controller.
fn controllers(
    file: ConfigFile<'_>,
    controllers: &[RawController],
    overrides: &BTreeMap<String, RawNodeOverride>,
    default_port: u16,
) -> Result<Vec<Node>, ConfigError> {
    if controllers.is_empty() {
        return Err(file.invalid("nodes.controllers", "lists no controller"));
    }
    let mut nodes: Vec<Node> = Vec::new();
    for (i, c) in controllers.iter().enumerate() {
        let key = format!("nodes.controllers[{i}]");
        let name = c.hostname.0.trim().to_string();
        if name.is_empty() {
            return Err(file.invalid(&format!("{key}.hostname"), "must not be empty"));
        }
        if nodes.iter().any(|n| n.name == name) {
            return Err(file.invalid(
                &format!("{key}.hostname"),
                format!("{name:?} is listed twice"),
            ));
        }
        let ip_address: IpAddr = c.ip_address.0.trim().parse().map_err(|_| {
            file.invalid(
                &format!("{key}.ip_address"),
                format!("{:?} is not an IP address (node {name})", c.ip_address.0),
            )
        })?;
        let over = overrides.get(&name);
        let mysql = mysql_endpoint(file, &name, over, ip_address, default_port)?;
        let datadir = over
            .and_then(|o| o.datadir.as_ref())
            .map(|d| file.resolve(&d.0));
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
    for name in overrides.keys() {
        if !nodes.iter().any(|n| &n.name == name) {
            return Err(file.invalid(
                &format!("quorate.nodes.{name}"),
                format!("no controller has hostname {name:?}"),
            ));
        }
    }
    Ok(nodes)
}

/// `quorate.nodes.<name>.mysql_address` or `.mysql_socket`, else the controller's address.
fn mysql_endpoint(
    file: ConfigFile<'_>,
    name: &str,
    over: Option<&RawNodeOverride>,
    ip_address: IpAddr,
    default_port: u16,
) -> Result<MysqlEndpoint, ConfigError> {
    let okey = format!("quorate.nodes.{name}");
    Ok(match over.map(|o| (&o.mysql_address, &o.mysql_socket)) {
        Some((Some(_), Some(_))) => {
            return Err(file.invalid(&okey, "set mysql_address or mysql_socket, not both"))
        }
        Some((Some(addr), None)) => parse_mysql_address(&addr.0, default_port)
            .map_err(|e| file.invalid(&format!("{okey}.mysql_address"), e.to_string()))?,
        Some((None, Some(sock))) => MysqlEndpoint::Socket(file.resolve(&sock.0)),
        _ => MysqlEndpoint::Tcp {
            host: ip_address.to_string(),
            port: default_port,
        },
    })
}

/// `quorate.node`: must name a controller.
fn local_node(
    file: ConfigFile<'_>,
    node: Option<String>,
    nodes: &[Node],
) -> Result<Option<String>, ConfigError> {
    let local_node = node.map(|n| n.trim().to_string());
    if let Some(name) = &local_node {
        if !nodes.iter().any(|n| &n.name == name) {
            return Err(file.invalid(
                "quorate.node",
                format!("no controller has hostname {name:?}"),
            ));
        }
    }
    Ok(local_node)
}

/// `quorate.listen`, else [`DEFAULT_LISTEN`].
fn listen(file: ConfigFile<'_>, listen: Option<String>) -> Result<SocketAddr, ConfigError> {
    let text = listen.unwrap_or_else(|| DEFAULT_LISTEN.to_string());
    text.trim().parse().map_err(|_| {
        file.invalid(
            "quorate.listen",
            format!("{text:?} is not an address:port (e.g. 0.0.0.0:9878 or [::1]:9878)"),
        )
    })
}

/// How `quorate serve` speaks TLS and authenticates: `quorate.web_config_file` (the
/// exporter-toolkit file, read here so a reload re-reads it) and `quorate.tls`, the older
/// certificate-only form, which maps onto the same [`ServerTls`]. Both naming a certificate
/// is refused: which one is in force would be a guess. Keys are read once here so a missing
/// or world-readable key is reported with the file.
fn serve_tls(
    file: ConfigFile<'_>,
    tls: Option<RawTls>,
    web_config_file: Option<Expanded>,
    warnings: &mut Vec<String>,
) -> Result<(Option<ServerTls>, WebSettings), ConfigError> {
    let web = match web_config_file.filter(|w| !w.0.trim().is_empty()) {
        Some(w) => super::web::load(&file.resolve(&w.0), warnings)?,
        None => WebConfig {
            tls: None,
            web: WebSettings::default(),
        },
    };
    if tls.is_none() && web.tls.is_none() && !web.web.basic_auth_users.is_empty() {
        if let Some(w) = &web.web.file {
            warnings.push(format!(
                "{}: basic_auth_users without TLS: passwords cross the network in clear (set tls_server_config)",
                w.display()
            ));
        }
    }
    let Some(t) = tls else {
        return Ok((web.tls, web.web));
    };
    if let (Some(_), Some(w)) = (&web.tls, &web.web.file) {
        return Err(file.invalid(
            "quorate.tls",
            format!(
                "the web configuration file {} has a tls_server_config: set the certificate there only",
                w.display()
            ),
        ));
    }
    let files =
        ServerTls::certificate_only(file.resolve(&t.cert_file.0), file.resolve(&t.key_file.0));
    read_secret_file(file.path, "quorate.tls.key_file", &files.key_file, warnings)?;
    Ok((Some(files), web.web))
}

/// `storage.glusterfs` of the seed layout; `replica_count` is a positive number or `auto`.
fn gluster_storage(file: ConfigFile<'_>, g: RawGluster) -> Result<GlusterStorage, ConfigError> {
    const KEY: &str = "storage.glusterfs.replica_count";
    let replica_count = match g.replica_count {
        None => None,
        Some(RawReplicaCount::Number(0)) => return Err(file.invalid(KEY, "must be at least 1")),
        Some(RawReplicaCount::Number(n)) => Some(n),
        Some(RawReplicaCount::Word(w)) if w.trim() == "auto" => None,
        Some(RawReplicaCount::Word(w)) => {
            return Err(file.invalid(KEY, format!("{w:?} is neither 'auto' nor a number")))
        }
    };
    Ok(GlusterStorage {
        volume_name: g.volume_name.map(|v| v.0),
        replica_count,
        brick_path: g.brick_path.map(|p| PathBuf::from(p.0)),
        mount_point: g.mount_point.map(|p| PathBuf::from(p.0)),
    })
}

/// `quorate.gluster` (present, so `explicit`); unset keys take the defaults.
fn gluster_cli(file: ConfigFile<'_>, g: RawGlusterCli) -> Result<GlusterCliSettings, ConfigError> {
    let defaults = GlusterCliSettings::default();
    let command = match g.command {
        None => defaults.command,
        Some(words) => {
            let words: Vec<String> = words.into_iter().map(|w| w.0).collect();
            if words.is_empty() || words[0].trim().is_empty() {
                return Err(file.invalid(
                    "quorate.gluster.command",
                    "must name a program, e.g. [gluster]",
                ));
            }
            words
        }
    };
    let mut probe_mounts = Vec::new();
    for path in g.probe_mounts.unwrap_or_default() {
        let path = PathBuf::from(path.0);
        if !path.is_absolute() {
            return Err(file.invalid(
                "quorate.gluster.probe_mounts",
                format!("{} is not an absolute path", path.display()),
            ));
        }
        if !probe_mounts.contains(&path) {
            probe_mounts.push(path);
        }
    }
    let probe_timeout = g.probe_timeout.map_or(defaults.probe_timeout, |d| d.0);
    Ok(GlusterCliSettings {
        command,
        timeout: g.timeout.map_or(defaults.timeout, |d| d.0),
        heal_timeout: g.heal_timeout.map_or(defaults.heal_timeout, |d| d.0),
        interval: g.interval.map_or(defaults.interval, |d| d.0),
        probe_mount_point: g.probe_mount_point.unwrap_or(defaults.probe_mount_point),
        probe_mounts,
        probe_timeout,
        explicit: true,
    })
}

/// Validated `quorate.backup`.
struct BackupSection {
    dirs: Vec<PathBuf>,
    enabled: bool,
    timezone: Option<String>,
}

/// `quorate.backup`: a non-empty directory list (else [`DEFAULT_BACKUP_DIR`]) and an IANA zone.
fn backup(file: ConfigFile<'_>, b: RawBackup) -> Result<BackupSection, ConfigError> {
    let dirs = match b.directories {
        Some(dirs) if dirs.is_empty() => {
            return Err(file.invalid("quorate.backup.directories", "is empty"))
        }
        Some(dirs) => dirs.into_iter().map(|d| file.resolve(&d.0)).collect(),
        None => vec![PathBuf::from(DEFAULT_BACKUP_DIR)],
    };
    let timezone = match b.timezone {
        Some(tz) => {
            let name = tz.0.trim().to_string();
            if let Err(e) = jiff::tz::TimeZone::get(&name) {
                return Err(file.invalid("quorate.backup.timezone", e.to_string()));
            }
            Some(name)
        }
        None => None,
    };
    Ok(BackupSection {
        dirs,
        enabled: b.enabled.unwrap_or(true),
        timezone,
    })
}

/// `quorate.health`; unset keys take the defaults.
fn health(file: ConfigFile<'_>, h: RawHealth) -> HealthSettings {
    let defaults = HealthSettings::default();
    HealthSettings {
        maintenance_file: h.maintenance_file.map(|f| file.resolve(&f.0)),
        allow_donor: h.allow_donor.unwrap_or(defaults.allow_donor),
        allow_read_only: h.allow_read_only.unwrap_or(defaults.allow_read_only),
        timeout: h.timeout.map_or(defaults.timeout, |d| d.0),
    }
}

/// `quorate.http`; unset keys take the defaults, counts must be at least 1.
fn http(file: ConfigFile<'_>, h: RawHttp) -> Result<HttpSettings, ConfigError> {
    let defaults = HttpSettings::default();
    let at_least_one = |key: &str, value: Option<u32>, default: usize| match value {
        None => Ok(default),
        Some(0) => Err(file.invalid(key, "must be at least 1")),
        Some(n) => Ok(n as usize),
    };
    Ok(HttpSettings {
        header_read_timeout: h
            .header_read_timeout
            .map_or(defaults.header_read_timeout, |d| d.0),
        tls_handshake_timeout: h
            .tls_handshake_timeout
            .map_or(defaults.tls_handshake_timeout, |d| d.0),
        max_connections: at_least_one(
            "quorate.http.max_connections",
            h.max_connections,
            defaults.max_connections,
        )?,
        max_request_body: at_least_one(
            "quorate.http.max_request_body",
            h.max_request_body,
            defaults.max_request_body,
        )?,
    })
}

/// `quorate.check`.
fn check(file: ConfigFile<'_>, c: RawCheck) -> Result<CheckSettings, ConfigError> {
    let maintenance_state = match c.maintenance_state {
        Some(text) => StateName::parse(&text.0).ok_or_else(|| {
            file.invalid(
                "quorate.check.maintenance_state",
                format!(
                    "{:?} is not a state (use ok, warning, critical or unknown)",
                    text.0
                ),
            )
        })?,
        None => StateName::Ok,
    };
    Ok(CheckSettings {
        state_dir: c.state_dir.map(|d| file.resolve(&d.0)),
        maintenance_state,
    })
}

/// Relative paths in the config are relative to the config file's directory.
pub(super) fn resolve_path(base: &Path, value: &str) -> PathBuf {
    let p = PathBuf::from(value.trim());
    if p.is_absolute() {
        p
    } else {
        base.join(p)
    }
}

/// Why a `mysql_address` is not one.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MysqlAddressError {
    #[error("is empty")]
    Empty,
    #[error("{address:?}: port {port:?} is not a number from 1 to 65535")]
    Port { address: String, port: String },
}

/// `host:port`, `[v6]:port`, or a bare host (then `default_port`).
pub(super) fn parse_mysql_address(
    text: &str,
    default_port: u16,
) -> Result<MysqlEndpoint, MysqlAddressError> {
    let t = text.trim();
    if t.is_empty() {
        return Err(MysqlAddressError::Empty);
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
            let port = port.parse::<u16>().map_err(|_| MysqlAddressError::Port {
                address: t.to_string(),
                port: port.to_string(),
            })?;
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
