//! `quorate check backup`: what the backups on disk say (a [`BackupReading`], one
//! [`BackupSummary`] per type) + policy → verdict. Pure: the scan happens in the binary's
//! `commands/check.rs`.
//!
//! Default policy, in short: no complete backup or a broken incremental chain is CRITICAL; a
//! newest backup older than the `-w`/`-c` age ranges (26 h, 50 h) is judged by range; a failed
//! newest attempt or a backup below `--min-size` is WARNING; an unreadable directory is UNKNOWN.
//! Every state is configurable on the command line. The full table, the reference, is in
//! docs/checks.md ("What `check backup` judges").
//!
//! Without `--type` the age and size rules apply to the newest complete backup of any type
//! ("has anything been backed up recently"); the newest attempt of each type is judged on its
//! own, so a failing full run is not hidden by incrementals that keep succeeding. With weekly
//! fulls and daily incrementals, run one check per type with its own ranges.
//!
//! A directory that cannot be read could hold the newest backup, its failed successor or an
//! incremental's base: every verdict that rests on something *not* being there (no backup,
//! too old, newest attempt failed, too small, a base missing) is then capped at UNKNOWN. Only
//! a chain break whose both ends were read (an LSN gap) stays as it is.

use std::path::Path;

use serde_json::{Map, Value};

use super::output::{CheckResult, PerfDatum, Uom};
use super::range::{Range, RangeError, Thresholds, TIME_UNITS};
use super::{Finding, Status};
use crate::backup::chain::BreakReason;
use crate::backup::summary::SuccessSummary;
use crate::backup::{BackupReading, BackupSummary, BackupType, BackupTypeError};

/// The first word of the plugin output.
pub const SERVICE: &str = "BACKUP";

/// The default age ranges: a daily backup may be a couple of hours late before it warns, and a
/// whole run may be missed before it is critical.
pub const DEFAULT_WARNING: &str = "26h";
pub const DEFAULT_CRITICAL: &str = "50h";

/// The value names `--format zabbix` reports (besides `status`, `state`, `summary`).
pub const ZABBIX_ITEMS: &[&str] = &[
    "type",
    "age",
    "size",
    "newest",
    "count",
    "failed_count",
    "in_progress",
    "last_attempt_failed",
    "chain_intact",
    "chain_breaks",
    "scan_errors",
    "full_age",
    "full_size",
    "full_count",
    "incremental_age",
    "incremental_size",
    "incremental_count",
];

/// An age range (`26h`, `10m:`, `@1d:2d`): bounds with units s, m, h, d, in seconds.
pub fn parse_age_range(text: &str) -> Result<Range, RangeError> {
    Range::parse_with_units(text, TIME_UNITS)
}

/// A size with a unit: `B`, `KB`/`MB`/`GB`/`TB` (powers of 1000, SI) or `KiB`/`MiB`/`GiB`/`TiB`
/// (powers of 1024); a bare number is bytes. Units are case-insensitive; decimals take '.'.
pub fn parse_size(text: &str) -> Result<u64, String> {
    let t = text.trim();
    let split = t.find(|c: char| c.is_ascii_alphabetic()).unwrap_or(t.len());
    let (number, unit) = (t[..split].trim(), &t[split..]);
    let factor: f64 = match unit.to_ascii_lowercase().as_str() {
        "" | "b" => 1.0,
        "kb" => 1e3,
        "mb" => 1e6,
        "gb" => 1e9,
        "tb" => 1e12,
        "kib" => 1024.0,
        "mib" => 1024.0 * 1024.0,
        "gib" => 1024.0 * 1024.0 * 1024.0,
        "tib" => 1024.0 * 1024.0 * 1024.0 * 1024.0,
        _ => {
            return Err(format!(
                "size {text:?}: unknown unit {unit:?} (use B, KB, MB, GB, TB, KiB, MiB, GiB or TiB)"
            ))
        }
    };
    let plain = !number.is_empty()
        && number.chars().all(|c| c.is_ascii_digit() || c == '.')
        && number.chars().any(|c| c.is_ascii_digit());
    match number.parse::<f64>() {
        Ok(n) if plain && n.is_finite() && n * factor < u64::MAX as f64 => {
            Ok((n * factor).round() as u64)
        }
        _ => Err(format!(
            "size {text:?} is not a number with a unit (e.g. 1MB, 500KiB)"
        )),
    }
}

/// `--type full|incremental`, or every type (`all`, or empty: a Zabbix key without its
/// parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TypeFilter(pub Option<BackupType>);

impl std::str::FromStr for TypeFilter {
    type Err = TypeFilterError;
    fn from_str(s: &str) -> Result<TypeFilter, TypeFilterError> {
        match s.trim() {
            "" | "all" => Ok(TypeFilter(None)),
            other => other
                .parse::<BackupType>()
                .map(|k| TypeFilter(Some(k)))
                .map_err(TypeFilterError),
        }
    }
}

/// A `--type` that is neither a backup type nor `all`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0} (or all)")]
pub struct TypeFilterError(pub BackupTypeError);

/// How each observation maps to a state.
#[derive(Debug, Clone, PartialEq)]
pub struct BackupPolicy {
    /// `--type`; `None` = all types.
    pub kind: Option<BackupType>,
    /// Ranges on the newest complete backup's age in seconds.
    pub age: Thresholds,
    /// Smallest acceptable size of the newest complete backup, in bytes.
    pub min_size: Option<u64>,
    pub too_small: Status,
    pub no_backup: Status,
    pub failed_attempt: Status,
    pub chain_broken: Status,
    /// `--verified-within`: a successful verification must have finished within this long.
    pub verified_within: Option<std::time::Duration>,
    /// The state when it has not, or when the newest verification failed.
    pub unverified: Status,
}

impl Default for BackupPolicy {
    fn default() -> BackupPolicy {
        BackupPolicy {
            kind: None,
            age: Thresholds::new(
                parse_age_range(DEFAULT_WARNING).ok(),
                parse_age_range(DEFAULT_CRITICAL).ok(),
            ),
            min_size: None,
            too_small: Status::Warning,
            no_backup: Status::Critical,
            failed_attempt: Status::Warning,
            chain_broken: Status::Critical,
            verified_within: None,
            unverified: Status::Critical,
        }
    }
}

pub use crate::unix_time::human_age;

/// A size for people, in SI units as `--min-size` reads them: `812 B`, `45.2 MB`.
pub fn human_size(bytes: u64) -> String {
    const UNITS: [&str; 5] = ["B", "KB", "MB", "GB", "TB"];
    let mut value = bytes as f64;
    let mut unit = 0;
    while value >= 1000.0 && unit + 1 < UNITS.len() {
        value /= 1000.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{bytes} B")
    } else {
        format!("{value:.1} {}", UNITS[unit])
    }
}

fn kind_word(kind: Option<BackupType>) -> &'static str {
    kind.map_or("", BackupType::as_str)
}

/// `full backup`, `incremental backup`, or `backup` for all types.
fn noun(kind: Option<BackupType>) -> String {
    match kind {
        Some(k) => format!("{k} backup"),
        None => "backup".to_string(),
    }
}

fn file_name(path: &Path) -> String {
    path.file_name().map_or_else(
        || path.display().to_string(),
        |n| n.to_string_lossy().into_owned(),
    )
}

fn roots_text(summary: &BackupSummary) -> String {
    let roots: Vec<String> = summary
        .roots
        .iter()
        .map(|r| r.display().to_string())
        .collect();
    roots.join(", ")
}

/// Judges the newest complete backup: age and size.
fn judge_newest(newest: &SuccessSummary, policy: &BackupPolicy, findings: &mut Vec<Finding>) {
    let age_state = policy.age.evaluate(newest.age_seconds);
    let size = newest.size_bytes.map_or("size unknown".into(), human_size);
    let text = format!(
        "newest {} {} is {} old, {size}",
        newest.kind,
        file_name(&newest.path),
        human_age(newest.age_seconds)
    );
    findings.push(Finding::new(age_state, text));
    if let Some(min) = policy.min_size {
        match newest.size_bytes {
            Some(bytes) if bytes < min => findings.push(Finding::new(
                policy.too_small,
                format!(
                    "newest {} {} is smaller than --min-size {} ({})",
                    newest.kind,
                    file_name(&newest.path),
                    human_size(min),
                    human_size(bytes)
                ),
            )),
            Some(_) => {}
            None => findings.push(Finding::new(
                Status::Unknown,
                format!(
                    "the size of {} cannot be told (--min-size)",
                    newest.path.display()
                ),
            )),
        }
    }
}

/// Judges a reading for `policy.kind`.
pub fn judge(reading: &BackupReading, policy: &BackupPolicy) -> CheckResult {
    let judged = reading.of(policy.kind);
    let mut findings: Vec<Finding> = Vec::new();
    // Whether each finding rests on positive evidence (kept as it is when something could
    // not be read) or on something not being there.
    let mut certain: Vec<bool> = Vec::new();
    fn push(findings: &mut Vec<Finding>, certain: &mut Vec<bool>, f: Finding, sure: bool) {
        findings.push(f);
        certain.push(sure);
    }

    for e in &judged.errors {
        push(
            &mut findings,
            &mut certain,
            Finding::new(Status::Unknown, e.to_string()),
            true,
        );
    }

    match &judged.newest_success {
        None => {
            let failed = if judged.failed_count > 0 {
                format!(" ({} failed)", judged.failed_count)
            } else {
                String::new()
            };
            push(
                &mut findings,
                &mut certain,
                Finding::new(
                    policy.no_backup,
                    format!(
                        "no complete {} in {}{failed}",
                        noun(policy.kind),
                        roots_text(judged)
                    ),
                ),
                false,
            );
        }
        Some(newest) => {
            let mut own = Vec::new();
            judge_newest(newest, policy, &mut own);
            for f in own {
                push(&mut findings, &mut certain, f, false);
            }
        }
    }

    // The newest attempt of the type asked for, or of each type.
    let attempts: Vec<&BackupSummary> = match policy.kind {
        Some(_) => vec![judged],
        None => vec![&reading.full, &reading.incremental],
    };
    for s in attempts {
        if let Some(failed) = &s.newest_attempt_failed {
            push(
                &mut findings,
                &mut certain,
                Finding::new(
                    policy.failed_attempt,
                    format!(
                        "newest {} attempt {} failed: {}",
                        failed.kind,
                        failed.path.display(),
                        failed.failure
                    ),
                ),
                false,
            );
        }
    }

    for b in &judged.chain_breaks {
        push(
            &mut findings,
            &mut certain,
            Finding::new(policy.chain_broken, format!("chain broken: {b}")),
            b.reason == BreakReason::LsnGap,
        );
    }

    if let Some(within) = policy.verified_within {
        for (f, sure) in judge_verified(judged, within, policy) {
            push(&mut findings, &mut certain, f, sure);
        }
    }

    if judged.in_progress_count > 0 {
        push(
            &mut findings,
            &mut certain,
            Finding::new(
                Status::Ok,
                format!("{} backup(s) being written now", judged.in_progress_count),
            ),
            true,
        );
    }

    if !judged.errors.is_empty() {
        for (f, sure) in findings.iter_mut().zip(&certain) {
            if !sure && matches!(f.status, Status::Warning | Status::Critical) {
                f.status = Status::Unknown;
                f.text
                    .push_str(" (not certain: a directory could not be read)");
            }
        }
    }

    let mut result = CheckResult::from_findings(SERVICE, &findings);
    if let Some(newest) = &judged.newest_success {
        result.verbose_details.push(format!(
            "newest {}: {} (time from the {})",
            newest.kind,
            newest.path.display(),
            newest.time_source
        ));
    }
    result.verbose_details.push(format!(
        "{} complete, {} failed, {} in progress under {}",
        judged.count,
        judged.failed_count,
        judged.in_progress_count,
        roots_text(judged)
    ));

    result.perfdata = perfdata(reading, policy);
    result.values = values(reading, policy);
    result
}

/// `--verified-within`: the newest verification must not have failed (positive evidence, so
/// certain), and a successful one must have finished within `within`.
fn judge_verified(
    judged: &BackupSummary,
    within: std::time::Duration,
    policy: &BackupPolicy,
) -> Vec<(Finding, bool)> {
    let mut out = Vec::new();
    let noun = noun(policy.kind);
    if let Some(last) = judged.last_verification.as_ref().filter(|v| !v.success) {
        let step = last
            .step
            .map_or_else(String::new, |s| format!(" at step {}", s.as_str()));
        let table = last
            .table
            .as_deref()
            .map_or_else(String::new, |t| format!(", table {t}"));
        let error = last
            .error
            .as_deref()
            .unwrap_or("")
            .lines()
            .next()
            .unwrap_or("");
        out.push((
            Finding::new(
                policy.unverified,
                format!(
                    "the newest verification of {} failed{step}{table}: {error}",
                    last.backup.display()
                ),
            ),
            true,
        ));
    }
    let limit = human_age(within.as_secs_f64());
    match judged.last_verified_age_seconds {
        None => out.push((
            Finding::new(
                policy.unverified,
                format!("no {noun} verified to restore (quorate backup verify; --verified-within {limit})"),
            ),
            false,
        )),
        Some(age) => {
            let text = format!("last verified restore {} ago", human_age(age));
            if age > within.as_secs_f64() {
                out.push((
                    Finding::new(policy.unverified, format!("{text} (--verified-within {limit})")),
                    false,
                ));
            } else {
                out.push((Finding::new(Status::Ok, text), true));
            }
        }
    }
    out
}

fn age_of(s: &BackupSummary) -> Option<f64> {
    s.newest_success.as_ref().map(|n| n.age_seconds.round())
}

fn size_of(s: &BackupSummary) -> Option<f64> {
    s.newest_success
        .as_ref()
        .and_then(|n| n.size_bytes)
        .map(|b| b as f64)
}

fn perfdata(reading: &BackupReading, policy: &BackupPolicy) -> Vec<PerfDatum> {
    let judged = reading.of(policy.kind);
    let min_size = policy
        .min_size
        .map(|m| Range::from_bounds(Some(m as f64), None, false));
    let size_thresholds = match policy.too_small {
        Status::Critical => Thresholds::new(None, min_size),
        Status::Warning => Thresholds::new(min_size, None),
        _ => Thresholds::default(),
    };
    let mut perf = vec![
        PerfDatum::new("age", age_of(judged))
            .uom(Uom::Seconds)
            .thresholds(&policy.age),
        PerfDatum::new("size", size_of(judged))
            .uom(Uom::Bytes)
            .thresholds(&size_thresholds)
            .min(0.0),
        PerfDatum::new("count", Some(judged.count as f64)).min(0.0),
        PerfDatum::new("failed", Some(judged.failed_count as f64)).min(0.0),
        PerfDatum::new("chain_breaks", Some(judged.chain_breaks.len() as f64)).min(0.0),
    ];
    if policy.kind.is_none() {
        for (kind, s) in [
            ("full", &reading.full),
            ("incremental", &reading.incremental),
        ] {
            perf.push(PerfDatum::new(format!("{kind}_age"), age_of(s)).uom(Uom::Seconds));
            perf.push(
                PerfDatum::new(format!("{kind}_size"), size_of(s))
                    .uom(Uom::Bytes)
                    .min(0.0),
            );
        }
    }
    perf
}

/// Whole numbers as JSON integers (Zabbix UNSIGNED items refuse `3600.0`).
fn opt_f64(v: Option<f64>) -> Value {
    v.map_or(Value::Null, |v| {
        if v.fract() == 0.0 && v.abs() < 9e15 {
            Value::from(v as i64)
        } else {
            Value::from(v)
        }
    })
}

fn values(reading: &BackupReading, policy: &BackupPolicy) -> Map<String, Value> {
    let judged = reading.of(policy.kind);
    let mut v = Map::new();
    v.insert("type".into(), Value::from(kind_word(policy.kind)));
    v.insert("age".into(), opt_f64(age_of(judged)));
    v.insert("size".into(), opt_f64(size_of(judged)));
    v.insert(
        "newest".into(),
        judged
            .newest_success
            .as_ref()
            .map_or(Value::Null, |n| Value::from(n.path.display().to_string())),
    );
    v.insert("count".into(), Value::from(judged.count));
    v.insert("failed_count".into(), Value::from(judged.failed_count));
    v.insert("in_progress".into(), Value::from(judged.in_progress_count));
    let attempt_failed = match policy.kind {
        Some(_) => judged.newest_attempt_failed.is_some(),
        None => {
            reading.full.newest_attempt_failed.is_some()
                || reading.incremental.newest_attempt_failed.is_some()
        }
    };
    v.insert(
        "last_attempt_failed".into(),
        Value::from(u8::from(attempt_failed)),
    );
    v.insert(
        "chain_intact".into(),
        Value::from(u8::from(judged.chain_breaks.is_empty())),
    );
    v.insert(
        "chain_breaks".into(),
        Value::from(judged.chain_breaks.len()),
    );
    v.insert("scan_errors".into(), Value::from(judged.errors.len()));
    for (kind, s) in [
        ("full", &reading.full),
        ("incremental", &reading.incremental),
    ] {
        v.insert(format!("{kind}_age"), opt_f64(age_of(s)));
        v.insert(format!("{kind}_size"), opt_f64(size_of(s)));
        v.insert(format!("{kind}_count"), Value::from(s.count));
    }
    v
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::testing::{at, backup, report, scanned};
    use crate::backup::{Failure, ScanError, Status as BackupStatus};

    const HOUR: u64 = 3600;
    const NOW: u64 = 100 * 86_400;

    /// A full ending `full_age` hours before NOW (LSNs 0..100) and an incremental on it ending
    /// `inc_age` hours before NOW (100..200), 5 MB each.
    fn pair(full_age: u64, inc_age: u64) -> Vec<crate::backup::Backup> {
        let mut full = backup(
            "/b/full/backup_1",
            BackupType::Full,
            NOW - full_age * HOUR,
            BackupStatus::Complete,
            (0, 100),
        );
        full.measured_size = Some(5_000_000);
        let mut inc = backup(
            "/b/incremental/incremental_1",
            BackupType::Incremental,
            NOW - inc_age * HOUR,
            BackupStatus::Complete,
            (100, 200),
        );
        inc.measured_size = Some(5_000_000);
        vec![full, inc]
    }

    fn judge_backups(backups: Vec<crate::backup::Backup>, policy: &BackupPolicy) -> CheckResult {
        let reading = BackupReading::from_scan(&scanned(report(backups)), at(NOW));
        judge(&reading, policy)
    }

    fn with_type(kind: BackupType) -> BackupPolicy {
        BackupPolicy {
            kind: Some(kind),
            ..BackupPolicy::default()
        }
    }

    #[test]
    fn verified_within_needs_a_recent_successful_verification() {
        use crate::backup::testing::verification;
        let policy = BackupPolicy {
            verified_within: Some(std::time::Duration::from_secs(8 * 24 * HOUR)),
            ..BackupPolicy::default()
        };
        let judge_with = |records: Vec<crate::backup::verify::VerifyRecord>| {
            let mut snapshot = report(pair(2, 1));
            snapshot.verifications = records;
            judge(
                &BackupReading::from_scan(&scanned(snapshot), at(NOW)),
                &policy,
            )
        };
        let full = "/b/full/backup_1";
        let r = judge_with(Vec::new());
        assert_eq!(r.status, Status::Critical, "{r:?}");
        assert!(
            r.summary.contains("no backup verified to restore"),
            "{}",
            r.summary
        );
        let day = |d: u64| (NOW - d * 24 * HOUR) as i64;
        let r = judge_with(vec![verification(full, BackupType::Full, day(1), true)]);
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let r = judge_with(vec![verification(full, BackupType::Full, day(10), true)]);
        assert_eq!(r.status, Status::Critical, "{r:?}");
        assert!(r.summary.contains("--verified-within 8d"), "{}", r.summary);
        // The newest verification failed: named with its table, even with an older success.
        let r = judge_with(vec![
            verification(full, BackupType::Full, day(3), true),
            verification(full, BackupType::Full, day(1), false),
        ]);
        assert_eq!(r.status, Status::Critical, "{r:?}");
        assert!(
            r.summary
                .contains("failed at step check, table db.t: CHECK TABLE: Corrupt"),
            "{}",
            r.summary
        );
        // Without --verified-within nothing about verification is judged.
        let plain = judge(
            &BackupReading::from_scan(&scanned(report(pair(2, 1))), at(NOW)),
            &BackupPolicy::default(),
        );
        assert_eq!(plain.status, Status::Ok);
    }

    #[test]
    fn fresh_backups_are_ok_with_perfdata_in_seconds_and_bytes() {
        let r = judge_backups(pair(2, 1), &BackupPolicy::default());
        assert_eq!(r.status, Status::Ok, "{r:?}");
        let text = r.render_plugin(false);
        let first = text.lines().next().unwrap();
        assert!(
            first.contains("age=3600s;93600;180000 size=5000000B;;;0"),
            "{first}"
        );
        assert!(
            first.contains("full_age=7200s full_size=5000000B;;;0 incremental_age=3600s"),
            "{first}"
        );
        assert!(r
            .summary
            .contains("newest incremental incremental_1 is 1h00m old, 5.0 MB"));
        assert_eq!(r.values["full_age"], Value::from(7200));
        assert_eq!(r.values["chain_intact"], Value::from(1));
        assert_eq!(r.values["type"], Value::from(""));
        for item in ZABBIX_ITEMS {
            assert!(r.values.contains_key(*item), "{item}");
        }
    }

    #[test]
    fn age_ranges_are_judged_critical_first() {
        let full = with_type(BackupType::Full);
        let at_age = |h| judge_backups(pair(h, 1), &full).status;
        assert_eq!(at_age(26), Status::Ok, "the bound is inclusive");
        assert_eq!(at_age(27), Status::Warning);
        assert_eq!(at_age(50), Status::Warning);
        assert_eq!(at_age(51), Status::Critical);
        let r = judge_backups(pair(30, 1), &full);
        assert!(r.summary.starts_with("newest full backup_1 is 1d06h old"));
        // Per type, only that type's perfdata.
        let first = r.render_plugin(false);
        assert!(first.contains("age=108000s;93600;180000"), "{first}");
        assert!(!first.contains("incremental_age"), "{first}");
        // Without --type the newest of any type is judged: a fresh incremental is enough.
        assert_eq!(
            judge_backups(pair(60, 1), &BackupPolicy::default()).status,
            Status::Ok
        );
        // Custom ranges with @ and units.
        let inside = BackupPolicy {
            age: Thresholds::new(None, parse_age_range("@0:10m").ok()),
            ..full
        };
        assert_eq!(judge_backups(pair(0, 0), &inside).status, Status::Critical);
    }

    #[test]
    fn nothing_on_disk_is_critical_naming_the_roots() {
        let r = judge_backups(Vec::new(), &BackupPolicy::default());
        assert_eq!(r.status, Status::Critical);
        assert_eq!(r.summary, "no complete backup in /b");
        assert!(r.render_plugin(false).contains("age=U;93600;180000"));
        // Only fulls on disk, incrementals asked for.
        let mut only_full = pair(1, 1);
        only_full.pop();
        let r = judge_backups(only_full, &with_type(BackupType::Incremental));
        assert_eq!(r.status, Status::Critical);
        assert!(r.summary.contains("no complete incremental backup"));
        let soft = BackupPolicy {
            no_backup: Status::Warning,
            ..BackupPolicy::default()
        };
        assert_eq!(judge_backups(Vec::new(), &soft).status, Status::Warning);
    }

    #[test]
    fn a_failed_newest_attempt_warns_per_type() {
        let mut backups = pair(3, 1);
        backups.push(backup(
            "/b/full/backup_2",
            BackupType::Full,
            NOW - HOUR / 2,
            BackupStatus::Failed(Failure::NoCheckpoints),
            (0, 0),
        ));
        let r = judge_backups(backups.clone(), &BackupPolicy::default());
        assert_eq!(r.status, Status::Warning);
        assert!(r
            .summary
            .contains("newest full attempt /b/full/backup_2 failed"));
        assert_eq!(r.values["last_attempt_failed"], Value::from(1));
        // The incremental check does not see the full's failure.
        let r = judge_backups(backups.clone(), &with_type(BackupType::Incremental));
        assert_eq!(r.status, Status::Ok, "{}", r.summary);
        // Never the newest success: the age is the older complete full's.
        let r = judge_backups(backups, &with_type(BackupType::Full));
        assert_eq!(r.values["age"], Value::from(3 * HOUR));
        assert_eq!(r.values["failed_count"], Value::from(1));
    }

    #[test]
    fn a_broken_chain_is_critical_and_names_the_gap() {
        let mut backups = pair(3, 1);
        backups[1].from_lsn = Some(150);
        let r = judge_backups(backups.clone(), &BackupPolicy::default());
        assert_eq!(r.status, Status::Critical);
        assert!(r
            .summary
            .contains("chain broken: incremental /b/incremental/incremental_1 starts at LSN 150"));
        assert!(r.render_plugin(false).contains("chain_breaks=1;;;0"));
        assert_eq!(r.values["chain_intact"], Value::from(0));
        // Breaks belong to incrementals: a full-only check does not report them.
        assert_eq!(
            judge_backups(backups, &with_type(BackupType::Full)).status,
            Status::Ok
        );
    }

    #[test]
    fn min_size_warns_by_default_or_as_configured() {
        let policy = BackupPolicy {
            min_size: Some(parse_size("10MB").unwrap()),
            ..with_type(BackupType::Full)
        };
        let r = judge_backups(pair(1, 1), &policy);
        assert_eq!(r.status, Status::Warning);
        assert!(r
            .summary
            .contains("smaller than --min-size 10.0 MB (5.0 MB)"));
        assert!(r
            .render_plugin(false)
            .contains("size=5000000B;10000000:;;0"));
        let critical = BackupPolicy {
            too_small: Status::Critical,
            ..policy.clone()
        };
        let r = judge_backups(pair(1, 1), &critical);
        assert_eq!(r.status, Status::Critical);
        assert!(r
            .render_plugin(false)
            .contains("size=5000000B;;10000000:;0"));
        let ok = BackupPolicy {
            min_size: Some(5_000_000),
            ..policy.clone()
        };
        assert_eq!(judge_backups(pair(1, 1), &ok).status, Status::Ok);
        // Size unknown with --min-size: UNKNOWN, never taken as fine.
        let mut no_size = pair(1, 1);
        no_size[0].measured_size = None;
        assert_eq!(judge_backups(no_size, &policy).status, Status::Unknown);
    }

    #[test]
    fn unreadable_directories_make_absence_verdicts_unknown() {
        let mut r = report(Vec::new());
        r.errors.push(ScanError {
            path: "/b/incremental".into(),
            message: "cannot read directory: Permission denied (os error 13)".into(),
        });
        let reading = BackupReading::from_scan(&scanned(r), at(NOW));
        let out = judge(&reading, &BackupPolicy::default());
        assert_eq!(out.status, Status::Unknown);
        assert!(
            out.summary
                .starts_with("/b/incremental: cannot read directory: Permission denied"),
            "{}",
            out.summary
        );
        assert_eq!(out.values["scan_errors"], Value::from(1));

        // An LSN gap read on both ends stays CRITICAL.
        let mut backups = pair(3, 1);
        backups[1].from_lsn = Some(150);
        backups[1].declared_base = Some("/b/full/backup_1".into());
        let mut r = report(backups);
        r.errors.push(ScanError {
            path: "/b/other".into(),
            message: "cannot read directory: Not a directory (os error 20)".into(),
        });
        let out = judge(
            &BackupReading::from_scan(&scanned(r), at(NOW)),
            &BackupPolicy::default(),
        );
        assert_eq!(out.status, Status::Critical);
        assert!(out
            .details
            .iter()
            .any(|d| d.starts_with("[UNKNOWN] /b/other: cannot read directory")));
    }

    #[test]
    fn a_running_backup_is_mentioned_and_ok() {
        let mut backups = pair(1, 1);
        backups.push(backup(
            "/b/full/backup_2",
            BackupType::Full,
            NOW,
            BackupStatus::InProgress,
            (0, 0),
        ));
        let r = judge_backups(backups, &BackupPolicy::default());
        assert_eq!(r.status, Status::Ok);
        assert!(r
            .details
            .iter()
            .any(|d| d.contains("1 backup(s) being written now")));
    }

    #[test]
    fn sizes_parse_in_si_and_binary_units() {
        let cases: &[(&str, u64)] = &[
            ("0", 0),
            ("512", 512),
            ("512B", 512),
            ("1KB", 1000),
            ("1kb", 1000),
            ("1KiB", 1024),
            ("1MB", 1_000_000),
            ("1.5MB", 1_500_000),
            ("1MiB", 1_048_576),
            ("2GB", 2_000_000_000),
            ("1GiB", 1_073_741_824),
            ("1TB", 1_000_000_000_000),
            ("1TiB", 1_099_511_627_776),
            (" 10 MB ", 10_000_000),
        ];
        for (text, bytes) in cases {
            assert_eq!(parse_size(text), Ok(*bytes), "{text}");
        }
        for bad in [
            "", "MB", "1XB", "-1MB", "1,5MB", "1e3", "nan", "1 M B", "inf",
        ] {
            assert!(parse_size(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn type_filters_and_human_texts() {
        assert_eq!("full".parse(), Ok(TypeFilter(Some(BackupType::Full))));
        assert_eq!("".parse(), Ok(TypeFilter(None)));
        assert_eq!("all".parse(), Ok(TypeFilter(None)));
        assert!("weekly".parse::<TypeFilter>().is_err());
        assert_eq!(human_age(59.4), "59s");
        assert_eq!(human_age(3599.0), "59m");
        assert_eq!(human_age(3600.0 * 26.0 + 60.0), "1d02h");
        assert_eq!(human_age(3600.0 + 300.0), "1h05m");
        assert_eq!(human_age(-90.0), "1m in the future");
        assert_eq!(human_size(999), "999 B");
        assert_eq!(human_size(45_200_000), "45.2 MB");
    }
}
