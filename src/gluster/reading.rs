//! The judgement input: a [`GlusterReading`] built purely from a [`GlusterSnapshot`] and the
//! current time. Metrics and the `quorate check gluster` plugin both read it, so they cannot
//! disagree.
//!
//! Unknown stays distinct from zero everywhere: a brick glfsheal could not reach has
//! `heal: None`, a brick glusterd did not list has `online: None`, and volume totals say how many
//! bricks they could not count.

use std::time::{Duration, SystemTime};

use super::mount::MountFailure;
use super::parse::{HealCounts, VolumeState};
use super::snapshot::GlusterSnapshot;
use crate::collected::Collected;

/// Everything a check needs about GlusterFS.
#[derive(Debug, Clone, PartialEq)]
pub struct GlusterReading {
    /// Whether the latest state collection succeeded (`gluster_up`).
    pub up: bool,
    /// Age of the state below (since its collection finished); `None` if none ever succeeded.
    pub state_age: Option<Duration>,
    /// The latest state attempt failed, so the data below is older than one interval.
    pub stale: bool,
    /// Why the latest state attempt failed.
    pub error: Option<String>,
    /// When the state below was collected (`None` if no collection ever succeeded).
    pub last_success: Option<SystemTime>,
    /// How long the latest state attempt took (`None` before the first one).
    pub collect_duration: Option<Duration>,
    /// gluster commands killed at their timeout, since the collector started.
    pub cli_timeouts: u64,
    /// gluster commands retried because glusterd was busy, since the collector started.
    pub cli_busy_retries: u64,
    pub peers: Vec<PeerReading>,
    pub volumes: Vec<VolumeReading>,
    /// The configured volume that the last good state does not contain.
    pub missing_volume: Option<String>,
    /// The client mounts probed so far (a mount appears once its first probe finished).
    pub mounts: Vec<MountReading>,
}

/// One client mount, as of its latest probe.
#[derive(Debug, Clone, PartialEq)]
pub struct MountReading {
    /// The mount's path (the `mount` label).
    pub mount: String,
    /// The latest probe passed (stat, write, read back, remove).
    pub up: bool,
    /// How long the latest probe took.
    pub duration: Duration,
    /// When the last successful probe finished (`None` if none ever did).
    pub last_success: Option<SystemTime>,
    /// Why the latest probe failed.
    pub failure: Option<MountFailure>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerReading {
    pub hostname: String,
    pub connected: bool,
}

#[derive(Debug, Clone, PartialEq)]
pub struct VolumeReading {
    pub name: String,
    pub type_name: String,
    /// `volume info` status is Started.
    pub started: bool,
    pub replica_count: u32,
    pub arbiter_count: u32,
    pub disperse_count: u32,
    pub brick_count: u32,
    pub bricks: Vec<BrickReading>,
    /// Whether heal state is collected for this volume (replicated or dispersed and started).
    pub heals: bool,
    /// Age of the heal counts; `None` if no heal collection for it ever succeeded.
    pub heal_age: Option<Duration>,
    /// The latest heal attempt succeeded.
    pub heal_ok: bool,
    pub heal_error: Option<String>,
    /// When the last successful heal collection finished.
    pub heal_last_success: Option<SystemTime>,
    /// How long the latest heal attempt took.
    pub heal_duration: Option<Duration>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BrickReading {
    /// `host:/path`.
    pub name: String,
    pub is_arbiter: bool,
    /// glusterd's view (`volume status`): `None` when it did not list the brick.
    pub online: Option<bool>,
    /// glfsheal could reach the brick in the last good heal pass; `None` if not in it.
    pub heal_connected: Option<bool>,
    /// Heal counts; `None` = unknown (brick unreachable, or no heal data).
    pub heal: Option<HealCounts>,
    pub size_total: Option<u64>,
    pub size_free: Option<u64>,
    pub inodes_total: Option<u64>,
    pub inodes_free: Option<u64>,
}

impl BrickReading {
    /// Up by every view we have: glusterd says online and glfsheal (if it looked) reached it.
    pub fn up(&self) -> bool {
        self.online == Some(true) && self.heal_connected != Some(false)
    }
}

/// A heal figure over a volume: the largest per-brick count among the bricks that could be
/// counted, and how many could not. Per-brick counts overlap (an entry pending on two
/// bricks is listed on both), so the largest is the volume's figure, not the sum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HealFigure {
    /// `None` when no brick could be counted at all.
    pub max: Option<u64>,
    pub unknown_bricks: usize,
}

impl VolumeReading {
    pub fn bricks_up(&self) -> usize {
        self.bricks.iter().filter(|b| b.up()).count()
    }

    pub fn bricks_down(&self) -> usize {
        self.bricks.len() - self.bricks_up()
    }

    /// The bricks grouped into replica sets (consecutive groups of `replica_count`; for a
    /// dispersed volume, of the disperse count).
    pub fn replica_sets(&self) -> Vec<&[BrickReading]> {
        let size = if self.disperse_count > 0 {
            self.disperse_count
        } else {
            self.replica_count
        } as usize;
        self.bricks.chunks(size.max(1)).collect()
    }

    /// The fewest bricks up in any replica set: compare with `replica_count` (below it,
    /// redundancy is reduced; 0 means data is unavailable).
    pub fn min_bricks_up_per_set(&self) -> usize {
        self.replica_sets()
            .iter()
            .map(|set| set.iter().filter(|b| b.up()).count())
            .min()
            .unwrap_or(0)
    }

    fn figure(&self, count: impl Fn(&HealCounts) -> u64) -> HealFigure {
        let mut max = None;
        let mut unknown_bricks = 0;
        for b in &self.bricks {
            match &b.heal {
                Some(h) => max = Some(max.unwrap_or(0).max(count(h))),
                None => unknown_bricks += 1,
            }
        }
        HealFigure {
            max,
            unknown_bricks,
        }
    }

    pub fn heal_pending(&self) -> HealFigure {
        self.figure(|h| h.pending)
    }

    pub fn split_brain(&self) -> HealFigure {
        self.figure(|h| h.split_brain)
    }

    pub fn possibly_healing(&self) -> HealFigure {
        self.figure(|h| h.possibly_healing)
    }
}

impl GlusterReading {
    pub fn volume(&self, name: &str) -> Option<&VolumeReading> {
        self.volumes.iter().find(|v| v.name == name)
    }

    pub fn peers_disconnected(&self) -> usize {
        self.peers.iter().filter(|p| !p.connected).count()
    }
}

/// Builds the reading of `snapshot` as of `now`, for `volume` if given (else the snapshot's
/// configured volume, else every volume).
pub fn reading(
    snapshot: &GlusterSnapshot,
    now: SystemTime,
    volume: Option<&str>,
) -> GlusterReading {
    let filter = volume.or(snapshot.volume_filter.as_deref());
    let attempt = snapshot.state.latest.as_ref();
    // A background collector whose latest attempt is too old has stalled: its last success is
    // not news of now.
    let stalled = match (attempt, snapshot.max_state_age) {
        (Some(a), Some(max)) => crate::collected::stalled_for(a.at, now, max),
        _ => None,
    };
    let up = snapshot.state.succeeded() && stalled.is_none();
    let error = attempt
        .and_then(Collected::error)
        .map(ToString::to_string)
        .or_else(|| {
            stalled.map(|age| {
                format!(
                    "no state collection finished for {}s: the collector is stalled",
                    age.as_secs()
                )
            })
        });
    let collect_duration = attempt.map(|a| a.duration);
    let (cli_timeouts, cli_busy_retries) = (snapshot.cli_timeouts, snapshot.cli_busy_retries);
    let mounts = mount_readings(snapshot);
    let Some(state) = snapshot.state.last_good.as_ref() else {
        return GlusterReading {
            up,
            state_age: None,
            stale: true,
            error: error.or_else(|| Some("no GlusterFS collection has finished yet".into())),
            last_success: None,
            collect_duration,
            cli_timeouts,
            cli_busy_retries,
            peers: Vec::new(),
            volumes: Vec::new(),
            missing_volume: None,
            mounts,
        };
    };
    let peers = state
        .value
        .peers
        .iter()
        .map(|p| PeerReading {
            hostname: p.hostname.clone(),
            connected: p.connected,
        })
        .collect();
    let mut volumes = Vec::new();
    for info in &state.value.volumes {
        if filter.is_some_and(|f| f != info.name) {
            continue;
        }
        let started = info.state == VolumeState::Started;
        let status = state.value.status.iter().find(|s| s.name == info.name);
        let heal = snapshot.heal.get(&info.name);
        let heal_good = heal.and_then(|h| h.last_good.as_ref());
        let bricks = info
            .bricks
            .iter()
            .map(|b| {
                let process = status.and_then(|s| s.bricks.iter().find(|p| p.name == b.name));
                let online = match (started, status, process) {
                    (false, _, _) => Some(false),
                    (true, _, Some(p)) => Some(p.online),
                    // glusterd answered for the volume but did not list the brick (its peer
                    // is down): not online.
                    (true, Some(_), None) => Some(false),
                    (true, None, None) => None,
                };
                let healed = heal_good.and_then(|h| h.value.iter().find(|x| x.name == b.name));
                BrickReading {
                    name: b.name.clone(),
                    is_arbiter: b.is_arbiter,
                    online,
                    heal_connected: healed.map(|h| h.connected()),
                    heal: healed.and_then(|h| h.counts),
                    size_total: process.and_then(|p| p.size_total),
                    size_free: process.and_then(|p| p.size_free),
                    inodes_total: process.and_then(|p| p.inodes_total),
                    inodes_free: process.and_then(|p| p.inodes_free),
                }
            })
            .collect();
        let heal_attempt = heal.and_then(|h| h.latest.as_ref());
        let heal_stalled = match (heal_attempt, snapshot.max_heal_attempt) {
            (Some(a), Some(per_volume)) => {
                let volumes = u32::try_from(snapshot.heal.len().max(1)).unwrap_or(u32::MAX);
                let max = 2 * snapshot.heal_interval + per_volume.saturating_mul(volumes);
                crate::collected::stalled_for(a.at, now, max)
            }
            _ => None,
        };
        volumes.push(VolumeReading {
            name: info.name.clone(),
            type_name: info.type_name.clone(),
            started,
            replica_count: info.replica_count,
            arbiter_count: info.arbiter_count,
            disperse_count: info.disperse_count,
            brick_count: info.brick_count,
            bricks,
            heals: started && info.heals(),
            heal_age: heal_good.map(|h| h.age(now)),
            heal_ok: heal_attempt.is_some_and(Collected::succeeded) && heal_stalled.is_none(),
            heal_error: heal_attempt
                .and_then(Collected::error)
                .map(ToString::to_string)
                .or_else(|| {
                    heal_stalled.map(|age| {
                        format!(
                            "no heal collection of the volume finished for {}s: the heal collector is stalled",
                            age.as_secs()
                        )
                    })
                }),
            heal_last_success: heal_good.map(|h| h.at),
            heal_duration: heal_attempt.map(|a| a.duration),
        });
    }
    let missing_volume = filter
        .filter(|f| !volumes.iter().any(|v| &v.name == f))
        .map(str::to_string);
    GlusterReading {
        up,
        state_age: Some(state.age(now)),
        stale: !up,
        error,
        last_success: Some(state.at),
        collect_duration,
        cli_timeouts,
        cli_busy_retries,
        peers,
        volumes,
        missing_volume,
        mounts,
    }
}

/// The mounts whose first probe has finished, by path.
fn mount_readings(snapshot: &GlusterSnapshot) -> Vec<MountReading> {
    snapshot
        .mounts
        .iter()
        .filter_map(|(mount, record)| {
            let latest = record.latest.as_ref()?;
            Some(MountReading {
                mount: mount.clone(),
                up: latest.succeeded(),
                duration: latest.duration,
                last_success: record.last_good.as_ref().map(|g| g.at),
                failure: latest.error().cloned(),
            })
        })
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::gluster::parse::{
        parse_heal_summary, parse_peer_status, parse_volume_info, parse_volume_status,
    };
    use crate::gluster::snapshot::ClusterState;
    use crate::gluster::CliError;

    /// A collection of `value` that finished at `at` and took `duration`.
    pub(crate) fn collected<T>(value: T, at: SystemTime, duration: Duration) -> Collected<T> {
        Collected {
            value,
            at,
            duration,
        }
    }

    macro_rules! fixture {
        ($name:literal) => {
            include_str!(concat!("../../tests/fixtures/gluster/", $name)).as_bytes()
        };
    }

    pub(crate) const B1: &str = "10.254.0.1:/tmp/qgcap/a/b1";
    pub(crate) const B2: &str = "10.254.0.1:/tmp/qgcap/a/b2";
    pub(crate) const B3: &str = "10.254.0.2:/tmp/qgcap/b/b3";

    fn t(secs: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000 + secs)
    }

    fn state(info: &[u8], status: &[u8], peers: &[u8]) -> ClusterState {
        ClusterState {
            volumes: parse_volume_info(info).expect("info"),
            status: parse_volume_status(status).expect("status"),
            peers: parse_peer_status(peers).expect("peers"),
        }
    }

    /// A snapshot for volume gv from captured fixtures: state at t(0), heal at t(5).
    pub(crate) fn snapshot(status: &[u8], heal: &[u8], peers: &[u8]) -> GlusterSnapshot {
        let mut s = GlusterSnapshot {
            volume_filter: Some("gv".into()),
            ..GlusterSnapshot::default()
        };
        s.state.record(collected(
            Ok(state(fixture!("volume-info-healthy.xml"), status, peers)),
            t(0),
            Duration::from_millis(120),
        ));
        s.record_heal(
            "gv",
            collected(
                Ok(parse_heal_summary(heal).expect("heal")),
                t(5),
                Duration::from_millis(300),
            ),
        );
        s
    }

    pub(crate) fn healthy() -> GlusterSnapshot {
        snapshot(
            fixture!("volume-status-gv-detail-healthy.xml"),
            fixture!("heal-summary-healthy.xml"),
            fixture!("peer-status-connected.xml"),
        )
    }

    pub(crate) fn brick_killed() -> GlusterSnapshot {
        snapshot(
            fixture!("volume-status-gv-detail-brick-killed.xml"),
            fixture!("heal-summary-brick-killed.xml"),
            fixture!("peer-status-connected.xml"),
        )
    }

    #[test]
    fn healthy_volume() {
        let r = reading(&healthy(), t(10), None);
        assert!(r.up && !r.stale && r.error.is_none());
        assert_eq!(r.state_age, Some(Duration::from_secs(10)));
        assert_eq!(r.volumes.len(), 1, "filtered to the configured volume");
        let v = r.volume("gv").expect("gv");
        assert!(v.started && v.heals && v.heal_ok);
        assert_eq!((v.replica_count, v.brick_count, v.bricks_up()), (3, 3, 3));
        assert_eq!(v.min_bricks_up_per_set(), 3);
        assert_eq!(v.heal_age, Some(Duration::from_secs(5)));
        for f in [v.heal_pending(), v.split_brain(), v.possibly_healing()] {
            assert_eq!(
                f,
                HealFigure {
                    max: Some(0),
                    unknown_bricks: 0
                }
            );
        }
        assert!(v
            .bricks
            .iter()
            .all(|b| b.size_total.is_some() && b.size_free.is_some()));
        assert_eq!(r.peers_disconnected(), 0);
    }

    #[test]
    fn killed_brick_is_down_and_its_counts_unknown() {
        let r = reading(&brick_killed(), t(10), Some("gv"));
        let v = r.volume("gv").expect("gv");
        assert_eq!(v.bricks.len(), 3, "the other bricks never disappear");
        assert_eq!((v.bricks_up(), v.bricks_down()), (2, 1));
        assert_eq!(v.min_bricks_up_per_set(), 2);
        let dead = v.bricks.iter().find(|b| b.name == B2).expect("b2");
        assert_eq!(dead.online, Some(false));
        assert_eq!(dead.heal_connected, Some(false));
        assert_eq!(dead.heal, None);
        let pending = v.heal_pending();
        assert_eq!(pending.unknown_bricks, 1);
        assert!(pending.max.is_some_and(|p| p >= 5), "{pending:?}");
    }

    #[test]
    fn frozen_brick_counts_as_down_although_glusterd_says_online() {
        let s = snapshot(
            fixture!("volume-status-gv-detail-brick-frozen.xml"),
            fixture!("heal-summary-brick-frozen.xml"),
            fixture!("peer-status-connected.xml"),
        );
        let v = reading(&s, t(10), None).volumes.remove(0);
        let frozen = v.bricks.iter().find(|b| b.name == B2).expect("b2");
        assert_eq!(frozen.online, Some(true));
        assert!(!frozen.up());
        assert_eq!(v.bricks_up(), 2);
    }

    #[test]
    fn peer_down_brick_missing_from_status_is_down() {
        let s = snapshot(
            fixture!("volume-status-gv-detail-peer-down.xml"),
            fixture!("heal-summary-peer-down.xml"),
            fixture!("peer-status-disconnected.xml"),
        );
        let r = reading(&s, t(10), None);
        assert_eq!(r.peers_disconnected(), 1);
        let v = r.volume("gv").expect("gv");
        let b3 = v.bricks.iter().find(|b| b.name == B3).expect("b3 kept");
        assert_eq!(b3.online, Some(false));
        assert_eq!(b3.size_total, None);
        assert_eq!(v.bricks_up(), 2);
        assert_eq!(
            v.heal_pending(),
            HealFigure {
                max: Some(1),
                unknown_bricks: 1
            }
        );
    }

    #[test]
    fn split_brain_is_counted_per_brick_not_summed() {
        let s = snapshot(
            fixture!("volume-status-gv-detail-healthy.xml"),
            fixture!("heal-summary-split-brain.xml"),
            fixture!("peer-status-connected.xml"),
        );
        let v = reading(&s, t(10), None).volumes.remove(0);
        assert_eq!(
            v.split_brain(),
            HealFigure {
                max: Some(1),
                unknown_bricks: 0
            }
        );
        assert!(v
            .bricks
            .iter()
            .all(|b| b.heal.is_some_and(|h| h.split_brain == 1)));
    }

    #[test]
    fn failed_attempts_keep_the_last_good_data_and_say_so() {
        let mut s = brick_killed();
        let timeout = CliError::Timeout {
            command: "gluster --mode=script volume info gv --xml".into(),
            timeout: Duration::from_secs(10),
        };
        s.state.record(collected(
            Err(timeout.clone()),
            t(60),
            Duration::from_secs(10),
        ));
        s.record_heal(
            "gv",
            collected(Err(timeout), t(70), Duration::from_secs(10)),
        );
        let r = reading(&s, t(75), None);
        assert!(!r.up && r.stale);
        assert!(r
            .error
            .as_deref()
            .is_some_and(|e| e.contains("did not finish")));
        assert_eq!(r.state_age, Some(Duration::from_secs(75)));
        let v = r.volume("gv").expect("still served");
        assert_eq!(v.bricks_up(), 2);
        assert!(!v.heal_ok);
        assert_eq!(v.heal_age, Some(Duration::from_secs(70)));
        assert_eq!(v.heal_last_success, Some(t(5)));
        assert_eq!(v.heal_duration, Some(Duration::from_secs(10)));
        assert!(v.heal_pending().max.is_some());
        assert!(s
            .state
            .latest
            .as_ref()
            .and_then(Collected::error)
            .is_some_and(CliError::is_timeout));
    }

    /// A background collector that stopped finishing collections: down and stale once its
    /// latest attempt is older than its bound, never a stale "up".
    #[test]
    fn a_stalled_collector_reads_as_down_and_stale() {
        let mut s = healthy();
        s.max_state_age = Some(Duration::from_secs(60));
        let r = reading(&s, t(50), None);
        assert!(r.up && !r.stale && r.error.is_none());
        let r = reading(&s, t(200), None);
        assert!(!r.up && r.stale, "{r:?}");
        assert!(
            r.error.as_deref().is_some_and(|e| e.contains("stalled")),
            "{:?}",
            r.error
        );
        assert_eq!(r.state_age, Some(Duration::from_secs(200)));
    }

    /// A heal loop that stopped finishing (its state loop still running): the volume's heal
    /// collection reads as failed once its latest attempt is older than two heal intervals
    /// plus one attempt per volume, never a stale success.
    #[test]
    fn a_stalled_heal_collector_reads_as_failed() {
        let mut s = healthy();
        s.heal_interval = Duration::from_secs(60);
        s.max_heal_attempt = Some(Duration::from_secs(40));
        // The heal attempt finished at 5 s: current until 5 + 2 * 60 + 40 = 165 s.
        let v = reading(&s, t(165), None).volumes.remove(0);
        assert!(v.heal_ok && v.heal_error.is_none(), "{v:?}");
        let v = reading(&s, t(166), None).volumes.remove(0);
        assert!(!v.heal_ok, "{v:?}");
        assert!(
            v.heal_error
                .as_deref()
                .is_some_and(|e| e.contains("heal collector is stalled")),
            "{:?}",
            v.heal_error
        );
        // The last good counts stay served with their time.
        assert_eq!(v.heal_last_success, Some(t(5)));
    }

    #[test]
    fn nothing_collected_yet_and_missing_volume() {
        let r = reading(&GlusterSnapshot::default(), t(0), None);
        assert!(!r.up && r.stale && r.volumes.is_empty() && r.state_age.is_none());
        assert!(r.error.is_some());
        let r = reading(&healthy(), t(1), Some("nosuch"));
        assert_eq!(r.missing_volume.as_deref(), Some("nosuch"));
        assert!(r.volumes.is_empty());
    }

    #[test]
    fn stopped_volume_has_every_brick_down() {
        let mut s = GlusterSnapshot::default();
        s.state.record(collected(
            Ok(ClusterState {
                volumes: parse_volume_info(fixture!("volume-info-stopped.xml")).expect("info"),
                status: Vec::new(),
                peers: Vec::new(),
            }),
            t(0),
            Duration::ZERO,
        ));
        let v = reading(&s, t(1), None).volumes.remove(0);
        assert!(!v.started && !v.heals);
        assert_eq!((v.bricks_up(), v.min_bricks_up_per_set()), (0, 0));
        assert!(v.bricks.iter().all(|b| b.online == Some(false)));
    }

    #[test]
    fn distributed_replicate_sets() {
        let mut s = GlusterSnapshot::default();
        s.state.record(collected(
            Ok(state(
                fixture!("volume-info-healthy.xml"),
                fixture!("volume-status-all-detail-healthy.xml"),
                fixture!("peer-status-connected.xml"),
            )),
            t(0),
            Duration::ZERO,
        ));
        let r = reading(&s, t(1), None);
        let dr = r.volume("gvdr").expect("gvdr");
        assert_eq!(dr.replica_sets().len(), 2);
        assert_eq!(dr.min_bricks_up_per_set(), 3);
        // No heal data collected for it yet: unknown, not zero.
        assert_eq!(
            dr.heal_pending(),
            HealFigure {
                max: None,
                unknown_bricks: 6
            }
        );
        assert!(!dr.heal_ok && dr.heal_age.is_none());
    }
}
