//! `quorate discover galera|gluster|backup`: Zabbix low-level discovery JSON.
//!
//! Output is the plain LLD array Zabbix 4.2+ expects, e.g.
//! `[{"{#NODE}":"server1","{#ENDPOINT}":"192.168.1.101:3306","{#CLUSTER}":"prod"}]`.

use serde_json::{json, Value};

use crate::cli::{DiscoverArgs, DiscoverTarget};

pub fn run(args: DiscoverArgs) -> i32 {
    match args.target {
        DiscoverTarget::Galera { config } => match quorate::config::load(&config) {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    tracing::warn!("{warning}");
                }
                println!("{}", galera_discovery(&loaded.settings));
                quorate::error::exit::OK
            }
            Err(e) => {
                eprintln!("quorate discover: {e}");
                quorate::error::exit::FAILURE
            }
        },
        DiscoverTarget::Gluster(_) => super::not_yet::run("discover gluster"),
        DiscoverTarget::Backup(_) => super::not_yet::run("discover backup"),
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
