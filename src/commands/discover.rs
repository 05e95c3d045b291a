//! `quorate discover galera|gluster|backup`: Zabbix low-level discovery JSON.
//! Galera rows come from the configuration; gluster rows from `gluster volume info`; backup
//! rows from a scan of the backup roots (the types found) or from the configuration (the
//! roots).
//!
//! Output is the plain LLD array Zabbix 4.2+ expects, e.g.
//! `[{"{#NODE}":"server1","{#ENDPOINT}":"192.168.1.101:3306","{#CLUSTER}":"prod"}]`.

use serde_json::{json, Value};

use crate::cli::{DiscoverArgs, DiscoverTarget};

pub fn run(args: DiscoverArgs) -> i32 {
    match args.target {
        DiscoverTarget::Galera { config } => {
            match quorate::config::load_logging_warnings(&config) {
                Ok(settings) => {
                    println!("{}", galera_discovery(&settings));
                    quorate::error::exit::OK
                }
                Err(e) => {
                    eprintln!("quorate discover: {e}");
                    quorate::error::exit::FAILURE
                }
            }
        }
        DiscoverTarget::Gluster { config, bricks } => print_rows(discover_gluster(&config, bricks)),
        DiscoverTarget::Backup {
            config,
            backup_dir,
            dirs,
        } => print_rows(discover_backup(config.as_deref(), &backup_dir, dirs)),
    }
}

/// Prints the LLD rows (exit 0), or the error on stderr (exit 1: Zabbix marks the rule
/// unsupported with that message).
fn print_rows(rows: Result<Value, String>) -> i32 {
    match rows {
        Ok(rows) => {
            println!("{rows}");
            quorate::error::exit::OK
        }
        Err(e) => {
            eprintln!("quorate discover: {e}");
            quorate::error::exit::FAILURE
        }
    }
}

/// One LLD row per MariaDB controller.
pub fn galera_discovery(settings: &quorate::config::Settings) -> Value {
    Value::Array(
        settings
            .galera_nodes()
            .map(|n| {
                json!({
                    "{#NODE}": n.name,
                    "{#ENDPOINT}": n.mysql.to_string(),
                    "{#CLUSTER}": settings.cluster_name,
                })
            })
            .collect(),
    )
}

/// Reads `volume info` once (bounded by quorate.gluster.timeout) and lists the volumes.
fn discover_gluster(config: &std::path::Path, bricks: bool) -> Result<Value, String> {
    let settings = quorate::config::load_logging_warnings(config).map_err(|e| e.to_string())?;
    let cli = quorate::gluster::GlusterCli::new(settings.gluster_cli.command.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the async runtime: {e}"))?;
    let volumes = rt
        .block_on(
            cli.query(&["volume", "info"], settings.gluster_cli.timeout, |r| {
                quorate::gluster::parse::parse_volume_info(r)
            }),
        )
        .map_err(|e| e.to_string())?;
    Ok(gluster_discovery(&volumes, bricks))
}

/// One LLD row per volume, or with `bricks` one per brick.
pub fn gluster_discovery(volumes: &[quorate::gluster::parse::VolumeInfo], bricks: bool) -> Value {
    let rows = volumes.iter().flat_map(|v| {
        let volume_row = json!({
            "{#VOLUME}": v.name,
            "{#TYPE}": v.type_name,
            "{#REPLICA}": v.replica_count,
        });
        let brick_rows: Vec<Value> = v
            .bricks
            .iter()
            .map(|b| json!({"{#VOLUME}": v.name, "{#BRICK}": b.name}))
            .collect();
        if bricks {
            brick_rows
        } else {
            vec![volume_row]
        }
    });
    Value::Array(rows.collect())
}

/// The backup types present under the roots (one scan), or with `dirs` the roots themselves.
/// A root that cannot be read fails the discovery (naming it) rather than report fewer types:
/// Zabbix would take the missing ones for gone.
fn discover_backup(
    config: Option<&std::path::Path>,
    backup_dirs: &[std::path::PathBuf],
    dirs: bool,
) -> Result<Value, String> {
    let (roots, tz) = super::check::backup_roots(config, backup_dirs)?;
    if dirs {
        return Ok(backup_dir_discovery(&roots));
    }
    let report = quorate::backup::scan_once(&roots, &tz);
    if let Some(e) = report.value.errors.first() {
        return Err(format!(
            "cannot read {e} ({} unreadable path(s))",
            report.value.errors.len()
        ));
    }
    let reading = quorate::backup::BackupReading::from_scan(&report, std::time::SystemTime::now());
    Ok(backup_type_discovery(&reading.types_present()))
}

/// One LLD row per backup type: `[{"{#TYPE}":"full"}]`.
pub fn backup_type_discovery(types: &[quorate::backup::BackupType]) -> Value {
    Value::Array(
        types
            .iter()
            .map(|t| json!({"{#TYPE}": t.as_str()}))
            .collect(),
    )
}

/// One LLD row per backup root: `[{"{#DIR}":"/var/backups/mariadb"}]`.
pub fn backup_dir_discovery(roots: &[std::path::PathBuf]) -> Value {
    Value::Array(
        roots
            .iter()
            .map(|r| json!({"{#DIR}": r.display().to_string()}))
            .collect(),
    )
}
