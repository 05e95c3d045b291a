//! What a verification restores (pure): the chain of backups to prepare, in order, for one
//! backup of a scan, or why it cannot be restored at all; and where its outcome is recorded.
//!
//! An incremental is restored by preparing its base full and applying every incremental from
//! that full up to it, each on the one before. A link is resolved the way
//! [`chain`](crate::backup::chain) judges it: the declared base when it ends at the
//! incremental's `from_lsn`, else any other complete backup ending there (a full preferred).
//! A link the scan's chain report calls broken refuses the whole plan with that gap.

use std::path::{Path, PathBuf};

use crate::backup::chain::ChainBreak;
use crate::backup::{Backup, BackupSnapshot, BackupType};

/// The hidden directory beside a backup (in its container) that holds verification outcomes.
/// Hidden, so the scanner never takes it for a backup.
pub const RECORD_DIR: &str = ".quorate-verify";

/// Where the outcome of verifying `backup` is recorded: `<container>/.quorate-verify/<name>.json`,
/// beside the backup, never inside it.
pub fn record_path(backup: &Path) -> Option<PathBuf> {
    let name = backup.file_name()?;
    let mut file = name.to_os_string();
    file.push(".json");
    Some(backup.parent()?.join(RECORD_DIR).join(file))
}

/// The backups to prepare, base full first.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The backup being verified (the last of `chain`).
    pub target: PathBuf,
    pub kind: BackupType,
    /// The full first, then each incremental in the order it is applied.
    pub chain: Vec<PathBuf>,
}

/// Why a backup cannot be verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    #[error("{0}: not a backup found by the scan of the backup roots")]
    NotFound(PathBuf),
    #[error("{0}: the backup is not complete (failed or still being written)")]
    Incomplete(PathBuf),
    #[error("{0}: compressed backups (--compress, .qp files) cannot be verified yet")]
    Compressed(PathBuf),
    #[error("{0}: no LSNs in its checkpoints: cannot find its base")]
    NoLsn(PathBuf),
    /// A broken link of the incremental chain, as the chain check words it.
    #[error("chain gap: {0}")]
    ChainGap(ChainBreak),
    #[error("{0}: the incremental chain loops back on itself")]
    Loop(PathBuf),
    #[error("no complete backup under the backup roots")]
    NothingToVerify,
}

/// Free space wanted beyond the chain's size (the redo log and the server's own files grow).
pub const SPACE_MARGIN: f64 = 1.1;

/// The bytes a scratch copy of a chain of `need` bytes wants free, when `free` is less.
pub fn space_shortfall(need: u64, free: u64) -> Option<u64> {
    let want = (need as f64 * SPACE_MARGIN).ceil() as u64;
    (free < want).then_some(want)
}

/// The backup of the chain that `scratch` lies in (or is), if any: the copy must never be
/// made inside a backup. Both sides are expected absolute and resolved.
pub fn scratch_inside<'a>(plan: &'a Plan, scratch: &Path) -> Option<&'a Path> {
    plan.chain
        .iter()
        .map(PathBuf::as_path)
        .find(|b| scratch.starts_with(b))
}

/// The newest complete backup of any type (what `--latest` verifies).
pub fn latest(snapshot: &BackupSnapshot) -> Option<PathBuf> {
    snapshot
        .backups
        .iter()
        .filter(|b| b.is_complete())
        .max_by_key(|b| b.time)
        .map(|b| b.path.clone())
}

/// The chain that restores `target`, from the scan `snapshot`.
pub fn plan(snapshot: &BackupSnapshot, target: &Path) -> Result<Plan, PlanError> {
    let find = |p: &Path| snapshot.backups.iter().find(|b| b.path == p);
    let backup = find(target).ok_or_else(|| PlanError::NotFound(target.to_path_buf()))?;
    let mut chain: Vec<&Backup> = vec![backup];
    let mut current: &Backup = backup;
    loop {
        if !current.is_complete() {
            return Err(PlanError::Incomplete(current.path.clone()));
        }
        if current.compressed {
            return Err(PlanError::Compressed(current.path.clone()));
        }
        if current.kind == BackupType::Full {
            break;
        }
        if let Some(gap) = snapshot
            .chain
            .breaks
            .iter()
            .find(|b| b.backup == current.path)
        {
            return Err(PlanError::ChainGap(gap.clone()));
        }
        let from = current
            .from_lsn
            .ok_or_else(|| PlanError::NoLsn(current.path.clone()))?;
        let base = base_of(snapshot, current, from).ok_or_else(|| {
            PlanError::ChainGap(ChainBreak {
                backup: current.path.clone(),
                from_lsn: from,
                base: current.declared_base.clone(),
                base_to_lsn: None,
                reason: crate::backup::chain::BreakReason::NoBase,
            })
        })?;
        if chain.iter().any(|b| b.path == base.path) {
            return Err(PlanError::Loop(base.path.clone()));
        }
        chain.push(base);
        current = base;
    }
    chain.reverse();
    Ok(Plan {
        target: target.to_path_buf(),
        kind: backup.kind,
        chain: chain.into_iter().map(|b| b.path.clone()).collect(),
    })
}

/// The complete backup an incremental starting at `from` applies on: its declared base if that
/// ends there, else a full ending there, else any other backup ending there.
fn base_of<'a>(snapshot: &'a BackupSnapshot, inc: &Backup, from: u64) -> Option<&'a Backup> {
    let candidates: Vec<&'a Backup> = snapshot
        .backups
        .iter()
        .map(|b| b.as_ref())
        .filter(|b| b.is_complete() && b.path != inc.path && b.to_lsn == Some(from))
        .collect();
    let declared = inc.declared_base.as_deref();
    candidates
        .iter()
        .find(|b| Some(b.path.as_path()) == declared)
        .or_else(|| candidates.iter().find(|b| b.kind == BackupType::Full))
        .or_else(|| candidates.first())
        .copied()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backup::chain::BreakReason;
    use crate::backup::testing::{backup, report};
    use crate::backup::Status;

    fn inc(path: &str, from: u64, to: u64, base: &str) -> Backup {
        let mut b = backup(
            path,
            BackupType::Incremental,
            20,
            Status::Complete,
            (from, to),
        );
        b.declared_base = Some(base.into());
        b
    }

    #[test]
    fn record_lives_beside_the_backup() {
        assert_eq!(
            record_path(Path::new("/b/full/backup_1")),
            Some(PathBuf::from("/b/full/.quorate-verify/backup_1.json"))
        );
    }

    #[test]
    fn full_alone_and_chain_in_order() {
        let full = backup(
            "/b/full/f",
            BackupType::Full,
            10,
            Status::Complete,
            (0, 100),
        );
        let i1 = inc("/b/incremental/i1", 100, 200, "/b/full/f");
        let i2 = inc("/b/incremental/i2", 200, 300, "/b/incremental/i1");
        let snap = report(vec![full, i1, i2]);
        assert_eq!(
            plan(&snap, Path::new("/b/full/f")).unwrap().chain,
            vec![PathBuf::from("/b/full/f")]
        );
        let p = plan(&snap, Path::new("/b/incremental/i2")).unwrap();
        assert_eq!(p.kind, BackupType::Incremental);
        assert_eq!(
            p.chain,
            ["/b/full/f", "/b/incremental/i1", "/b/incremental/i2"]
                .map(PathBuf::from)
                .to_vec()
        );
        assert_eq!(latest(&snap), Some(PathBuf::from("/b/incremental/i2")));
    }

    #[test]
    fn missing_base_is_a_named_gap() {
        let i1 = inc("/b/incremental/i1", 100, 200, "/b/full/gone");
        let snap = report(vec![i1]);
        match plan(&snap, Path::new("/b/incremental/i1")) {
            Err(PlanError::ChainGap(gap)) => {
                assert_eq!(gap.reason, BreakReason::BaseMissing);
                let text = PlanError::ChainGap(gap).to_string();
                assert!(text.contains("/b/full/gone"), "{text}");
                assert!(text.contains("LSN 100"), "{text}");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn space_and_scratch_place() {
        assert_eq!(space_shortfall(1000, 2000), None);
        assert_eq!(space_shortfall(1000, 1099), Some(1100));
        assert_eq!(space_shortfall(0, 0), None);
        let p = Plan {
            target: "/b/incremental/i".into(),
            kind: BackupType::Incremental,
            chain: vec!["/b/full/f".into(), "/b/incremental/i".into()],
        };
        assert_eq!(
            scratch_inside(&p, Path::new("/b/full/f/tmp")),
            Some(Path::new("/b/full/f"))
        );
        assert_eq!(scratch_inside(&p, Path::new("/b/full/fx")), None);
        assert_eq!(scratch_inside(&p, Path::new("/var/tmp")), None);
    }

    #[test]
    fn refusals() {
        let failed = backup(
            "/b/full/x",
            BackupType::Full,
            10,
            Status::Failed(crate::backup::Failure::NoInfo),
            (0, 100),
        );
        let mut packed = backup("/b/full/q", BackupType::Full, 11, Status::Complete, (0, 5));
        packed.compressed = true;
        let snap = report(vec![failed, packed]);
        assert!(matches!(
            plan(&snap, Path::new("/b/full/x")),
            Err(PlanError::Incomplete(_))
        ));
        assert!(matches!(
            plan(&snap, Path::new("/b/full/q")),
            Err(PlanError::Compressed(_))
        ));
        assert!(matches!(
            plan(&snap, Path::new("/nope")),
            Err(PlanError::NotFound(_))
        ));
    }
}
