//! The maintenance file's contents and the one rule that judges them. Pure.
//!
//! The file is a small JSON document, one record per node in maintenance:
//!
//! ```json
//! {
//!   "version": 1,
//!   "nodes": {
//!     "server2": {"reason": "kernel update", "since": 1767261600, "expires": 1767268800,
//!                 "desync": true, "by": "alice"}
//!   }
//! }
//! ```
//!
//! `since` and `expires` are Unix seconds; `desync` says that `quorate maintenance on` set
//! `wsrep_desync=ON` on the node (so `off` sets it back, and only then); `by` is who ran it.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::unix_time::human_age;

/// The format version this quorate writes and reads.
pub const VERSION: u32 = 1;
/// The longest reason kept, in characters: it is shown in check output and health answers.
pub const MAX_REASON_CHARS: usize = 200;
/// The reason when none is given.
pub const DEFAULT_REASON: &str = "planned maintenance";

/// One node's maintenance.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Record {
    pub reason: String,
    /// When it started (Unix seconds); kept when `on` extends a running maintenance.
    pub since: i64,
    /// When it ends by itself (Unix seconds).
    pub expires: i64,
    /// `quorate maintenance on --desync` set `wsrep_desync=ON` (it was OFF before).
    #[serde(default)]
    pub desync: bool,
    /// Who recorded it (the login name), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<String>,
}

/// The whole file: the records by node name.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Document {
    pub version: u32,
    #[serde(default)]
    pub nodes: BTreeMap<String, Record>,
}

impl Default for Document {
    fn default() -> Document {
        Document {
            version: VERSION,
            nodes: BTreeMap::new(),
        }
    }
}

/// What the maintenance file holds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Contents {
    /// There is no file: nobody is in maintenance.
    Absent,
    /// An empty file (the `touch` convention): every node that reads it is in maintenance.
    Marker,
    Records(Document),
    /// Not a record this quorate can read, and why: treated as [`Contents::Marker`].
    Invalid(String),
}

/// Why the file cannot be changed by `quorate maintenance on|off`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("it exists but is empty (made by hand, e.g. with touch: it puts every node reading it in maintenance); remove it first")]
    Marker,
    #[error("it is not a quorate maintenance record ({0}); remove or fix it first")]
    Invalid(String),
}

/// Parses the file's bytes: empty (or blank) is a [`Contents::Marker`].
pub fn parse(bytes: &[u8]) -> Contents {
    if bytes.iter().all(u8::is_ascii_whitespace) {
        return Contents::Marker;
    }
    match serde_json::from_slice::<Document>(bytes) {
        Ok(doc) if doc.version == VERSION => Contents::Records(doc),
        Ok(doc) => Contents::Invalid(format!(
            "format version {}, this quorate reads {VERSION}",
            doc.version
        )),
        Err(e) => Contents::Invalid(e.to_string()),
    }
}

/// The file's text for `doc`.
pub fn render(doc: &Document) -> String {
    // Serialising plain strings, integers and maps cannot fail.
    let mut text = serde_json::to_string_pretty(doc).unwrap_or_default();
    text.push('\n');
    text
}

impl Contents {
    /// The records, to be changed by `on` or `off`: none when there is no file; an error when
    /// the file is something else (a hand-made marker is not overwritten silently).
    pub fn document(&self) -> Result<Document, RecordError> {
        match self {
            Contents::Absent => Ok(Document::default()),
            Contents::Records(doc) => Ok(doc.clone()),
            Contents::Marker => Err(RecordError::Marker),
            Contents::Invalid(why) => Err(RecordError::Invalid(why.clone())),
        }
    }
}

/// One node's maintenance state at some moment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Maintenance {
    Off,
    /// In maintenance. `record` is `None` when the file is not a record; `why` then says what
    /// it is.
    Active {
        record: Option<Record>,
        why: String,
    },
    /// The record's expiry has passed: no longer in maintenance, but not removed by `off`.
    Expired(Record),
}

/// The rule: is `node` in maintenance at `now` (Unix seconds), according to `contents`.
pub fn judge(contents: &Contents, node: &str, now: i64) -> Maintenance {
    match contents {
        Contents::Absent => Maintenance::Off,
        Contents::Marker => Maintenance::Active {
            record: None,
            why: "the maintenance file exists (empty: no record, every node reading it)".into(),
        },
        Contents::Invalid(e) => Maintenance::Active {
            record: None,
            why: format!("the maintenance file exists but is not a record ({e})"),
        },
        Contents::Records(doc) => match doc.nodes.get(node) {
            None => Maintenance::Off,
            Some(r) if now >= r.expires => Maintenance::Expired(r.clone()),
            Some(r) => Maintenance::Active {
                record: Some(r.clone()),
                why: r.reason.clone(),
            },
        },
    }
}

impl Maintenance {
    /// In maintenance now: out of the load balancer, alerts silent.
    pub fn is_active(&self) -> bool {
        matches!(self, Maintenance::Active { .. })
    }

    /// The record, active or expired.
    pub fn record(&self) -> Option<&Record> {
        match self {
            Maintenance::Active { record, .. } => record.as_ref(),
            Maintenance::Expired(r) => Some(r),
            Maintenance::Off => None,
        }
    }

    /// Expired while the node may still be desynced by `on`: someone must run `off`.
    pub fn expired_desynced(&self) -> bool {
        matches!(self, Maintenance::Expired(r) if r.desync)
    }

    /// One line for people, after the node's name: `maintenance: kernel update (since …)`.
    pub fn describe(&self, now: i64) -> String {
        match self {
            Maintenance::Off => "not in maintenance".into(),
            Maintenance::Active { record: None, why } => format!("maintenance: {why}"),
            Maintenance::Active {
                record: Some(r), ..
            } => {
                let desync = if r.desync {
                    "; wsrep_desync set ON by quorate maintenance on"
                } else {
                    ""
                };
                format!(
                    "maintenance: {} (since {}{}, ends {}, in {}{desync})",
                    r.reason,
                    timestamp(r.since),
                    r.by.as_deref()
                        .map_or(String::new(), |b| format!(" by {b}")),
                    timestamp(r.expires),
                    human_age((r.expires - now) as f64),
                )
            }
            Maintenance::Expired(r) => {
                let desync = if r.desync {
                    "; the node may still be desynced by quorate maintenance on \
                     (wsrep_desync=ON): run quorate maintenance off"
                } else {
                    ""
                };
                format!(
                    "maintenance expired {} ago at {} ({}){desync}",
                    human_age((now - r.expires) as f64),
                    timestamp(r.expires),
                    r.reason
                )
            }
        }
    }
}

/// The record `on` writes. A maintenance still running is extended (its start kept); a
/// desync owed by an earlier `on` stays owed, whether or not that maintenance expired.
pub fn start(
    previous: Option<&Record>,
    reason: String,
    now: i64,
    duration_secs: i64,
    desynced_now: bool,
    by: Option<String>,
) -> Record {
    let since = previous
        .filter(|p| now < p.expires)
        .map_or(now, |p| p.since);
    Record {
        reason,
        since,
        expires: now.saturating_add(duration_secs),
        desync: desynced_now || previous.is_some_and(|p| p.desync),
        by,
    }
}

/// A reason fit to show anywhere: control characters become spaces, blanks are trimmed and
/// it is cut after [`MAX_REASON_CHARS`]; empty gives [`DEFAULT_REASON`].
pub fn clean_reason(text: Option<&str>) -> String {
    let cleaned: String = text
        .unwrap_or("")
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        return DEFAULT_REASON.into();
    }
    let mut chars = trimmed.chars();
    let head: String = chars.by_ref().take(MAX_REASON_CHARS).collect();
    if chars.next().is_some() {
        format!("{head}…")
    } else {
        head
    }
}

/// A Unix time as RFC 3339 in UTC (`2026-01-01T10:00:00Z`).
pub fn timestamp(unix: i64) -> String {
    jiff::Timestamp::from_second(unix).map_or_else(|_| format!("@{unix}"), |t| t.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_767_261_600; // 2026-01-01T10:00:00Z

    fn record(expires: i64, desync: bool) -> Record {
        Record {
            reason: "kernel update".into(),
            since: NOW - 60,
            expires,
            desync,
            by: Some("alice".into()),
        }
    }

    fn doc(node: &str, r: Record) -> Contents {
        let mut d = Document::default();
        d.nodes.insert(node.into(), r);
        parse(render(&d).as_bytes())
    }

    #[test]
    fn the_rule_for_each_kind_of_file() {
        assert_eq!(judge(&Contents::Absent, "n2", NOW), Maintenance::Off);
        assert!(judge(&parse(b""), "n2", NOW).is_active());
        assert!(judge(&parse(b" \n"), "any", NOW).is_active());
        let garbage = judge(&parse(b"maintenance"), "n2", NOW);
        assert!(garbage.is_active(), "{garbage:?}");
        assert!(
            garbage.describe(NOW).contains("not a record"),
            "{garbage:?}"
        );
        let future = judge(&parse(b"{\"version\": 2, \"nodes\": {}}"), "n2", NOW);
        assert!(future.describe(NOW).contains("version 2"), "{future:?}");

        let c = doc("n2", record(NOW + 3600, false));
        assert!(judge(&c, "n2", NOW).is_active());
        assert_eq!(judge(&c, "n1", NOW), Maintenance::Off);
        // The expiry is the first second out of maintenance.
        assert!(judge(&c, "n2", NOW + 3599).is_active());
        let expired = judge(&c, "n2", NOW + 3600);
        assert!(matches!(expired, Maintenance::Expired(_)), "{expired:?}");
        assert!(!expired.expired_desynced());
        assert!(judge(&doc("n2", record(NOW, true)), "n2", NOW).expired_desynced());
    }

    #[test]
    fn descriptions_say_reason_times_and_what_is_owed() {
        let active = judge(&doc("n2", record(NOW + 7200, true)), "n2", NOW);
        let text = active.describe(NOW);
        assert!(text.starts_with("maintenance: kernel update"), "{text}");
        assert!(text.contains("by alice"), "{text}");
        assert!(
            text.contains("ends 2026-01-01T12:00:00Z, in 2h00m"),
            "{text}"
        );
        assert!(text.contains("wsrep_desync set ON"), "{text}");
        let expired = judge(&doc("n2", record(NOW - 150, true)), "n2", NOW).describe(NOW);
        assert!(
            expired.starts_with("maintenance expired 2m ago"),
            "{expired}"
        );
        assert!(expired.contains("run quorate maintenance off"), "{expired}");
        let plain = judge(&doc("n2", record(NOW - 90, false)), "n2", NOW).describe(NOW);
        assert!(!plain.contains("maintenance off"), "{plain}");
    }

    #[test]
    fn on_extends_and_keeps_an_owed_desync() {
        let fresh = start(None, "r".into(), NOW, 3600, false, None);
        assert_eq!(
            (fresh.since, fresh.expires, fresh.desync),
            (NOW, NOW + 3600, false)
        );
        let running = record(NOW + 60, true);
        let extended = start(Some(&running), "r2".into(), NOW, 7200, false, None);
        assert_eq!(extended.since, running.since);
        assert_eq!(extended.expires, NOW + 7200);
        assert!(extended.desync, "off must still set wsrep_desync back");
        let old = record(NOW - 60, false);
        let again = start(Some(&old), "r".into(), NOW, 60, true, None);
        assert_eq!((again.since, again.desync), (NOW, true));
    }

    #[test]
    fn only_records_are_changed() {
        assert_eq!(Contents::Absent.document(), Ok(Document::default()));
        assert_eq!(parse(b"").document(), Err(RecordError::Marker));
        assert!(matches!(
            parse(b"{").document(),
            Err(RecordError::Invalid(_))
        ));
        let c = doc("n2", record(NOW, false));
        assert_eq!(c.document().map(|d| d.nodes.len()), Ok(1));
    }

    #[test]
    fn reasons_are_cleaned() {
        assert_eq!(clean_reason(None), DEFAULT_REASON);
        assert_eq!(clean_reason(Some("  \t")), DEFAULT_REASON);
        assert_eq!(clean_reason(Some("a\nb\u{7}c ")), "a b c");
        let long = "x".repeat(500);
        assert_eq!(
            clean_reason(Some(&long)).chars().count(),
            MAX_REASON_CHARS + 1
        );
    }

    #[test]
    fn a_record_round_trips() {
        let r = record(NOW + 1, true);
        assert_eq!(doc("n2", r.clone()), {
            let mut d = Document::default();
            d.nodes.insert("n2".into(), r);
            Contents::Records(d)
        });
    }
}
