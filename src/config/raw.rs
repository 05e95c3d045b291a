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
pub(crate) struct RawFile {
    pub(crate) cluster: RawCluster,
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) database: Option<RawDatabase>,
    #[serde(default)]
    pub(crate) storage: Option<RawStorage>,
    pub(crate) nodes: RawNodes,
    #[serde(default)]
    pub(crate) quorate: RawQuorate,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCluster {
    pub(crate) name: Expanded,
}

/// The seed's database credentials. Kept as written: quorate does not use them.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDatabase {
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) mariadb: Option<RawMariadbCredentials>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct RawMariadbCredentials {
    #[serde(default)]
    pub(crate) root_password: Option<String>,
    #[serde(default)]
    pub(crate) sst_user: Option<String>,
    #[serde(default)]
    pub(crate) sst_password: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawStorage {
    #[serde(default)]
    pub(crate) glusterfs: Option<RawGluster>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGluster {
    #[serde(default)]
    pub(crate) volume_name: Option<Expanded>,
    #[serde(default)]
    pub(crate) replica_count: Option<RawReplicaCount>,
    #[serde(default)]
    pub(crate) brick_path: Option<Expanded>,
    #[serde(default)]
    pub(crate) mount_point: Option<Expanded>,
}

#[derive(Deserialize)]
#[serde(untagged)]
pub(crate) enum RawReplicaCount {
    Number(u32),
    Word(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNodes {
    pub(crate) controllers: Vec<RawController>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawController {
    pub(crate) hostname: Expanded,
    pub(crate) ip_address: Expanded,
    #[serde(default)]
    pub(crate) priority: Option<i64>,
    #[serde(default)]
    pub(crate) services: RawServices,
    #[serde(default)]
    #[allow(dead_code)]
    pub(crate) vip_owner: Option<bool>,
}

/// The services of the seed's controllers. quorate reads `mariadb` and `glusterfs`; the others
/// are accepted so the cluster file can be used as it is.
#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub(crate) struct RawServices {
    #[serde(default)]
    pub(crate) mariadb: bool,
    #[serde(default)]
    pub(crate) glusterfs: bool,
    #[serde(default)]
    pub(crate) redis: bool,
    #[serde(default)]
    pub(crate) slurm: bool,
    #[serde(default)]
    pub(crate) web: bool,
    #[serde(default)]
    pub(crate) keepalived: bool,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawQuorate {
    #[serde(default)]
    pub(crate) listen: Option<Expanded>,
    #[serde(default)]
    pub(crate) node: Option<Expanded>,
    #[serde(default)]
    pub(crate) mysql: RawMysql,
    #[serde(default)]
    pub(crate) timeouts: RawTimeouts,
    #[serde(default)]
    pub(crate) intervals: RawIntervals,
    #[serde(default)]
    pub(crate) backup: RawBackup,
    #[serde(default)]
    pub(crate) recovery: crate::recover::config::RawRecovery,
    #[serde(default)]
    pub(crate) nodes: BTreeMap<String, RawNodeOverride>,
    #[serde(default)]
    pub(crate) health: RawHealth,
    #[serde(default)]
    pub(crate) check: RawCheck,
    #[serde(default)]
    pub(crate) gluster: Option<RawGlusterCli>,
    #[serde(default)]
    pub(crate) tls: Option<RawTls>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTls {
    pub(crate) cert_file: Expanded,
    pub(crate) key_file: Expanded,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawHealth {
    #[serde(default)]
    pub(crate) maintenance_file: Option<Expanded>,
    #[serde(default)]
    pub(crate) allow_donor: Option<bool>,
    #[serde(default)]
    pub(crate) allow_read_only: Option<bool>,
    #[serde(default)]
    pub(crate) timeout: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawCheck {
    #[serde(default)]
    pub(crate) state_dir: Option<Expanded>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGlusterCli {
    #[serde(default)]
    pub(crate) command: Option<Vec<Expanded>>,
    #[serde(default)]
    pub(crate) timeout: Option<RawDuration>,
    #[serde(default)]
    pub(crate) heal_timeout: Option<RawDuration>,
    #[serde(default)]
    pub(crate) interval: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawMysql {
    #[serde(default)]
    pub(crate) user: Option<Expanded>,
    #[serde(default)]
    pub(crate) password: Option<Expanded>,
    #[serde(default)]
    pub(crate) password_file: Option<Expanded>,
    #[serde(default)]
    pub(crate) defaults_file: Option<Expanded>,
    #[serde(default)]
    pub(crate) port: Option<u16>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawTimeouts {
    #[serde(default)]
    pub(crate) galera: Option<RawDuration>,
    #[serde(default)]
    pub(crate) scrape: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawIntervals {
    #[serde(default)]
    pub(crate) gluster_heal: Option<RawDuration>,
    #[serde(default)]
    pub(crate) backup_rescan: Option<RawDuration>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawBackup {
    #[serde(default)]
    pub(crate) directories: Option<Vec<Expanded>>,
    #[serde(default)]
    pub(crate) enabled: Option<bool>,
    #[serde(default)]
    pub(crate) timezone: Option<Expanded>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNodeOverride {
    #[serde(default)]
    pub(crate) mysql_address: Option<Expanded>,
    #[serde(default)]
    pub(crate) mysql_socket: Option<Expanded>,
    #[serde(default)]
    pub(crate) datadir: Option<Expanded>,
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
