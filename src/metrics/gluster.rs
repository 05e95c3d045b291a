//! GlusterFS families, built from a [`GlusterReading`] (the same input the check judges).
//!
//! Labels are `volume`, `brick` (`host:/path`), `peer`, and `mount` (a client mount's path) with
//! a failed probe's `reason` class: never a pid, a timestamp or an error's text.
//! Series come from the last good collection, which may be old; `gluster_up` says whether the
//! latest attempt succeeded and the `*_timestamp_seconds` families say how old the data is.
//! A brick whose heal counts are unknown has no heal series at all (never 0).

use std::time::Duration;

use super::{collector, Family, Kind};
use crate::collected::CollectorStatus;
use crate::gluster::reading::GlusterReading;
use crate::unix_time;

fn bool_value(b: bool) -> f64 {
    f64::from(u8::from(b))
}

/// The GlusterFS families of a reading (of every volume: built with no volume filter beyond
/// the configured one).
pub fn families(r: &GlusterReading) -> Vec<Family> {
    let mut out = reading_families(r);
    out.push(Family::single(
        "gluster_collect_duration_seconds",
        "Duration of the latest volume info, volume status and peer status collection.",
        r.collect_duration.map_or(0.0, |d| d.as_secs_f64()),
    ));
    if let Some(at) = r.last_success {
        out.push(Family::single(
            "gluster_last_success_timestamp_seconds",
            "Unix time when the volume, brick and peer series were collected (they are served from the last good collection).",
            unix_time::seconds(at),
        ));
    }
    out.push(
        Family::single(
            "gluster_cli_timeouts_total",
            "gluster CLI commands killed (with their process group) at their timeout.",
            r.cli_timeouts as f64,
        )
        .of_kind(Kind::Counter),
    );
    out.push(
        Family::single(
            "gluster_cli_busy_retries_total",
            "gluster CLI commands retried because glusterd answered Another transaction is in progress.",
            r.cli_busy_retries as f64,
        )
        .of_kind(Kind::Counter),
    );
    out.extend(mount_families(r));
    out.extend(collector::families(
        "gluster",
        &CollectorStatus {
            succeeded: r.up,
            duration: r.collect_duration.unwrap_or(Duration::ZERO),
            last_success: r.last_success,
        },
    ));
    out
}

/// The client mount probe's families; a mount has series once its first probe finished.
fn mount_families(r: &GlusterReading) -> Vec<Family> {
    let mut up = Family::new(
        "gluster_mount_up",
        "1 if the latest probe of the client mount passed: stat, then write, read back and remove a small file, in a child process with a hard timeout.",
    );
    let mut duration = Family::new(
        "gluster_mount_probe_duration_seconds",
        "Duration of the latest probe of the client mount (at most its timeout when it hangs).",
    );
    let mut last = Family::new(
        "gluster_mount_last_success_timestamp_seconds",
        "Unix time when the latest successful probe of the client mount finished.",
    );
    let mut failure = Family::new(
        "gluster_mount_probe_failure_info",
        "1 with the reason class of the latest probe's failure (timeout, stuck, not_mounted, stat_failed, write_failed, read_failed, read_mismatch, remove_failed, probe_failed); absent while the mount is up. The details are in the log.",
    );
    for m in &r.mounts {
        let ml = || vec![("mount".into(), m.mount.clone())];
        up = up.with(ml(), bool_value(m.up));
        duration = duration.with(ml(), m.duration.as_secs_f64());
        if let Some(at) = m.last_success {
            last = last.with(ml(), unix_time::seconds(at));
        }
        if let Some(f) = &m.failure {
            let mut labels = ml();
            labels.push(("reason".into(), f.reason.as_str().to_string()));
            failure = failure.with(labels, 1.0);
        }
    }
    vec![up, duration, last, failure]
}

/// The per-volume, per-brick and per-peer families.
fn reading_families(r: &GlusterReading) -> Vec<Family> {
    let up = Family::single(
        "gluster_up",
        "1 if the latest gluster volume info, volume status and peer status collection succeeded; otherwise the other gluster series are from the last good one.",
        bool_value(r.up),
    );
    let mut volume_up = Family::new("gluster_volume_up", "1 if the volume is started.");
    let mut volume_bricks = Family::new("gluster_volume_bricks", "Bricks in the volume.");
    let mut volume_replicas = Family::new(
        "gluster_volume_replicas",
        "Bricks per replica set (1 for a distribute volume).",
    );
    let mut volume_bricks_up = Family::new(
        "gluster_volume_bricks_up",
        "Bricks that glusterd reports online and, if heal info looked, heal info could reach.",
    );
    let mut volume_min_set = Family::new(
        "gluster_volume_replica_set_min_bricks_up",
        "The fewest bricks up in any replica set of the volume; below the replica count redundancy is reduced, 0 means data is unavailable.",
    );
    let mut brick_up = Family::new(
        "gluster_brick_up",
        "1 if glusterd reports the brick online and heal info (if it ran) could reach it.",
    );
    let mut heal_connected = Family::new(
        "gluster_heal_brick_connected",
        "1 if the last good heal info pass could reach the brick; heal counts of an unreachable brick are unknown and not exported.",
    );
    let mut size = Family::new(
        "gluster_brick_size_bytes",
        "Size of the brick's file system.",
    );
    let mut free = Family::new(
        "gluster_brick_free_bytes",
        "Free space on the brick's file system.",
    );
    let mut inodes = Family::new("gluster_brick_inodes", "Inodes of the brick's file system.");
    let mut inodes_free = Family::new(
        "gluster_brick_inodes_free",
        "Free inodes of the brick's file system.",
    );
    let mut pending = Family::new(
        "gluster_heal_pending_entries",
        "Entries pending heal on the brick (heal info summary, collected in the background every quorate.intervals.gluster_heal; see gluster_heal_last_success_timestamp_seconds for its age). Absent when unknown.",
    );
    let mut split = Family::new(
        "gluster_heal_split_brain_entries",
        "Entries in split-brain on the brick (heal info summary, collected in the background; absent when unknown).",
    );
    let mut healing = Family::new(
        "gluster_heal_possibly_healing_entries",
        "Entries possibly being healed on the brick (heal info summary, collected in the background; absent when unknown).",
    );
    let mut heal_success = Family::new(
        "gluster_heal_collect_success",
        "1 if the latest heal info collection of the volume succeeded.",
    );
    let mut heal_last = Family::new(
        "gluster_heal_last_success_timestamp_seconds",
        "Unix time when the volume's heal series were collected.",
    );
    let mut heal_duration = Family::new(
        "gluster_heal_collect_duration_seconds",
        "Duration of the latest heal info collection of the volume.",
    );
    let mut peer = Family::new(
        "gluster_peer_connected",
        "1 if the peer is connected to this host's glusterd.",
    );

    for p in &r.peers {
        peer = peer.with(
            vec![("peer".into(), p.hostname.clone())],
            bool_value(p.connected),
        );
    }
    for v in &r.volumes {
        let vl = || vec![("volume".into(), v.name.clone())];
        volume_up = volume_up.with(vl(), bool_value(v.started));
        volume_bricks = volume_bricks.with(vl(), f64::from(v.brick_count));
        volume_replicas = volume_replicas.with(vl(), f64::from(v.replica_count));
        volume_bricks_up = volume_bricks_up.with(vl(), v.bricks_up() as f64);
        volume_min_set = volume_min_set.with(vl(), v.min_bricks_up_per_set() as f64);
        if v.heals {
            heal_success = heal_success.with(vl(), bool_value(v.heal_ok));
        }
        if let Some(at) = v.heal_last_success {
            heal_last = heal_last.with(vl(), unix_time::seconds(at));
        }
        if let Some(d) = v.heal_duration {
            heal_duration = heal_duration.with(vl(), d.as_secs_f64());
        }
        for b in &v.bricks {
            let bl = || {
                vec![
                    ("volume".into(), v.name.clone()),
                    ("brick".into(), b.name.clone()),
                ]
            };
            brick_up = brick_up.with(bl(), bool_value(b.up()));
            if let Some(c) = b.heal_connected {
                heal_connected = heal_connected.with(bl(), bool_value(c));
            }
            let gauges = [
                (&mut size, b.size_total),
                (&mut free, b.size_free),
                (&mut inodes, b.inodes_total),
                (&mut inodes_free, b.inodes_free),
            ];
            for (family, value) in gauges {
                if let Some(x) = value {
                    family.samples.push(super::Sample {
                        labels: bl(),
                        value: x as f64,
                    });
                }
            }
            if let Some(h) = &b.heal {
                pending = pending.with(bl(), h.pending as f64);
                split = split.with(bl(), h.split_brain as f64);
                healing = healing.with(bl(), h.possibly_healing as f64);
            }
        }
    }
    vec![
        up,
        volume_up,
        volume_bricks,
        volume_replicas,
        volume_bricks_up,
        volume_min_set,
        brick_up,
        heal_connected,
        size,
        free,
        inodes,
        inodes_free,
        pending,
        split,
        healing,
        heal_success,
        heal_last,
        heal_duration,
        peer,
    ]
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gluster::reading::reading;
    use crate::gluster::reading::tests::{brick_killed, healthy, B1, B2};
    use crate::gluster::GlusterSnapshot;
    use crate::metrics::{Format, MetricSet};
    use std::time::SystemTime;

    fn set(snapshot: &GlusterSnapshot) -> MetricSet {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_010);
        let mut set = MetricSet::default();
        set.extend(families(&reading(snapshot, now, None)));
        set
    }

    #[test]
    fn killed_brick_has_no_heal_series_and_is_down() {
        let s = set(&brick_killed());
        let b = |brick: &'static str| [("volume", "gv"), ("brick", brick)];
        assert_eq!(s.value("gluster_up", &[]), Some(1.0));
        assert_eq!(s.value("gluster_volume_up", &[("volume", "gv")]), Some(1.0));
        assert_eq!(s.value("gluster_brick_up", &b(B2)), Some(0.0));
        assert_eq!(s.value("gluster_brick_up", &b(B1)), Some(1.0));
        assert_eq!(s.value("gluster_heal_brick_connected", &b(B2)), Some(0.0));
        assert_eq!(s.value("gluster_heal_pending_entries", &b(B2)), None);
        assert_eq!(s.value("gluster_heal_split_brain_entries", &b(B2)), None);
        assert!(s
            .value("gluster_heal_pending_entries", &b(B1))
            .is_some_and(|p| p >= 5.0));
        assert_eq!(
            s.value("gluster_volume_bricks_up", &[("volume", "gv")]),
            Some(2.0)
        );
        assert_eq!(
            s.value(
                "gluster_volume_replica_set_min_bricks_up",
                &[("volume", "gv")]
            ),
            Some(2.0)
        );
        assert_eq!(
            s.value("gluster_volume_replicas", &[("volume", "gv")]),
            Some(3.0)
        );
        assert_eq!(
            s.value(
                "gluster_heal_last_success_timestamp_seconds",
                &[("volume", "gv")]
            ),
            Some(1_700_000_005.0)
        );
        assert_eq!(
            s.value("gluster_peer_connected", &[("peer", "10.254.0.2")]),
            Some(1.0)
        );
        // The killed brick still reports its file system's size (glusterd statfs's it).
        assert!(s.value("gluster_brick_size_bytes", &b(B1)).is_some());
    }

    #[test]
    fn exposition_has_no_pid_or_instance_labels() {
        let text = set(&healthy()).encode(Format::Text);
        for forbidden in ["pid=", "instance=", "job=", "port="] {
            assert!(!text.contains(forbidden), "{forbidden} in\n{text}");
        }
        assert!(
            text.contains("# TYPE gluster_cli_timeouts_total counter"),
            "{text}"
        );
        assert!(text.contains("gluster_heal_pending_entries{volume=\"gv\",brick=\"10.254.0.1:/tmp/qgcap/a/b1\"} 0"), "{text}");
        assert!(
            text.contains("quorate_collector_success{collector=\"gluster\"} 1"),
            "{text}"
        );
    }

    #[test]
    fn mounts_up_and_failed_with_a_reason_class_only() {
        use crate::collected::Collected;
        use crate::gluster::mount::FailureReason;
        let mut snapshot = healthy();
        let at = |s: u64| SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + s);
        let probe = |value, s| Collected {
            value,
            at: at(s),
            duration: Duration::from_millis(40),
        };
        let ok = snapshot.mounts.entry("/mnt/gluster".into()).or_default();
        ok.record(probe(Ok(()), 8));
        let hung = snapshot.mounts.entry("/mnt/other".into()).or_default();
        hung.record(probe(Ok(()), 2));
        hung.record(probe(
            Err(FailureReason::Timeout.failure("no answer within 5.0 s; xyzzy /mnt/other")),
            9,
        ));
        let s = set(&snapshot);
        let m = |mount: &'static str| [("mount", mount)];
        assert_eq!(s.value("gluster_mount_up", &m("/mnt/gluster")), Some(1.0));
        assert_eq!(s.value("gluster_mount_up", &m("/mnt/other")), Some(0.0));
        assert_eq!(
            s.value("gluster_mount_probe_duration_seconds", &m("/mnt/other")),
            Some(0.04)
        );
        assert_eq!(
            s.value(
                "gluster_mount_last_success_timestamp_seconds",
                &m("/mnt/other")
            ),
            Some(1_700_000_002.0)
        );
        assert_eq!(
            s.value(
                "gluster_mount_probe_failure_info",
                &[("mount", "/mnt/other"), ("reason", "timeout")]
            ),
            Some(1.0)
        );
        let text = s.encode(Format::Text);
        assert!(!text.contains("xyzzy"), "no free text in labels:\n{text}");
        assert!(
            !text.contains("gluster_mount_probe_failure_info{mount=\"/mnt/gluster\""),
            "{text}"
        );
    }

    #[test]
    fn nothing_collected_yet_is_down_with_no_volume_series() {
        let s = set(&GlusterSnapshot::default());
        assert_eq!(s.value("gluster_up", &[]), Some(0.0));
        assert_eq!(s.value("gluster_volume_up", &[]), None);
        assert_eq!(s.value("gluster_last_success_timestamp_seconds", &[]), None);
    }
}
