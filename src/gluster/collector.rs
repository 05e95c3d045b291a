//! The GlusterFS collector: background tasks that run the gluster CLI and keep the last good
//! answer, so `/metrics` never waits on gluster.
//!
//! Two loops share one [`GlusterSnapshot`]:
//!
//! - the **state** loop (`volume info`, `volume status … detail`, `peer status`) every
//!   `quorate.gluster.interval`; one failed command fails the attempt, and the previous good
//!   state stays with its timestamp (stale, not gone);
//! - the **heal** loop (`volume heal V info summary`) every `quorate.intervals.gluster_heal`, per
//!   volume, because heal info can take minutes on a busy volume. It heals-checks the
//!   configured volume, or every started replicated/dispersed volume of the last good state.
//!
//! A **mount** loop per client mount (`storage.glusterfs.mount_point`,
//! `quorate.gluster.probe_mounts`) probes it every `quorate.gluster.interval` through a
//! [`MountProber`]: a child process with a hard timeout, so a hung mount never blocks a thread
//! of the server; a probe stuck in the mount is reported and never waited for.
//!
//! Dropping the [`GlusterCollector`] aborts the loops; a command in flight is still bounded by
//! its timeout (the runner kills its process group), a mount probe in flight is killed.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::task::JoinHandle;

use super::cli::GlusterCli;
use super::mount::MountFailure;
use super::mount_probe::{self, MountProber};
use super::parse::{
    parse_heal_list, parse_heal_summary, parse_peer_status, parse_volume_info, parse_volume_status,
    HealListBrick, HealSummaryBrick, VolumeInfo, VolumeState,
};
use super::snapshot::{ClusterState, GlusterSnapshot};
use super::CliError;
use crate::collected::Collected;
use crate::config::{GlusterCliSettings, Settings};

/// What the collector runs, derived from the configuration. A reload that changes it restarts
/// the collector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlusterConfig {
    /// argv prefix of the gluster CLI.
    pub command: Vec<String>,
    /// Bound for one info/status/peer command.
    pub timeout: Duration,
    /// Bound for one `heal info summary`.
    pub heal_timeout: Duration,
    /// State refresh interval.
    pub interval: Duration,
    /// Heal refresh interval.
    pub heal_interval: Duration,
    /// `storage.glusterfs.volume_name`; `None` = every volume.
    pub volume: Option<String>,
    /// Client mounts to probe: `storage.glusterfs.mount_point`, then
    /// `quorate.gluster.probe_mounts`.
    pub mounts: Vec<PathBuf>,
    /// Bound for one mount probe.
    pub probe_timeout: Duration,
    /// The program re-executed as `PROGRAM probe-mount …`
    /// ([`mount_probe::default_program`]: this binary).
    pub probe_program: PathBuf,
}

/// The mounts to probe: the seed's mount point (unless `probe_mount_point: false`), then the
/// extra ones, each once.
pub fn probe_mounts(settings: &Settings) -> Vec<PathBuf> {
    let mut mounts: Vec<PathBuf> = Vec::new();
    let seed = settings
        .gluster
        .as_ref()
        .and_then(|g| g.mount_point.clone())
        .filter(|_| settings.gluster_cli.probe_mount_point);
    for m in seed
        .into_iter()
        .filter(|m| !m.as_os_str().is_empty())
        .chain(settings.gluster_cli.probe_mounts.iter().cloned())
    {
        if !mounts.contains(&m) {
            mounts.push(m);
        }
    }
    mounts
}

impl GlusterConfig {
    /// The collector's configuration when the GlusterFS source is enabled: the local node has
    /// `services.glusterfs: true`, or `quorate.gluster` is configured explicitly.
    pub fn from_settings(settings: &Settings, local_node: Option<&str>) -> Option<GlusterConfig> {
        let local_runs_gluster = local_node
            .and_then(|n| settings.node(n))
            .is_some_and(|n| n.glusterfs);
        let cli: &GlusterCliSettings = &settings.gluster_cli;
        if !(local_runs_gluster || cli.explicit) {
            return None;
        }
        Some(GlusterConfig {
            command: cli.command.clone(),
            timeout: cli.timeout,
            heal_timeout: cli.heal_timeout,
            interval: cli.interval,
            heal_interval: settings.gluster_heal_interval,
            volume: settings
                .gluster
                .as_ref()
                .and_then(|g| g.volume_name.clone())
                .filter(|v| !v.trim().is_empty()),
            mounts: probe_mounts(settings),
            probe_timeout: cli.probe_timeout,
            probe_program: mount_probe::default_program(),
        })
    }
}

struct Shared {
    snapshot: RwLock<Arc<GlusterSnapshot>>,
    /// Wakes the heal loop after the first state attempt.
    state_done: Notify,
}

impl Shared {
    fn update(&self, f: impl FnOnce(&mut GlusterSnapshot)) {
        let mut slot = match self.snapshot.write() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        let mut next = GlusterSnapshot::clone(&slot);
        f(&mut next);
        *slot = Arc::new(next);
    }

    fn get(&self) -> Arc<GlusterSnapshot> {
        match self.snapshot.read() {
            Ok(g) => Arc::clone(&g),
            Err(p) => Arc::clone(&p.into_inner()),
        }
    }
}

/// The running collector. Dropping it stops the loops.
pub struct GlusterCollector {
    config: GlusterConfig,
    shared: Arc<Shared>,
    tasks: Vec<JoinHandle<()>>,
    /// Shared with the loops: lets Drop kill a command in flight.
    cli: GlusterCli,
}

impl std::fmt::Debug for GlusterCollector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GlusterCollector")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl GlusterCollector {
    /// Starts both loops on the current tokio runtime.
    pub fn start(config: GlusterConfig) -> GlusterCollector {
        let shared = Arc::new(Shared {
            snapshot: RwLock::new(Arc::new(GlusterSnapshot {
                volume_filter: config.volume.clone(),
                interval: config.interval,
                heal_interval: config.heal_interval,
                // Two intervals and a collection's three commands, with room for a retry.
                max_state_age: Some(2 * config.interval + 4 * config.timeout),
                // A volume's heal info with room for the busy retries.
                max_heal_attempt: Some(4 * config.heal_timeout),
                ..GlusterSnapshot::default()
            })),
            state_done: Notify::new(),
        });
        let cli = GlusterCli::new(config.command.clone());
        let state_task = tokio::spawn(state_loop(config.clone(), cli.clone(), Arc::clone(&shared)));
        let heal_task = tokio::spawn(heal_loop(config.clone(), cli.clone(), Arc::clone(&shared)));
        let mut tasks = vec![state_task, heal_task];
        for mount in &config.mounts {
            let prober = MountProber::new(
                mount.clone(),
                config.probe_timeout,
                config.probe_program.clone(),
            );
            tasks.push(tokio::spawn(mount_loop(
                prober,
                config.interval,
                Arc::clone(&shared),
            )));
        }
        tracing::info!(command = ?config.command, volume = ?config.volume, mounts = ?config.mounts, "GlusterFS collector started");
        GlusterCollector {
            config,
            shared,
            tasks,
            cli,
        }
    }

    pub fn config(&self) -> &GlusterConfig {
        &self.config
    }

    /// The latest snapshot (never waits for gluster).
    pub fn snapshot(&self) -> Arc<GlusterSnapshot> {
        self.shared.get()
    }
}

impl Drop for GlusterCollector {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        // A command in flight runs on a blocking thread that abort cannot stop; without this a
        // shutdown or reload would wait for a hung gluster until its timeout.
        self.cli.kill_running();
    }
}

async fn state_loop(config: GlusterConfig, cli: GlusterCli, shared: Arc<Shared>) {
    loop {
        let collected = Collected::measure(collect_state(&cli, &config)).await;
        let was_ok = shared
            .get()
            .state
            .latest
            .as_ref()
            .is_none_or(Collected::succeeded);
        match &collected.value {
            // Loud once when it starts failing, quiet while it keeps failing.
            Err(e) if was_ok => {
                tracing::warn!(error = %e, "GlusterFS state collection failed; serving the last good data")
            }
            Err(e) => tracing::debug!(error = %e, "GlusterFS state collection still failing"),
            Ok(_) if !was_ok => tracing::info!("GlusterFS state collection recovered"),
            Ok(_) => {}
        }
        shared.update(|s| {
            s.state.record(collected);
            copy_counters(&cli, s);
        });
        shared.state_done.notify_waiters();
        tokio::time::sleep(config.interval).await;
    }
}

async fn heal_loop(config: GlusterConfig, cli: GlusterCli, shared: Arc<Shared>) {
    // Without a configured volume, the volumes come from the first state collection.
    if config.volume.is_none() && shared.get().state.latest.is_none() {
        let notified = shared.state_done.notified();
        if shared.get().state.latest.is_none() {
            notified.await;
        }
    }
    loop {
        let volumes = heal_volumes(&shared.get(), config.volume.as_deref());
        for volume in &volumes {
            let collected =
                Collected::measure(collect_heal(&cli, volume, config.heal_timeout)).await;
            let was_ok = shared
                .get()
                .heal
                .get(volume)
                .and_then(|h| h.latest.as_ref())
                .is_none_or(Collected::succeeded);
            match &collected.value {
                Err(e) if was_ok => {
                    tracing::warn!(volume, error = %e, "GlusterFS heal collection failed; serving the last good data")
                }
                Err(e) => {
                    tracing::debug!(volume, error = %e, "GlusterFS heal collection still failing")
                }
                Ok(_) if !was_ok => tracing::info!(volume, "GlusterFS heal collection recovered"),
                Ok(_) => {}
            }
            shared.update(|s| {
                s.record_heal(volume, collected);
                copy_counters(&cli, s);
            });
        }
        shared.update(|s| s.heal.retain(|v, _| volumes.contains(v)));
        tokio::time::sleep(config.heal_interval).await;
    }
}

/// Probes one mount every `interval` (from the start of one probe to the next; a probe takes
/// at most its timeout and a moment to reap it).
async fn mount_loop(mut prober: MountProber, interval: Duration, shared: Arc<Shared>) {
    let key = prober.mount().display().to_string();
    let mut ticks = tokio::time::interval(interval);
    ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticks.tick().await;
        let collected = Collected::measure(prober.probe()).await;
        let was_ok = shared
            .get()
            .mounts
            .get(&key)
            .and_then(|m| m.latest.as_ref())
            .is_none_or(Collected::succeeded);
        log_mount_probe(&key, &collected.value, was_ok);
        shared.update(|s| s.mounts.entry(key.clone()).or_default().record(collected));
    }
}

/// Loud once when a mount's probe starts failing or fails differently, quiet while it keeps
/// failing the same way.
fn log_mount_probe(mount: &str, outcome: &Result<(), MountFailure>, was_ok: bool) {
    match outcome {
        Err(e) if was_ok => {
            tracing::warn!(mount, reason = e.reason.as_str(), detail = %e.detail, "GlusterFS mount probe failed")
        }
        Err(e) => {
            tracing::debug!(mount, reason = e.reason.as_str(), detail = %e.detail, "GlusterFS mount probe still failing")
        }
        Ok(()) if !was_ok => tracing::info!(mount, "GlusterFS mount probe passed again"),
        Ok(()) => {}
    }
}

/// The volumes whose heal state is collected: the configured one, else every started volume
/// of the last good state that heals (replicated or dispersed).
///
/// The configured volume is tried whenever the last good state does not say it cannot heal
/// (stopped, or not replicated): without state, heal info is the only data there is.
pub fn heal_volumes(snapshot: &GlusterSnapshot, configured: Option<&str>) -> Vec<String> {
    let known = snapshot
        .state
        .last_good
        .as_ref()
        .map(|s| s.value.volumes.as_slice());
    let heals = |v: &VolumeInfo| v.state == VolumeState::Started && v.heals();
    match (configured, known) {
        (Some(name), Some(volumes)) => match volumes.iter().find(|v| v.name == name) {
            Some(v) if !heals(v) => Vec::new(),
            _ => vec![name.to_string()],
        },
        (Some(name), None) => vec![name.to_string()],
        (None, Some(volumes)) => volumes
            .iter()
            .filter(|v| heals(v))
            .map(|v| v.name.clone())
            .collect(),
        (None, None) => Vec::new(),
    }
}

/// Runs `volume info`, `volume status … detail` and `peer status`.
pub async fn collect_state(
    cli: &GlusterCli,
    config: &GlusterConfig,
) -> Result<ClusterState, CliError> {
    let info_args: Vec<&str> = match config.volume.as_deref() {
        Some(v) => vec!["volume", "info", v],
        None => vec!["volume", "info"],
    };
    let volumes = cli
        .query(&info_args, config.timeout, |r| parse_volume_info(r))
        .await?;
    // `status` fails for a volume that is not started; only ask for started ones.
    let any_started = volumes.iter().any(|v| v.state == VolumeState::Started);
    let status = if !any_started {
        Vec::new()
    } else {
        let target = config.volume.as_deref().unwrap_or("all");
        cli.query(
            &["volume", "status", target, "detail"],
            config.timeout,
            |r| parse_volume_status(r),
        )
        .await?
    };
    let peers = cli
        .query(&["peer", "status"], config.timeout, |r| {
            parse_peer_status(r)
        })
        .await?;
    Ok(ClusterState {
        volumes,
        status,
        peers,
    })
}

/// Runs `volume heal V info summary`.
pub async fn collect_heal(
    cli: &GlusterCli,
    volume: &str,
    timeout: Duration,
) -> Result<Vec<HealSummaryBrick>, CliError> {
    cli.query(
        &["volume", "heal", volume, "info", "summary"],
        timeout,
        |r| parse_heal_summary(r),
    )
    .await
}

/// The split-brain entries of `volume` (`volume heal V info split-brain`), with at most
/// `max_files` names per brick: for a check that lists them on request.
pub async fn split_brain_files(
    cli: &GlusterCli,
    volume: &str,
    timeout: Duration,
    max_files: usize,
) -> Result<Vec<HealListBrick>, CliError> {
    cli.query(
        &["volume", "heal", volume, "info", "split-brain"],
        timeout,
        move |r| parse_heal_list(r, max_files),
    )
    .await
}

/// One state collection and one heal pass, without background tasks: what a one-shot check
/// needs.
pub async fn collect_once(config: &GlusterConfig) -> GlusterSnapshot {
    let cli = GlusterCli::new(config.command.clone());
    let mut snapshot = GlusterSnapshot {
        volume_filter: config.volume.clone(),
        interval: config.interval,
        heal_interval: config.heal_interval,
        ..GlusterSnapshot::default()
    };
    // The mounts are probed while the CLI answers: each probe is bounded on its own.
    let probes = config.mounts.iter().map(|mount| async move {
        let mut prober = MountProber::new(
            mount.clone(),
            config.probe_timeout,
            config.probe_program.clone(),
        );
        // Not logged: a one-shot check reports the failure in its own output.
        (
            mount.display().to_string(),
            Collected::measure(prober.probe()).await,
        )
    });
    let (state, probed) = tokio::join!(
        Collected::measure(collect_state(&cli, config)),
        futures::future::join_all(probes)
    );
    snapshot.state.record(state);
    for (mount, collected) in probed {
        snapshot.mounts.entry(mount).or_default().record(collected);
    }
    for volume in heal_volumes(&snapshot, config.volume.as_deref()) {
        let heal = Collected::measure(collect_heal(&cli, &volume, config.heal_timeout)).await;
        snapshot.record_heal(&volume, heal);
    }
    copy_counters(&cli, &mut snapshot);
    snapshot
}

/// Copies the runner's counters into the snapshot.
fn copy_counters(cli: &GlusterCli, snapshot: &mut GlusterSnapshot) {
    use std::sync::atomic::Ordering;
    snapshot.cli_timeouts = cli.counters().timeouts.load(Ordering::Relaxed);
    snapshot.cli_busy_retries = cli.counters().busy_retries.load(Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gluster::parse::parse_volume_info;

    fn with_volumes(xml: &str) -> GlusterSnapshot {
        let mut s = GlusterSnapshot::default();
        s.state.record(Collected {
            value: Ok(ClusterState {
                volumes: parse_volume_info(xml.as_bytes()).expect("info"),
                status: Vec::new(),
                peers: Vec::new(),
            }),
            at: std::time::SystemTime::UNIX_EPOCH,
            duration: Duration::ZERO,
        });
        s
    }

    #[test]
    fn heal_volume_selection() {
        let healthy = with_volumes(include_str!(
            "../../tests/fixtures/gluster/volume-info-healthy.xml"
        ));
        assert_eq!(heal_volumes(&healthy, None), ["gv", "gvdr"]);
        assert_eq!(heal_volumes(&healthy, Some("gv")), ["gv"]);
        // Not in the state (yet): tried anyway.
        assert_eq!(heal_volumes(&healthy, Some("other")), ["other"]);
        assert_eq!(
            heal_volumes(&GlusterSnapshot::default(), Some("gv")),
            ["gv"]
        );
        assert!(heal_volumes(&GlusterSnapshot::default(), None).is_empty());
        let stopped = with_volumes(include_str!(
            "../../tests/fixtures/gluster/volume-info-stopped.xml"
        ));
        assert!(heal_volumes(&stopped, Some("gv")).is_empty());
        assert!(heal_volumes(&stopped, None).is_empty());
    }

    fn parse_config(text: &str) -> Result<Settings, crate::config::ConfigError> {
        crate::config::parse(
            std::path::Path::new("/etc/quorate/q.yaml"),
            text,
            &Default::default(),
            &mut Vec::new(),
        )
    }

    #[test]
    fn config_needs_a_gluster_host_or_an_explicit_section() {
        let base = "cluster: {name: c}\nstorage:\n  glusterfs: {volume_name: gv}\nnodes:\n  controllers:\n    - {hostname: a, ip_address: 10.0.0.1, services: {glusterfs: true}}\n    - {hostname: b, ip_address: 10.0.0.2, services: {mariadb: true}}\n";
        let parse = |text: &str| parse_config(text).expect("valid");
        let s = parse(base);
        let on_a = GlusterConfig::from_settings(&s, Some("a")).expect("a runs glusterfs");
        assert_eq!(on_a.volume.as_deref(), Some("gv"));
        assert_eq!(on_a.command, ["gluster"]);
        assert_eq!(on_a.heal_interval, Duration::from_secs(60));
        assert!(GlusterConfig::from_settings(&s, Some("b")).is_none());
        assert!(GlusterConfig::from_settings(&s, None).is_none());
        let explicit = parse(&format!(
            "{base}quorate:\n  gluster: {{command: [ssh, a, gluster]}}\n"
        ));
        let cfg = GlusterConfig::from_settings(&explicit, None).expect("explicit section");
        assert_eq!(cfg.command, ["ssh", "a", "gluster"]);
        assert!(cfg.mounts.is_empty(), "no mount_point in the seed");
        assert_eq!(cfg.probe_timeout, Duration::from_secs(5));
    }

    #[test]
    fn mounts_are_the_seed_mount_point_then_the_extra_ones_each_once() {
        let text = |extra: &str| {
            format!(
                "cluster: {{name: c}}\nstorage:\n  glusterfs: {{volume_name: gv, mount_point: /mnt/g}}\nnodes:\n  controllers:\n    - {{hostname: a, ip_address: 10.0.0.1, services: {{glusterfs: true}}}}\nquorate:\n  gluster: {{{extra}}}\n"
            )
        };
        let parse = parse_config;
        let s = parse(&text(
            "probe_mounts: [/mnt/h, /mnt/g, /mnt/h], probe_timeout: 2s",
        ))
        .expect("valid");
        let cfg = GlusterConfig::from_settings(&s, Some("a")).expect("enabled");
        assert_eq!(
            cfg.mounts,
            [PathBuf::from("/mnt/g"), PathBuf::from("/mnt/h")]
        );
        assert_eq!(cfg.probe_timeout, Duration::from_secs(2));
        let relative = parse(&text("probe_mounts: [mnt/h]")).expect_err("relative path");
        assert!(
            relative
                .to_string()
                .contains("quorate.gluster.probe_mounts"),
            "{relative}"
        );
        assert!(
            parse(&text("probe_timeout: 0s")).is_err(),
            "durations are positive"
        );
        let off = parse(&text("probe_mount_point: false, probe_mounts: [/mnt/h]")).expect("valid");
        assert_eq!(probe_mounts(&off), [PathBuf::from("/mnt/h")]);
    }
}
