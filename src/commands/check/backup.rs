//! `quorate check backup`: one synchronous scan of the backup roots, judged by
//! [`quorate::check::backup`]. A hung file system is cut short by the watchdog.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

use quorate::backup::BackupReading;
use quorate::check::backup::{self as backup_check, BackupPolicy};
use quorate::check::{CheckResult, Status, Thresholds};
use quorate::config;

use super::load_settings;
use super::watchdog::{begin, emit, push_time};
use crate::cli::CheckBackupArgs;

/// The backup roots and the zone of mariabackup's local times: --backup-dir (the configuration
/// read only when --config is given), else quorate.backup.directories of the configuration.
pub fn backup_roots(
    config: Option<&Path>,
    backup_dirs: &[PathBuf],
) -> Result<(Vec<PathBuf>, jiff::tz::TimeZone), String> {
    let settings = match (config, backup_dirs.is_empty()) {
        (Some(path), _) => Some(load_settings(path)?),
        (None, true) => Some(load_settings(Path::new(config::DEFAULT_PATH))?),
        (None, false) => None,
    };
    let tz = settings
        .as_ref()
        .map_or_else(jiff::tz::TimeZone::system, |s| {
            quorate::backup::MonitorConfig::from_settings(s).tz
        });
    let roots = match (backup_dirs.is_empty(), &settings) {
        (false, _) => backup_dirs.to_vec(),
        (true, Some(s)) => s.backup_dirs.clone(),
        (true, None) => Vec::new(),
    };
    Ok((roots, tz))
}

/// The verdict's options from the command line.
fn policy(a: &CheckBackupArgs) -> BackupPolicy {
    BackupPolicy {
        kind: a.kind.0,
        age: Thresholds::new(Some(a.warning.clone()), Some(a.critical.clone())),
        min_size: a.min_size,
        too_small: a.too_small,
        no_backup: a.no_backup,
        failed_attempt: a.failed_attempt,
        chain_broken: a.chain_broken,
        verified_within: a.verified_within,
        unverified: a.unverified,
    }
}

pub(super) fn run(a: CheckBackupArgs) -> i32 {
    let service = backup_check::SERVICE;
    let (started, out, _budget) = match begin(&a.common, service) {
        Ok(b) => b,
        Err(code) => return code,
    };
    let (roots, tz) = match backup_roots(a.common.config.as_deref(), &a.backup_dir) {
        Ok(r) => r,
        Err(e) => return emit(&CheckResult::new(service, Status::Unknown, e), &out),
    };
    // The scan is synchronous; a hung file system (a dead NFS mount) is cut short by the
    // watchdog with the -t state.
    let report = quorate::backup::scan_once(&roots, &tz);
    let reading = BackupReading::from_scan(&report, SystemTime::now());
    let mut result = backup_check::judge(&reading, &policy(&a));
    let elapsed = started.elapsed();
    push_time(&mut result, elapsed);
    result.verbose_details.push(format!(
        "scanned {} in {:.1} ms, {} directories read",
        roots
            .iter()
            .map(|r| r.display().to_string())
            .collect::<Vec<_>>()
            .join(", "),
        report.duration.as_secs_f64() * 1000.0,
        report.value.dirs_read
    ));
    emit(&result, &out)
}
