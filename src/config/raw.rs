//! The file's shape: exactly the keys quorate accepts, nothing else (`deny_unknown_fields`, so
//! a misspelt key is an error naming it and its line), and durations like `3s`.
//!
//! String values are [`Expanded`]: `${VAR}` is replaced while decoding. The seed's database
//! credentials are kept as written (`String`), because quorate never uses them.

use std::collections::BTreeMap;
use std::time::Duration;

use serde::{Deserialize, Deserializer};

use super::expand::{expand, Expanded};

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawFile {
    pub(super) cluster: RawCluster,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) database: Option<RawDatabase>,
    #[serde(default)]
    pub(super) storage: Option<RawStorage>,
    pub(super) nodes: RawNodes,
    #[serde(default)]
    pub(super) quorate: RawQuorate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCluster {
    pub(super) name: Expanded,
}

/// The seed's database credentials. Kept as written: quorate does not use them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDatabase {
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) mariadb: Option<RawMariadbCredentials>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(super) struct RawMariadbCredentials {
    #[serde(default)]
    pub(super) root_password: Option<String>,
    #[serde(default)]
    pub(super) sst_user: Option<String>,
    #[serde(default)]
    pub(super) sst_password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStorage {
    #[serde(default)]
    pub(super) glusterfs: Option<RawGluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGluster {
    #[serde(default)]
    pub(super) volume_name: Option<Expanded>,
    #[serde(default)]
    pub(super) replica_count: Option<RawReplicaCount>,
    #[serde(default)]
    pub(super) brick_path: Option<Expanded>,
    #[serde(default)]
    pub(super) mount_point: Option<Expanded>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(super) enum RawReplicaCount {
    Number(u32),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNodes {
    pub(super) controllers: Vec<RawController>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawController {
    pub(super) hostname: Expanded,
    pub(super) ip_address: Expanded,
    #[serde(default)]
    pub(super) priority: Option<i64>,
    #[serde(default)]
    pub(super) services: RawServices,
    #[serde(default)]
    #[allow(dead_code)]
    pub(super) vip_owner: Option<bool>,
}

/// The services of the seed's controllers. quorate reads `mariadb` and `glusterfs`; the others
/// are accepted so the cluster file can be used as it is.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(super) struct RawServices {
    #[serde(default)]
    pub(super) mariadb: bool,
    #[serde(default)]
    pub(super) glusterfs: bool,
    #[serde(default)]
    pub(super) redis: bool,
    #[serde(default)]
    pub(super) slurm: bool,
    #[serde(default)]
    pub(super) web: bool,
    #[serde(default)]
    pub(super) keepalived: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawQuorate {
    #[serde(default)]
    pub(super) listen: Option<Expanded>,
    #[serde(default)]
    pub(super) node: Option<Expanded>,
    #[serde(default)]
    pub(super) mysql: RawMysql,
    #[serde(default)]
    pub(super) timeouts: RawTimeouts,
    #[serde(default)]
    pub(super) intervals: RawIntervals,
    #[serde(default)]
    pub(super) backup: RawBackup,
    #[serde(default)]
    pub(super) recovery: super::recovery::RawRecovery,
    #[serde(default)]
    pub(super) nodes: BTreeMap<String, RawNodeOverride>,
    #[serde(default)]
    pub(super) health: RawHealth,
    #[serde(default)]
    pub(super) check: RawCheck,
    #[serde(default)]
    pub(super) gluster: Option<RawGlusterCli>,
    #[serde(default)]
    pub(super) tls: Option<RawTls>,
    #[serde(default)]
    pub(super) web_config_file: Option<Expanded>,
    #[serde(default)]
    pub(super) http: RawHttp,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    #[serde(default)]
    pub(super) header_read_timeout: Option<RawDuration>,
    #[serde(default)]
    pub(super) tls_handshake_timeout: Option<RawDuration>,
    #[serde(default)]
    pub(super) max_connections: Option<u32>,
    #[serde(default)]
    pub(super) max_request_body: Option<u32>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTls {
    pub(super) cert_file: Expanded,
    pub(super) key_file: Expanded,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHealth {
    #[serde(default)]
    pub(super) maintenance_file: Option<Expanded>,
    #[serde(default)]
    pub(super) allow_donor: Option<bool>,
    #[serde(default)]
    pub(super) allow_read_only: Option<bool>,
    #[serde(default)]
    pub(super) timeout: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawCheck {
    #[serde(default)]
    pub(super) state_dir: Option<Expanded>,
    #[serde(default)]
    pub(super) maintenance_state: Option<Expanded>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawGlusterCli {
    #[serde(default)]
    pub(super) command: Option<Vec<Expanded>>,
    #[serde(default)]
    pub(super) timeout: Option<RawDuration>,
    #[serde(default)]
    pub(super) heal_timeout: Option<RawDuration>,
    #[serde(default)]
    pub(super) interval: Option<RawDuration>,
    #[serde(default)]
    pub(super) probe_mount_point: Option<bool>,
    #[serde(default)]
    pub(super) probe_mounts: Option<Vec<Expanded>>,
    #[serde(default)]
    pub(super) probe_timeout: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawMysql {
    #[serde(default)]
    pub(super) user: Option<Expanded>,
    #[serde(default)]
    pub(super) password: Option<Expanded>,
    #[serde(default)]
    pub(super) password_file: Option<Expanded>,
    #[serde(default)]
    pub(super) defaults_file: Option<Expanded>,
    #[serde(default)]
    pub(super) port: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawTimeouts {
    #[serde(default)]
    pub(super) galera: Option<RawDuration>,
    #[serde(default)]
    pub(super) scrape: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawIntervals {
    #[serde(default)]
    pub(super) gluster_heal: Option<RawDuration>,
    #[serde(default)]
    pub(super) backup_rescan: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(super) struct RawBackup {
    #[serde(default)]
    pub(super) directories: Option<Vec<Expanded>>,
    #[serde(default)]
    pub(super) enabled: Option<bool>,
    #[serde(default)]
    pub(super) timezone: Option<Expanded>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawNodeOverride {
    #[serde(default)]
    pub(super) mysql_address: Option<Expanded>,
    #[serde(default)]
    pub(super) mysql_socket: Option<Expanded>,
    #[serde(default)]
    pub(super) datadir: Option<Expanded>,
}

/// A duration written as `3s`, `500ms`, `2m`, `1h`, `1d` or a bare number of seconds.
pub(super) struct RawDuration(pub(super) Duration);

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

/// Why a duration could not be read; `text` is the value as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    #[error("invalid duration {text:?} (use e.g. 3s, 500ms, 2m, 1h)")]
    Number { text: String },
    #[error("invalid duration unit {unit:?} in {text:?} (use ms, s, m, h or d)")]
    Unit { text: String, unit: String },
    /// Zero, negative, or too large to be meant.
    #[error("duration {text:?} must be positive")]
    NotPositive { text: String },
    #[error("duration {text:?} is shorter than 1ms")]
    TooShort { text: String },
}

/// Parses `3s`, `250ms`, `1.5m`, `2h`, `1d` or a bare number of seconds. Must be positive.
pub fn parse_duration(text: &str) -> Result<Duration, DurationError> {
    let t = text.trim();
    let split = t
        .find(|c: char| !(c.is_ascii_digit() || c == '.'))
        .unwrap_or(t.len());
    let (number, unit) = t.split_at(split);
    let value: f64 = number.parse().map_err(|_| DurationError::Number {
        text: text.to_string(),
    })?;
    let scale = match unit.trim() {
        "" | "s" => 1.0,
        "ms" => 0.001,
        "m" => 60.0,
        "h" => 3600.0,
        "d" => 86400.0,
        other => {
            return Err(DurationError::Unit {
                text: text.to_string(),
                unit: other.to_string(),
            })
        }
    };
    let secs = value * scale;
    if !(secs.is_finite() && secs > 0.0 && secs < 1e9) {
        return Err(DurationError::NotPositive {
            text: text.to_string(),
        });
    }
    // Below a millisecond is no timeout or interval anyone means; some round to zero, and a
    // zero interval makes a collector spin.
    if secs < 0.001 {
        return Err(DurationError::TooShort {
            text: text.to_string(),
        });
    }
    Ok(Duration::from_secs_f64(secs))
}
