//! The error log of `mariadbd --wsrep-recover`.

use std::borrow::Cow;

use super::{parse_seqno, parse_uuid};

/// What a `--wsrep-recover` run reported.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RecoveredPosition {
    /// `WSREP: Recovered position: <uuid>:<seqno>[,<domain>-<server>-<seqno>]`.
    ///
    /// `seqno` is `-1` and `uuid` all zeros for a datadir that never committed a write-set
    /// (seen on a freshly initialised datadir). The GTID suffix is printed by MariaDB when
    /// `wsrep_gtid_mode=ON`.
    Position {
        /// Cluster state UUID, lowercased.
        uuid: String,
        /// Last committed seqno found in the storage engine.
        seqno: i64,
        /// MariaDB GTID `<domain>-<server>-<seqno>` if printed.
        gtid: Option<String>,
    },
    /// `WSREP: disabled, skipping position recovery`: the server ran without a provider
    /// (e.g. `--wsrep-provider=none`), so nothing was recovered.
    Disabled,
    /// `WSREP: Position <uuid>:<seqno> given at startup, skipping position recovery`.
    GivenAtStartup {
        /// UUID as printed, lowercased.
        uuid: String,
        /// Seqno as printed.
        seqno: i64,
    },
    /// `Found <N> prepared transactions!`: the server aborted before recovering the position;
    /// the documented way forward is `--tc-heuristic-recover=rollback`.
    PreparedTransactions(u64),
    /// None of the above lines is in the log (the server failed earlier, or this is not a
    /// recovery log).
    NotFound,
}

/// Reads a `--wsrep-recover` error log and returns the outcome of the **last** run in it.
///
/// `--log-error` appends, so one file may hold several runs; every recognised line
/// overrides the previous ones, and the last recognised line wins. The log is read as
/// bytes and decoded lossily, since an error log can contain anything (paths, query text,
/// torn writes) and the lines we look for are ASCII.
///
/// Recognised, at any log level and with any prefix:
/// - MariaDB `... [Note] WSREP: Recovered position: <uuid>:<seqno>` optionally followed by
///   `,<domain>-<server>-<seqno>`;
/// - MySQL 8 / Percona XtraDB Cluster `... [MY-000000] [WSREP] Recovered position: ...`;
/// - `WSREP: disabled, skipping position recovery`;
/// - `Position <uuid>:<seqno> given at startup, skipping position recovery`;
/// - `Found <N> prepared transactions!`.
///
/// A "Recovered position" line that is not followed by a well-formed position is ignored.
/// Other "position" messages (`Recovered position from storage:` at a normal start, the
/// `mysqld_safe` notice `WSREP: Recovered position <pos>` without a colon) do not match.
pub fn parse_recover_log(log: &[u8]) -> RecoveredPosition {
    let text: Cow<'_, str> = String::from_utf8_lossy(log);
    // Scanning backwards finds the last outcome without parsing the whole log.
    text.lines()
        .rev()
        .find_map(parse_line)
        .unwrap_or(RecoveredPosition::NotFound)
}

fn parse_line(line: &str) -> Option<RecoveredPosition> {
    const RECOVERED: &str = "Recovered position:";
    const SKIPPING: &str = "skipping position recovery";

    let is_wsrep = line.contains("WSREP:") || line.contains("[WSREP]");

    if is_wsrep {
        if let Some(at) = line.find(RECOVERED) {
            let position = line[at + RECOVERED.len()..].split_whitespace().next()?;
            return parse_position(position);
        }
        if line.contains(SKIPPING) {
            if line.contains("WSREP: disabled,") || line.contains("[WSREP] disabled,") {
                return Some(RecoveredPosition::Disabled);
            }
            return parse_given_at_startup(line);
        }
    }
    parse_prepared(line)
}

/// `<uuid>:<seqno>` with an optional `,<gtid>`.
fn parse_position(s: &str) -> Option<RecoveredPosition> {
    let (uuid_seqno, gtid) = match s.split_once(',') {
        Some((pos, gtid)) => (pos, Some(gtid)),
        None => (s, None),
    };
    let (uuid, seqno) = parse_uuid_seqno(uuid_seqno)?;
    let gtid = match gtid {
        Some(g) if is_mariadb_gtid(g) => Some(g.to_string()),
        Some(_) => return None,
        None => None,
    };
    Some(RecoveredPosition::Position { uuid, seqno, gtid })
}

/// `Position <uuid>:<seqno> given at startup, ...`
fn parse_given_at_startup(line: &str) -> Option<RecoveredPosition> {
    let (_, after) = line.split_once("Position ")?;
    let (position, _) = after.split_once(" given at startup")?;
    let (uuid, seqno) = parse_uuid_seqno(position.trim())?;
    Some(RecoveredPosition::GivenAtStartup { uuid, seqno })
}

/// `Found <N> prepared transactions!`
fn parse_prepared(line: &str) -> Option<RecoveredPosition> {
    let (before, _) = line.split_once(" prepared transactions!")?;
    let (lead, count) = before.rsplit_once(' ')?;
    if !lead.ends_with("Found") {
        return None;
    }
    count
        .parse::<u64>()
        .ok()
        .map(RecoveredPosition::PreparedTransactions)
}

fn parse_uuid_seqno(s: &str) -> Option<(String, i64)> {
    let (uuid, seqno) = s.split_once(':')?;
    Some((parse_uuid(uuid)?, parse_seqno(seqno).ok()?))
}

/// `<domain>-<server>-<seqno>`, all unsigned decimal.
fn is_mariadb_gtid(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
}
