//! The recorded outcome of one verification (pure): the JSON file
//! `<container>/.quorate-verify/<name>.json` beside the backup, written by
//! `quorate backup verify` and read back by the backup scan of `quorate serve`; and the
//! judgement of what the throwaway server answered (`CHECK TABLE` rows).

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::backup::BackupType;

/// The format version written; a reader refuses newer ones.
pub const FORMAT: u32 = 1;
/// The largest record file read back.
pub const MAX_RECORD_BYTES: u64 = 256 * 1024;

/// The step a verification failed at (the `step` field).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Step {
    /// The chain could not be planned (a gap, an incomplete backup).
    Plan,
    /// Not enough free space in the scratch directory, or it could not be made.
    Space,
    Copy,
    Prepare,
    /// The throwaway server did not start.
    Start,
    /// A table does not open, or `CHECK TABLE` or the row count failed.
    Check,
    /// The throwaway server did not stop.
    Stop,
}

impl Step {
    /// The step's name as the record writes it.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Plan => "plan",
            Step::Space => "space",
            Step::Copy => "copy",
            Step::Prepare => "prepare",
            Step::Start => "start",
            Step::Check => "check",
            Step::Stop => "stop",
        }
    }
}

/// One table checked and its row count.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableChecked {
    /// `schema.table`.
    pub table: String,
    pub rows: u64,
}

/// What one verification found.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct VerifyRecord {
    pub format: u32,
    /// The backup verified.
    pub backup: PathBuf,
    #[serde(rename = "type", with = "kind_name")]
    pub kind: BackupType,
    /// The backups prepared, full first.
    pub chain: Vec<PathBuf>,
    /// Unix seconds.
    pub started: i64,
    /// Unix seconds.
    pub finished: i64,
    pub success: bool,
    /// Where it failed (absent on success).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub step: Option<Step>,
    /// The table a failed check names, `schema.table`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub table: Option<String>,
    /// Why it failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Base tables found in the restored copy (outside the system schemas).
    #[serde(default)]
    pub tables: usize,
    /// The sample checked with `CHECK TABLE` and counted.
    #[serde(default)]
    pub checked: Vec<TableChecked>,
}

/// A record that cannot be read back.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RecordError {
    #[error("not a verification record: {0}")]
    Json(String),
    #[error("verification record format {0} is newer than this quorate understands ({FORMAT})")]
    Format(u32),
}

/// Parses a record file's bytes.
pub fn parse(bytes: &[u8]) -> Result<VerifyRecord, RecordError> {
    let record: VerifyRecord =
        serde_json::from_slice(bytes).map_err(|e| RecordError::Json(e.to_string()))?;
    if record.format > FORMAT {
        return Err(RecordError::Format(record.format));
    }
    Ok(record)
}

/// A record as the file holds it (pretty JSON, newline-terminated).
pub fn to_json(record: &VerifyRecord) -> String {
    let mut text = serde_json::to_string_pretty(record).unwrap_or_default();
    text.push('\n');
    text
}

mod kind_name {
    use serde::{Deserialize, Deserializer, Serializer};

    use crate::backup::BackupType;

    pub fn serialize<S: Serializer>(k: &BackupType, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(k.as_str())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<BackupType, D::Error> {
        let text = String::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// `CHECK TABLE`'s rows (`Table`, `Op`, `Msg_type`, `Msg_text`): `None` when the table is fine
/// (its last `status` row says OK and nothing is an `error`), else the server's own words.
pub fn check_table_failure(rows: &[Vec<String>]) -> Option<String> {
    let errors: Vec<&str> = rows
        .iter()
        .filter(|r| r.len() == 4 && r[2].eq_ignore_ascii_case("error"))
        .map(|r| r[3].as_str())
        .collect();
    let status = rows
        .iter()
        .rev()
        .find(|r| r.len() == 4 && r[2].eq_ignore_ascii_case("status"))
        .map(|r| r[3].as_str());
    match (errors.is_empty(), status) {
        (true, Some(s)) if s.eq_ignore_ascii_case("ok") => None,
        (true, Some(s)) => Some(format!("CHECK TABLE says {s:?}")),
        (true, None) => Some("CHECK TABLE gave no status".into()),
        (false, status) => Some(format!(
            "CHECK TABLE: {}{}",
            errors.join("; "),
            status.map_or_else(String::new, |s| format!(" (status {s:?})"))
        )),
    }
}

/// A quoted SQL identifier (`` `a``b` `` for ``a`b``).
pub fn quote_ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// The tables to check: every `sample`-th of the list so that a sample smaller than the list
/// still spans it from first to last (all of them when the list is not larger).
pub fn sample<T: Clone>(tables: &[T], sample: usize) -> Vec<T> {
    if sample == 0 || tables.is_empty() {
        return Vec::new();
    }
    if tables.len() <= sample {
        return tables.to_vec();
    }
    (0..sample)
        .map(|i| tables[i * (tables.len() - 1) / (sample - 1).max(1)].clone())
        .collect()
}

/// The table a server or mariabackup message names through its data file
/// (`./schema/table.ibd`, `schema/table.ibd`), as `schema.table`.
pub fn table_in_text(text: &str) -> Option<String> {
    text.split(|c: char| c.is_whitespace() || matches!(c, '\'' | '"' | '`' | '(' | ')' | ','))
        .filter_map(|word| word.strip_suffix(".ibd"))
        .find_map(|stem| {
            let mut parts = stem.trim_start_matches("./").rsplit('/');
            let table = parts.next().filter(|t| !t.is_empty())?;
            let schema = parts.next().filter(|s| !s.is_empty() && *s != ".")?;
            Some(format!("{schema}.{table}"))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(t: &str, m: &str) -> Vec<String> {
        vec!["db.t".into(), "check".into(), t.into(), m.into()]
    }

    #[test]
    fn check_table_verdicts() {
        assert_eq!(check_table_failure(&[row("status", "OK")]), None);
        let corrupt = check_table_failure(&[
            row(
                "error",
                "Page [page id: space=5, page number=3] is corrupted",
            ),
            row("error", "Corrupt"),
        ])
        .unwrap();
        assert!(corrupt.contains("page number=3"), "{corrupt}");
        assert!(check_table_failure(&[row("status", "Operation failed")]).is_some());
        assert!(check_table_failure(&[]).is_some());
    }

    #[test]
    fn record_round_trip_and_format() {
        let r = VerifyRecord {
            format: FORMAT,
            backup: "/b/full/f".into(),
            kind: BackupType::Full,
            chain: vec!["/b/full/f".into()],
            started: 10,
            finished: 20,
            success: false,
            step: Some(Step::Check),
            table: Some("bk.t".into()),
            error: Some("Corrupt".into()),
            tables: 1,
            checked: vec![],
        };
        let text = to_json(&r);
        assert!(text.contains("\"type\": \"full\""), "{text}");
        assert!(text.contains("\"step\": \"check\""), "{text}");
        assert_eq!(parse(text.as_bytes()).unwrap(), r);
        let newer = text.replace("\"format\": 1", "\"format\": 9");
        assert_eq!(parse(newer.as_bytes()), Err(RecordError::Format(9)));
        assert!(parse(b"{").is_err());
    }

    #[test]
    fn sample_spans_the_list() {
        let all: Vec<u32> = (0..10).collect();
        assert_eq!(sample(&all, 3), vec![0, 4, 9]);
        assert_eq!(sample(&all, 20), all);
        assert_eq!(sample(&all, 1), vec![0]);
        assert!(sample(&all, 0).is_empty());
        assert_eq!(quote_ident("a`b"), "`a``b`");
    }

    #[test]
    fn table_named_by_its_file() {
        assert_eq!(
            table_in_text("[ERROR] InnoDB: Database page corruption in file './bk/t.ibd' page 3"),
            Some("bk.t".into())
        );
        assert_eq!(
            table_in_text("Failed to read file /x/data/shop/orders.ibd at offset"),
            Some("shop.orders".into())
        );
        assert_eq!(table_in_text("./ibdata1 is fine"), None);
    }
}
