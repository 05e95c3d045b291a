//! [`NodeReport`]: everything quorate knows about one node's Galera state, as served by
//! `GET /galera/state` and consumed by the decision. Plain data (serde), no I/O.

use serde::{Deserialize, Serialize};

/// One node's state, gathered from its files, its process table and its live server.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct NodeReport {
    /// Controller hostname.
    pub node: String,
    /// `cluster.name` of the configuration the report was made with.
    pub cluster: String,
    /// Unix time (seconds) of the gathering.
    pub gathered_at: u64,
    /// Whether mysqld runs on the node's datadir and how that was decided.
    pub mysqld: Mysqld,
    /// `<datadir>/grastate.dat`.
    pub grastate: FileState<SavedState>,
    /// `<datadir>/gvwstate.dat` (present only after an unclean stop or while running).
    pub gvwstate: FileState<SavedView>,
    /// The live server's wsrep status; `None` when nothing answers and no process runs.
    pub live: Option<Live>,
    /// The last `--wsrep-recover` outcome, if one was run (cached with its time).
    pub recovered: Option<Recovered>,
    /// `<datadir>/sst_in_progress` exists: a state transfer is running or was interrupted.
    pub sst_in_progress: bool,
    /// A quorate recovery action holds this node's lock (what and since when).
    pub action_in_progress: Option<String>,
    /// The node's planned maintenance as its host's maintenance file says (active or expired);
    /// shown as evidence, never decided on. Absent in reports of older quorate versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub maintenance: Option<String>,
    /// What quorate found earlier about this node's history, kept on its host
    /// (`<state_dir>/apart/<node>.json`): a position apart from the running Primary's.
    /// Absent in reports of older quorate versions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub apart: Option<ApartRecord>,
}

/// A stopped node found apart from the running Primary component's history: ahead of it, at
/// its seqno from another branch, or the last member of another Primary. The evidence of such a
/// finding is erased as soon as clients commit past the node's seqno, so quorate keeps it:
/// while the node's position is still this one, it is investigated, never rejoined.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApartRecord {
    /// The node's cluster UUID and seqno when it was found apart.
    pub uuid: String,
    pub seqno: i64,
    /// Unix time (seconds) of the finding.
    pub found_at: u64,
    /// Why, in words (as the plan said it).
    pub why: String,
}

/// Whether mysqld runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Mysqld {
    pub running: bool,
    pub pid: Option<u32>,
    /// The process is stopped (SIGSTOP, state `T` in /proc): it runs but cannot answer.
    pub frozen: bool,
    /// How it was decided, for the operator (pid file, InnoDB's lock on ibdata1, /proc).
    pub how: String,
}

/// A state file: absent, read, or unreadable (with why).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum FileState<T> {
    Absent,
    Read {
        value: T,
    },
    Unreadable {
        error: String,
    },
    /// No datadir is configured for this node.
    Unknown,
}

impl<T> FileState<T> {
    pub fn value(&self) -> Option<&T> {
        match self {
            FileState::Read { value } => Some(value),
            _ => None,
        }
    }
}

/// The parts of grastate.dat recovery judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedState {
    pub uuid: String,
    pub seqno: i64,
    pub safe_to_bootstrap: bool,
    /// The file had a `safe_to_bootstrap:` line (files before Galera 3.19 do not).
    pub safe_to_bootstrap_present: bool,
    /// Modification time (ns since the epoch) and size: a cached recovered position is only
    /// trusted while these are unchanged.
    pub fingerprint: String,
}

/// The parts of gvwstate.dat recovery shows.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedView {
    pub my_uuid: String,
    pub view_seq: Option<i64>,
    pub members: usize,
    /// The saved view's id UUID (the member that created it); absent in reports of older
    /// quorate versions.
    #[serde(default)]
    pub view_uuid: Option<String>,
    /// Whether the saved view is a Primary view (type 3), the only kind Galera saves.
    #[serde(default)]
    pub primary: Option<bool>,
    /// The gcomm UUIDs of the view's members. A node keeps its gcomm UUID across a start only
    /// while its gvwstate.dat exists; the decision names members through the nodes' current
    /// `my_uuid` and compares the nodes of two saved views.
    #[serde(default)]
    pub member_uuids: Vec<String>,
}

/// The live server, when mysqld runs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Live {
    Answered(LiveStatus),
    NoAnswer { error: String },
}

/// The wsrep status values recovery judges.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct LiveStatus {
    /// `Primary`, `non-Primary` or `Disconnected`.
    pub cluster_status: String,
    pub local_state: Option<i64>,
    pub local_state_comment: Option<String>,
    pub cluster_size: Option<u64>,
    pub cluster_state_uuid: Option<String>,
    pub last_committed: Option<i64>,
    pub ready: Option<bool>,
}

impl LiveStatus {
    pub fn is_primary(&self) -> bool {
        self.cluster_status == "Primary"
    }
    pub fn is_synced(&self) -> bool {
        self.local_state == Some(4)
    }
}

/// A `--wsrep-recover` run and what it found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recovered {
    /// Unix time (seconds) of the run.
    pub at: u64,
    /// grastate.dat's fingerprint when the run finished.
    pub grastate_fingerprint: Option<String>,
    /// Still valid: grastate.dat is unchanged since the run (mysqld has not started since).
    /// Set by the gatherer.
    pub fresh: bool,
    pub outcome: RecoverOutcome,
}

/// What `--wsrep-recover` reported.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum RecoverOutcome {
    Position {
        uuid: String,
        seqno: i64,
        gtid: Option<String>,
    },
    PreparedTransactions {
        count: u64,
    },
    Disabled,
    /// No outcome line: the log tail says why.
    Failed {
        log_tail: String,
    },
}

impl std::fmt::Display for RecoverOutcome {
    /// As an operator reads it: `uuid:seqno[,gtid]`, or what stopped the recovery.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RecoverOutcome::Position { uuid, seqno, gtid } => {
                write!(f, "{uuid}:{seqno}")?;
                match gtid {
                    Some(g) => write!(f, ", GTID {g}"),
                    None => Ok(()),
                }
            }
            RecoverOutcome::PreparedTransactions { count } => {
                write!(f, "stopped on {count} prepared transaction(s)")
            }
            RecoverOutcome::Disabled => write!(f, "wsrep is disabled in the recover command"),
            RecoverOutcome::Failed { log_tail } => write!(f, "failed: {log_tail}"),
        }
    }
}

/// The all-zero UUID: no state.
pub use crate::galera::parse::ZERO_UUID;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcomes_read_as_positions() {
        let p = RecoverOutcome::Position {
            uuid: "6a3a757c-e627-11f1-8417-e7ac2a1d04b7".into(),
            seqno: 34,
            gtid: Some("0-1-34".into()),
        };
        assert_eq!(
            p.to_string(),
            "6a3a757c-e627-11f1-8417-e7ac2a1d04b7:34, GTID 0-1-34"
        );
        assert_eq!(
            RecoverOutcome::PreparedTransactions { count: 2 }.to_string(),
            "stopped on 2 prepared transaction(s)"
        );
    }
}
