//! `quorate check gluster`: a [`GlusterReading`] + policy → verdict. Pure.
//!
//! Default policy, in short: a failed CLI or a missing volume is UNKNOWN; a stopped volume, a
//! brick down, a peer disconnected, split-brain entries or a failed client mount probe are
//! CRITICAL; pending heals, unknown
//! heal counts and a replica set missing a brick are WARNING. Every state is configurable on the
//! command line. The full table, the reference, is in docs/checks.md ("What `check gluster`
//! judges").
//!
//! Heal figures are per volume the largest per-brick count (entries pending on two bricks are
//! listed on both, so the sum would double count). With several volumes the perfdata and the
//! Zabbix values aggregate them: brick counts are summed, heal figures take the largest, the
//! bricks-per-set figure the smallest.

use serde_json::{Map, Value};

use super::output::{CheckResult, PerfDatum};
use super::range::{Range, Thresholds};
use super::{Finding, Status};
use crate::gluster::reading::{GlusterReading, HealFigure, VolumeReading};

/// The first word of the plugin output.
pub const SERVICE: &str = "GLUSTER";

/// How each observation maps to a state.
#[derive(Debug, Clone, PartialEq)]
pub struct GlusterPolicy {
    /// Ranges on the fewest bricks up in any replica set; `None` = per volume, WARNING below
    /// its replica count and CRITICAL below a majority of it.
    pub bricks: Option<Thresholds>,
    /// Ranges on the pending heal entries.
    pub pending: Thresholds,
    /// A brick is down.
    pub brick_down: Status,
    /// A peer is disconnected.
    pub peer_down: Status,
    /// Split-brain entries > 0.
    pub split_brain: Status,
    /// A brick's heal count is unknown.
    pub unknown_heal: Status,
    /// A client mount's probe failed.
    pub mount_down: Status,
}

impl Default for GlusterPolicy {
    fn default() -> GlusterPolicy {
        GlusterPolicy {
            bricks: None,
            pending: default_pending(),
            brick_down: Status::Critical,
            peer_down: Status::Critical,
            split_brain: Status::Critical,
            unknown_heal: Status::Warning,
            mount_down: Status::Critical,
        }
    }
}

/// Pending heals: WARNING above 0, no CRITICAL range.
pub fn default_pending() -> Thresholds {
    Thresholds::new(Some(Range::from_bounds(Some(0.0), Some(0.0), false)), None)
}

/// Bricks-per-set thresholds for replica count `replicas`: WARNING below it, CRITICAL below a
/// majority of it (where client quorum is lost and writes stop).
pub fn replica_thresholds(replicas: u32) -> Thresholds {
    Thresholds::expected_size(replicas.max(1))
}

/// The value names `--format zabbix` reports (besides `status`, `state`, `summary`).
pub const ZABBIX_ITEMS: &[&str] = &[
    "volume",
    "up",
    "error",
    "bricks_up",
    "bricks_total",
    "bricks_min_per_set",
    "replica_count",
    "peers_connected",
    "peers_total",
    "pending",
    "split_brain",
    "possibly_healing",
    "heal_unknown_bricks",
];

/// Sums of the heal figures of several volumes: the largest count, unknown bricks summed.
fn combine(figures: impl Iterator<Item = HealFigure>) -> HealFigure {
    figures.fold(
        HealFigure {
            max: None,
            unknown_bricks: 0,
        },
        |acc, f| HealFigure {
            max: match (acc.max, f.max) {
                (Some(a), Some(b)) => Some(a.max(b)),
                (a, b) => a.or(b),
            },
            unknown_bricks: acc.unknown_bricks + f.unknown_bricks,
        },
    )
}

fn opt(v: Option<u64>) -> Value {
    v.map_or(Value::Null, Value::from)
}

/// Judges one volume; pushes its findings.
fn judge_volume(v: &VolumeReading, policy: &GlusterPolicy, findings: &mut Vec<Finding>) {
    let name = &v.name;
    if !v.started {
        findings.push(Finding::new(
            Status::Critical,
            format!("volume {name} is not started"),
        ));
        return;
    }
    for b in v.bricks.iter().filter(|b| !b.up()) {
        let why = match (b.online, b.heal_connected) {
            (Some(false), _) => "offline",
            (None, _) => "not listed by glusterd",
            (Some(true), _) => "online by glusterd but unreachable for glfsheal",
        };
        findings.push(Finding::new(
            policy.brick_down,
            format!("{name}: brick {} down ({why})", b.name),
        ));
    }
    let sets = v.min_bricks_up_per_set();
    let thresholds = policy
        .bricks
        .clone()
        .unwrap_or_else(|| replica_thresholds(v.replica_count));
    findings.push(Finding::new(
        thresholds.evaluate(sets as f64),
        format!(
            "{name}: {}/{} bricks up, fewest per replica set {sets}/{}",
            v.bricks_up(),
            v.bricks.len(),
            v.replica_count
        ),
    ));
    if !v.heals {
        return;
    }
    if !v.heal_ok {
        findings.push(Finding::new(
            Status::Unknown,
            format!(
                "{name}: heal info failed: {}",
                v.heal_error.as_deref().unwrap_or("no heal data")
            ),
        ));
        if v.heal_last_success.is_none() {
            return;
        }
    }
    let split = v.split_brain();
    let pending = v.heal_pending();
    let healing = v.possibly_healing();
    if let Some(n) = split.max {
        let state = if n > 0 {
            policy.split_brain
        } else {
            Status::Ok
        };
        findings.push(Finding::new(state, format!("{name}: {n} in split-brain")));
    }
    if let Some(n) = pending.max {
        findings.push(Finding::new(
            policy.pending.evaluate(n as f64),
            format!("{name}: {n} pending heal"),
        ));
    }
    if let Some(n) = healing.max.filter(|n| *n > 0) {
        findings.push(Finding::new(
            Status::Ok,
            format!("{name}: {n} possibly healing"),
        ));
    }
    if pending.unknown_bricks > 0 {
        let which: Vec<&str> = v
            .bricks
            .iter()
            .filter(|b| b.heal.is_none())
            .map(|b| b.name.as_str())
            .collect();
        findings.push(Finding::new(
            policy.unknown_heal,
            format!(
                "{name}: heal counts unknown on {} brick(s) ({}): they could not be read, counts there may be higher",
                pending.unknown_bricks,
                which.join(", ")
            ),
        ));
    }
}

/// Judges a reading collected once.
pub fn judge(reading: &GlusterReading, policy: &GlusterPolicy) -> CheckResult {
    let mut findings: Vec<Finding> = Vec::new();
    let collected = reading.state_age.is_some();
    if reading.stale || !reading.up {
        findings.push(Finding::new(
            Status::Unknown,
            format!(
                "gluster CLI failed: {}",
                reading.error.as_deref().unwrap_or("no state collected")
            ),
        ));
    }
    if let Some(missing) = &reading.missing_volume {
        findings.push(Finding::new(
            Status::Unknown,
            format!("volume {missing} does not exist"),
        ));
    } else if collected && reading.volumes.is_empty() {
        findings.push(Finding::new(Status::Unknown, "no GlusterFS volume exists"));
    }
    for p in reading.peers.iter().filter(|p| !p.connected) {
        findings.push(Finding::new(
            policy.peer_down,
            format!("peer {} disconnected", p.hostname),
        ));
    }
    for v in &reading.volumes {
        judge_volume(v, policy, &mut findings);
    }
    for m in &reading.mounts {
        findings.push(match &m.failure {
            Some(f) => Finding::new(
                policy.mount_down,
                format!(
                    "mount {} down ({}): {}",
                    m.mount,
                    f.reason.as_str(),
                    f.detail
                ),
            ),
            None => Finding::new(
                Status::Ok,
                format!(
                    "mount {} writable ({:.0} ms)",
                    m.mount,
                    m.duration.as_secs_f64() * 1000.0
                ),
            ),
        });
    }

    let mut result = CheckResult::from_findings(SERVICE, &findings);

    // Aggregates over the volumes read.
    let vols = &reading.volumes;
    let have = !vols.is_empty();
    let bricks_up = have.then(|| vols.iter().map(|v| v.bricks_up() as u64).sum::<u64>());
    let bricks_total = have.then(|| vols.iter().map(|v| v.bricks.len() as u64).sum::<u64>());
    let min_per_set = vols.iter().map(|v| v.min_bricks_up_per_set() as u64).min();
    let replicas = vols.iter().map(|v| v.replica_count).min();
    let healing_vols = || vols.iter().filter(|v| v.heals);
    let pending = combine(healing_vols().map(VolumeReading::heal_pending));
    let split = combine(healing_vols().map(VolumeReading::split_brain));
    let possibly = combine(healing_vols().map(VolumeReading::possibly_healing));
    let peers_connected =
        collected.then(|| (reading.peers.len() - reading.peers_disconnected()) as u64);
    let peers_total = collected.then_some(reading.peers.len() as u64);

    let brick_thresholds = policy
        .bricks
        .clone()
        .or_else(|| replicas.map(replica_thresholds))
        .unwrap_or_default();
    let f = |v: Option<u64>| v.map(|v| v as f64);
    // The pool's size is the graph's maximum, as nodes_up's is in `check cluster`.
    let peers = PerfDatum::new("peers_connected", f(peers_connected)).min(0.0);
    let peers = match peers_total {
        Some(total) => peers.max(total as f64),
        None => peers,
    };
    result.perfdata = vec![
        PerfDatum::new("bricks_up", f(bricks_up)).min(0.0),
        PerfDatum::new("bricks_total", f(bricks_total)).min(0.0),
        PerfDatum::new("bricks_min_per_set", f(min_per_set))
            .thresholds(&brick_thresholds)
            .min(0.0),
        peers,
        PerfDatum::new("pending", f(pending.max))
            .thresholds(&policy.pending)
            .min(0.0),
        PerfDatum::new("split_brain", f(split.max)).min(0.0),
        PerfDatum::new("possibly_healing", f(possibly.max)).min(0.0),
        PerfDatum::new(
            "heal_unknown_bricks",
            have.then_some(pending.unknown_bricks as f64),
        )
        .min(0.0),
    ];

    let mut values = Map::new();
    let volume_names: Vec<&str> = vols.iter().map(|v| v.name.as_str()).collect();
    values.insert("volume".into(), Value::from(volume_names.join(",")));
    values.insert("up".into(), Value::from(u8::from(reading.up)));
    values.insert(
        "error".into(),
        reading.error.clone().map_or(Value::Null, Value::from),
    );
    values.insert("bricks_up".into(), opt(bricks_up));
    values.insert("bricks_total".into(), opt(bricks_total));
    values.insert("bricks_min_per_set".into(), opt(min_per_set));
    values.insert("replica_count".into(), opt(replicas.map(u64::from)));
    values.insert("peers_connected".into(), opt(peers_connected));
    values.insert("peers_total".into(), opt(peers_total));
    values.insert("pending".into(), opt(pending.max));
    values.insert("split_brain".into(), opt(split.max));
    values.insert("possibly_healing".into(), opt(possibly.max));
    values.insert(
        "heal_unknown_bricks".into(),
        opt(have.then_some(pending.unknown_bricks as u64)),
    );
    result.values = values;
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gluster::reading::reading;
    use crate::gluster::reading::tests::{brick_killed, collected, healthy, snapshot};
    use crate::gluster::snapshot::{ClusterState, GlusterSnapshot};
    use crate::gluster::CliError;
    use std::time::{Duration, SystemTime};

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/gluster/", $name)).as_bytes()
        };
    }

    fn now() -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_010)
    }

    fn judge_snapshot(s: &GlusterSnapshot, policy: &GlusterPolicy) -> CheckResult {
        judge(&reading(s, now(), None), policy)
    }

    fn perf(r: &CheckResult, label: &str) -> Option<f64> {
        r.perfdata
            .iter()
            .find(|p| p.render().starts_with(&format!("{label}=")))
            .and_then(|p| {
                let text = p.render();
                let value = text.split('=').nth(1)?.split(';').next()?.to_string();
                value.parse().ok()
            })
    }

    #[test]
    fn healthy_is_ok_with_every_count() {
        let r = judge_snapshot(&healthy(), &GlusterPolicy::default());
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(r.summary.contains("3/3 bricks up"), "{}", r.summary);
        assert_eq!(perf(&r, "bricks_up"), Some(3.0));
        assert_eq!(perf(&r, "bricks_total"), Some(3.0));
        assert_eq!(perf(&r, "bricks_min_per_set"), Some(3.0));
        assert_eq!(perf(&r, "peers_connected"), Some(1.0));
        assert_eq!(perf(&r, "pending"), Some(0.0));
        assert_eq!(perf(&r, "split_brain"), Some(0.0));
        assert_eq!(perf(&r, "possibly_healing"), Some(0.0));
        assert_eq!(r.values["split_brain"], Value::from(0));
        let text = r.render_plugin(false);
        assert!(text.contains("bricks_min_per_set=3;3:;2:;0"), "{text}");
    }

    #[test]
    fn killed_brick_is_critical_with_pending_counted_and_unknown_reported() {
        let r = judge_snapshot(&brick_killed(), &GlusterPolicy::default());
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("brick 10.254.0.1:/tmp/qgcap/a/b2 down"));
        assert_eq!(perf(&r, "bricks_up"), Some(2.0));
        assert!(perf(&r, "pending").is_some_and(|p| p >= 5.0));
        assert_eq!(perf(&r, "heal_unknown_bricks"), Some(1.0));
        assert!(r
            .details
            .iter()
            .any(|d| d.starts_with("[WARNING]") && d.contains("heal counts unknown on 1")));
        assert!(r
            .details
            .iter()
            .any(|d| d.starts_with("[WARNING]") && d.contains("pending heal")));
    }

    #[test]
    fn brick_down_as_warning_leaves_the_replica_ranges_to_judge() {
        let policy = GlusterPolicy {
            brick_down: Status::Warning,
            ..GlusterPolicy::default()
        };
        // 2 of 3 up: below the replica count (WARNING), not below a majority.
        assert_eq!(
            judge_snapshot(&brick_killed(), &policy).status,
            Status::Warning
        );
        // Explicit ranges: CRITICAL below 3 per set.
        let strict = GlusterPolicy {
            bricks: Some(Thresholds::new(None, Range::parse("3:").ok())),
            ..policy
        };
        assert_eq!(
            judge_snapshot(&brick_killed(), &strict).status,
            Status::Critical
        );
    }

    #[test]
    fn a_failed_mount_probe_is_critical_and_a_passed_one_ok() {
        use crate::gluster::mount::FailureReason;
        let mut s = healthy();
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_009);
        s.mounts
            .entry("/mnt/gluster".into())
            .or_default()
            .record(collected(Ok(()), at, Duration::from_millis(12)));
        let r = judge_snapshot(&s, &GlusterPolicy::default());
        assert_eq!(r.status, Status::Ok, "{r:?}");
        assert!(
            r.summary.contains("mount /mnt/gluster writable (12 ms)"),
            "{}",
            r.summary
        );
        s.mounts
            .entry("/mnt/gluster".into())
            .or_default()
            .record(collected(
                Err(FailureReason::StatFailed.failure(
                    "stat /mnt/gluster: Transport endpoint is not connected (os error 107)",
                )),
                at,
                Duration::from_millis(3),
            ));
        let r = judge_snapshot(&s, &GlusterPolicy::default());
        assert_eq!(r.status, Status::Critical, "{r:?}");
        assert!(
            r.summary
                .contains("mount /mnt/gluster down (stat_failed): stat /mnt/gluster: Transport"),
            "{}",
            r.summary
        );
        let lenient = GlusterPolicy {
            mount_down: Status::Warning,
            ..GlusterPolicy::default()
        };
        assert_eq!(judge_snapshot(&s, &lenient).status, Status::Warning);
    }

    #[test]
    fn split_brain_is_critical() {
        let s = snapshot(
            fixture!("volume-status-gv-detail-healthy.xml"),
            fixture!("heal-summary-split-brain.xml"),
            fixture!("peer-status-connected.xml"),
        );
        let r = judge_snapshot(&s, &GlusterPolicy::default());
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("1 in split-brain"), "{}", r.summary);
        assert_eq!(perf(&r, "split_brain"), Some(1.0));
    }

    #[test]
    fn pending_heals_by_range() {
        // The healed-but-counted fixture: pending on live bricks with every brick up.
        let s = snapshot(
            fixture!("volume-status-gv-detail-healthy.xml"),
            fixture!("heal-summary-brick-killed.xml"),
            fixture!("peer-status-connected.xml"),
        );
        let r = reading(&s, now(), None);
        let pending = r.volumes[0].heal_pending().max.expect("counted");
        assert!(pending >= 5);
        let policy = GlusterPolicy {
            pending: Thresholds::new(Range::parse("100").ok(), Range::parse("2").ok()),
            unknown_heal: Status::Ok,
            brick_down: Status::Ok,
            bricks: Some(Thresholds::default()),
            ..GlusterPolicy::default()
        };
        let judged = judge(&r, &policy);
        assert_eq!(judged.status, Status::Critical, "{judged:?}");
        let relaxed = GlusterPolicy {
            pending: Thresholds::new(Range::parse("1000").ok(), None),
            ..policy
        };
        assert_eq!(judge(&r, &relaxed).status, Status::Ok);
    }

    #[test]
    fn disconnected_peer_and_its_brick_are_critical() {
        let s = snapshot(
            fixture!("volume-status-gv-detail-peer-down.xml"),
            fixture!("heal-summary-peer-down.xml"),
            fixture!("peer-status-disconnected.xml"),
        );
        let r = judge_snapshot(&s, &GlusterPolicy::default());
        assert_eq!(r.status, Status::Critical);
        assert!(r
            .details
            .iter()
            .any(|d| d.contains("peer") && d.contains("disconnected")));
        assert!(r
            .details
            .iter()
            .any(|d| d.contains("10.254.0.2:/tmp/qgcap/b/b3 down")));
        assert_eq!(perf(&r, "peers_connected"), Some(0.0));
        // The pool's one peer is the graph's maximum.
        assert!(r
            .perfdata
            .iter()
            .any(|p| p.render() == "peers_connected=0;;;0;1"));
        assert_eq!(perf(&r, "heal_unknown_bricks"), Some(1.0));
    }

    #[test]
    fn failed_cli_is_unknown_with_the_error() {
        let mut s = GlusterSnapshot::default();
        let err = CliError::Timeout {
            command: "gluster --mode=script volume info gv --xml".into(),
            timeout: Duration::from_secs(3),
        };
        s.state
            .record(collected(Err(err), now(), Duration::from_secs(3)));
        let r = judge(&reading(&s, now(), Some("gv")), &GlusterPolicy::default());
        assert_eq!(r.status, Status::Unknown);
        assert!(r.summary.contains("gluster CLI failed"), "{}", r.summary);
        assert!(r.summary.contains("did not finish"), "{}", r.summary);
        assert_eq!(perf(&r, "bricks_up"), None);
        assert_eq!(r.values["pending"], Value::Null);
        assert_eq!(r.values["up"], Value::from(0));
    }

    #[test]
    fn missing_volume_is_unknown_and_stopped_volume_critical() {
        let r = judge(
            &reading(&healthy(), now(), Some("nosuch")),
            &GlusterPolicy::default(),
        );
        assert_eq!(r.status, Status::Unknown);
        assert!(r.summary.contains("volume nosuch does not exist"));

        let mut s = GlusterSnapshot::default();
        s.state.record(collected(
            Ok(ClusterState {
                volumes: crate::gluster::parse::parse_volume_info(fixture!(
                    "volume-info-stopped.xml"
                ))
                .expect("info"),
                status: Vec::new(),
                peers: Vec::new(),
            }),
            now(),
            Duration::ZERO,
        ));
        let r = judge_snapshot(&s, &GlusterPolicy::default());
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("not started"));
    }

    #[test]
    fn zabbix_values_cover_the_items() {
        let r = judge_snapshot(&healthy(), &GlusterPolicy::default());
        for item in ZABBIX_ITEMS {
            assert!(r.values.contains_key(*item), "{item}");
        }
        let json = r.render_zabbix(None).expect("json");
        assert!(json.contains("\"volume\":\"gv\""), "{json}");
    }
}
