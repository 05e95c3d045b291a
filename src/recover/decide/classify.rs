//! How one node is read for the decision: its [`Class`] (unknown, busy, live Primary or not,
//! or stopped with a [`Pos`]ition), the evidence shown for it, and the part of it the
//! decision's digest covers.

use super::{Evidence, NodeView, Observed};
use crate::recover::report::{FileState, Live, LiveStatus, NodeReport, RecoverOutcome, ZERO_UUID};

#[derive(Debug, Clone)]
pub(super) enum Class {
    Unknown(String),
    /// mysqld runs but gives no status (frozen, starting, in SST).
    Unresponsive(String),
    /// A quorate action holds the node's lock.
    Busy(String),
    Primary(LiveStatus),
    NonPrimary(LiveStatus),
    Disconnected,
    Down(Down),
}

#[derive(Debug, Clone)]
pub(super) struct Down {
    /// grastate.dat had a real UUID and seqno (clean shutdown).
    pub(super) clean: bool,
    pub(super) safe: Option<bool>,
    /// Galera wrote the `safe_to_bootstrap:` line itself (3.19 and later; before, an absent
    /// line means 1 and says nothing about who left last).
    pub(super) safe_written: bool,
    pub(super) pos: Pos,
    /// grastate.dat cannot be used as it is (unreadable): a rejoin must move it aside, and a
    /// bootstrap cannot set `safe_to_bootstrap` in it.
    pub(super) file_problem: Option<String>,
    /// A contradiction between grastate.dat and InnoDB, settled in InnoDB's favour.
    pub(super) note: Option<String>,
    /// quorate found the node apart from the running Primary's history at this very
    /// position earlier (its host keeps the record): what and when, in words.
    pub(super) recorded_apart: Option<String>,
}

#[derive(Debug, Clone)]
pub(super) enum Pos {
    Known {
        uuid: String,
        seqno: i64,
        source: String,
    },
    /// The position is unknown until `--wsrep-recover` reads it from InnoDB: after a crash
    /// (seqno -1), with the zero UUID that pc.recovery leaves behind, without grastate.dat,
    /// or when grastate.dat cannot be read.
    NeedsRecovery,
    /// No usable state: will join by SST, never a source.
    NoState(String),
    /// State files cannot be read and no datadir is known: a human must look (the node may
    /// be the most advanced).
    Unreadable(String),
    /// Position recovery ran and did not give a position, or contradicts grastate.dat.
    Blocked(String),
}

pub(super) fn classify(report: &NodeReport) -> Class {
    if let Some(what) = &report.action_in_progress {
        return Class::Busy(what.clone());
    }
    match &report.live {
        Some(Live::Answered(st)) if st.is_primary() => return Class::Primary(st.clone()),
        Some(Live::Answered(st)) if st.cluster_status == "Disconnected" => {
            return Class::Disconnected
        }
        Some(Live::Answered(st)) => return Class::NonPrimary(st.clone()),
        _ => {}
    }
    if report.mysqld.running {
        let pid = report
            .mysqld
            .pid
            .map_or_else(String::new, |p| format!(" (pid {p})"));
        let why = if report.mysqld.frozen {
            format!("mysqld{pid} is frozen (stopped by a signal) and cannot answer")
        } else if report.sst_in_progress {
            format!("mysqld{pid} is receiving a state transfer (sst_in_progress)")
        } else {
            let err = match &report.live {
                Some(Live::NoAnswer { error }) => error.clone(),
                _ => "no status".to_string(),
            };
            format!("mysqld{pid} runs but does not answer: {err}")
        };
        return Class::Unresponsive(why);
    }
    let mut down = down_state(report);
    down.recorded_apart = recorded_apart(report, &down.pos);
    Class::Down(down)
}

/// The node's record of an earlier finding (see [`ApartRecord`](crate::recover::report::ApartRecord)), in words, while its
/// position is still the one the record names: the node has not run since (a start or a join
/// moves the seqno), so it still holds what the running Primary lacked then.
fn recorded_apart(report: &NodeReport, pos: &Pos) -> Option<String> {
    let record = report.apart.as_ref()?;
    let Pos::Known { uuid, seqno, .. } = pos else {
        return None;
    };
    if *uuid != record.uuid || *seqno != record.seqno {
        return None;
    }
    let when = i64::try_from(record.found_at)
        .ok()
        .and_then(|s| jiff::Timestamp::from_second(s).ok())
        .map_or_else(
            || format!("unix time {}", record.found_at),
            |t| t.to_string(),
        );
    Some(format!(
        "quorate found it apart from the running Primary's history at {when}, at this same position {uuid}:{seqno}: {}",
        record.why
    ))
}

/// A stopped node's position. InnoDB is the truth: a fresh `--wsrep-recover` result wins
/// over grastate.dat, whatever the file says (a clean seqno above what InnoDB holds, or the
/// zero-UUID file pc.recovery leaves over the newest data), and a file that cannot be read
/// or holds no position means "position unknown", never "no data".
pub(super) fn down_state(report: &NodeReport) -> Down {
    let (saved, file_problem) = match &report.grastate {
        FileState::Read { value } => (Some(value), None),
        FileState::Absent => (None, None),
        FileState::Unreadable { error } => (None, Some(format!("grastate.dat: {error}"))),
        FileState::Unknown => {
            return Down {
                clean: false,
                safe: None,
                safe_written: false,
                pos: Pos::Unreadable(
                    "no datadir configured: its grastate.dat cannot be read".into(),
                ),
                file_problem: None,
                note: None,
                recorded_apart: None,
            }
        }
    };
    let real_saved = saved.filter(|s| s.uuid != ZERO_UUID);
    let clean = real_saved.is_some_and(|s| s.seqno >= 0);
    let mut down = Down {
        clean,
        safe: saved.map(|s| s.safe_to_bootstrap),
        safe_written: saved.is_some_and(|s| s.safe_to_bootstrap_present),
        pos: Pos::NeedsRecovery,
        file_problem,
        note: None,
        recorded_apart: None,
    };
    if report.sst_in_progress {
        down.pos = Pos::NoState(
            "an interrupted state transfer left sst_in_progress: its data is incomplete".into(),
        );
        return down;
    }
    let Some(recovered) = report.recovered.as_ref().filter(|r| r.fresh) else {
        if let (true, Some(s)) = (clean, real_saved) {
            down.pos = Pos::Known {
                uuid: s.uuid.clone(),
                seqno: s.seqno,
                source: "grastate.dat".into(),
            };
        }
        return down;
    };
    down.pos = match &recovered.outcome {
        RecoverOutcome::Position { uuid, seqno, .. } => {
            let real = uuid != ZERO_UUID && *seqno >= 0;
            match real_saved {
                Some(s) if real && s.uuid != *uuid => Pos::Blocked(format!(
                    "grastate.dat names cluster {} but InnoDB holds position {uuid}:{seqno}: compare the two by hand before using this node",
                    s.uuid
                )),
                Some(s) if clean && !real => Pos::Blocked(format!(
                    "grastate.dat says a clean stop at {}:{} but --wsrep-recover found no Galera position in InnoDB ({uuid}:{seqno}): check its data by hand",
                    s.uuid, s.seqno
                )),
                _ if !real => Pos::NoState(format!(
                    "its storage holds no Galera position ({uuid}:{seqno})"
                )),
                _ => {
                    if let Some(s) = real_saved.filter(|s| clean && s.seqno != *seqno) {
                        down.note = Some(format!(
                            "grastate.dat says seqno {} but InnoDB holds {seqno}: InnoDB is what the node has, so {seqno} is used",
                            s.seqno
                        ));
                    }
                    Pos::Known {
                        uuid: uuid.clone(),
                        seqno: *seqno,
                        source: format!("recovered at {}", recovered.at),
                    }
                }
            }
        }
        RecoverOutcome::PreparedTransactions { count } => Pos::Blocked(format!(
            "--wsrep-recover found {count} prepared transaction(s): run mariadbd once with \
             --tc-heuristic-recover=rollback (or commit), then recover the position again"
        )),
        RecoverOutcome::Disabled => Pos::Blocked(
            "--wsrep-recover says wsrep is disabled: recover_command lacks the node's wsrep options"
                .into(),
        ),
        RecoverOutcome::Failed { log_tail } => {
            Pos::Blocked(format!("position recovery failed: {log_tail}"))
        }
    };
    down
}

/// A live non-Primary node's position, when it reports a usable one (a real cluster UUID and
/// a committed seqno). Without one its InnoDB may still hold the newest transactions.
pub(super) fn live_position(st: &LiveStatus) -> Option<i64> {
    let uuid_ok = st
        .cluster_state_uuid
        .as_deref()
        .is_some_and(|u| u != ZERO_UUID && !u.is_empty());
    st.last_committed.filter(|s| uuid_ok && *s >= 0)
}

/// Every real cluster UUID a node's evidence names, with where it came from.
pub(super) fn uuids_of(report: &NodeReport) -> Vec<(String, &'static str)> {
    let mut out = Vec::new();
    if let Some(saved) = report.grastate.value() {
        out.push((saved.uuid.clone(), "grastate.dat"));
    }
    if let Some(r) = report.recovered.as_ref().filter(|r| r.fresh) {
        if let RecoverOutcome::Position { uuid, .. } = &r.outcome {
            out.push((uuid.clone(), "recovered position"));
        }
    }
    if let Some(Live::Answered(st)) = &report.live {
        if let Some(u) = &st.cluster_state_uuid {
            out.push((u.clone(), "wsrep_cluster_state_uuid"));
        }
    }
    out.retain(|(u, _)| u != ZERO_UUID);
    out
}

pub(super) fn evidence_of(view: &NodeView, class: &Class, assumed_lost: bool) -> Evidence {
    let mut ev = Evidence {
        node: view.name.clone(),
        state: String::new(),
        uuid: None,
        seqno: None,
        seqno_source: None,
        safe_to_bootstrap: None,
        maintenance: None,
    };
    let report = match &view.observed {
        Observed::Known(r) => Some(r.as_ref()),
        Observed::Unknown { .. } => None,
    };
    ev.maintenance = report.and_then(|r| r.maintenance.clone());
    if let Some(saved) = report.and_then(|r| r.grastate.value()) {
        ev.uuid = Some(saved.uuid.clone());
        ev.seqno = Some(saved.seqno);
        ev.seqno_source = Some("grastate.dat".into());
        ev.safe_to_bootstrap = Some(saved.safe_to_bootstrap);
    }
    let live = |st: &LiveStatus, ev: &mut Evidence| {
        ev.uuid = st.cluster_state_uuid.clone();
        ev.seqno = st.last_committed;
        ev.seqno_source = Some("wsrep_last_committed".into());
    };
    ev.state = match class {
        Class::Unknown(reason) => format!("unknown: {reason}"),
        Class::Unresponsive(reason) => reason.clone(),
        Class::Busy(what) => format!("busy: {what}"),
        Class::Primary(st) => {
            live(st, &mut ev);
            format!(
                "Primary, {} (size {})",
                st.local_state_comment.as_deref().unwrap_or("?"),
                st.cluster_size
                    .map_or_else(|| "?".into(), |s| s.to_string())
            )
        }
        Class::NonPrimary(st) => {
            live(st, &mut ev);
            format!(
                "non-Primary (size {})",
                st.cluster_size
                    .map_or_else(|| "?".into(), |s| s.to_string())
            )
        }
        Class::Disconnected => "running, Disconnected from the group".into(),
        Class::Down(d) => {
            if let Pos::Known {
                uuid,
                seqno,
                source,
            } = &d.pos
            {
                ev.uuid = Some(uuid.clone());
                ev.seqno = Some(*seqno);
                ev.seqno_source = Some(source.clone());
            }
            // seqno -1 means "no position saved": after a crash, but also in the file Galera
            // leaves when a node's history was reset (zero UUID), even after a clean stop.
            let zero = report
                .and_then(|r| r.grastate.value())
                .is_some_and(|g| g.uuid == ZERO_UUID);
            let how = if d.clean {
                "stopped cleanly".to_string()
            } else if let Some(problem) = &d.file_problem {
                format!("stopped, {problem}")
            } else if zero {
                "stopped, no position saved (zero UUID, seqno -1)".to_string()
            } else if report.is_some_and(|r| matches!(r.grastate, FileState::Absent)) {
                "stopped, no grastate.dat".to_string()
            } else {
                "stopped, crashed (seqno -1)".to_string()
            };
            let mut state = match &d.pos {
                Pos::Known { .. } => how,
                Pos::NeedsRecovery => format!("{how}, position not recovered yet"),
                Pos::NoState(why) | Pos::Unreadable(why) | Pos::Blocked(why) => {
                    format!("{how}: {why}")
                }
            };
            if let Some(note) = &d.note {
                state = format!("{state} ({note})");
            }
            if d.recorded_apart.is_some() {
                state = format!("{state}; found apart from the Primary's history before");
            }
            state
        }
    };
    if assumed_lost {
        ev.state = format!("assumed lost by the operator ({})", ev.state);
    }
    ev
}

/// The part of a node's evidence that must not change between plan and action (a running
/// Primary's seqno moves with every commit and is left out).
pub(super) fn digest_key(name: &str, class: &Class) -> String {
    match class {
        Class::Unknown(_) => format!("{name}=unknown"),
        Class::Unresponsive(_) => format!("{name}=unresponsive"),
        // Whether another node's action runs does not change what this node should do beside
        // a Primary; without one, Busy refuses anyway.
        Class::Busy(_) => format!("{name}=busy"),
        Class::Primary(st) => format!(
            "{name}=primary:{}",
            st.cluster_state_uuid.as_deref().unwrap_or("-")
        ),
        Class::NonPrimary(st) => format!(
            "{name}=nonprimary:{}:{}",
            st.cluster_state_uuid.as_deref().unwrap_or("-"),
            st.last_committed.unwrap_or(-1)
        ),
        Class::Disconnected => format!("{name}=disconnected"),
        Class::Down(d) => match &d.pos {
            // Whether the node was recorded apart is left out: a plan keeps its findings, so
            // the plan after it would always differ from it; the record only ever turns a step
            // of this node into "investigate", which every action re-checks under its lock.
            Pos::Known { uuid, seqno, .. } => format!(
                "{name}=down:{uuid}:{seqno}:{:?}:{}:{}",
                d.safe,
                d.clean,
                d.file_problem.is_some()
            ),
            Pos::NeedsRecovery => format!("{name}=down:needs-recovery"),
            Pos::NoState(_) => format!("{name}=down:no-state"),
            Pos::Unreadable(_) => format!("{name}=down:unreadable"),
            Pos::Blocked(_) => format!("{name}=down:blocked"),
        },
    }
}

/// FNV-1a, 64 bits: change detection between a plan and an action, not security.
pub(super) fn fnv1a(text: &str) -> String {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in text.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    format!("{h:016x}")
}
