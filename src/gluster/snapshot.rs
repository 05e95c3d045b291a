//! The GlusterFS source's raw data (pure): what the [`collector`](super::collector) keeps
//! between scrapes. Each part is [`Retained`]: the last good answer with when it was collected
//! and how long that took, and the latest attempt, so a failure serves the old data marked
//! stale instead of nothing. [`reading`](mod@super::reading) turns it into a judged reading.

use std::collections::BTreeMap;
use std::time::Duration;

use super::mount::MountFailure;
use super::parse::{HealSummaryBrick, Peer, VolumeInfo, VolumeStatus};
use super::CliError;
use crate::collected::{Collected, Retained};

/// Volumes, their brick processes and the peers, as of one successful state collection.
#[derive(Debug, Clone, PartialEq)]
pub struct ClusterState {
    pub volumes: Vec<VolumeInfo>,
    pub status: Vec<VolumeStatus>,
    pub peers: Vec<Peer>,
}

/// Heal counts of one volume (`volume heal V info summary`), per brick.
pub type HealRecord = Retained<Vec<HealSummaryBrick>, CliError>;

/// Probes of one client mount: the last success and the latest attempt.
pub type MountRecord = Retained<(), MountFailure>;

/// Everything the collector knows. Cloned cheaply behind an `Arc` for each scrape.
#[derive(Debug, Clone, Default)]
pub struct GlusterSnapshot {
    /// `volume info`, `volume status … detail` and `peer status`.
    pub state: Retained<ClusterState, CliError>,
    /// Heal counts by volume.
    pub heal: BTreeMap<String, HealRecord>,
    /// Client mount probes by mount path (`storage.glusterfs.mount_point` and
    /// `quorate.gluster.probe_mounts`), each from its first finished probe on.
    pub mounts: BTreeMap<String, MountRecord>,
    /// Commands killed at their timeout, since start.
    pub cli_timeouts: u64,
    /// Retries after "Another transaction is in progress", since start.
    pub cli_busy_retries: u64,
    /// The configured volume (`None` = all), so a reading can say what was asked for.
    pub volume_filter: Option<String>,
    /// The intervals, for staleness judgements.
    pub interval: Duration,
    pub heal_interval: Duration,
    /// A background collector's bound on the age of its latest state attempt: past it the
    /// collector is stalled and its data reads as down and stale, never as fresh. `None` (a
    /// one-shot collection) judges no age.
    pub max_state_age: Option<Duration>,
    /// A background collector's bound on one volume's heal attempt: a heal pass over `n`
    /// volumes is stalled once its latest attempt of a volume is older than two heal intervals
    /// plus `n` of these; then that volume's heal collection reads as failed. `None` judges no
    /// age.
    pub max_heal_attempt: Option<Duration>,
}

impl GlusterSnapshot {
    /// Records a heal attempt for `volume`, keeping the last good counts on failure.
    pub fn record_heal(
        &mut self,
        volume: &str,
        attempt: Collected<Result<Vec<HealSummaryBrick>, CliError>>,
    ) {
        self.heal
            .entry(volume.to_string())
            .or_default()
            .record(attempt);
    }
}
