//! Tells from a joiner's error log whether it caught up by IST (incremental, only the missing
//! writesets) or SST (a full copy of the donor's data). Pure: the caller passes the bytes the
//! node logged since it was started.
//!
//! Lines used (seen on MariaDB 10.11 / Galera 26.4 with rsync, fixtures in
//! `tests/fixtures/recover/`): the joiner's request `####### IST uuid:<uuid> f: <first>, l:
//! <last>, STRv: 3` (a zero UUID asks for everything: a full SST) and the SST script's
//! `WSREP_SST: [INFO] rsync SST completed on joiner` / `rsync IST completed on joiner`.
//! `IST received:` appears in both cases (an SST is followed by an IST of the rest) and so
//! decides nothing alone.

use serde::Serialize;

use crate::galera::parse::ZERO_UUID;

/// How a joiner got its state.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Transfer {
    /// Incremental: writesets `first..=last` from a donor's gcache.
    Ist { first: i64, last: i64 },
    /// Full state snapshot: the joiner's data was replaced.
    Sst,
    /// The log does not say (no state transfer was requested, or the log is unavailable).
    Unknown,
}

impl std::fmt::Display for Transfer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Transfer::Ist { first, last } => write!(f, "IST (writesets {first}-{last})"),
            Transfer::Sst => f.write_str("SST (full copy from a donor)"),
            Transfer::Unknown => f.write_str("unknown (the error log does not say)"),
        }
    }
}

/// Reads the join from `log` (the part of the error log written since the start).
pub fn parse_join_log(log: &[u8]) -> Transfer {
    let text = String::from_utf8_lossy(log);
    let mut request: Option<(String, i64, i64)> = None;
    let mut sst_done = false;
    let mut ist_done = false;
    for line in text.lines() {
        if let Some(at) = line.find("IST uuid:") {
            if let Some(r) = parse_request(&line[at + "IST uuid:".len()..]) {
                request = Some(r);
            }
        }
        if line.contains("WSREP_SST") && line.contains("SST completed on joiner") {
            sst_done = true;
        }
        if line.contains("WSREP_SST") && line.contains("IST completed on joiner") {
            ist_done = true;
        }
    }
    match request {
        Some((uuid, _, _)) if uuid == ZERO_UUID => Transfer::Sst,
        _ if sst_done => Transfer::Sst,
        Some((_, first, last)) if ist_done || first > 0 => Transfer::Ist { first, last },
        _ => Transfer::Unknown,
    }
}

/// `<uuid> f: <first>, l: <last>, STRv: 3`
fn parse_request(rest: &str) -> Option<(String, i64, i64)> {
    let mut words = rest.split_whitespace();
    let uuid = crate::galera::parse::parse_uuid(words.next()?)?;
    let mut first = None;
    let mut last = None;
    while let Some(w) = words.next() {
        match w {
            "f:" => first = words.next()?.trim_end_matches(',').parse().ok(),
            "l:" => last = words.next()?.trim_end_matches(',').parse().ok(),
            _ => {}
        }
    }
    Some((uuid, first?, last?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crashed_node_with_its_start_position_gets_ist() {
        let log = include_bytes!("../../tests/fixtures/recover/join-ist-after-crash.log");
        assert_eq!(parse_join_log(log), Transfer::Ist { first: 9, last: 11 });
    }

    #[test]
    fn cleanly_stopped_node_gets_ist() {
        let log = include_bytes!("../../tests/fixtures/recover/join-ist-after-clean-stop.log");
        assert_eq!(
            parse_join_log(log),
            Transfer::Ist {
                first: 13,
                last: 14
            }
        );
    }

    #[test]
    fn crashed_node_started_without_position_gets_sst() {
        let log = include_bytes!("../../tests/fixtures/recover/join-sst-no-start-position.log");
        assert_eq!(parse_join_log(log), Transfer::Sst);
    }

    #[test]
    fn a_bootstrap_log_has_no_transfer() {
        let log = include_bytes!("../../tests/fixtures/recover/bootstrap-after-crash.log");
        assert_eq!(parse_join_log(log), Transfer::Unknown);
        assert_eq!(parse_join_log(b""), Transfer::Unknown);
        assert_eq!(
            parse_join_log(b"\xff\xfe IST uuid: garbage f: x"),
            Transfer::Unknown
        );
    }
}
