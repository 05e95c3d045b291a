//! Recovering a stopped node's last committed position: `<recover_command> --wsrep-recover
//! --disable-log-error`, whose log (on stderr, as `galera_recovery` reads it) is parsed by
//! [`parse_recover_log`]. Runs only on request, never while mysqld runs on the datadir or an
//! SST is in progress, and its outcome is cached in `<state_dir>/<node>.position.json` with
//! its time and the fingerprint of grastate.dat at that moment: a cached position is only
//! trusted while grastate.dat is unchanged (a start rewrites it).
//!
//! The run does what every start after a crash does anyway (InnoDB crash recovery), takes well
//! under a second on small data, and never touches grastate.dat (checked: same mtime after).

use std::path::Path;
use std::process::{Command, Stdio};

use crate::process::{self, Kill, RunFailure};
use std::time::Duration;

use super::report::{RecoverOutcome, Recovered};
use super::{sys, unix_now, RecoverError};
use crate::config::{NodeRecovery, Settings};
use crate::galera::parse::{parse_recover_log, RecoveredPosition};

/// Bound on one `--wsrep-recover` run (InnoDB crash recovery of a large redo log is slow).
pub const RECOVER_TIMEOUT: Duration = Duration::from_secs(1800);

/// `mtime_ns:len` of grastate.dat, or `None` when it is absent.
pub fn fingerprint(datadir: &Path) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let m = std::fs::metadata(datadir.join("grastate.dat")).ok()?;
    Some(format!(
        "{}:{}",
        m.mtime() as i128 * 1_000_000_000 + m.mtime_nsec() as i128,
        m.len()
    ))
}

/// The cached outcome for `node`, with `fresh` set against the current grastate.dat.
pub fn load_cached(settings: &Settings, node: &str, datadir: Option<&Path>) -> Option<Recovered> {
    let mut rec: Recovered = sys::read_json(
        &settings.recovery.position_cache(node),
        crate::bounded::SMALL_FILE_CAP,
        "cached position",
    )?;
    let now = datadir.and_then(fingerprint);
    // Unchanged grastate.dat, or still none at all (a start always writes one): mysqld has
    // not run on the datadir since the recovery.
    rec.fresh = rec.grastate_fingerprint == now;
    Some(rec)
}

/// The MariaDB controller `node` and its recovery settings (every MariaDB controller has
/// them); an unknown name lists the known ones.
pub(crate) fn local_node<'a>(
    settings: &'a Settings,
    node: &str,
) -> Result<(&'a crate::config::Node, &'a NodeRecovery), RecoverError> {
    let unknown = || RecoverError::UnknownNode {
        node: node.to_string(),
        known: settings
            .galera_nodes()
            .map(|n| n.name.clone())
            .collect::<Vec<_>>()
            .join(", "),
    };
    let n = settings
        .node(node)
        .filter(|n| n.mariadb)
        .ok_or_else(unknown)?;
    let nr = settings.recovery.node(node).ok_or_else(unknown)?;
    Ok((n, nr))
}

/// Runs position recovery on the (stopped) local node `node` and caches the outcome.
pub fn recover(settings: &Settings, node: &str) -> Result<Recovered, RecoverError> {
    let (n, nr) = local_node(settings, node)?;
    let datadir = n
        .datadir
        .as_deref()
        .ok_or_else(|| RecoverError::NoDatadir {
            node: node.to_string(),
        })?;
    let refused = |message: String| RecoverError::Refused {
        node: node.to_string(),
        message,
    };
    sys::require_stopped(
        node,
        datadir,
        nr.pid_file.as_deref(),
        "recover the position (only a stopped node's position can be recovered)",
    )?;
    if datadir.join("sst_in_progress").exists() {
        return Err(refused(format!(
            "{}/sst_in_progress exists: a state transfer is running or was interrupted; the datadir is incomplete",
            datadir.display()
        )));
    }
    let log = run_recover_command(node, &nr.recover_command)?;
    let outcome = match parse_recover_log(&log) {
        RecoveredPosition::Position { uuid, seqno, gtid } => {
            RecoverOutcome::Position { uuid, seqno, gtid }
        }
        RecoveredPosition::PreparedTransactions(count) => {
            RecoverOutcome::PreparedTransactions { count }
        }
        RecoveredPosition::Disabled => RecoverOutcome::Disabled,
        RecoveredPosition::GivenAtStartup { .. } | RecoveredPosition::NotFound => {
            RecoverOutcome::Failed {
                log_tail: tail(&log, 8),
            }
        }
    };
    let rec = Recovered {
        at: unix_now(),
        grastate_fingerprint: fingerprint(datadir),
        fresh: true,
        outcome,
    };
    save(settings, node, &rec)?;
    Ok(rec)
}

fn save(settings: &Settings, node: &str, rec: &Recovered) -> Result<(), RecoverError> {
    let text = serde_json::to_vec_pretty(rec).unwrap_or_default();
    sys::write_durably(
        &settings.recovery.state_dir,
        &settings.recovery.position_cache(node),
        &text,
    )
}

/// Runs the command with `--wsrep-recover --disable-log-error` appended; returns its stderr
/// (where the server log goes) followed by its stdout.
fn run_recover_command(node: &str, argv: &[String]) -> Result<Vec<u8>, RecoverError> {
    let mut full = argv.to_vec();
    full.push("--wsrep-recover".into());
    full.push("--disable-log-error".into());
    run_checked(node, &full, None, RECOVER_TIMEOUT)
}

/// How recovery reports a command of `node` that failed: `status` (what ended it) and
/// `output` (why, or the tail of what it printed).
fn command_failed<'a>(
    node: &'a str,
    argv: &'a [String],
) -> impl Fn(String, String) -> RecoverError + 'a {
    move |status, output| RecoverError::Command {
        node: node.to_string(),
        command: argv.join(" "),
        status,
        output,
    }
}

/// A command's stderr (where the server log goes) followed by its stdout.
fn log_of(mut stderr: Vec<u8>, stdout: &[u8]) -> Vec<u8> {
    stderr.extend_from_slice(stdout);
    stderr
}

/// Runs `argv` (no shell) with `stdin` fed in, bounded by `timeout`, through
/// [`process::run_checked`]; fails (with the output's tail) unless the command exits 0, as a
/// [`RecoverError::Command`] naming the node. Returns stderr followed by stdout.
pub(crate) fn run_checked(
    node: &str,
    argv: &[String],
    stdin: Option<&[u8]>,
    timeout: Duration,
) -> Result<Vec<u8>, RecoverError> {
    let failed = command_failed(node, argv);
    let not_finished = |why: String| failed("not finished".into(), why);
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| not_finished("empty command".into()))?;
    let stdin = stdin.map(<[u8]>::to_vec);
    let log = |done: process::Finished| log_of(done.stderr, &done.stdout);
    match process::run_checked(
        Command::new(program).args(args),
        stdin,
        timeout,
        Kill::Child,
    ) {
        Ok(done) => Ok(log(done)),
        Err(RunFailure::Exit(done)) => {
            let status = done.status.to_string();
            Err(failed(status, tail(&log(done), 30)))
        }
        Err(RunFailure::Spawn(e)) => Err(not_finished(format!("cannot run {program}: {e}"))),
        Err(RunFailure::TimedOut(t)) => Err(not_finished(format!(
            "{program} did not finish within {t:?}"
        ))),
        Err(RunFailure::Wait(e)) => Err(not_finished(format!("waiting for {program}: {e}"))),
        Err(e @ RunFailure::TooLarge { .. }) => Err(not_finished(format!("{program}: {e}"))),
    }
}

/// The last `n` lines of `bytes`.
pub(crate) fn tail(bytes: &[u8], n: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Grace between SIGTERM and SIGKILL for a start/bootstrap command's process group: enough
/// for a script's clean-up trap (`galera_new_cluster` removes its `--wsrep-new-cluster` flag).
pub(crate) const GROUP_GRACE: Duration = Duration::from_secs(10);

/// Runs a node's start or bootstrap command as the leader of its own process group, bounded
/// by `timeout`, ending the whole group (SIGTERM, [`GROUP_GRACE`], SIGKILL) on a timeout or
/// when `interrupt` is set to a signal number. Fails unless it exits 0, naming the node, the
/// command, what stopped it and how the group was ended.
pub(crate) fn run_start_command(
    node: &str,
    argv: &[String],
    timeout: Duration,
    grace: Duration,
    interrupt: &std::sync::atomic::AtomicI32,
) -> Result<Vec<u8>, RecoverError> {
    use std::os::unix::process::CommandExt;
    let failed = command_failed(node, argv);
    let (program, args) = argv
        .split_first()
        .ok_or_else(|| failed("not run".into(), "empty command".into()))?;
    let child = Command::new(program)
        .args(args)
        .env("PATH", process::search_path())
        // Its own group: a Ctrl-C in the operator's terminal reaches quorate only, which then
        // ends the group itself (TERM, grace, KILL) and restores what it changed.
        .process_group(0)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| failed("not run".into(), format!("cannot run {program}: {e}")))?;
    match crate::process::finish_group(
        child,
        None,
        timeout,
        Duration::from_millis(20),
        grace,
        interrupt,
    ) {
        Ok(f) => {
            let log = log_of(f.stderr, &f.stdout);
            if f.status.success() {
                Ok(log)
            } else {
                Err(failed(f.status.to_string(), tail(&log, 30)))
            }
        }
        Err(stopped) => {
            let why = match stopped.why {
                crate::process::Stop::TimedOut => format!("did not finish within {timeout:?}"),
                crate::process::Stop::Interrupted(sig) => {
                    format!("interrupted: quorate received {}", signal_name(sig))
                }
                crate::process::Stop::Wait(e) => format!("waiting for it failed: {e}"),
                crate::process::Stop::TooLarge(stream) => format!(
                    "its output ({stream}) exceeds {} bytes",
                    crate::process::MAX_OUTPUT
                ),
            };
            if !stopped.survivors.is_empty() {
                tracing::error!(node, command = %argv.join(" "), survivors = ?stopped.survivors, "processes of the command's group survived SIGKILL");
            }
            let log = log_of(stopped.stderr, &stopped.stdout);
            Err(failed(format!("{why}; {}", stopped.how), tail(&log, 30)))
        }
    }
}

/// `SIGINT`, `SIGTERM`, or the number.
pub(crate) fn signal_name(sig: i32) -> String {
    match sig {
        libc::SIGINT => "SIGINT".into(),
        libc::SIGTERM => "SIGTERM".into(),
        libc::SIGHUP => "SIGHUP".into(),
        n => format!("signal {n}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_log_of_a_real_recovery_run_parses() {
        // A real `mariadbd <node options> --wsrep-recover` after a crash: the one capture of it,
        // shared with the parser's tests (tests/fixtures/wsrep/README.md).
        let log = include_bytes!("../../tests/fixtures/wsrep/recover/crash.log");
        assert_eq!(
            parse_recover_log(log),
            RecoveredPosition::Position {
                uuid: "08caff5b-e611-11f1-b6a3-f2788dfdebd7".into(),
                seqno: 63356,
                gtid: None
            }
        );
    }

    #[test]
    fn checked_run_words_failures_as_the_recovery_reports_them() {
        let argv = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
        let out = run_checked(
            "node1",
            &argv(&["cat"]),
            Some(b"hello"),
            Duration::from_secs(5),
        )
        .expect("cat");
        assert_eq!(out, b"hello");
        let err = run_checked(
            "node1",
            &argv(&["sleep", "5"]),
            None,
            Duration::from_millis(200),
        )
        .expect_err("timeout")
        .to_string();
        assert!(err.contains("sleep did not finish"), "{err}");
        assert!(err.contains("node1"), "{err}");
        assert!(run_checked(
            "node1",
            &argv(&["/nonexistent/x"]),
            None,
            Duration::from_secs(1)
        )
        .is_err());
        let err = run_checked(
            "node1",
            &argv(&["sh", "-c", "echo oops >&2; exit 2"]),
            None,
            Duration::from_secs(5),
        )
        .expect_err("exit 2")
        .to_string();
        assert!(err.contains("oops"), "{err}");
    }

    #[test]
    fn fingerprint_changes_when_grastate_is_rewritten() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(fingerprint(dir.path()), None);
        std::fs::write(dir.path().join("grastate.dat"), "a").expect("write");
        let a = fingerprint(dir.path());
        std::thread::sleep(Duration::from_millis(20));
        std::fs::write(dir.path().join("grastate.dat"), "ab").expect("write");
        assert_ne!(a, fingerprint(dir.path()));
    }
}
