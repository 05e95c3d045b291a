//! `quorate check gluster`: one pass of the gluster CLI (every command bounded by the plugin's
//! budget), judged by [`quorate::check::gluster`].

use std::time::{Duration, SystemTime};

use quorate::check::gluster::{self as gluster_check, GlusterPolicy};
use quorate::check::{CheckResult, Status, Thresholds};
use quorate::config::Settings;

use super::watchdog::{begin, emit, push_time, runtime};
use super::{config_path, load_settings};
use crate::cli::CheckGlusterArgs;

/// The gluster CLI settings of `settings` (whether or not this host runs a brick: the check
/// was asked for), for `volume` (else storage.glusterfs.volume_name, else every volume), with
/// each command bounded by what is left of the plugin's budget.
pub fn gluster_config(
    settings: &Settings,
    volume: Option<&str>,
    budget: Duration,
) -> quorate::gluster::GlusterConfig {
    let cli = &settings.gluster_cli;
    let configured = settings
        .gluster
        .as_ref()
        .and_then(|g| g.volume_name.clone());
    quorate::gluster::GlusterConfig {
        command: cli.command.clone(),
        timeout: cli.timeout.min(budget),
        heal_timeout: cli.heal_timeout.min(budget),
        interval: cli.interval,
        heal_interval: settings.gluster_heal_interval,
        // An empty --volume (a Zabbix key without its parameter) means the configured one.
        volume: volume
            .filter(|v| !v.trim().is_empty())
            .map(str::to_string)
            .or(configured.filter(|v| !v.trim().is_empty())),
        mounts: quorate::gluster::collector::probe_mounts(settings),
        probe_timeout: cli.probe_timeout.min(budget),
        probe_program: quorate::gluster::mount_probe::default_program(),
    }
}

/// The verdict's options from the command line.
fn policy(a: &CheckGlusterArgs) -> GlusterPolicy {
    let bricks = if a.warning.is_some() || a.critical.is_some() {
        Some(Thresholds::new(a.warning.clone(), a.critical.clone()))
    } else {
        None
    };
    GlusterPolicy {
        bricks,
        pending: Thresholds::new(Some(a.pending_warning.clone()), a.pending_critical.clone()),
        brick_down: a.brick_down,
        peer_down: a.peer_down,
        split_brain: a.split_brain,
        unknown_heal: a.unknown_heal,
        mount_down: a.mount_down,
    }
}

pub(super) fn run(a: CheckGlusterArgs) -> i32 {
    let service = gluster_check::SERVICE;
    let (started, out, budget) = match begin(&a.common, service) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let unknown = |e: String| CheckResult::new(service, Status::Unknown, e);
    let settings = match load_settings(&config_path(&a.common)) {
        Ok(s) => s,
        Err(e) => return emit(&unknown(e), &out),
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => return emit(&unknown(e), &out),
    };
    let deadline = budget.saturating_sub(started.elapsed());
    // Each command is killed a little before the overall deadline, so the answer names the
    // command that hung rather than only saying time ran out.
    let per_command = deadline.saturating_sub((deadline / 10).min(Duration::from_millis(200)));
    let config = gluster_config(&settings, a.volume.as_deref(), per_command);
    let collected = rt.block_on(async {
        tokio::time::timeout(deadline, quorate::gluster::collector::collect_once(&config)).await
    });
    let mut result = match collected {
        Ok(snapshot) => {
            let reading = quorate::gluster::reading(&snapshot, SystemTime::now(), None);
            gluster_check::judge(&reading, &policy(&a))
        }
        Err(_) => CheckResult::new(
            service,
            a.common.timeout.state,
            format!(
                "the gluster CLI did not answer within {:.1} s",
                deadline.as_secs_f64()
            ),
        ),
    };
    let elapsed = started.elapsed();
    push_time(&mut result, elapsed);
    result.verbose_details.push(format!(
        "gluster command {:?}, {:.1} ms",
        config.command,
        elapsed.as_secs_f64() * 1000.0
    ));
    emit(&result, &out)
}
