//! `quorate backup verify`: arguments → [`VerifyOptions`] → one scan of the backup roots →
//! [`verify::verify_target`] for each backup → the outcome recorded beside it and printed.

use std::path::{Path, PathBuf};

use anyhow::Context;
use quorate::backup::verify::{self, Programs, VerifyOptions, VerifyRecord};
use quorate::backup::BackupType;

use crate::cli::{BackupVerifyArgs, OutputFormat};
use crate::commands::check::backup_roots;

pub(super) fn run(a: BackupVerifyArgs) -> anyhow::Result<i32> {
    let paths: Vec<PathBuf> = a
        .paths
        .iter()
        .map(|p| std::path::absolute(p).with_context(|| format!("{}", p.display())))
        .collect::<anyhow::Result<_>>()?;
    let (mut roots, tz) = if a.config.is_none() && a.backup_dir.is_empty() && !paths.is_empty() {
        (Vec::new(), jiff::tz::TimeZone::system())
    } else {
        backup_roots(a.config.as_deref(), &a.backup_dir).map_err(anyhow::Error::msg)?
    };
    // A PATH's own root is scanned too, so its chain is found without a configuration.
    roots.extend(paths.iter().filter_map(|p| root_of(p)));
    roots.sort();
    roots.dedup();
    anyhow::ensure!(
        !roots.is_empty(),
        "no backup root: give --backup-dir, a PATH, or a configuration with quorate.backup.directories"
    );
    let options = VerifyOptions {
        scratch_dir: a.scratch_dir.clone(),
        sample: a.sample,
        step_timeout: a.step_timeout,
        start_timeout: a.start_timeout,
        programs: Programs::locate().map_err(anyhow::Error::msg)?,
    };
    let snapshot = quorate::backup::scan_once(&roots, &tz).value;
    for e in &snapshot.errors {
        tracing::warn!("backup scan: {e}");
    }
    let targets = if a.latest {
        vec![verify::latest(&snapshot).ok_or(verify::PlanError::NothingToVerify)?]
    } else {
        paths
    };
    let mut all_ok = true;
    let mut records = Vec::new();
    for target in &targets {
        tracing::info!(backup = %target.display(), "verifying");
        let record = match verify::verify_target(&snapshot, target, &options) {
            Ok(r) => r,
            Err(e) => {
                eprintln!("quorate: {e}");
                all_ok = false;
                continue;
            }
        };
        let written = verify::write_record(&record);
        if let Err(e) = &written {
            tracing::error!(backup = %target.display(), error = %e, "cannot record the outcome");
        }
        all_ok &= record.success && written.is_ok();
        if a.format == OutputFormat::Text {
            print_text(&record, written.as_deref().ok());
        }
        records.push(record);
    }
    if a.format == OutputFormat::Json {
        println!("{}", serde_json::to_string_pretty(&records)?);
    }
    Ok(if all_ok {
        quorate::error::exit::OK
    } else {
        quorate::error::exit::FAILURE
    })
}

/// The backup root a backup directory lies in: `ROOT` for the seed's `ROOT/full/NAME` and
/// `ROOT/incremental/NAME`, else its parent.
fn root_of(path: &Path) -> Option<PathBuf> {
    let parent = path.parent()?;
    let container = parent.file_name().and_then(|n| n.to_str());
    if BackupType::ALL
        .iter()
        .any(|k| Some(k.as_str()) == container)
    {
        parent.parent().map(Path::to_path_buf)
    } else {
        Some(parent.to_path_buf())
    }
}

fn print_text(r: &VerifyRecord, recorded: Option<&Path>) {
    let seconds = r.finished - r.started;
    if r.success {
        let rows: u64 = r.checked.iter().map(|t| t.rows).sum();
        println!(
            "OK {} ({}): restored in {seconds} s; {} tables, {} checked, {rows} rows counted",
            r.backup.display(),
            r.kind,
            r.tables,
            r.checked.len(),
        );
    } else {
        let step = r.step.map_or_else(String::new, |s| {
            format!(
                " at {}",
                serde_json::to_string(&s)
                    .unwrap_or_default()
                    .trim_matches('"')
            )
        });
        println!(
            "FAILED {} ({}){step}{}: {}",
            r.backup.display(),
            r.kind,
            r.table
                .as_deref()
                .map_or_else(String::new, |t| format!(", table {t}")),
            r.error.as_deref().unwrap_or("")
        );
    }
    if r.chain.len() > 1 {
        for b in &r.chain {
            println!("  chain: {}", b.display());
        }
    }
    if let Some(p) = recorded {
        println!("  recorded in {}", p.display());
    }
}
