//! Backups being written right now: a failed-looking backup directory that a
//! `mariabackup --backup` process on this host is writing is in progress, not failed. Found
//! through `/proc` (command lines and working directories).

use std::collections::HashSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::backup::{parse, record, Backup, Status};

/// Marks failed backups that a mariabackup process on this host is writing as in progress.
pub(super) fn mark_in_progress(backups: &mut [Arc<Backup>]) {
    if !backups.iter().any(|b| b.failure().is_some()) {
        return;
    }
    let targets = running_backup_targets();
    if targets.is_empty() {
        return;
    }
    for b in backups.iter_mut().filter(|b| b.failure().is_some()) {
        let canonical = fs::canonicalize(&b.path).unwrap_or_else(|_| b.path.clone());
        if targets.contains(&canonical) || targets.contains(&b.path) {
            let mut running = (**b).clone();
            running.status = Status::InProgress;
            *b = Arc::new(running);
        }
    }
}

/// Target directories of the `mariabackup --backup` processes running on this host.
pub fn running_backup_targets() -> HashSet<PathBuf> {
    let mut out = HashSet::new();
    let Ok(procs) = fs::read_dir("/proc") else {
        return out;
    };
    for entry in procs.flatten() {
        let name = entry.file_name();
        if !name.to_string_lossy().bytes().all(|b| b.is_ascii_digit()) {
            continue;
        }
        let Ok(cmdline) = fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<String> = cmdline
            .split(|b| *b == 0)
            .filter(|a| !a.is_empty())
            .map(|a| String::from_utf8_lossy(a).into_owned())
            .collect();
        let Some(target) = backup_target(&args) else {
            continue;
        };
        let target = if target.is_relative() {
            match fs::read_link(entry.path().join("cwd")) {
                Ok(cwd) => cwd.join(target),
                Err(_) => continue,
            }
        } else {
            target
        };
        let target = record::normalize(&target);
        out.insert(fs::canonicalize(&target).unwrap_or(target));
    }
    out
}

/// The `--target-dir` of a `mariabackup --backup` command line (argv), if it is one.
pub fn backup_target(args: &[String]) -> Option<PathBuf> {
    let program = Path::new(args.first()?).file_name()?.to_str()?;
    if !matches!(program, "mariabackup" | "mariadb-backup" | "xtrabackup") {
        return None;
    }
    if !args.iter().any(|a| a == "--backup") {
        return None;
    }
    let joined = args[1..].join(" ");
    parse::command_option(&joined, "--target-dir").map(PathBuf::from)
}
