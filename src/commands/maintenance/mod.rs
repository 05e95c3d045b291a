//! `quorate maintenance on|off|status`: one file per subcommand; here what they share (the
//! configuration, which node, the account for `wsrep_desync`, printing an outcome).

mod off;
mod on;
mod status;

use anyhow::Context;
use quorate::config::{self, HostIdentity, MysqlAuth, Settings};
use quorate::maintenance::switch::Outcome;

use crate::cli::{MaintenanceCommand, MaintenanceCommon, MysqlCredentialArgs};

pub fn run(cmd: MaintenanceCommand) -> anyhow::Result<i32> {
    match cmd {
        MaintenanceCommand::On(args) => on::run(args),
        MaintenanceCommand::Off(args) => off::run(args),
        MaintenanceCommand::Status(args) => status::run(args),
    }
}

/// The configuration and the node named by --node (else this host's controller).
fn load(common: &MaintenanceCommon) -> anyhow::Result<(Settings, Option<String>)> {
    let settings = config::load_logging_warnings(&common.config).map_err(quorate::Error::from)?;
    let node = settings
        .resolve_local_node(common.node.as_deref(), &HostIdentity::current())?
        .map(|n| n.name.clone());
    Ok((settings, node))
}

/// The node `on` or `off` acts on: it must be known.
fn required_node(settings: &Settings, node: Option<String>) -> anyhow::Result<String> {
    node.with_context(|| {
        format!(
            "cannot tell which controller of {} is this host; pass --node NAME or set quorate.node",
            settings.path.display()
        )
    })
}

/// The configured account with the command line's and the environment's overrides.
fn auth(credentials: &MysqlCredentialArgs, settings: &Settings) -> anyhow::Result<MysqlAuth> {
    crate::commands::check::auth::resolve_auth(credentials, Some(&settings.mysql))
        .map_err(anyhow::Error::msg)
}

/// Who runs the command, for the record: the user behind sudo first, else the login name,
/// else the uid.
fn login_name() -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    ["SUDO_USER", "LOGNAME", "USER"]
        .iter()
        .find_map(|k| std::env::var(k).ok().filter(|v| !v.is_empty()))
        .or_else(|| {
            std::fs::metadata("/proc/self")
                .ok()
                .map(|m| format!("uid {}", m.uid()))
        })
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")
}

fn print_outcome(o: &Outcome) {
    let now = quorate::unix_time::to_pair(std::time::SystemTime::now()).0;
    println!("{}: {}", o.node, o.state.describe(now));
    for line in &o.done {
        println!("  {line}");
    }
}
