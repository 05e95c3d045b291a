//! Pure parsers for what mariabackup (and the seed's backup script) leave in a backup
//! directory: `xtrabackup_checkpoints` / `mariadb_backup_checkpoints`, `xtrabackup_info` /
//! `mariadb_backup_info` and `backup_metadata.json`.
//!
//! Nothing here touches the file system or the clock. mariabackup writes local times without a
//! zone (`start_time = 2026-11-22 01:40:35`), so the time zone to read them in is an argument:
//! the caller passes the host's zone ([`jiff::tz::TimeZone::system`]), tests pass a fixed one.
//!
//! Errors name the file (by its role) and the field or line; the caller adds the path.

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use jiff::civil::DateTime;
use jiff::tz::TimeZone;
use jiff::Timestamp;

use super::BackupType;

/// Why a file of a backup could not be read. The variants name the file's role and the field.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    #[error("{file}: no `{field}` line")]
    Missing {
        file: &'static str,
        field: &'static str,
    },
    #[error("{file}: `{field}`: {message}")]
    BadValue {
        file: &'static str,
        field: String,
        message: String,
    },
    #[error("{file}: line {line}: not `key = value`: {text:?}")]
    BadLine {
        file: &'static str,
        line: usize,
        text: String,
    },
    #[error("{file}: {message}")]
    Invalid { file: &'static str, message: String },
}

const CHECKPOINTS: &str = "checkpoints file";
const INFO: &str = "info file";
const METADATA: &str = "backup_metadata.json";

/// `backup_type` of the checkpoints file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CheckpointType {
    /// `full-backuped`: a full backup, not prepared.
    FullBackuped,
    /// `incremental`: an incremental backup (changes since `from_lsn`).
    Incremental,
    /// `log-applied` (MariaDB) or `full-prepared` (Percona XtraBackup): prepared with
    /// `--prepare`, restorable as it is.
    Prepared(String),
    /// Anything else, kept verbatim.
    Other(String),
}

/// `xtrabackup_checkpoints` (10.x) or `mariadb_backup_checkpoints` (11.x): `key = value`
/// lines written at the end of the copy, rewritten by `--prepare`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Checkpoints {
    pub backup_type: CheckpointType,
    /// 0 for a full backup; for an incremental, the `to_lsn` of the backup it was based on.
    pub from_lsn: u64,
    /// The checkpoint LSN the backup is consistent from; an incremental based on this backup
    /// starts here.
    pub to_lsn: u64,
    /// The last LSN of the copied redo log.
    pub last_lsn: Option<u64>,
}

impl Checkpoints {
    /// Whether `--prepare` was run on the backup.
    pub fn prepared(&self) -> bool {
        matches!(self.backup_type, CheckpointType::Prepared(_))
    }

    /// Full or incremental: `incremental` says so; a prepared or unknown type is full when it
    /// starts at LSN 0.
    pub fn kind(&self) -> BackupType {
        match self.backup_type {
            CheckpointType::FullBackuped => BackupType::Full,
            CheckpointType::Incremental => BackupType::Incremental,
            CheckpointType::Prepared(_) | CheckpointType::Other(_) if self.from_lsn == 0 => {
                BackupType::Full
            }
            _ => BackupType::Incremental,
        }
    }
}

/// `key = value` lines, borrowed from the text (a scan reads thousands of these files).
struct KeyValues<'a>(Vec<(&'a str, &'a str)>);

impl<'a> KeyValues<'a> {
    /// The value of `key` (the last one if it repeats). Values may be empty.
    fn get(&self, key: &str) -> Option<&'a str> {
        self.0
            .iter()
            .rev()
            .find(|(k, _)| *k == key)
            .map(|(_, v)| *v)
    }
}

/// Splits `key = value` lines (blank lines and `#` comments skipped).
fn key_values<'a>(file: &'static str, text: &'a str) -> Result<KeyValues<'a>, ParseError> {
    let mut out = Vec::with_capacity(24);
    for (i, line) in text.lines().enumerate() {
        let trimmed = line.trim();
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let Some((key, value)) = trimmed.split_once('=') else {
            return Err(ParseError::BadLine {
                file,
                line: i + 1,
                text: trimmed.chars().take(80).collect(),
            });
        };
        out.push((key.trim(), value.trim()));
    }
    Ok(KeyValues(out))
}

fn lsn(file: &'static str, field: &str, value: &str) -> Result<u64, ParseError> {
    value.parse().map_err(|_| ParseError::BadValue {
        file,
        field: field.to_string(),
        message: format!("{value:?} is not an LSN"),
    })
}

/// Parses a checkpoints file. `backup_type`, `from_lsn` and `to_lsn` are required.
pub fn parse_checkpoints(text: &str) -> Result<Checkpoints, ParseError> {
    let kv = key_values(CHECKPOINTS, text)?;
    let get = |field: &'static str| {
        kv.get(field).ok_or(ParseError::Missing {
            file: CHECKPOINTS,
            field,
        })
    };
    let backup_type = match get("backup_type")? {
        "full-backuped" => CheckpointType::FullBackuped,
        "incremental" => CheckpointType::Incremental,
        t @ ("log-applied" | "full-prepared") => CheckpointType::Prepared(t.to_string()),
        "" => {
            return Err(ParseError::BadValue {
                file: CHECKPOINTS,
                field: "backup_type".into(),
                message: "is empty".into(),
            })
        }
        other => CheckpointType::Other(other.to_string()),
    };
    let from_lsn = lsn(CHECKPOINTS, "from_lsn", get("from_lsn")?)?;
    let to_lsn = lsn(CHECKPOINTS, "to_lsn", get("to_lsn")?)?;
    let last_lsn = kv
        .get("last_lsn")
        .map(|v| lsn(CHECKPOINTS, "last_lsn", v))
        .transpose()?;
    Ok(Checkpoints {
        backup_type,
        from_lsn,
        to_lsn,
        last_lsn,
    })
}

/// `xtrabackup_info` (10.x) or `mariadb_backup_info` (11.x), written last by
/// `mariabackup --backup`: the fields quorate uses. Times are kept as written (local, no zone)
/// and resolved with [`Info::start`] / [`Info::end`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Info {
    /// `tool_name`: `mariabackup`, `mariadb-backup` (11.x) or `xtrabackup`.
    pub tool_name: Option<String>,
    pub start_time: Option<DateTime>,
    pub end_time: DateTime,
    /// `incremental = Y|N`.
    pub incremental: Option<bool>,
    /// `compressed = N` or the compression (`compressed`, `quicklz`, ...).
    pub compressed: Option<bool>,
    /// `--incremental-basedir` from `tool_command`, as written (may be relative).
    pub incremental_basedir: Option<PathBuf>,
    /// `--target-dir` from `tool_command`, as written (may be relative).
    pub target_dir: Option<PathBuf>,
}

fn info_time(field: &str, value: &str) -> Result<DateTime, ParseError> {
    parse_local(value).map_err(|e| ParseError::BadValue {
        file: INFO,
        field: field.to_string(),
        message: format!("{value:?} is not a local time YYYY-MM-DD HH:MM:SS: {e}"),
    })
}

/// `YYYY-MM-DD HH:MM:SS` exactly (mariabackup's format), validated by jiff. Written out by
/// hand: a general format parser costs more than the rest of reading a backup.
fn parse_local(value: &str) -> Result<DateTime, String> {
    let b = value.as_bytes();
    let shape_ok = b.len() == 19
        && b[4] == b'-'
        && b[7] == b'-'
        && b[10] == b' '
        && b[13] == b':'
        && b[16] == b':';
    let number = |range: std::ops::Range<usize>| -> Result<i16, String> {
        let digits = &b[range];
        if !digits.iter().all(u8::is_ascii_digit) {
            return Err("not digits".into());
        }
        Ok(digits
            .iter()
            .fold(0i16, |n, d| n * 10 + i16::from(d - b'0')))
    };
    if !shape_ok {
        return Err("wrong shape".into());
    }
    let narrow = |n: i16| i8::try_from(n).map_err(|e| e.to_string());
    DateTime::new(
        number(0..4)?,
        narrow(number(5..7)?)?,
        narrow(number(8..10)?)?,
        narrow(number(11..13)?)?,
        narrow(number(14..16)?)?,
        narrow(number(17..19)?)?,
        0,
    )
    .map_err(|e| e.to_string())
}

fn yes_no(field: &str, value: &str) -> Result<bool, ParseError> {
    match value {
        "Y" | "y" | "YES" | "yes" | "1" | "ON" => Ok(true),
        "N" | "n" | "NO" | "no" | "0" | "OFF" => Ok(false),
        other => Err(ParseError::BadValue {
            file: INFO,
            field: field.to_string(),
            message: format!("{other:?} is not Y or N"),
        }),
    }
}

/// Parses an info file. `end_time` is required: mariabackup writes the file at the very end,
/// so an info file without it was not written by a finished run.
pub fn parse_info(text: &str) -> Result<Info, ParseError> {
    let fields = key_values(INFO, text)?;
    let end_time = match fields.get("end_time") {
        Some(v) => info_time("end_time", v)?,
        None => {
            return Err(ParseError::Missing {
                file: INFO,
                field: "end_time",
            })
        }
    };
    let start_time = fields
        .get("start_time")
        .filter(|v| !v.is_empty())
        .map(|v| info_time("start_time", v))
        .transpose()?;
    let incremental = fields
        .get("incremental")
        .filter(|v| !v.is_empty())
        .map(|v| yes_no("incremental", v))
        .transpose()?;
    let compressed = fields
        .get("compressed")
        .filter(|v| !v.is_empty())
        .map(|v| !matches!(v, "N" | "n" | "NO" | "no" | "0" | "none"));
    let command = fields.get("tool_command").unwrap_or("");
    Ok(Info {
        tool_name: fields
            .get("tool_name")
            .filter(|v| !v.is_empty())
            .map(str::to_string),
        incremental_basedir: command_option(command, "--incremental-basedir").map(PathBuf::from),
        target_dir: command_option(command, "--target-dir").map(PathBuf::from),
        start_time,
        end_time,
        incremental,
        compressed,
    })
}

/// The value of `--name=VALUE` or `--name VALUE` in a command line split on whitespace
/// (mariabackup records its arguments joined by spaces, so paths with spaces are ambiguous;
/// such a path is taken up to the first space).
pub fn command_option(command: &str, name: &str) -> Option<String> {
    let mut words = command.split_whitespace();
    while let Some(word) = words.next() {
        if let Some(rest) = word.strip_prefix(name) {
            if let Some(value) = rest.strip_prefix('=') {
                return Some(value.to_string());
            }
            if rest.is_empty() {
                return words.next().map(str::to_string);
            }
        }
    }
    None
}

impl Info {
    /// `end_time` read in `tz`.
    pub fn end(&self, tz: &TimeZone) -> Result<SystemTime, ParseError> {
        local_time(&self.end_time, tz, "end_time")
    }

    /// `start_time` read in `tz`.
    pub fn start(&self, tz: &TimeZone) -> Result<Option<SystemTime>, ParseError> {
        self.start_time
            .as_ref()
            .map(|t| local_time(t, tz, "start_time"))
            .transpose()
    }

    /// `end_time - start_time` (whole seconds, as mariabackup writes them).
    pub fn duration(&self, tz: &TimeZone) -> Result<Option<Duration>, ParseError> {
        let (Some(start), end) = (self.start(tz)?, self.end(tz)?) else {
            return Ok(None);
        };
        Ok(end.duration_since(start).ok())
    }
}

/// A local time without zone, read in `tz`. A time that occurs twice (the hour the clocks go
/// back) resolves to the earlier instant, so an age computed from it errs on the old side; a
/// time that does not exist (the hour the clocks go forward) is moved forward by the gap.
pub fn local_time(dt: &DateTime, tz: &TimeZone, field: &str) -> Result<SystemTime, ParseError> {
    // jiff's "compatible" disambiguation is exactly that: earlier in a fold, later in a gap.
    tz.to_ambiguous_timestamp(*dt)
        .compatible()
        .map(SystemTime::from)
        .map_err(|e| ParseError::BadValue {
            file: INFO,
            field: field.to_string(),
            message: format!("{dt} cannot be placed in the time zone: {e}"),
        })
}

/// `backup_metadata.json`, written by the seed's backup script (`db_backup.sh`) next to
/// mariabackup's files.
///
/// The seed does not document the file's fields, only that it is JSON and that its restore
/// tool lists a timestamp (`2025-10-27T12:00:00+00:00`) and a size (`2.3G`) per backup. So
/// quorate accepts this documented minimal shape; every key is optional, unknown keys are
/// ignored, a known key with a value of the wrong kind makes the file unreadable:
///
/// | key | value |
/// |---|---|
/// | `type` (or `backup_type`) | `"full"` or `"incremental"` |
/// | `timestamp` (or `start_time`) | when the backup started: RFC 3339 with offset, local `YYYY-MM-DD HH:MM:SS` (host zone), or Unix seconds |
/// | `end_time` (or `completed_at`) | when it ended, same forms |
/// | `duration_seconds` (or `duration`) | number of seconds |
/// | `size_bytes` | number of bytes |
/// | `size` | bytes as a number, or `du -h` style text (`2.3G`, 1024-based) |
/// | `compressed` | boolean |
/// | `compression` | `"none"`, or the method (`"gzip"`, `"pigz"`, `"qpress"`, ...) |
/// | `base_backup` (or `incremental_basedir`) | path of the backup an incremental is based on |
/// | `status` | `success`/`completed`/`ok` or `failed`/`error`/`incomplete` |
/// | `verified` | boolean; `false` means `--verify` failed |
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Metadata {
    pub kind: Option<BackupType>,
    pub start: Option<SystemTime>,
    pub end: Option<SystemTime>,
    pub duration: Option<Duration>,
    pub size_bytes: Option<u64>,
    pub compressed: Option<bool>,
    pub base_backup: Option<PathBuf>,
    /// `Some(false)` when `status` says the run failed.
    pub succeeded: Option<bool>,
    pub verified: Option<bool>,
}

/// Parses `backup_metadata.json`; times without a zone are read in `tz`.
pub fn parse_metadata(text: &str, tz: &TimeZone) -> Result<Metadata, ParseError> {
    let value: serde_json::Value = serde_json::from_str(text).map_err(|e| ParseError::Invalid {
        file: METADATA,
        message: format!("not JSON: {e}"),
    })?;
    let serde_json::Value::Object(map) = value else {
        return Err(ParseError::Invalid {
            file: METADATA,
            message: "not a JSON object".into(),
        });
    };
    // The first of several accepted names that is present (and not null).
    let field = |names: &[&'static str]| -> Option<(&'static str, &serde_json::Value)> {
        names
            .iter()
            .find_map(|n| map.get(*n).filter(|v| !v.is_null()).map(|v| (*n, v)))
    };
    let bad = |name: &str, message: String| ParseError::BadValue {
        file: METADATA,
        field: name.to_string(),
        message,
    };
    let string = |name: &str, v: &serde_json::Value| -> Result<String, ParseError> {
        v.as_str()
            .map(str::to_string)
            .ok_or_else(|| bad(name, format!("{v} is not a string")))
    };
    let boolean = |name: &str, v: &serde_json::Value| -> Result<bool, ParseError> {
        v.as_bool()
            .ok_or_else(|| bad(name, format!("{v} is not true or false")))
    };
    let time = |name: &str, v: &serde_json::Value| -> Result<SystemTime, ParseError> {
        metadata_time(v, tz).map_err(|m| bad(name, m))
    };

    let mut meta = Metadata::default();
    if let Some((name, v)) = field(&["type", "backup_type"]) {
        meta.kind = Some(match string(name, v)?.to_ascii_lowercase().as_str() {
            "full" => BackupType::Full,
            "incremental" | "incr" | "inc" => BackupType::Incremental,
            other => return Err(bad(name, format!("{other:?} is not full or incremental"))),
        });
    }
    if let Some((name, v)) = field(&["timestamp", "start_time"]) {
        meta.start = Some(time(name, v)?);
    }
    if let Some((name, v)) = field(&["end_time", "completed_at"]) {
        meta.end = Some(time(name, v)?);
    }
    if let Some((name, v)) = field(&["duration_seconds", "duration"]) {
        let secs = v
            .as_f64()
            .filter(|s| s.is_finite() && *s >= 0.0)
            .ok_or_else(|| bad(name, format!("{v} is not a number of seconds")))?;
        meta.duration = Some(Duration::from_secs_f64(secs.min(1e12)));
    }
    if let Some((name, v)) = field(&["size_bytes"]) {
        meta.size_bytes = Some(
            v.as_u64()
                .ok_or_else(|| bad(name, format!("{v} is not a number of bytes")))?,
        );
    } else if let Some((name, v)) = field(&["size"]) {
        meta.size_bytes = Some(match v {
            serde_json::Value::Number(n) => n
                .as_u64()
                .ok_or_else(|| bad(name, format!("{v} is not a number of bytes")))?,
            serde_json::Value::String(s) => parse_human_size(s).map_err(|m| bad(name, m))?,
            _ => return Err(bad(name, format!("{v} is not a size"))),
        });
    }
    if let Some((name, v)) = field(&["compressed"]) {
        meta.compressed = Some(boolean(name, v)?);
    } else if let Some((name, v)) = field(&["compression"]) {
        meta.compressed = Some(match v {
            serde_json::Value::Bool(b) => *b,
            _ => {
                let method = string(name, v)?.to_ascii_lowercase();
                !matches!(method.as_str(), "" | "none" | "no" | "false" | "off")
            }
        });
    }
    if let Some((name, v)) = field(&["base_backup", "incremental_basedir"]) {
        meta.base_backup = Some(PathBuf::from(string(name, v)?));
    }
    if let Some((name, v)) = field(&["status"]) {
        meta.succeeded = Some(match string(name, v)?.to_ascii_lowercase().as_str() {
            "success" | "succeeded" | "successful" | "completed" | "complete" | "ok" => true,
            "failed" | "failure" | "error" | "incomplete" | "aborted" => false,
            other => return Err(bad(name, format!("{other:?} is not a known status"))),
        });
    }
    if let Some((name, v)) = field(&["verified"]) {
        meta.verified = Some(boolean(name, v)?);
    }
    Ok(meta)
}

/// A metadata time: Unix seconds, RFC 3339 with an offset, or a local time without zone.
fn metadata_time(v: &serde_json::Value, tz: &TimeZone) -> Result<SystemTime, String> {
    if let Some(secs) = v.as_f64() {
        return Timestamp::from_second(secs.trunc() as i64)
            .map(SystemTime::from)
            .map_err(|e| format!("{v} is not a Unix time: {e}"));
    }
    let Some(text) = v.as_str() else {
        return Err(format!("{v} is not a time"));
    };
    if let Ok(ts) = text.parse::<Timestamp>() {
        return Ok(SystemTime::from(ts));
    }
    let dt = parse_local(text)
        .or_else(|_| text.parse::<DateTime>().map_err(|e| e.to_string()))
        .map_err(|_| {
            format!("{text:?} is not RFC 3339, YYYY-MM-DD HH:MM:SS or a number of seconds")
        })?;
    local_time(&dt, tz, "time").map_err(|e| e.to_string())
}

/// `du -h` style sizes: `2.3G`, `450M`, `12K`, `1.5T`, `800` (bytes); 1024-based, an optional
/// `B`/`iB` suffix is accepted.
pub fn parse_human_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let t = t
        .strip_suffix("iB")
        .or_else(|| t.strip_suffix('B'))
        .unwrap_or(t);
    let (number, unit) = match t.char_indices().find(|(_, c)| c.is_ascii_alphabetic()) {
        Some((i, _)) => (&t[..i], &t[i..]),
        None => (t, ""),
    };
    let factor: f64 = match unit.to_ascii_uppercase().as_str() {
        "" => 1.0,
        "K" => 1024.0,
        "M" => 1024.0 * 1024.0,
        "G" => 1024.0 * 1024.0 * 1024.0,
        "T" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        "P" => 1024.0 * 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => return Err(format!("{text:?}: unknown unit {unit:?}")),
    };
    let n: f64 = number
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a size"))?;
    if !n.is_finite() || n < 0.0 {
        return Err(format!("{text:?} is not a size"));
    }
    Ok((n * factor).round() as u64)
}

#[cfg(test)]
mod tests;
