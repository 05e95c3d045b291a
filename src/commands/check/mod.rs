//! `quorate check galera|cluster|gluster|backup`: the monitoring-plugin front end.
//!
//! Everything here is I/O around the pure verdicts of `quorate::check`: resolving which node
//! to read and with which credentials, the internal timeout, the flow-control state file,
//! printing. It never fails with a Rust error: every problem becomes plugin output with a
//! state (UNKNOWN for bad arguments, configuration or credentials) and the exit code 0-3.
//!
//! One file per check, each arguments → policy (validated options) → library call → output:
//! [`galera`], [`cluster`], [`gluster`], [`backup`]. Shared: [`watchdog`] (printing once, the
//! deadline), [`auth`] (credentials), [`plugin`] (the command line's plugin rules), and here the
//! configuration and the cluster-size thresholds.

pub(crate) mod auth;
mod backup;
mod cluster;
mod galera;
mod gluster;
mod plugin;
mod watchdog;

use std::path::{Path, PathBuf};

use quorate::check::Thresholds;
use quorate::config::{self, Settings};

use crate::cli::{CheckArgs, CheckCommonArgs, CheckTarget, SizeArgs};

pub use backup::backup_roots;
pub use plugin::{argument_error, is_plugin_invocation};

/// Runs one check and returns the process exit code.
pub fn run(args: CheckArgs) -> i32 {
    match args.target {
        CheckTarget::Galera(a) => galera::run(*a),
        CheckTarget::Cluster(a) => cluster::run(*a),
        CheckTarget::Gluster(a) => gluster::run(*a),
        CheckTarget::Backup(a) => backup::run(*a),
    }
}

/// --config, else the default configuration file.
pub(super) fn config_path(common: &CheckCommonArgs) -> PathBuf {
    common
        .config
        .clone()
        .unwrap_or_else(|| PathBuf::from(config::DEFAULT_PATH))
}

/// The configuration at `path` through the one loader (warnings logged); an error becomes the
/// plugin's UNKNOWN text.
pub(super) fn load_settings(path: &Path) -> Result<Settings, String> {
    config::load_logging_warnings(path).map_err(|e| e.to_string())
}

/// -w/-c when given; otherwise the `--expected-size` (else `configured`) defaults, if any.
pub(super) fn size_thresholds(size: &SizeArgs, configured: Option<u32>) -> Thresholds {
    if size.warning.is_some() || size.critical.is_some() {
        return Thresholds::new(size.warning.clone(), size.critical.clone());
    }
    size.expected_size.or(configured).map_or_else(
        Thresholds::default,
        quorate::check::Thresholds::expected_size,
    )
}

/// The time judged at and the maintenance state of each of `nodes`, from this host's
/// maintenance file (all off when none is configured).
pub(super) fn maintenance_of(
    settings: Option<&Settings>,
    nodes: &[&str],
) -> (i64, Vec<quorate::maintenance::Maintenance>) {
    let now = quorate::unix_time::to_pair(std::time::SystemTime::now()).0;
    let contents = settings
        .and_then(|s| s.health.maintenance_file.as_deref())
        .map_or(quorate::maintenance::Contents::Absent, |f| {
            quorate::maintenance::store::read(f)
        });
    let states = nodes
        .iter()
        .map(|n| quorate::maintenance::judge(&contents, n, now))
        .collect();
    (now, states)
}

/// `--maintenance`, else `quorate.check.maintenance_state`, else OK.
pub(super) fn maintenance_state(
    arg: Option<quorate::check::Status>,
    settings: Option<&Settings>,
) -> quorate::check::Status {
    arg.or(settings.map(|s| s.check.maintenance_state.into()))
        .unwrap_or(quorate::check::Status::Ok)
}
