//! Incremental chain integrity (pure).
//!
//! An incremental backup holds the pages changed since `from_lsn`; it can only be restored on
//! top of a backup whose `to_lsn` is exactly that LSN. A link is intact when:
//!
//! - its declared base (`--incremental-basedir`, else the metadata's `base_backup`) is a
//!   complete backup whose `to_lsn` equals the incremental's `from_lsn`; or
//! - that base is prepared and already ends at or after the incremental's `to_lsn`: the
//!   incremental was applied into it with `--prepare --incremental-dir` (mariabackup then
//!   moves the base's `to_lsn` forward; captured in the fixtures); or
//! - some other complete backup ends at `from_lsn` (the base was moved or copied: the LSN,
//!   not the path, is what a restore needs).
//!
//! Otherwise the link is broken and reported with the gap: which incremental, from which LSN,
//! and what its base ends at (or that the base is missing or itself failed).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use super::{Backup, BackupType};

/// Why a link is broken (the `reason` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BreakReason {
    /// The base exists but ends at another LSN.
    LsnGap,
    /// The declared base is not on disk (deleted by retention, moved away).
    BaseMissing,
    /// The declared base is there but incomplete (failed or still running).
    BaseIncomplete,
    /// No base is declared and no backup ends at `from_lsn`.
    NoBase,
}

impl BreakReason {
    pub fn as_str(self) -> &'static str {
        match self {
            BreakReason::LsnGap => "lsn_gap",
            BreakReason::BaseMissing => "base_missing",
            BreakReason::BaseIncomplete => "base_incomplete",
            BreakReason::NoBase => "no_base",
        }
    }
}

/// One broken link of an incremental chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChainBreak {
    /// The incremental that cannot be restored.
    pub backup: PathBuf,
    /// Where it starts.
    pub from_lsn: u64,
    /// Its declared base; for [`BreakReason::NoBase`] the nearest earlier backup, if any.
    pub base: Option<PathBuf>,
    /// Where that base ends (absent when the base is missing or incomplete).
    pub base_to_lsn: Option<u64>,
    pub reason: BreakReason,
}

impl fmt::Display for ChainBreak {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let inc = self.backup.display();
        let from = self.from_lsn;
        let base = self
            .base
            .as_deref()
            .map_or_else(|| "-".into(), |b| b.display().to_string());
        match (self.reason, self.base_to_lsn) {
            (BreakReason::LsnGap, Some(to)) => write!(
                f,
                "incremental {inc} starts at LSN {from} but its base {base} ends at LSN {to}"
            ),
            (BreakReason::BaseMissing, _) => write!(
                f,
                "incremental {inc} starts at LSN {from}; its base {base} is missing and no backup ends at that LSN"
            ),
            (BreakReason::BaseIncomplete, _) => write!(
                f,
                "incremental {inc} starts at LSN {from}; its base {base} is incomplete"
            ),
            (_, Some(to)) => write!(
                f,
                "incremental {inc} starts at LSN {from}; no backup ends there (nearest earlier: {base} at LSN {to})"
            ),
            (_, None) => write!(
                f,
                "incremental {inc} starts at LSN {from}; no backup ends there"
            ),
        }
    }
}

/// The chain verdict over a set of backups.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChainReport {
    /// Complete incrementals whose link was checked.
    pub incrementals: usize,
    /// Broken links, sorted by the incremental's path.
    pub breaks: Vec<ChainBreak>,
}

impl ChainReport {
    /// No broken link (also true when there is no incremental).
    pub fn intact(&self) -> bool {
        self.breaks.is_empty()
    }
}

/// Checks every complete incremental's link to its base.
pub fn check<'a>(backups: impl IntoIterator<Item = &'a Backup>) -> ChainReport {
    let all: Vec<&Backup> = backups.into_iter().collect();
    let by_path: HashMap<&Path, &Backup> = all.iter().map(|b| (b.path.as_path(), *b)).collect();
    let mut by_to_lsn: HashMap<u64, Vec<&Backup>> = HashMap::new();
    for b in all.iter().filter(|b| b.is_complete()) {
        if let Some(to) = b.to_lsn {
            by_to_lsn.entry(to).or_default().push(b);
        }
    }

    let mut report = ChainReport::default();
    for inc in all
        .iter()
        .filter(|b| b.is_complete() && b.kind == BackupType::Incremental)
    {
        let Some(from) = inc.from_lsn else { continue };
        report.incrementals += 1;
        // Some other complete backup ends where this one starts (an incremental without
        // changes has from_lsn == to_lsn and must not count as its own base).
        let lsn_match = by_to_lsn
            .get(&from)
            .is_some_and(|v| v.iter().any(|b| b.path != inc.path));
        let declared = inc.declared_base.as_deref();
        let broken = match declared.map(|p| (p, by_path.get(p))) {
            Some((_, Some(base))) if base.is_complete() => {
                let applied = base.prepared
                    && base
                        .to_lsn
                        .zip(inc.to_lsn)
                        .is_some_and(|(base_to, inc_to)| base_to >= inc_to);
                (base.to_lsn != Some(from) && !applied && !lsn_match).then(|| ChainBreak {
                    backup: inc.path.clone(),
                    from_lsn: from,
                    base: Some(base.path.clone()),
                    base_to_lsn: base.to_lsn,
                    reason: BreakReason::LsnGap,
                })
            }
            Some((path, Some(_))) => (!lsn_match).then(|| ChainBreak {
                backup: inc.path.clone(),
                from_lsn: from,
                base: Some(path.to_path_buf()),
                base_to_lsn: None,
                reason: BreakReason::BaseIncomplete,
            }),
            Some((path, None)) => (!lsn_match).then(|| ChainBreak {
                backup: inc.path.clone(),
                from_lsn: from,
                base: Some(path.to_path_buf()),
                base_to_lsn: None,
                reason: BreakReason::BaseMissing,
            }),
            None => (!lsn_match).then(|| {
                let nearest = all
                    .iter()
                    .filter(|b| b.is_complete() && b.path != inc.path)
                    .filter_map(|b| b.to_lsn.filter(|to| *to < from).map(|to| (to, *b)))
                    .max_by_key(|(to, _)| *to);
                ChainBreak {
                    backup: inc.path.clone(),
                    from_lsn: from,
                    base: nearest.map(|(_, b)| b.path.clone()),
                    base_to_lsn: nearest.map(|(to, _)| to),
                    reason: BreakReason::NoBase,
                }
            }),
        };
        report.breaks.extend(broken);
    }
    report.breaks.sort_by(|a, b| a.backup.cmp(&b.backup));
    report
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::{testing, Failure, Status};

    fn backup(path: &str, kind: BackupType, from: u64, to: u64, base: Option<&str>) -> Backup {
        let mut b = testing::backup(path, kind, 0, Status::Complete, (from, to));
        b.declared_base = base.map(PathBuf::from);
        b
    }

    fn full(path: &str, to: u64) -> Backup {
        backup(path, BackupType::Full, 0, to, None)
    }

    fn inc(path: &str, from: u64, to: u64, base: Option<&str>) -> Backup {
        backup(path, BackupType::Incremental, from, to, base)
    }

    #[test]
    fn intact_chain_full_inc_inc() {
        let set = [
            full("/b/full/f1", 100),
            inc("/b/inc/i1", 100, 200, Some("/b/full/f1")),
            inc("/b/inc/i2", 200, 300, Some("/b/inc/i1")),
        ];
        let r = check(&set);
        assert_eq!(r.incrementals, 2);
        assert!(r.intact(), "{:?}", r.breaks);
    }

    #[test]
    fn gap_names_the_backup_its_base_and_both_lsns() {
        let set = [
            full("/b/full/f1", 100),
            inc("/b/inc/i1", 100, 200, Some("/b/full/f1")),
            inc("/b/inc/i2", 250, 300, Some("/b/inc/i1")),
        ];
        let r = check(&set);
        assert!(!r.intact());
        assert_eq!(
            r.breaks,
            vec![ChainBreak {
                backup: "/b/inc/i2".into(),
                from_lsn: 250,
                base: Some("/b/inc/i1".into()),
                base_to_lsn: Some(200),
                reason: BreakReason::LsnGap,
            }]
        );
        let text = r.breaks[0].to_string();
        assert!(text.contains("/b/inc/i2") && text.contains("250") && text.contains("200"));
    }

    #[test]
    fn deleted_base_is_missing() {
        let set = [inc("/b/inc/i1", 100, 200, Some("/b/full/gone"))];
        let r = check(&set);
        assert_eq!(r.breaks[0].reason, BreakReason::BaseMissing);
        assert_eq!(r.breaks[0].base, Some("/b/full/gone".into()));
    }

    #[test]
    fn failed_base_is_incomplete() {
        let mut base = full("/b/full/f1", 100);
        base.status = Status::Failed(Failure::NoInfo);
        let set = [base, inc("/b/inc/i1", 100, 200, Some("/b/full/f1"))];
        let r = check(&set);
        assert_eq!(r.breaks[0].reason, BreakReason::BaseIncomplete);
        // A failed incremental is not checked (it is counted as failed elsewhere).
        let mut failed_inc = inc("/b/inc/i9", 5, 6, None);
        failed_inc.status = Status::Failed(Failure::NoCheckpoints);
        assert_eq!(check(&[failed_inc]).incrementals, 0);
    }

    #[test]
    fn moved_base_is_found_by_lsn() {
        let set = [
            full("/elsewhere/f1", 100),
            inc("/b/inc/i1", 100, 200, Some("/b/full/f1")),
        ];
        assert!(check(&set).intact());
    }

    #[test]
    fn undeclared_base_is_found_by_lsn_or_reported_with_the_nearest() {
        let set = [full("/b/full/f1", 100), inc("/b/inc/i1", 100, 200, None)];
        assert!(check(&set).intact());
        let set = [
            full("/b/full/f0", 50),
            full("/b/full/f1", 90),
            inc("/b/inc/i1", 100, 200, None),
        ];
        let r = check(&set);
        assert_eq!(r.breaks[0].reason, BreakReason::NoBase);
        assert_eq!(r.breaks[0].base, Some("/b/full/f1".into()));
        assert_eq!(r.breaks[0].base_to_lsn, Some(90));
    }

    #[test]
    fn an_incremental_without_changes_is_not_its_own_base() {
        let set = [inc("/b/inc/i1", 100, 100, None)];
        assert_eq!(check(&set).breaks[0].reason, BreakReason::NoBase);
    }

    #[test]
    fn incremental_applied_into_its_prepared_base_is_intact() {
        // The captured sequence: prepare the full, apply i1 into it (the full's to_lsn
        // becomes i1's), i2 then links to the full by LSN as well.
        let mut base = full("/b/full/f1", 200);
        base.prepared = true;
        let set = [
            base,
            inc("/b/inc/i1", 100, 200, Some("/b/full/f1")),
            inc("/b/inc/i2", 200, 300, Some("/b/inc/i1")),
        ];
        assert!(check(&set).intact(), "{:?}", check(&set).breaks);
        // The same numbers on an unprepared base are a real gap.
        let set = [
            full("/b/full/f1", 150),
            inc("/b/inc/i1", 100, 200, Some("/b/full/f1")),
        ];
        assert_eq!(check(&set).breaks[0].reason, BreakReason::LsnGap);
    }
}
