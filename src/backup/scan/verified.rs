//! The verification records beside the backups (`<container>/.quorate-verify/*.json`, written
//! by `quorate backup verify`): read after every scan like the other overlays, cached by the
//! records directory's stamp (a record is renamed into place, which changes that stamp), so an
//! unchanged directory costs one `stat`. A directory read within [`RACY_WINDOW`] of its last
//! change is read again next time (its stamp could hide a record landing in the same tick).

use std::collections::{BTreeSet, HashMap};
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::SystemTime;

use super::read::{changed_within, Stamp};
use super::RACY_WINDOW;
use crate::backup::snapshot::ScanError;
use crate::backup::verify::plan::RECORD_DIR;
use crate::backup::verify::record::{self, VerifyRecord, MAX_RECORD_BYTES};
use crate::backup::Backup;

/// One record directory as read: the stamp it was read at (`None`: read again next time), its
/// records and the ones that could not be read.
type ReadDir = (Option<Stamp>, Vec<VerifyRecord>, Vec<ScanError>);

/// Record directories read.
#[derive(Debug, Default)]
pub(super) struct VerifiedCache {
    dirs: HashMap<PathBuf, ReadDir>,
}

impl VerifiedCache {
    /// The records beside `backups` (every container that holds one); `again` re-reads every
    /// directory whatever its stamp. Unreadable records are added to `errors`.
    pub(super) fn refresh(
        &mut self,
        backups: &[Arc<Backup>],
        again: bool,
        errors: &mut Vec<ScanError>,
    ) -> Vec<VerifyRecord> {
        let containers: BTreeSet<&Path> = backups.iter().filter_map(|b| b.path.parent()).collect();
        let mut next = HashMap::new();
        let mut records = Vec::new();
        for container in containers {
            let dir = container.join(RECORD_DIR);
            let Some(stamp) = Stamp::current(&dir) else {
                continue;
            };
            let cached = self.dirs.remove(&dir);
            let entry = match cached {
                Some((Some(old), r, e)) if !again && old == stamp => (Some(old), r, e),
                _ => {
                    let (r, e) = read_records(&dir);
                    let settled = !changed_within([&stamp], SystemTime::now(), RACY_WINDOW);
                    (settled.then_some(stamp), r, e)
                }
            };
            records.extend(entry.1.iter().cloned());
            errors.extend(entry.2.iter().cloned());
            next.insert(dir, entry);
        }
        self.dirs = next;
        records
    }

    /// The record directories found by the last refresh (for the watcher).
    pub(super) fn directories(&self) -> impl Iterator<Item = &Path> {
        self.dirs.keys().map(PathBuf::as_path)
    }
}

/// Every `*.json` record in `dir`, and the ones that could not be read.
fn read_records(dir: &Path) -> (Vec<VerifyRecord>, Vec<ScanError>) {
    let mut records = Vec::new();
    let mut errors = Vec::new();
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) => return (records, vec![ScanError::io(dir, "list", e)]),
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.extension().is_none_or(|e| e != "json") {
            continue;
        }
        let parsed = crate::bounded::read(&path, MAX_RECORD_BYTES)
            .map_err(|e| e.reason())
            .and_then(|bytes| record::parse(&bytes).map_err(|e| e.to_string()));
        match parsed {
            Ok(r) => records.push(r),
            Err(message) => errors.push(ScanError {
                path,
                message: format!("cannot read the verification record: {message}"),
            }),
        }
    }
    records.sort_by(|a, b| a.backup.cmp(&b.backup));
    (records, errors)
}
