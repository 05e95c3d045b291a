//! `quorate maintenance status`: every controller's state (or --node's) as text or JSON.

use quorate::maintenance::{switch, Maintenance};
use serde_json::json;

use crate::cli::{MaintenanceStatusArgs, OutputFormat};

pub(super) fn run(a: MaintenanceStatusArgs) -> anyhow::Result<i32> {
    let settings =
        quorate::config::load_logging_warnings(&a.common.config).map_err(quorate::Error::from)?;
    let (now, states) = switch::status(&settings, a.common.node.as_deref())?;
    match a.format {
        OutputFormat::Text => {
            for (node, state) in &states {
                println!("{node}: {}", state.describe(now));
            }
        }
        OutputFormat::Json => {
            let nodes: Vec<_> = states
                .iter()
                .map(|(node, state)| {
                    let record = state.record();
                    json!({
                        "node": node,
                        "state": match state {
                            Maintenance::Off => "off",
                            Maintenance::Active { .. } => "on",
                            Maintenance::Expired(_) => "expired",
                        },
                        "description": state.describe(now),
                        "reason": record.map(|r| r.reason.clone()),
                        "since": record.map(|r| r.since),
                        "expires": record.map(|r| r.expires),
                        "desync": record.map(|r| r.desync),
                        "by": record.and_then(|r| r.by.clone()),
                    })
                })
                .collect();
            println!(
                "{}",
                serde_json::to_string_pretty(&json!({ "nodes": nodes }))?
            );
        }
    }
    Ok(quorate::error::exit::OK)
}
