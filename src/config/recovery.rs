//! `quorate.recovery`: how `quorate recover` and the `/galera/*` endpoints reach, start and
//! audit each node. Decoded here (strictly, like the rest of the file) and validated into
//! [`RecoverySettings`], which `recover` reads; the validation of the whole file only hooks it
//! in. Part of the configuration, so nothing here depends on `recover`.
//!
//! ```yaml
//! quorate:
//!   recovery:
//!     token_file: /etc/quorate/recovery.token   # or token: ${QUORATE_RECOVERY_TOKEN}
//!     state_dir: /var/lib/quorate                # recovered positions are cached here
//!     audit_log: /var/log/quorate/recover.log
//!     start_command: [systemctl, start, mariadb]
//!     bootstrap_command: [galera_new_cluster]
//!     nodes:
//!       server2:
//!         endpoint: http://192.168.1.102:9878
//! ```
//!
//! Commands are argv lists, never shell strings: nothing is interpreted by a shell, and
//! `{node}` / `{datadir}` are the only placeholders.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

use super::expand::Expanded;
use super::raw::RawDuration;
use super::secrets::read_secret_file;
use super::validate::ConfigFile;
use super::{ConfigError, Node, Secret};

/// Default place for cached recovered positions.
pub const DEFAULT_STATE_DIR: &str = "/var/lib/quorate";
/// Default audit log of recovery actions.
pub const DEFAULT_AUDIT_LOG: &str = "/var/log/quorate/recover.log";
/// Default lock file that serialises recovery actions on one host.
pub const DEFAULT_LOCK_FILE: &str = "/run/quorate/recover.lock";

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRecovery {
    #[serde(default)]
    token: Option<Expanded>,
    #[serde(default)]
    pub(super) token_file: Option<Expanded>,
    #[serde(default)]
    state_dir: Option<Expanded>,
    #[serde(default)]
    audit_log: Option<Expanded>,
    #[serde(default)]
    peer_timeout: Option<RawDuration>,
    #[serde(default)]
    start_timeout: Option<RawDuration>,
    #[serde(default)]
    ca_file: Option<Expanded>,
    #[serde(default)]
    client_cert_file: Option<Expanded>,
    #[serde(default)]
    client_key_file: Option<Expanded>,
    // Defaults for every node (the per-node keys that make sense cluster-wide).
    #[serde(default)]
    lock_file: Option<Expanded>,
    #[serde(default)]
    start_command: Option<Vec<Expanded>>,
    #[serde(default)]
    bootstrap_command: Option<Vec<Expanded>>,
    #[serde(default)]
    recover_command: Option<Vec<Expanded>>,
    #[serde(default)]
    sql_command: Option<Vec<Expanded>>,
    #[serde(default)]
    nodes: BTreeMap<String, RawNodeRecovery>,
}

impl RawRecovery {
    /// The client certificate and key files (watched by `quorate serve` for reloads).
    pub(super) fn client_files(&self) -> impl Iterator<Item = &Expanded> {
        [
            self.client_cert_file.as_ref(),
            self.client_key_file.as_ref(),
        ]
        .into_iter()
        .flatten()
    }
}

/// The per-node keys; at `quorate.recovery` level they are the defaults for every node.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNodeRecovery {
    #[serde(default)]
    endpoint: Option<Expanded>,
    #[serde(default)]
    pid_file: Option<Expanded>,
    #[serde(default)]
    error_log: Option<Expanded>,
    #[serde(default)]
    lock_file: Option<Expanded>,
    #[serde(default)]
    start_command: Option<Vec<Expanded>>,
    #[serde(default)]
    bootstrap_command: Option<Vec<Expanded>>,
    #[serde(default)]
    recover_command: Option<Vec<Expanded>>,
    #[serde(default)]
    sql_command: Option<Vec<Expanded>>,
}

/// Validated `quorate.recovery`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecoverySettings {
    /// Bearer token of `/galera/state` and `/galera/recover-position`; `None` disables them.
    pub token: Option<Secret>,
    /// Where recovered positions are cached (`<state_dir>/<node>.position.json`).
    pub state_dir: PathBuf,
    /// Append-only audit log of recovery actions.
    pub audit_log: PathBuf,
    /// Budget for asking one peer's `/galera/state`.
    pub peer_timeout: Duration,
    /// How long an action waits for a started node to become Synced.
    pub start_timeout: Duration,
    /// CA bundle (PEM) that `https://` endpoints' certificates must chain to.
    pub ca_file: Option<PathBuf>,
    /// The certificate `quorate recover` presents to `https://` peers (mutual TLS), which
    /// peers verifying client certificates accept instead of the token.
    pub client_cert: Option<ClientCertificate>,
    /// Per node, keyed by controller hostname (every MariaDB controller has an entry).
    pub nodes: BTreeMap<String, NodeRecovery>,
}

/// `quorate.recovery.client_cert_file` and `client_key_file`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientCertificate {
    /// PEM certificate chain, leaf first.
    pub cert_file: PathBuf,
    /// PEM private key.
    pub key_file: PathBuf,
}

/// How to reach, inspect and start one node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeRecovery {
    /// Base URL of the node's `quorate serve` (`http://host:port`).
    pub endpoint: String,
    /// mariadbd's pid file, if known (otherwise the process is found through its datadir).
    pub pid_file: Option<PathBuf>,
    /// mariadbd's error log, read after a join to tell IST from SST.
    pub error_log: Option<PathBuf>,
    /// flock(2) lock file serialising recovery actions for this node.
    pub lock_file: PathBuf,
    /// Starts the node so that it joins (argv, placeholders expanded).
    pub start_command: Vec<String>,
    /// Starts the node as a new Primary component.
    pub bootstrap_command: Vec<String>,
    /// mariadbd with the node's options; `--wsrep-recover --disable-log-error` is appended.
    pub recover_command: Vec<String>,
    /// A client that runs the SQL it reads on stdin with enough privilege for
    /// `SET GLOBAL wsrep_provider_options` (promote).
    pub sql_command: Vec<String>,
}

impl RecoverySettings {
    /// The settings of `node`.
    pub fn node(&self, node: &str) -> Option<&NodeRecovery> {
        self.nodes.get(node)
    }

    /// `<state_dir>/<node>.position.json`.
    pub fn position_cache(&self, node: &str) -> PathBuf {
        self.state_dir.join(format!("{node}.position.json"))
    }
}

/// `quorate.recovery` → [`RecoverySettings`], one entry per MariaDB controller. Endpoints
/// default to each controller's address and `listen` port, over https when `serve_tls`.
pub(super) fn validate(
    file: ConfigFile<'_>,
    raw: RawRecovery,
    nodes: &[Node],
    listen: SocketAddr,
    serve_tls: bool,
    warnings: &mut Vec<String>,
) -> Result<RecoverySettings, ConfigError> {
    let invalid = |key: &str, message: String| file.invalid(key, message);
    let token = match (&raw.token, &raw.token_file) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                "quorate.recovery",
                "set token or token_file, not both".into(),
            ))
        }
        (Some(t), None) => Some(t.0.trim().to_string()),
        (None, Some(token_file)) => {
            let token_file = file.resolve(&token_file.0);
            let text = read_secret_file(
                file.path,
                "quorate.recovery.token_file",
                &token_file,
                warnings,
            )?;
            Some(text.lines().next().unwrap_or("").trim().to_string())
        }
        (None, None) => None,
    };
    if let Some(t) = &token {
        // A short token is guessable; the endpoints it guards can start a recovery run.
        if t.len() < 16 {
            return Err(invalid(
                "quorate.recovery.token",
                "must be at least 16 characters".into(),
            ));
        }
    }
    let client_cert = match (&raw.client_cert_file, &raw.client_key_file) {
        (None, None) => None,
        (Some(cert), Some(key)) => {
            let certificate = ClientCertificate {
                cert_file: file.resolve(&cert.0),
                key_file: file.resolve(&key.0),
            };
            read_secret_file(
                file.path,
                "quorate.recovery.client_key_file",
                &certificate.key_file,
                warnings,
            )?;
            Some(certificate)
        }
        (Some(_), None) => {
            return Err(invalid(
                "quorate.recovery.client_key_file",
                "is needed with client_cert_file".into(),
            ))
        }
        (None, Some(_)) => {
            return Err(invalid(
                "quorate.recovery.client_cert_file",
                "is needed with client_key_file".into(),
            ))
        }
    };
    for name in raw.nodes.keys() {
        if !nodes.iter().any(|n| &n.name == name) {
            return Err(invalid(
                &format!("quorate.recovery.nodes.{name}"),
                format!("no controller has hostname {name:?}"),
            ));
        }
    }
    let path_of = |v: &Option<Expanded>| v.as_ref().map(|e| file.resolve(&e.0));
    let argv = |key: &str, v: &Option<Vec<Expanded>>| -> Result<Option<Vec<String>>, ConfigError> {
        match v {
            None => Ok(None),
            Some(list) if list.is_empty() || list[0].0.trim().is_empty() => {
                Err(invalid(key, "must name a program".into()))
            }
            Some(list) => Ok(Some(list.iter().map(|e| e.0.clone()).collect())),
        }
    };
    let defaults = RawNodeRecovery {
        endpoint: None,
        pid_file: None,
        error_log: None,
        lock_file: raw.lock_file,
        start_command: raw.start_command,
        bootstrap_command: raw.bootstrap_command,
        recover_command: raw.recover_command,
        sql_command: raw.sql_command,
    };
    let d = &defaults;
    let mut per_node = BTreeMap::new();
    for node in nodes.iter().filter(|n| n.mariadb) {
        let o = raw.nodes.get(&node.name);
        let key = |k: &str| match o {
            Some(_) => format!("quorate.recovery.nodes.{}.{k}", node.name),
            None => format!("quorate.recovery.{k}"),
        };
        let pick = |f: fn(&RawNodeRecovery) -> &Option<Expanded>| {
            o.and_then(|o| f(o).as_ref()).or(f(d).as_ref())
        };
        let pick_argv = |f: fn(&RawNodeRecovery) -> &Option<Vec<Expanded>>, k: &str| match o
            .map(f)
            .filter(|v| v.is_some())
        {
            Some(v) => argv(&key(k), v),
            None => argv(&format!("quorate.recovery.{k}"), f(d)),
        };
        let endpoint = match pick(|r| &r.endpoint) {
            Some(e) => {
                let e = e.0.trim().trim_end_matches('/').to_string();
                if !e.starts_with("http://") && !e.starts_with("https://") {
                    return Err(invalid(
                        &key("endpoint"),
                        format!("{e:?} must start with http:// or https://"),
                    ));
                }
                e
            }
            // Every node serves the way this configuration says (quorate.tls).
            None => {
                let scheme = if serve_tls { "https" } else { "http" };
                match node.ip_address {
                    std::net::IpAddr::V6(ip) => format!("{scheme}://[{ip}]:{}", listen.port()),
                    std::net::IpAddr::V4(ip) => format!("{scheme}://{ip}:{}", listen.port()),
                }
            }
        };
        // A defaulted https endpoint needs the CA only when peers will be asked (a token or
        // client certificate is set): TLS for Prometheus alone must not demand recovery keys.
        let asks_peers = token.is_some() || client_cert.is_some();
        let explicit = pick(|r| &r.endpoint).is_some();
        if endpoint.starts_with("https://") && raw.ca_file.is_none() && (explicit || asks_peers) {
            return Err(invalid(
                "quorate.recovery.ca_file",
                format!(
                    "{}'s endpoint {endpoint} is https: set the CA bundle its certificate chains to",
                    node.name
                ),
            ));
        }
        let expand = |argv: Vec<String>| -> Vec<String> {
            let datadir = node
                .datadir
                .as_ref()
                .map(|d| d.display().to_string())
                .unwrap_or_default();
            argv.into_iter()
                .map(|a| {
                    a.replace("{node}", &node.name)
                        .replace("{datadir}", &datadir)
                })
                .collect()
        };
        let strings = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        per_node.insert(
            node.name.clone(),
            NodeRecovery {
                endpoint,
                pid_file: pick(|r| &r.pid_file).map(|e| file.resolve(&e.0)),
                error_log: pick(|r| &r.error_log).map(|e| file.resolve(&e.0)),
                lock_file: pick(|r| &r.lock_file)
                    .map(|e| file.resolve(&e.0))
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_LOCK_FILE)),
                start_command: expand(
                    pick_argv(|r| &r.start_command, "start_command")?
                        .unwrap_or_else(|| strings(&["systemctl", "start", "mariadb"])),
                ),
                bootstrap_command: expand(
                    pick_argv(|r| &r.bootstrap_command, "bootstrap_command")?
                        .unwrap_or_else(|| strings(&["galera_new_cluster"])),
                ),
                recover_command: expand(
                    pick_argv(|r| &r.recover_command, "recover_command")?
                        .unwrap_or_else(|| strings(&["mariadbd", "--user=mysql"])),
                ),
                sql_command: expand(
                    pick_argv(|r| &r.sql_command, "sql_command")?
                        .unwrap_or_else(|| strings(&["mariadb"])),
                ),
            },
        );
    }
    Ok(RecoverySettings {
        token: token.map(Secret::new),
        state_dir: path_of(&raw.state_dir).unwrap_or_else(|| PathBuf::from(DEFAULT_STATE_DIR)),
        audit_log: path_of(&raw.audit_log).unwrap_or_else(|| PathBuf::from(DEFAULT_AUDIT_LOG)),
        peer_timeout: raw.peer_timeout.map_or(Duration::from_secs(5), |d| d.0),
        start_timeout: raw.start_timeout.map_or(Duration::from_secs(3600), |d| d.0),
        ca_file: path_of(&raw.ca_file),
        client_cert,
        nodes: per_node,
    })
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    const BASE: &str = "cluster:\n  name: c1\nnodes:\n  controllers:\n    - hostname: a\n      ip_address: 10.0.0.1\n      services:\n        mariadb: true\n    - hostname: b\n      ip_address: 10.0.0.2\n      services:\n        mariadb: true\nquorate:\n  listen: 0.0.0.0:9900\n  nodes:\n    a:\n      datadir: /var/lib/mysql\n";

    fn parse(extra: &str) -> Result<crate::config::Settings, crate::config::ConfigError> {
        crate::config::parse(
            Path::new("/etc/quorate/q.yaml"),
            &format!("{BASE}{extra}"),
            &[("TOK".to_string(), "0123456789abcdefXYZ".to_string())]
                .into_iter()
                .collect(),
            &mut Vec::new(),
        )
    }

    #[test]
    fn defaults_without_a_recovery_section() {
        let s = parse("").expect("valid");
        let r = &s.recovery;
        assert!(r.token.is_none());
        assert_eq!(
            r.node("b").map(|n| n.endpoint.as_str()),
            Some("http://10.0.0.2:9900")
        );
        let a = r.node("a").expect("a");
        assert_eq!(a.start_command, ["systemctl", "start", "mariadb"]);
        assert_eq!(a.bootstrap_command, ["galera_new_cluster"]);
        assert_eq!(
            r.position_cache("a"),
            Path::new("/var/lib/quorate/a.position.json")
        );
    }

    #[test]
    fn per_node_overrides_defaults_and_placeholders() {
        let s = parse(
            "  recovery:\n    token: ${TOK}\n    start_command: [svc, start, '{node}']\n    nodes:\n      b:\n        endpoint: http://127.0.0.1:7000/\n        recover_command: [mariadbd, '--datadir={datadir}']\n",
        )
        .expect("valid");
        let r = &s.recovery;
        assert_eq!(
            r.token.as_ref().map(|t| t.expose()),
            Some("0123456789abcdefXYZ")
        );
        assert_eq!(r.node("a").expect("a").start_command, ["svc", "start", "a"]);
        assert_eq!(r.node("b").expect("b").start_command, ["svc", "start", "b"]);
        assert_eq!(r.node("b").expect("b").endpoint, "http://127.0.0.1:7000");
        // b has no datadir configured: the placeholder becomes empty.
        assert_eq!(
            r.node("b").expect("b").recover_command,
            ["mariadbd", "--datadir="]
        );
    }

    #[test]
    fn invalid_recovery_settings_name_their_key() {
        let cases = [
            ("  recovery:\n    token: short\n", "quorate.recovery.token"),
            (
                "  recovery:\n    token: ${TOK}\n    token_file: /x\n",
                "not both",
            ),
            (
                "  recovery:\n    nodes:\n      zz:\n        endpoint: http://x:1\n",
                "quorate.recovery.nodes.zz",
            ),
            (
                "  recovery:\n    start_command: []\n",
                "must name a program",
            ),
            ("  recovery:\n    bogus: 1\n", "unknown field"),
            (
                "  recovery:\n    nodes:\n      a:\n        endpoint: https://x:1\n",
                "quorate.recovery.ca_file",
            ),
            (
                "  recovery:\n    nodes:\n      a:\n        endpoint: ftp://x:1\n",
                "must start with http:// or https://",
            ),
        ];
        for (text, want) in cases {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(want), "{text}: {err}");
        }
    }
}
