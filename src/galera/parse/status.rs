//! `SHOW GLOBAL STATUS LIKE 'wsrep%'`.

use super::rows::Rows;
use super::value::bool_flag;
use super::{parse_seqno, parse_uuid};

/// One node's wsrep status rows, names lowercased, values raw.
///
/// Accessors return `None` when the row is missing or its value does not parse: a node that
/// is starting, disconnected or running another Galera version omits rows (a Disconnected
/// node has no `wsrep_evs_*` rows at all), and "unknown" must stay distinguishable from any
/// real value.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WsrepStatus {
    rows: Rows,
}

super::rows::row_backed!(WsrepStatus);

impl WsrepStatus {
    /// `wsrep_cluster_status`: whether this node is part of the Primary component.
    pub fn cluster_status(&self) -> Option<ClusterStatus> {
        self.get("wsrep_cluster_status").map(ClusterStatus::parse)
    }

    /// `wsrep_local_state` as a typed state (the number, not the comment, is authoritative:
    /// the comment has several "Joining: ..." variants for the same state 1).
    pub fn local_state(&self) -> Option<LocalState> {
        let n = self.get("wsrep_local_state")?.parse::<i64>().ok()?;
        LocalState::from_number(n)
    }

    /// `wsrep_local_state_comment`, e.g. `Synced` or `Joining: receiving State Transfer`.
    pub fn local_state_comment(&self) -> Option<&str> {
        self.get("wsrep_local_state_comment")
    }

    /// `wsrep_ready`: the node accepts queries (ON only when Synced/Donor in a Primary).
    pub fn ready(&self) -> Option<bool> {
        self.get("wsrep_ready").and_then(bool_flag)
    }

    /// `wsrep_connected`: the provider is connected to a group (any component).
    pub fn connected(&self) -> Option<bool> {
        self.get("wsrep_connected").and_then(bool_flag)
    }

    /// `wsrep_cluster_size`: members in the current component (0 when Disconnected).
    pub fn cluster_size(&self) -> Option<u64> {
        self.get("wsrep_cluster_size")?.parse().ok()
    }

    /// `wsrep_cluster_state_uuid`, lowercased; `None` if absent or not a UUID.
    pub fn cluster_state_uuid(&self) -> Option<String> {
        parse_uuid(self.get("wsrep_cluster_state_uuid")?)
    }

    /// `wsrep_local_state_uuid`, lowercased; `None` if absent or not a UUID.
    pub fn local_state_uuid(&self) -> Option<String> {
        parse_uuid(self.get("wsrep_local_state_uuid")?)
    }

    /// `wsrep_gcomm_uuid`: this node's identity in the group (matches `my_uuid` in
    /// gvwstate.dat and the `member:` lines of other nodes' files). Absent when Disconnected.
    pub fn gcomm_uuid(&self) -> Option<String> {
        parse_uuid(self.get("wsrep_gcomm_uuid")?)
    }

    /// `wsrep_last_committed`: seqno of the last committed write-set (-1 if none).
    pub fn last_committed(&self) -> Option<i64> {
        parse_seqno(self.get("wsrep_last_committed")?).ok()
    }

    /// `wsrep_cluster_conf_id`: number of configuration changes seen; `-1` when the node has
    /// no Primary view (the server prints that as `18446744073709551615`, seen on both the
    /// non-Primary and the Disconnected fixtures).
    pub fn cluster_conf_id(&self) -> Option<i64> {
        parse_seqno(self.get("wsrep_cluster_conf_id")?).ok()
    }

    /// `wsrep_flow_control_paused_ns`: total time replication was paused by flow control since
    /// the server started (or `FLUSH STATUS`), in nanoseconds. A counter: its delta over wall
    /// time is the recent paused share.
    pub fn flow_control_paused_ns(&self) -> Option<u64> {
        self.get("wsrep_flow_control_paused_ns")?
            .trim()
            .parse()
            .ok()
    }

    /// `wsrep_local_recv_queue`: write-sets received and waiting to be applied.
    pub fn local_recv_queue(&self) -> Option<u64> {
        self.get("wsrep_local_recv_queue")?.trim().parse().ok()
    }

    /// `wsrep_local_send_queue`: write-sets waiting to be sent.
    pub fn local_send_queue(&self) -> Option<u64> {
        self.get("wsrep_local_send_queue")?.trim().parse().ok()
    }

    /// `wsrep_flow_control_active` (Galera 4, `true`/`false`): replication is paused by flow
    /// control right now, somewhere in the cluster.
    pub fn flow_control_active(&self) -> Option<bool> {
        self.get("wsrep_flow_control_active").and_then(bool_flag)
    }

    /// `wsrep_flow_control_requested` (Galera 4, `true`/`false`): this node is the one asking
    /// for the pause (its receive queue is over `gcs.fc_limit`).
    pub fn flow_control_requested(&self) -> Option<bool> {
        self.get("wsrep_flow_control_requested").and_then(bool_flag)
    }

    /// `wsrep_incoming_addresses` split on commas: one entry per member, each an address or
    /// `AUTO` (a member started without `wsrep_node_incoming_address`; all three captured
    /// nodes showed `AUTO,AUTO,AUTO` until one was given an explicit address).
    ///
    /// An empty or missing value (a Disconnected node prints an empty string) gives an empty
    /// vector. Entries are trimmed but otherwise kept as is, including empty ones, so the
    /// count still matches the member count.
    pub fn incoming_addresses(&self) -> Vec<String> {
        match self.get("wsrep_incoming_addresses") {
            Some(list) if !list.trim().is_empty() => {
                list.split(',').map(|a| a.trim().to_string()).collect()
            }
            _ => Vec::new(),
        }
    }

    /// `wsrep_evs_repl_latency`, parsed; `None` if absent or malformed.
    pub fn evs_repl_latency(&self) -> Option<EvsReplLatency> {
        EvsReplLatency::parse(self.get("wsrep_evs_repl_latency")?)
    }

    /// `wsrep_provider_version`, e.g. `4.23(rXXXX)` (Debian's galera-4 26.4.23 build).
    pub fn provider_version(&self) -> Option<&str> {
        self.get("wsrep_provider_version")
    }
}

/// `wsrep_cluster_status`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum ClusterStatus {
    /// Part of the Primary component: has quorum, may commit.
    Primary,
    /// Connected but in a component without quorum: refuses queries.
    NonPrimary,
    /// Not connected to any group (provider not connected, e.g. empty cluster address).
    Disconnected,
    /// Anything else, kept verbatim so a new server release is visible rather than guessed.
    Other(String),
}

impl ClusterStatus {
    /// Reads the status text; case-insensitive, since the only difference between values that
    /// matters to us is which of the three they are.
    pub fn parse(value: &str) -> ClusterStatus {
        if value.eq_ignore_ascii_case("primary") {
            ClusterStatus::Primary
        } else if value.eq_ignore_ascii_case("non-primary") {
            ClusterStatus::NonPrimary
        } else if value.eq_ignore_ascii_case("disconnected") {
            ClusterStatus::Disconnected
        } else {
            ClusterStatus::Other(value.to_string())
        }
    }

    /// The server's spelling (`Primary`, `non-Primary`, `Disconnected`, or the unknown text).
    pub fn as_str(&self) -> &str {
        match self {
            ClusterStatus::Primary => "Primary",
            ClusterStatus::NonPrimary => "non-Primary",
            ClusterStatus::Disconnected => "Disconnected",
            ClusterStatus::Other(s) => s,
        }
    }
}

/// `wsrep_local_state`: the node's position in Galera's state machine.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum LocalState {
    /// 0: not part of a Primary component yet, or no longer (a non-Primary or Disconnected
    /// node reports this, as the captured fixtures show).
    Initialized,
    /// 1: requesting or receiving a state transfer (SST or IST).
    Joining,
    /// 2: serving as SST donor, or desynced on purpose (`wsrep_desync=ON`, backups).
    DonorDesynced,
    /// 3: state received, catching up with the cluster's queue.
    Joined,
    /// 4: in sync and serving.
    Synced,
}

impl LocalState {
    /// Maps Galera's number to a state; `None` for numbers Galera does not define.
    pub fn from_number(n: i64) -> Option<LocalState> {
        match n {
            0 => Some(LocalState::Initialized),
            1 => Some(LocalState::Joining),
            2 => Some(LocalState::DonorDesynced),
            3 => Some(LocalState::Joined),
            4 => Some(LocalState::Synced),
            _ => None,
        }
    }

    /// Galera's number for this state (the value of `wsrep_local_state`).
    pub fn number(self) -> i64 {
        match self {
            LocalState::Initialized => 0,
            LocalState::Joining => 1,
            LocalState::DonorDesynced => 2,
            LocalState::Joined => 3,
            LocalState::Synced => 4,
        }
    }

    /// The canonical comment Galera prints for the state (`Donor/Desynced`, ...). The server
    /// may print a more detailed comment for Joining; this is the short form.
    pub fn label(self) -> &'static str {
        match self {
            LocalState::Initialized => "Initialized",
            LocalState::Joining => "Joining",
            LocalState::DonorDesynced => "Donor/Desynced",
            LocalState::Joined => "Joined",
            LocalState::Synced => "Synced",
        }
    }
}

/// `wsrep_evs_repl_latency`: group-communication replication latency over the last
/// `evs.stats_report_period` (default one minute).
///
/// The values are seconds. Verified on the captured cluster: with one node SIGSTOPped for
/// 2.5 s, an insert on another node took 2.509 s and that node's `max` went from `1.0006` to
/// `2.49507`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EvsReplLatency {
    /// Smallest latency, seconds.
    pub min: f64,
    /// Mean latency, seconds.
    pub avg: f64,
    /// Largest latency, seconds.
    pub max: f64,
    /// Standard deviation, seconds.
    pub stdev: f64,
    /// Number of samples the figures are computed from.
    pub sample_size: u64,
}

impl EvsReplLatency {
    /// Parses `min/avg/max/stdev/n`, e.g. `0.000259641/0.0671366/1.0006/0.249478/15`.
    ///
    /// `None` unless there are exactly five fields, the first four are finite non-negative
    /// numbers (latencies cannot be negative) and the last is a non-negative integer.
    pub fn parse(value: &str) -> Option<EvsReplLatency> {
        let mut fields = value.split('/');
        let mut seconds = [0.0f64; 4];
        for slot in &mut seconds {
            let v: f64 = fields.next()?.trim().parse().ok()?;
            if !v.is_finite() || v < 0.0 {
                return None;
            }
            *slot = v;
        }
        let sample_size: u64 = fields.next()?.trim().parse().ok()?;
        if fields.next().is_some() {
            return None;
        }
        let [min, avg, max, stdev] = seconds;
        Some(EvsReplLatency {
            min,
            avg,
            max,
            stdev,
            sample_size,
        })
    }
}
