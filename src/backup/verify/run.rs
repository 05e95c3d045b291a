//! Carrying out a [`Plan`]: a scratch copy of the chain, `mariabackup --prepare`, the
//! throwaway server and its checks; the scratch directory is removed in every case (a guard
//! removes it even on an early return or a panic). The backups themselves are only read: the
//! full is copied (`cp --reflink=auto`: a reflink where the file system can, a copy where not)
//! and every incremental is copied too before it is applied, since `--prepare` writes into its
//! `--incremental-dir`.
//!
//! Copies and prepares run under `nice -n 19` and `ionice -c2 -n7` when those programs exist:
//! a verification must not slow down the database host it runs on.

use std::fs;
use std::os::unix::fs::DirBuilderExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use super::plan::{record_path, scratch_inside, space_shortfall, Plan, PlanError};
use super::record::{
    check_table_failure, quote_ident, sample, table_in_text, to_json, Step, TableChecked,
    VerifyRecord, FORMAT,
};
use super::server::{Programs, Server};
use crate::backup::scan::tree_size;
use crate::backup::BackupType;
use crate::process::{self, Kill, RunFailure};
use crate::unix_time;

/// Bound of each SQL statement of the checks.
const SQL_TIMEOUT: Duration = Duration::from_secs(600);

/// How a verification runs.
#[derive(Debug, Clone)]
pub struct VerifyOptions {
    /// The directory the scratch copy is made in (`<dir>/quorate-verify-<pid>-<name>`).
    pub scratch_dir: PathBuf,
    /// How many tables get `CHECK TABLE` and a row count.
    pub sample: usize,
    /// Bound of each copy and each `--prepare`.
    pub step_timeout: Duration,
    /// How long the throwaway server may take to answer.
    pub start_timeout: Duration,
    pub programs: Programs,
}

/// How a scratch directory's name starts; the pid of the quorate that made it follows.
const SCRATCH_PREFIX: &str = "quorate-verify-";

/// Removes the scratch copies that earlier runs left behind when they were killed (their pid
/// is gone): a SIGKILLed verification cannot clean up after itself.
fn remove_stale(base: &Path) {
    let Ok(entries) = fs::read_dir(base) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(rest) = name.to_str().and_then(|n| n.strip_prefix(SCRATCH_PREFIX)) else {
            continue;
        };
        let pid = rest.split('-').next().and_then(|p| p.parse::<u32>().ok());
        if pid
            .is_some_and(|p| p != std::process::id() && !Path::new(&format!("/proc/{p}")).exists())
        {
            tracing::info!(path = %entry.path().display(), "removing a scratch copy left by a killed run");
            drop(Scratch(entry.path()));
        }
    }
}

/// Removes the scratch directory when dropped.
struct Scratch(PathBuf);

impl Drop for Scratch {
    fn drop(&mut self) {
        if let Err(e) = fs::remove_dir_all(&self.0) {
            if e.kind() != std::io::ErrorKind::NotFound {
                tracing::warn!(path = %self.0.display(), error = %e, "cannot remove the scratch copy");
            }
        }
    }
}

/// A failed step, the table it names (if any) and why.
struct Failed {
    step: Step,
    table: Option<String>,
    error: String,
}

fn failed(step: Step, error: impl Into<String>) -> Failed {
    let error = error.into();
    Failed {
        step,
        table: table_in_text(&error),
        error,
    }
}

/// Verifies the backup of `plan`; the outcome is returned, not yet recorded
/// ([`write_record`]).
pub fn verify(plan: &Plan, options: &VerifyOptions) -> VerifyRecord {
    let started = SystemTime::now();
    let mut checked = Vec::new();
    let mut tables = 0;
    let result = run(plan, options, &mut tables, &mut checked);
    let (step, table, error) = match result {
        Ok(()) => (None, None, None),
        Err(f) => (Some(f.step), f.table, Some(f.error)),
    };
    VerifyRecord {
        format: FORMAT,
        backup: plan.target.clone(),
        kind: plan.kind,
        chain: plan.chain.clone(),
        started: unix_time::to_pair(started).0,
        finished: unix_time::to_pair(SystemTime::now()).0,
        success: error.is_none(),
        step,
        table,
        error,
        tables,
        checked,
    }
}

/// The record of a backup whose plan was refused (a chain gap, an incomplete backup).
pub fn refused(target: &Path, kind: BackupType, error: &PlanError) -> VerifyRecord {
    let now = unix_time::to_pair(SystemTime::now()).0;
    VerifyRecord {
        format: FORMAT,
        backup: target.to_path_buf(),
        kind,
        chain: Vec::new(),
        started: now,
        finished: now,
        success: false,
        step: Some(Step::Plan),
        table: None,
        error: Some(error.to_string()),
        tables: 0,
        checked: Vec::new(),
    }
}

/// Writes `record` beside its backup ([`record_path`]), atomically (a temporary file renamed
/// over the old record). Returns the file written.
pub fn write_record(record: &VerifyRecord) -> std::io::Result<PathBuf> {
    let path = record_path(&record.backup).ok_or_else(|| {
        std::io::Error::other(format!(
            "{}: no directory to record beside",
            record.backup.display()
        ))
    })?;
    let dir = path.parent().unwrap_or(Path::new("."));
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)?;
    let tmp = dir.join(format!(".tmp-{}", std::process::id()));
    fs::write(&tmp, to_json(record))?;
    fs::rename(&tmp, &path)?;
    Ok(path)
}

fn run(
    plan: &Plan,
    options: &VerifyOptions,
    tables: &mut usize,
    checked: &mut Vec<TableChecked>,
) -> Result<(), Failed> {
    let name = plan
        .target
        .file_name()
        .map_or_else(|| "backup".into(), |n| n.to_string_lossy().into_owned());
    let base = fs::canonicalize(&options.scratch_dir).map_err(|e| {
        failed(
            Step::Space,
            format!("scratch directory {}: {e}", options.scratch_dir.display()),
        )
    })?;
    let resolved: Vec<PathBuf> = plan
        .chain
        .iter()
        .map(|b| fs::canonicalize(b).unwrap_or_else(|_| b.clone()))
        .collect();
    let resolved_plan = Plan {
        chain: resolved,
        ..plan.clone()
    };
    if let Some(backup) = scratch_inside(&resolved_plan, &base) {
        return Err(failed(
            Step::Space,
            format!(
                "the scratch directory {} lies inside the backup {}: it must never be written to",
                base.display(),
                backup.display()
            ),
        ));
    }
    remove_stale(&base);
    let dir = base.join(format!("{SCRATCH_PREFIX}{}-{name}", std::process::id()));
    fs::DirBuilder::new()
        .mode(0o700)
        .create(&dir)
        .map_err(|e| failed(Step::Space, format!("cannot create {}: {e}", dir.display())))?;
    let _scratch = Scratch(dir.clone());

    check_space(plan, &dir)?;
    let Some((full, incrementals)) = plan.chain.split_first() else {
        return Err(failed(Step::Plan, "the plan has no backup to restore"));
    };
    let data = dir.join("data");
    copy(full, &data, options)?;
    prepare(&data, None, options)?;
    for inc in incrementals {
        let copy_dir = dir.join("incremental");
        copy(inc, &copy_dir, options)?;
        prepare(&data, Some(&copy_dir), options)?;
        let _ = fs::remove_dir_all(&copy_dir);
    }

    let mut server = Server::start(&options.programs, &data, &dir, options.start_timeout)
        .map_err(|e| failed(Step::Start, e))?;
    let outcome = check(&mut server, options.sample, tables, checked);
    let clean = server.stop();
    outcome?;
    if !clean {
        return Err(failed(
            Step::Stop,
            format!("mariadbd did not shut down cleanly:\n{}", server.log_tail()),
        ));
    }
    Ok(())
}

/// Refuses to start when the scratch file system has less free space than the chain's size
/// (plus a margin).
fn check_space(plan: &Plan, scratch: &Path) -> Result<(), Failed> {
    let mut need = 0u64;
    for b in &plan.chain {
        need = need.saturating_add(
            tree_size(b)
                .map_err(|e| failed(Step::Copy, format!("cannot read {}: {e}", b.display())))?,
        );
    }
    let st = rustix::fs::statvfs(scratch)
        .map_err(|e| failed(Step::Space, format!("statvfs {}: {e}", scratch.display())))?;
    let free = st.f_bavail.saturating_mul(st.f_frsize);
    if let Some(want) = space_shortfall(need, free) {
        return Err(failed(
            Step::Space,
            format!(
                "{} has {free} bytes free; the copy needs about {want} (the chain is {need} bytes)",
                scratch.display()
            ),
        ));
    }
    Ok(())
}

/// `program args…` under `nice -n 19` and `ionice -c2 -n7` where they exist.
fn gentle(program: &Path) -> Command {
    let path = process::search_path();
    let nice = process::find_program_in(&["nice"], &path);
    let ionice = process::find_program_in(&["ionice"], &path);
    let mut prefix: Vec<std::ffi::OsString> = Vec::new();
    if let Some(n) = nice {
        prefix.extend([n.into_os_string(), "-n".into(), "19".into()]);
    }
    if let Some(i) = ionice {
        prefix.extend([
            i.into_os_string(),
            "-c".into(),
            "2".into(),
            "-n".into(),
            "7".into(),
        ]);
    }
    prefix.push(program.as_os_str().to_owned());
    let mut command = Command::new(&prefix[0]);
    command.args(&prefix[1..]);
    command
}

/// Runs a long step, bounded by the step timeout, and words its failure with its output.
fn step(
    mut command: Command,
    step: Step,
    what: &str,
    options: &VerifyOptions,
) -> Result<String, Failed> {
    let outcome = process::run(&mut command, None, options.step_timeout, Kill::Group);
    let done = match outcome {
        Ok(f) | Err(RunFailure::Exit(f)) => f,
        Err(e) => return Err(failed(step, format!("{what}: {e}"))),
    };
    let mut text = String::from_utf8_lossy(&done.stdout).into_owned();
    text.push_str(&String::from_utf8_lossy(&done.stderr));
    if !done.status.success() {
        return Err(failed(
            step,
            format!(
                "{what} exited with {}:\n{}",
                done.status,
                error_lines(&text)
            ),
        ));
    }
    Ok(text)
}

fn copy(from: &Path, to: &Path, options: &VerifyOptions) -> Result<(), Failed> {
    let mut command = gentle(Path::new("cp"));
    command.arg("-a").arg("--reflink=auto").arg(from).arg(to);
    step(
        command,
        Step::Copy,
        &format!("copying {}", from.display()),
        options,
    )
    .map(drop)
}

fn prepare(data: &Path, incremental: Option<&Path>, options: &VerifyOptions) -> Result<(), Failed> {
    let mut command = gentle(&options.programs.mariabackup);
    command
        .arg("--prepare")
        .arg(format!("--target-dir={}", data.display()));
    if let Some(inc) = incremental {
        command.arg(format!("--incremental-dir={}", inc.display()));
    }
    let what = match incremental {
        Some(_) => "mariabackup --prepare --incremental-dir",
        None => "mariabackup --prepare",
    };
    let text = step(command, Step::Prepare, what, options)?;
    if !text.contains("completed OK!") {
        return Err(failed(
            Step::Prepare,
            format!(
                "{what} did not say \"completed OK!\":\n{}",
                error_lines(&text)
            ),
        ));
    }
    Ok(())
}

/// The lines of mariabackup's output that say what went wrong, else its last lines.
fn error_lines(text: &str) -> String {
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("error") || l.contains("corrupt") || l.contains("fail")
        })
        .collect();
    let lines: Vec<&str> = if errors.is_empty() {
        text.lines().collect()
    } else {
        errors
    };
    lines[lines.len().saturating_sub(12)..].join("\n")
}

/// The checks on the running server: every table opens; a sample gets `CHECK TABLE` and a
/// row count.
fn check(
    server: &mut Server,
    sample_size: usize,
    tables: &mut usize,
    checked: &mut Vec<TableChecked>,
) -> Result<(), Failed> {
    let listing = server
        .sql(
            "SELECT table_schema, table_name, IFNULL(engine, ''), table_comment \
             FROM information_schema.tables WHERE table_type = 'BASE TABLE' AND table_schema \
             NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys') \
             ORDER BY table_schema, table_name",
            SQL_TIMEOUT,
        )
        .map_err(|e| failed(Step::Check, format!("listing the tables: {e}")))?;
    *tables = listing.len();
    let mut innodb = Vec::new();
    for row in &listing {
        let [schema, name, engine, comment] = row.as_slice() else {
            continue;
        };
        let table = format!("{schema}.{name}");
        if engine.is_empty() {
            return Err(Failed {
                step: Step::Check,
                table: Some(table.clone()),
                error: format!("table {table} does not open: {comment}"),
            });
        }
        if engine.eq_ignore_ascii_case("InnoDB") {
            innodb.push((schema.clone(), name.clone()));
        }
    }
    for (schema, name) in sample(&innodb, sample_size) {
        let table = format!("{schema}.{name}");
        let quoted = format!("{}.{}", quote_ident(&schema), quote_ident(&name));
        let in_table = |error: String| Failed {
            step: Step::Check,
            table: Some(table.clone()),
            error,
        };
        let rows = match server.sql(&format!("CHECK TABLE {quoted}"), SQL_TIMEOUT) {
            Ok(rows) => rows,
            Err(e) => {
                let died = !server.alive();
                return Err(in_table(if died {
                    format!(
                        "mariadbd died during CHECK TABLE {table}: {e}\n{}",
                        server.log_tail()
                    )
                } else {
                    format!("CHECK TABLE {table}: {e}")
                }));
            }
        };
        if let Some(why) = check_table_failure(&rows) {
            // The server's log says which page and why.
            let log = server.log_lines_about(&format!("{schema}/{name}.ibd"));
            let detail = if log.is_empty() {
                String::new()
            } else {
                format!("\n{}", log.join("\n"))
            };
            return Err(in_table(format!("table {table}: {why}{detail}")));
        }
        let count = server
            .sql(&format!("SELECT COUNT(*) FROM {quoted}"), SQL_TIMEOUT)
            .map_err(|e| in_table(format!("counting the rows of {table}: {e}")))?;
        let rows = count
            .first()
            .and_then(|r| r.first())
            .and_then(|n| n.parse::<u64>().ok())
            .ok_or_else(|| in_table(format!("counting the rows of {table}: no number")))?;
        checked.push(TableChecked { table, rows });
    }
    Ok(())
}

/// Plans and verifies `target` from the scan `snapshot`. A backup whose plan is refused (a
/// chain gap, incomplete, compressed) gets a failed outcome (step `plan`), recorded like any
/// other failure; a path that is no backup of the scan is an error, and nothing is recorded
/// beside it.
pub fn verify_target(
    snapshot: &crate::backup::BackupSnapshot,
    target: &Path,
    options: &VerifyOptions,
) -> Result<VerifyRecord, PlanError> {
    let Some(backup) = snapshot.backups.iter().find(|b| b.path == target) else {
        return Err(PlanError::NotFound(target.to_path_buf()));
    };
    Ok(match super::plan::plan(snapshot, target) {
        Ok(plan) => verify(&plan, options),
        Err(e) => refused(target, backup.kind, &e),
    })
}
