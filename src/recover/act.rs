//! The recovery actions, each on the local node only: `bootstrap`, `rejoin`, `promote` and
//! `position`. Dry-run unless `execute`; when executing, every action
//!
//! 1. gathers and decides (keeping what the decision found apart, see [`apart`]), checks the
//!    decision names this action on this node (and, given `--plan`, that nothing changed since
//!    the plan the operator read),
//! 2. checks that its audit log can be appended to (else it refuses: an action must leave a
//!    line), starts watching SIGINT/SIGTERM, and takes the node's lock (flock; a concurrent
//!    action is refused, not queued; peers see the lock as `action_in_progress`),
//! 3. gathers and decides **again** under the lock: that is the decision it commits to, and it
//!    refuses if anything changed. Because every action takes its own lock *before* this
//!    gather, of two actions on two nodes that see each other the later gather sees the other's
//!    lock (Busy) and refuses,
//! 4. re-reads the local files and probes for a running mysqld right before each change and
//!    right before the start/bootstrap command, acts, waits for the node to be Primary and
//!    Synced,
//! 5. on failure (command failed, timed out, interrupted; node never Primary and Synced)
//!    restores what it changed, where that is still safe, and says what it restored,
//! 6. writes exactly one audit line (evidence, steps, result, restoration), synced; a failed
//!    write fails the command even though the action happened,
//! 7. releases the lock, then gathers and decides once more: the next step of the runbook.
//!
//! Steps 2 to 4 are one list per action, built once from the decision (an `ActionPlan` of
//! guards and steps, each step with the sentence that describes it): the dry run prints that
//! list ("would …") and `--execute` runs that same list in order, so the two cannot drift.
//!
//! State files are never deleted: what is replaced or moved goes to a timestamped directory
//! next to the datadir (`quorate-aside-<node>-<time>`), not inside it, because SST removes
//! unknown entries from the datadir (rsync runs with `--delete`, mariabackup empties it).
//! Every rename is followed by an fsync of the directories involved: a rename is durable only
//! once its directory is synced.

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicI32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde::Serialize;

use super::decide::{decide, Action, Assumptions, ClusterView, Decision, Observed, Verdict};
use super::report::{Live, NodeReport};
use super::transfer::{parse_join_log, Transfer};
use super::{apart, gather, peer, position, sys, unix_now, RecoverError};
use crate::config::{Node, NodeRecovery, Settings};
use crate::galera::client::NodeClient;
use crate::galera::parse::parse_grastate;
use crate::galera::parse::WsrepStatus;

/// What the operator asked.
#[derive(Debug, Clone, Default)]
pub struct ActOptions {
    /// The node this process runs on (actions only ever touch it).
    pub node: String,
    pub assume_lost: BTreeSet<String>,
    /// The digest of the plan the operator read: refuse if the situation is different now.
    pub plan: Option<String>,
    /// Act; otherwise only say what would be done.
    pub execute: bool,
    /// rejoin: move grastate.dat, galera.cache and gvwstate.dat aside first (forces SST).
    pub move_aside: bool,
    /// rejoin: proceed although the node is ahead of the Primary or of another history.
    pub accept_loss: bool,
}

/// What an action did (or would do).
#[derive(Debug, Clone, Serialize)]
pub struct ActReport {
    pub action: String,
    pub node: String,
    pub executed: bool,
    /// Human-readable lines, in order.
    pub done: Vec<String>,
    /// How the node caught up (rejoin).
    pub transfer: Option<Transfer>,
    /// The decision after the action: the next step of the runbook.
    pub next: Option<Decision>,
}

impl ActReport {
    fn new(action: &str, opts: &ActOptions) -> ActReport {
        ActReport {
            action: action.into(),
            node: opts.node.clone(),
            executed: opts.execute,
            done: Vec::new(),
            transfer: None,
            next: None,
        }
    }
}

/// An action refused or failed, with the decision that led there (if any).
#[derive(Debug)]
pub struct ActError {
    pub error: RecoverError,
    pub decision: Option<Box<Decision>>,
}

impl From<RecoverError> for ActError {
    fn from(error: RecoverError) -> Self {
        ActError {
            error,
            decision: None,
        }
    }
}

fn refused(node: &str, message: impl Into<String>, decision: Option<&Decision>) -> ActError {
    ActError {
        error: RecoverError::Refused {
            node: node.to_string(),
            message: message.into(),
        },
        decision: decision.cloned().map(Box::new),
    }
}

async fn plan_now(settings: &Settings, opts: &ActOptions) -> (ClusterView, Decision) {
    let view = gather::gather(settings, Some(&opts.node)).await;
    let assumptions = Assumptions {
        assume_lost: opts.assume_lost.clone(),
    };
    let d = decide(&view, &assumptions);
    apart::keep_findings(settings, Some(&opts.node), &d).await;
    (view, d)
}

fn local_report<'a>(view: &'a ClusterView, node: &str) -> Option<&'a NodeReport> {
    view.nodes
        .iter()
        .find(|n| n.name == node)
        .and_then(|n| match &n.observed {
            Observed::Known(r) => Some(r.as_ref()),
            Observed::Unknown { .. } => None,
        })
}

fn check_plan_digest(opts: &ActOptions, d: &Decision) -> Result<(), ActError> {
    match &opts.plan {
        Some(p) if p != &d.digest => Err(refused(
            &opts.node,
            format!(
                "the situation changed since plan {p} (it is now {}): run `quorate recover plan` again and read it",
                d.digest
            ),
            Some(d),
        )),
        _ => Ok(()),
    }
}

fn take_lock(nr: &NodeRecovery, node: &str, what: &str) -> Result<sys::ActionLock, ActError> {
    match sys::ActionLock::try_acquire(&nr.lock_file, &format!("{what} {node}")) {
        Ok(l) => Ok(l),
        Err(Ok(holder)) => Err(refused(
            node,
            format!("another recovery action is running: {holder}"),
            None,
        )),
        Err(Err(e)) => Err(e.into()),
    }
}

/// Re-decides under the lock and refuses if the decision-relevant evidence moved.
async fn reverify(
    settings: &Settings,
    opts: &ActOptions,
    before: &Decision,
) -> Result<(ClusterView, Decision), ActError> {
    let (view, d) = plan_now(settings, opts).await;
    if d.digest != before.digest {
        return Err(refused(
            &opts.node,
            format!(
                "the situation changed while taking the lock (plan {} is now {}): nothing was done; run `quorate recover plan` again",
                before.digest, d.digest
            ),
            Some(&d),
        ));
    }
    Ok((view, d))
}

/// Plans now and returns the decision if it is `action` (`bootstrap`, `promote`) on this very
/// node, as `target` reads it from the verdict; otherwise refuses, naming the node the plan
/// chose or the verdict it reached. A `--plan` digest must still match.
async fn planned_for_this_node(
    settings: &Settings,
    opts: &ActOptions,
    action: &str,
    target: impl Fn(&Verdict) -> Option<&String>,
) -> Result<Decision, ActError> {
    let (_, d) = plan_now(settings, opts).await;
    check_plan_digest(opts, &d)?;
    let message = match target(&d.verdict) {
        Some(node) if node == &opts.node => return Ok(d),
        Some(node) => format!(
            "the plan {action}s {node}, not this node ({}): run it on {node}",
            opts.node
        ),
        None => format!("the plan does not {action} anything: {}", verdict_line(&d)),
    };
    Err(refused(&opts.node, message, Some(&d)))
}

// ---------------------------------------------------------------------------------------------
// interruption

/// SIGINT/SIGTERM received while an action holds the lock. Once watched, the signals no longer
/// end quorate at once: the action stops the command's process group, restores what it
/// changed, writes its audit line and then fails. (A SIGKILL cannot be handled: the lock is
/// released by the kernel, but nothing is restored and no line is written.)
struct Interrupt {
    /// The first signal received (0: none), read by the blocking command runner.
    signal: Arc<AtomicI32>,
    rx: tokio::sync::watch::Receiver<i32>,
    task: tokio::task::JoinHandle<()>,
}

impl Interrupt {
    fn watch(node: &str) -> Result<Interrupt, RecoverError> {
        use tokio::signal::unix::{signal, SignalKind};
        let cannot = |e: std::io::Error| RecoverError::Refused {
            node: node.to_string(),
            message: format!("cannot watch SIGINT/SIGTERM ({e}): nothing was done"),
        };
        let mut int = signal(SignalKind::interrupt()).map_err(cannot)?;
        let mut term = signal(SignalKind::terminate()).map_err(cannot)?;
        let flag = Arc::new(AtomicI32::new(0));
        let (tx, rx) = tokio::sync::watch::channel(0);
        let first = Arc::clone(&flag);
        let task = tokio::spawn(async move {
            loop {
                let sig = tokio::select! {
                    _ = int.recv() => libc::SIGINT,
                    _ = term.recv() => libc::SIGTERM,
                };
                let _ = first.compare_exchange(0, sig, Ordering::SeqCst, Ordering::SeqCst);
                let _ = tx.send(first.load(Ordering::SeqCst));
                tracing::warn!(
                    signal = %position::signal_name(sig),
                    "stopping the recovery action: ending its command, restoring what it changed, writing the audit line"
                );
            }
        });
        Ok(Interrupt {
            signal: flag,
            rx,
            task,
        })
    }

    fn received(&self) -> Option<i32> {
        match self.signal.load(Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        }
    }

    /// Fails (nothing done at this step) when a signal arrived.
    fn check(&self, node: &str, before: &str) -> Result<(), RecoverError> {
        match self.received() {
            Some(sig) => Err(RecoverError::Refused {
                node: node.to_string(),
                message: format!(
                    "interrupted by {} before it could {before}",
                    position::signal_name(sig)
                ),
            }),
            None => Ok(()),
        }
    }

    /// Resolves when a signal arrives.
    async fn signalled(&self) -> i32 {
        let mut rx = self.rx.clone();
        let sig = rx.wait_for(|s| *s != 0).await.map(|s| *s);
        match sig {
            Ok(s) => s,
            Err(_) => std::future::pending().await,
        }
    }
}

impl Drop for Interrupt {
    fn drop(&mut self) {
        self.task.abort();
    }
}

// ---------------------------------------------------------------------------------------------
// what an action changed, and restoring it

/// Changes an action made to the node's files, in order, so that a failed action can undo
/// them.
#[derive(Default)]
struct Changes {
    edits: Vec<Change>,
    /// The start/bootstrap command that ran (from then on mysqld or a state transfer may have
    /// changed the datadir).
    started: Option<String>,
}

#[derive(Debug)]
enum Change {
    /// grastate.dat rewritten; `original` is also kept in `kept`.
    Grastate {
        path: PathBuf,
        original: Vec<u8>,
        written: Vec<u8>,
        mode: u32,
        uid: u32,
        gid: u32,
        kept: PathBuf,
    },
    /// A state file moved from `from` to `to` (the aside directory).
    Moved { from: PathBuf, to: PathBuf },
}

impl Changes {
    /// Undoes the changes, newest first, each only while it is safe; returns one sentence per
    /// change saying what was restored, or why not and where the original is.
    fn restore(&self, node: &str, datadir: &Path, pid_file: Option<&Path>) -> String {
        if self.edits.is_empty() {
            return "nothing to restore: no file was changed".into();
        }
        let mut out = Vec::new();
        let stopped = sys::require_stopped(node, datadir, pid_file, "restore the state files");
        for change in self.edits.iter().rev() {
            out.push(match change {
                Change::Grastate {
                    path,
                    original,
                    written,
                    mode,
                    uid,
                    gid,
                    kept,
                } => match (&stopped, std::fs::read(path)) {
                    (Err(e), _) => format!(
                        "grastate.dat NOT restored ({e}); the original is kept in {}",
                        kept.display()
                    ),
                    (Ok(()), Ok(now)) if &now != written => format!(
                        "grastate.dat NOT restored: it changed since quorate wrote it (mysqld rewrote it), so it now says more than the original; the original is kept in {}",
                        kept.display()
                    ),
                    (Ok(()), Err(e)) if e.kind() != std::io::ErrorKind::NotFound => format!(
                        "grastate.dat NOT restored: cannot read {} ({e}); the original is kept in {}",
                        path.display(),
                        kept.display()
                    ),
                    (Ok(()), Ok(_) | Err(_)) => {
                        match replace_file(path, original, *mode, *uid, *gid) {
                            Ok(()) => format!(
                                "restored {} to its original content (safe_to_bootstrap as before; a copy stays in {})",
                                path.display(),
                                kept.display()
                            ),
                            Err(e) => format!(
                                "grastate.dat NOT restored ({e}); the original is kept in {}",
                                kept.display()
                            ),
                        }
                    }
                },
                Change::Moved { from, to } => match (&stopped, &self.started) {
                    (Err(e), _) => format!(
                        "{} NOT moved back ({e}); it stays in {}",
                        from.display(),
                        to.display()
                    ),
                    (Ok(()), Some(cmd)) => format!(
                        "{} NOT moved back: `{cmd}` ran and may have changed the datadir (a state transfer replaces it), and an old state file over new data would make it look current; it stays in {}",
                        from.display(),
                        to.display()
                    ),
                    (Ok(()), None) => match move_back(to, from) {
                        Ok(()) => format!("moved {} back from {}", from.display(), to.display()),
                        Err(e) => format!(
                            "{} NOT moved back ({e}); it stays in {}",
                            from.display(),
                            to.display()
                        ),
                    },
                },
            });
        }
        out.join("; ")
    }
}

/// Adds `note` (what was restored) to the error's own message.
fn with_note(error: RecoverError, note: &str) -> RecoverError {
    match error {
        RecoverError::Refused { node, message } => RecoverError::Refused {
            node,
            message: format!("{message}. {note}"),
        },
        RecoverError::Timeout { node, message } => RecoverError::Timeout {
            node,
            message: format!("{message}. {note}"),
        },
        RecoverError::Command {
            node,
            command,
            status,
            output,
        } => RecoverError::Command {
            node,
            command,
            status,
            output: format!("{output}\n{note}"),
        },
        RecoverError::Peer {
            node,
            endpoint,
            message,
        } => RecoverError::Peer {
            node,
            endpoint,
            message: format!("{message}. {note}"),
        },
        RecoverError::Io { what, path, source } => RecoverError::Io {
            what,
            path,
            source: std::io::Error::new(source.kind(), format!("{source}. {note}")),
        },
        other => other,
    }
}

/// Ends an executed action: on failure runs `restore` (what it says goes into the error and
/// the audit line), writes the one audit line, and turns the outcome into the action's
/// result. The lock is still held by the caller.
fn conclude(
    settings: &Settings,
    action: &str,
    opts: &ActOptions,
    d: &Decision,
    result: Result<(), RecoverError>,
    restore: impl FnOnce() -> String,
    report: &mut ActReport,
) -> Result<(), ActError> {
    let restored = match &result {
        Ok(()) => None,
        Err(_) => Some(restore()),
    };
    let written = audit(
        settings,
        action,
        opts,
        d,
        &result,
        &report.done,
        restored.as_deref(),
    );
    let decision = Some(Box::new(d.clone()));
    if let Err(e) = written {
        let outcome = match &result {
            Ok(()) => "it succeeded".to_string(),
            Err(err) => format!("it failed: {err}"),
        };
        let restored = restored.map_or_else(String::new, |r| format!("; {r}"));
        return Err(ActError {
            error: RecoverError::Io {
                what: "the action WAS carried out (see below) but its audit line could not be written to",
                path: settings.recovery.audit_log.clone(),
                source: std::io::Error::new(
                    e.kind(),
                    format!("{e}; {action} on {}: {outcome}{restored}", opts.node),
                ),
            },
            decision,
        });
    }
    report.done.push(format!(
        "audit line written to {}",
        settings.recovery.audit_log.display()
    ));
    result.map_err(|error| ActError {
        error: match &restored {
            Some(r) => with_note(error, r),
            None => error,
        },
        decision,
    })
}

// ---------------------------------------------------------------------------------------------
// the steps of an action, written once

/// The three actions that change the node, each planned as a list of [`Step`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Bootstrap,
    Rejoin,
    Promote,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Bootstrap => "bootstrap",
            Kind::Rejoin => "rejoin",
            Kind::Promote => "promote",
        }
    }
}

/// What an action checks before it changes anything, in this order. A failure refuses the
/// action: nothing was done, so no audit line is written.
#[derive(Debug)]
enum Guard {
    /// The audit log can be appended to (an executed action must leave its line).
    AuditLog(PathBuf),
    /// The node's lock (flock), taken after SIGINT/SIGTERM are watched.
    Lock(PathBuf),
    /// The decision taken again under the lock; [`Kind`] says what must still hold.
    Redecide(Kind),
}

impl Guard {
    fn describe(&self) -> String {
        match self {
            Guard::AuditLog(path) => format!(
                "check that the audit log {} can be appended to",
                path.display()
            ),
            Guard::Lock(path) => format!("take the lock {}", path.display()),
            Guard::Redecide(Kind::Rejoin) => {
                "gather and decide again, and stop unless a Primary still runs and this node's step is still to rejoin it"
                    .into()
            }
            Guard::Redecide(Kind::Bootstrap | Kind::Promote) => {
                "gather and decide again, and stop if anything changed".into()
            }
        }
    }
}

/// One change or wait of an action, run in order under the lock; each first checks that no
/// signal asked to stop.
#[derive(Debug)]
enum Step {
    /// `safe_to_bootstrap: 1` in grastate.dat, if it says 0 (see [`set_safe_to_bootstrap`]).
    SetSafeToBootstrap { datadir: PathBuf },
    /// `--wsrep-recover`, then the decision again: it must still be a rejoin of this node.
    RecoverPosition,
    /// The saved view (and, with `all`, grastate.dat and galera.cache) moved aside.
    MoveAside { datadir: PathBuf, all: bool },
    /// The start or bootstrap command, in its own process group, once no mysqld runs.
    Start {
        datadir: PathBuf,
        /// "the bootstrap command" or "the start command".
        what: &'static str,
        command: Vec<String>,
    },
    /// `pc.bootstrap=YES` through the SQL client, retried while Galera answers ERROR 1210.
    Promote { sql_command: Vec<String> },
    /// The node answers Primary and Synced.
    WaitPrimarySynced { timeout: Duration },
    /// The node answers Primary and Synced; how it caught up is read from its error log.
    WaitJoined { timeout: Duration },
    /// `rejoin --move-aside --accept-loss`: the node's record of being found apart from the
    /// Primary's history (see [`apart`]) is retired, its loss accepted.
    RetireApartRecord { record: PathBuf },
}

/// The statement promote runs.
const PROMOTE_SQL: &str = "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES';\n";

impl Step {
    /// What the step does, as the dry run says it after "would" (one or two lines).
    fn describe(&self) -> Vec<String> {
        match self {
            Step::SetSafeToBootstrap { datadir } => vec![format!(
                "set safe_to_bootstrap: 1 in {}/grastate.dat if it is 0 (after checking no mysqld holds the datadir; the old file kept aside, and restored if the bootstrap fails)",
                datadir.display()
            )],
            Step::RecoverPosition => vec![
                "recover its position (--wsrep-recover) and check it is not ahead of the Primary".into(),
            ],
            Step::MoveAside { datadir, all: true } => vec![format!(
                "move grastate.dat, galera.cache and gvwstate.dat from {} aside (it then joins by SST)",
                datadir.display()
            )],
            Step::MoveAside { datadir, all: false } => vec![format!(
                "move gvwstate.dat (if any) from {} aside, so that pc.recovery cannot re-form its old Primary",
                datadir.display()
            )],
            Step::Start {
                datadir, command, ..
            } => vec![format!(
                "check again that no mysqld runs on {}, then run in its own process group: {}",
                datadir.display(),
                command.join(" ")
            )],
            Step::Promote { sql_command } => vec![
                format!(
                    "run `{}` with the SQL on its stdin: {}",
                    sql_command.join(" "),
                    PROMOTE_SQL.trim()
                ),
                format!(
                    "decide again every {PROMOTE_RETRY:?} and retry for up to {PROMOTE_SETTLE:?} while Galera refuses it with ERROR 1210 (its membership is changing), or leaves the node non-Primary for {PROMOTE_IGNORED_AFTER:?} (it ignores the statement while its members exchange states)"
                ),
            ],
            Step::WaitPrimarySynced { .. } => {
                vec!["wait until the node is Primary and Synced".into()]
            }
            Step::WaitJoined { .. } => vec!["wait until it is Synced and report IST or SST".into()],
            Step::RetireApartRecord { record } => vec![format!(
                "retire its record of being found apart from the Primary's history ({}), if it has one: renamed, kept",
                record.display()
            )],
        }
    }

    /// Runs the step; what it did goes into `run.report.done`.
    async fn run(&self, run: &mut Run<'_>) -> Result<(), RecoverError> {
        let node = &run.opts.node;
        match self {
            Step::SetSafeToBootstrap { datadir } => {
                run.interrupt.check(node, "change anything")?;
                // What the decision under the lock read: the file must still say exactly that.
                let expect = local_report(&run.view, node)
                    .and_then(|r| r.grastate.value())
                    .map(|g| (g.uuid.clone(), g.seqno));
                if let Some(edit) = set_safe_to_bootstrap(node, datadir, run.nr, expect)? {
                    if let Change::Grastate { kept, .. } = &edit {
                        run.report.done.push(format!(
                            "set safe_to_bootstrap: 1 in {}/grastate.dat (previous file kept in {})",
                            datadir.display(),
                            kept.display()
                        ));
                    }
                    run.changes.edits.push(edit);
                }
            }
            Step::RecoverPosition => {
                run.interrupt.check(node, "change anything")?;
                let (name, s) = (node.clone(), run.settings.clone());
                let rec = tokio::task::spawn_blocking(move || position::recover(&s, &name))
                    .await
                    .map_err(|e| RecoverError::Refused {
                        node: node.clone(),
                        message: format!("position recovery task failed: {e}"),
                    })??;
                run.report
                    .done
                    .push(format!("recovered its position: {}", rec.outcome));
                // With its position known, the decision may now see it ahead of the Primary.
                let (view, d) = plan_now(run.settings, run.opts).await;
                check_rejoin(&view, &d, run.opts, PositionStep::Refused).map_err(|e| e.error)?;
                run.move_all = Some(rejoin_needs(&d, run.opts).1);
                run.view = view;
                run.decision = d;
            }
            Step::MoveAside { datadir, all } => {
                run.interrupt.check(node, "change anything")?;
                // The saved view always goes: a node joining a running Primary must not be
                // able to re-form its old Primary by pc.recovery (a saved view of itself alone
                // is re-formed as soon as it starts, beside the Primary it cannot reach: a
                // second Primary). What else goes is what the latest decision says.
                let files: &[&str] = if run.move_all.unwrap_or(*all) {
                    &["grastate.dat", "galera.cache", "gvwstate.dat"]
                } else {
                    &["gvwstate.dat"]
                };
                let present: Vec<PathBuf> = files
                    .iter()
                    .map(|f| datadir.join(f))
                    .filter(|p| p.exists())
                    .collect();
                if !present.is_empty() {
                    let pid_file = run.nr.pid_file.as_deref();
                    sys::require_stopped(node, datadir, pid_file, "move its state files aside")?;
                    let aside = aside_dir(datadir, node)?;
                    for p in present {
                        let to = move_aside(&p, &aside)?;
                        run.changes.edits.push(Change::Moved { from: p, to });
                    }
                    run.report.done.push(format!(
                        "moved {} to {}",
                        files.join(", "),
                        aside.display()
                    ));
                }
            }
            Step::Start {
                datadir,
                what,
                command,
            } => {
                run.log_start = run
                    .nr
                    .error_log
                    .as_ref()
                    .and_then(|p| std::fs::metadata(p).ok())
                    .map_or(0, |m| m.len());
                let before = format!("run {what}");
                run.interrupt.check(node, &before)?;
                sys::require_stopped(node, datadir, run.nr.pid_file.as_deref(), &before)?;
                run.changes.started = Some(command.join(" "));
                let timeout = run.settings.recovery.start_timeout;
                run_start(node, command, timeout, run.interrupt).await?;
                run.report.done.push(format!("ran: {}", command.join(" ")));
            }
            Step::Promote { sql_command } => promote_now(run, sql_command).await?,
            Step::WaitPrimarySynced { timeout } => {
                wait_primary_synced(run.settings, run.n, *timeout, run.interrupt).await?;
                run.report
                    .done
                    .push(format!("{node} is Primary and Synced"));
            }
            Step::WaitJoined { timeout } => {
                wait_primary_synced(run.settings, run.n, *timeout, run.interrupt).await?;
                let transfer = run.nr.error_log.as_ref().map_or(Transfer::Unknown, |p| {
                    parse_join_log(&read_from(p, run.log_start))
                });
                run.report
                    .done
                    .push(format!("{node} is Synced; it caught up by {transfer}"));
                run.report.transfer = Some(transfer);
            }
            Step::RetireApartRecord { .. } => {
                if let Some(to) = apart::retire(run.settings, node)? {
                    run.report.done.push(format!(
                        "retired its record of being found apart from the Primary's history (kept as {})",
                        to.display()
                    ));
                }
            }
        }
        Ok(())
    }
}

/// An action's list of steps, built once from a decision: the dry run describes it, `--execute`
/// runs it.
#[derive(Debug)]
struct ActionPlan {
    guards: [Guard; 3],
    steps: Vec<Step>,
}

impl ActionPlan {
    /// The steps of `kind` on the local node as decision `d` reads.
    fn new(
        kind: Kind,
        settings: &Settings,
        opts: &ActOptions,
        local: &Local<'_>,
        d: &Decision,
    ) -> Result<ActionPlan, RecoverError> {
        let nr = local.nr;
        let datadir = || datadir_of(local.n, opts);
        let start_timeout = settings.recovery.start_timeout;
        let steps = match kind {
            Kind::Bootstrap => vec![
                Step::SetSafeToBootstrap {
                    datadir: datadir()?,
                },
                Step::Start {
                    datadir: datadir()?,
                    what: "the bootstrap command",
                    command: nr.bootstrap_command.clone(),
                },
                Step::WaitPrimarySynced {
                    timeout: start_timeout,
                },
            ],
            Kind::Rejoin => {
                let (needs_position, all) = rejoin_needs(d, opts);
                let mut steps = Vec::new();
                if needs_position {
                    steps.push(Step::RecoverPosition);
                }
                steps.extend([
                    Step::MoveAside {
                        datadir: datadir()?,
                        all,
                    },
                    Step::Start {
                        datadir: datadir()?,
                        what: "the start command",
                        command: nr.start_command.clone(),
                    },
                    Step::WaitJoined {
                        timeout: start_timeout,
                    },
                ]);
                if opts.accept_loss {
                    steps.push(Step::RetireApartRecord {
                        record: apart::path(settings, &opts.node),
                    });
                }
                steps
            }
            Kind::Promote => vec![
                Step::Promote {
                    sql_command: nr.sql_command.clone(),
                },
                Step::WaitPrimarySynced {
                    timeout: PROMOTE_WAIT,
                },
            ],
        };
        Ok(ActionPlan {
            guards: [
                Guard::AuditLog(settings.recovery.audit_log.clone()),
                Guard::Lock(nr.lock_file.clone()),
                Guard::Redecide(kind),
            ],
            steps,
        })
    }

    /// What the dry run prints: every guard and step, in order, after "would".
    fn would(&self) -> Vec<String> {
        let guards = self.guards.iter().map(Guard::describe);
        let steps = self.steps.iter().flat_map(Step::describe);
        guards
            .chain(steps)
            .map(|line| format!("would {line}"))
            .chain(["dry run: add --execute to act".to_string()])
            .collect()
    }
}

/// The local node an action changes (bootstrap and rejoin checked its datadir is configured
/// before planning; promote changes no file).
#[derive(Clone, Copy)]
struct Local<'a> {
    n: &'a Node,
    nr: &'a NodeRecovery,
}

/// What the steps of an executed action share while they run under the lock.
struct Run<'a> {
    settings: &'a Settings,
    opts: &'a ActOptions,
    n: &'a Node,
    nr: &'a NodeRecovery,
    interrupt: &'a Interrupt,
    /// The cluster and the decision the action acts on (taken again after a position
    /// recovery).
    view: ClusterView,
    decision: Decision,
    /// What the steps did and changed.
    report: ActReport,
    changes: Changes,
    /// rejoin: the error log's length before the start command (its join is read after it).
    log_start: u64,
    /// rejoin: whether all state files go aside, as the decision after a position recovery
    /// says (it overrides the plan's).
    move_all: Option<bool>,
}

/// Runs `kind` on the local node for the approved decision `planned`: the dry run describes its
/// steps; `--execute` passes its guards, builds its steps again from the decision under the
/// lock, runs them in order, restores what they changed on failure and writes the one audit
/// line.
async fn act(
    kind: Kind,
    settings: &Settings,
    opts: &ActOptions,
    local: Local<'_>,
    planned: Decision,
) -> Result<ActReport, ActError> {
    let (n, nr) = (local.n, local.nr);
    let mut report = ActReport::new(kind.name(), opts);
    if !opts.execute {
        report.done = ActionPlan::new(kind, settings, opts, &local, &planned)?.would();
        report.next = Some(planned);
        return Ok(report);
    }
    audit_ready(settings, &opts.node)?;
    let interrupt = Interrupt::watch(&opts.node)?;
    let lock = take_lock(nr, &opts.node, kind.name())?;
    let (view, decision) = match kind {
        Kind::Bootstrap | Kind::Promote => reverify(settings, opts, &planned).await?,
        // The decision committed to is this one, taken under the lock. Other nodes may be
        // rejoining at the same time (their locks change the digest): what must still hold is
        // that a Primary runs and this node's step is a rejoin; what to do is read from it
        // again.
        Kind::Rejoin => {
            let (view, d) = plan_now(settings, opts).await;
            check_rejoin(&view, &d, opts, PositionStep::Allowed)?;
            (view, d)
        }
    };
    let plan = ActionPlan::new(kind, settings, opts, &local, &decision)?;
    let mut run = Run {
        settings,
        opts,
        n,
        nr,
        interrupt: &interrupt,
        view,
        decision,
        report,
        changes: Changes::default(),
        log_start: 0,
        move_all: None,
    };
    let mut result = Ok(());
    for step in &plan.steps {
        result = step.run(&mut run).await;
        if result.is_err() {
            break;
        }
    }
    let Run {
        decision,
        mut report,
        changes,
        ..
    } = run;
    let restore = || match (kind, &n.datadir) {
        (Kind::Promote, _) => PROMOTE_RESTORES_NOTHING.into(),
        (_, Some(datadir)) => changes.restore(&opts.node, datadir, nr.pid_file.as_deref()),
        // Not reached: bootstrap and rejoin refuse before planning without a datadir.
        (_, None) => "nothing to restore: no file was changed".into(),
    };

    let concluded = conclude(
        settings,
        kind.name(),
        opts,
        &decision,
        result,
        restore,
        &mut report,
    );
    drop(lock);
    concluded?;
    report.next = next_step(settings, opts, &interrupt).await;
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// bootstrap

/// Bootstraps a new Primary from the local node, if and only if the decision says so.
pub async fn bootstrap(settings: &Settings, opts: &ActOptions) -> Result<ActReport, ActError> {
    act_as_planned(Kind::Bootstrap, settings, opts, |v| match v {
        Verdict::Bootstrap { node } => Some(node),
        _ => None,
    })
    .await
}

/// bootstrap and promote: acts if and only if the plan names `kind` on this very node (as
/// `target` reads it from the verdict; see [`planned_for_this_node`]).
async fn act_as_planned(
    kind: Kind,
    settings: &Settings,
    opts: &ActOptions,
    target: impl Fn(&Verdict) -> Option<&String>,
) -> Result<ActReport, ActError> {
    let (n, nr) = position::local_node(settings, &opts.node)?;
    let d = planned_for_this_node(settings, opts, kind.name(), target).await?;
    if kind == Kind::Bootstrap {
        datadir_of(n, opts)?;
    }
    act(kind, settings, opts, Local { n, nr }, d).await
}

/// The local node's datadir, which bootstrap and rejoin change.
fn datadir_of(n: &Node, opts: &ActOptions) -> Result<PathBuf, RecoverError> {
    n.datadir.clone().ok_or(RecoverError::NoDatadir {
        node: opts.node.clone(),
    })
}

/// The decision after the action (the next step), unless a signal asks to stop now.
async fn next_step(
    settings: &Settings,
    opts: &ActOptions,
    interrupt: &Interrupt,
) -> Option<Decision> {
    if interrupt.received().is_some() {
        return None;
    }
    tokio::select! {
        (_, d) = plan_now(settings, opts) => Some(d),
        _ = interrupt.signalled() => None,
    }
}

/// Sets `safe_to_bootstrap: 1`, atomically, only while nothing holds the datadir and only if
/// the file still holds the position the decision read (`expect`: uuid and seqno). Returns
/// the change (the original kept aside), or `None` when the file already says 1 (or has no
/// such line, which Galera reads as 1) and nothing was edited.
fn set_safe_to_bootstrap(
    node: &str,
    datadir: &Path,
    nr: &NodeRecovery,
    expect: Option<(String, i64)>,
) -> Result<Option<Change>, RecoverError> {
    // find_mysqld also probes InnoDB's and Galera's locks, right before the edit.
    sys::require_stopped(node, datadir, nr.pid_file.as_deref(), "edit grastate.dat")?;
    let path = datadir.join("grastate.dat");
    let original = std::fs::read(&path).map_err(|e| RecoverError::io("cannot read", &path, e))?;
    let text = String::from_utf8_lossy(&original);
    let now = parse_grastate(&text).map_err(|e| RecoverError::Refused {
        node: node.to_string(),
        message: format!("{} cannot be read now: {e}", path.display()),
    })?;
    if let Some((uuid, seqno)) = expect {
        if now.uuid != uuid || now.seqno != seqno {
            return Err(RecoverError::Refused {
                node: node.to_string(),
                message: format!(
                    "{} changed since the decision (it said {uuid}:{seqno}, it now says {}:{}): nothing was done; plan again",
                    path.display(),
                    now.uuid,
                    now.seqno
                ),
            });
        }
    }
    if now.safe_to_bootstrap {
        return Ok(None);
    }
    let mut found = false;
    let new: String = text
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("safe_to_bootstrap:") {
                found = true;
                "safe_to_bootstrap: 1".to_string()
            } else {
                l.trim_end().to_string()
            }
        })
        .collect::<Vec<_>>()
        .join("\n")
        + "\n";
    let new = if found {
        new
    } else {
        new + "safe_to_bootstrap: 1\n"
    };
    let meta = std::fs::metadata(&path).map_err(|e| RecoverError::io("cannot stat", &path, e))?;
    let aside = aside_dir(datadir, node)?;
    let kept = aside.join("grastate.dat");
    write_new_synced(&kept, &original, meta.mode())?;
    sys::sync_dir(&aside)?;
    replace_file(&path, new.as_bytes(), meta.mode(), meta.uid(), meta.gid())?;
    Ok(Some(Change::Grastate {
        path,
        original,
        written: new.into_bytes(),
        mode: meta.mode(),
        uid: meta.uid(),
        gid: meta.gid(),
        kept,
    }))
}

/// Creates `path` (it must not exist) holding `bytes`, synced.
fn write_new_synced(path: &Path, bytes: &[u8], mode: u32) -> Result<(), RecoverError> {
    std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(mode & 0o7777)
        .open(path)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
            f.sync_all()
        })
        .map_err(|e| RecoverError::io("cannot write", path, e))
}

/// Replaces `path` atomically: a synced temporary file with the given mode and owner, renamed
/// over it, then the directory synced (the rename is durable only then).
fn replace_file(
    path: &Path,
    bytes: &[u8],
    mode: u32,
    uid: u32,
    gid: u32,
) -> Result<(), RecoverError> {
    let dir = path.parent().unwrap_or(Path::new("/"));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!("{name}.quorate-tmp"));
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(mode & 0o7777)
        .open(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            std::os::unix::fs::fchown(&f, Some(uid), Some(gid))?;
            // Explicitly: the mode given at creation is reduced by the umask.
            f.set_permissions(std::fs::Permissions::from_mode(mode & 0o7777))?;
            f.sync_all()
        })
        .map_err(|e| RecoverError::io("cannot write", &tmp, e))
        .and_then(|()| {
            std::fs::rename(&tmp, path).map_err(|e| RecoverError::io("cannot replace", path, e))
        });
    if written.is_err() {
        // Our own temporary file, never state: the target is untouched.
        let _ = std::fs::remove_file(&tmp);
    }
    written?;
    sys::sync_dir(dir)
}

/// A new `quorate-aside-<node>-<unix time>` directory beside the datadir (mode 0700: it may
/// receive galera.cache, which holds row data), with the parent directory synced.
fn aside_dir(datadir: &Path, node: &str) -> Result<PathBuf, RecoverError> {
    let parent = datadir.parent().unwrap_or(Path::new("/"));
    let base = parent.join(format!("quorate-aside-{node}-{}", unix_now()));
    let mut dir = base.clone();
    let mut i = 1;
    loop {
        match std::fs::DirBuilder::new().mode(0o700).create(&dir) {
            Ok(()) => break,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && i < 1000 => {
                dir = PathBuf::from(format!("{}.{i}", base.display()));
                i += 1;
            }
            Err(e) => return Err(RecoverError::io("cannot create", &dir, e)),
        }
    }
    sys::sync_dir(parent)?;
    Ok(dir)
}

/// Moves `file` into `dir` (rename, or copy + remove across file systems), then syncs both
/// directories. Returns where it went.
fn move_aside(file: &Path, dir: &Path) -> Result<PathBuf, RecoverError> {
    let target = dir.join(file.file_name().unwrap_or_default());
    move_file(file, &target)?;
    Ok(target)
}

/// Moves a file kept aside back to where it was, never over a file that exists there now.
fn move_back(kept: &Path, to: &Path) -> Result<(), RecoverError> {
    if to.exists() {
        return Err(RecoverError::io(
            "will not overwrite",
            to,
            std::io::Error::from(std::io::ErrorKind::AlreadyExists),
        ));
    }
    move_file(kept, to)
}

fn move_file(from: &Path, to: &Path) -> Result<(), RecoverError> {
    match std::fs::rename(from, to) {
        Ok(()) => {}
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            let mode = std::fs::metadata(from)
                .map_err(|e| RecoverError::io("cannot stat", from, e))?
                .mode();
            let bytes =
                std::fs::read(from).map_err(|e| RecoverError::io("cannot read", from, e))?;
            write_new_synced(to, &bytes, mode)?;
            if let Some(dir) = to.parent() {
                sys::sync_dir(dir)?;
            }
            std::fs::remove_file(from).map_err(|e| RecoverError::io("cannot remove", from, e))?;
        }
        Err(e) => return Err(RecoverError::io("cannot move", from, e)),
    }
    for dir in [to.parent(), from.parent()].into_iter().flatten() {
        sys::sync_dir(dir)?;
    }
    Ok(())
}

/// Runs a start/bootstrap command in its own process group (see
/// [`position::run_start_command`]); a signal received meanwhile ends the group.
async fn run_start(
    node: &str,
    argv: &[String],
    timeout: Duration,
    interrupt: &Interrupt,
) -> Result<(), RecoverError> {
    let (node_owned, argv_owned) = (node.to_string(), argv.to_vec());
    let signal = Arc::clone(&interrupt.signal);
    tokio::task::spawn_blocking(move || {
        position::run_start_command(
            &node_owned,
            &argv_owned,
            timeout,
            position::GROUP_GRACE,
            &signal,
        )
    })
    .await
    .map_err(|e| RecoverError::Command {
        node: node.to_string(),
        command: argv.join(" "),
        status: "task failed".into(),
        output: e.to_string(),
    })?
    .map(|_| ())
}

/// Asks the node's server (monitoring account) every 250 ms until `reached` holds for its
/// status (true) or `within` has passed (false); `last` keeps what it answered last.
async fn poll_status(
    client: &NodeClient,
    within: Duration,
    reached: impl Fn(&WsrepStatus) -> bool,
    last: &mut String,
) -> bool {
    let started = Instant::now();
    loop {
        match client.collect(Duration::from_secs(3)).await {
            Ok(r) => {
                let st = &r.status;
                if reached(st) {
                    return true;
                }
                *last = format!(
                    "{} {}",
                    st.get("wsrep_cluster_status").unwrap_or("?"),
                    st.local_state_comment().unwrap_or("?")
                );
            }
            Err(e) => *last = e.to_string(),
        }
        if started.elapsed() >= within {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

fn is_primary(st: &WsrepStatus) -> bool {
    st.get("wsrep_cluster_status") == Some("Primary")
}

/// Polls the node's server until it is Primary and Synced; a signal stops the wait.
async fn wait_primary_synced(
    settings: &Settings,
    node: &Node,
    timeout: Duration,
    interrupt: &Interrupt,
) -> Result<(), RecoverError> {
    let client = NodeClient::new(&node.name, &node.mysql, &settings.mysql);
    let started = Instant::now();
    let mut last = String::from("no answer yet");
    let poll = poll_status(
        &client,
        timeout,
        |st| is_primary(st) && st.get("wsrep_local_state") == Some("4"),
        &mut last,
    );
    let outcome = tokio::select! {
        reached = poll => if reached {
            Ok(())
        } else {
            Err(format!("not Primary and Synced after {timeout:?}"))
        },
        sig = interrupt.signalled() => Err(format!(
            "interrupted by {} after {:.0?} while waiting for it to be Primary and Synced",
            position::signal_name(sig),
            started.elapsed()
        )),
    };
    client.disconnect().await;
    outcome.map_err(|message| RecoverError::Timeout {
        node: node.name.clone(),
        message: format!("{message} (last: {last})"),
    })
}

// ---------------------------------------------------------------------------------------------
// rejoin

/// Starts the stopped local node so that it joins the running Primary.
pub async fn rejoin(settings: &Settings, opts: &ActOptions) -> Result<ActReport, ActError> {
    let (n, nr) = position::local_node(settings, &opts.node)?;
    datadir_of(n, opts)?;
    let (view, d) = plan_now(settings, opts).await;
    check_plan_digest(opts, &d)?;
    check_rejoin(&view, &d, opts, PositionStep::Allowed)?;
    act(Kind::Rejoin, settings, opts, Local { n, nr }, d).await
}

/// Whether a rejoin must first recover the node's position (the decision's step for it is
/// `RecoverPosition`: its position is unknown, and it may be ahead of the Primary), and
/// whether it moves its state files aside, as `d` says.
fn rejoin_needs(d: &Decision, opts: &ActOptions) -> (bool, bool) {
    let step = local_step(d, &opts.node);
    let needs_position = step == Some(Action::RecoverPosition);
    let move_it = opts.move_aside || step == Some(Action::RejoinMoveAside);
    (needs_position, move_it)
}

/// Whether [`check_rejoin`] accepts a plan whose step for this node is `RecoverPosition`
/// (before the position is recovered), or only a rejoin (after: a second recovery would
/// mean the first did not give a usable position).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum PositionStep {
    Allowed,
    Refused,
}

fn local_step(d: &Decision, node: &str) -> Option<Action> {
    d.steps.iter().find(|s| s.node == node).map(|s| s.action)
}

fn check_rejoin(
    view: &ClusterView,
    d: &Decision,
    opts: &ActOptions,
    position: PositionStep,
) -> Result<(), ActError> {
    let node = &opts.node;
    let report = local_report(view, node);
    if let Some(r) = report {
        if r.mysqld.running || matches!(r.live, Some(Live::Answered(_))) {
            return Err(refused(
                node,
                format!(
                    "mysqld runs on {node} ({}): stop it cleanly first",
                    r.mysqld.how
                ),
                Some(d),
            ));
        }
    }
    let primary_runs = matches!(
        d.verdict,
        Verdict::Join { .. } | Verdict::Wait | Verdict::Healthy
    ) && !d.is_refusal();
    if !primary_runs {
        return Err(refused(
            node,
            format!(
                "no Primary component runs, so there is nothing to join: {}",
                verdict_line(d)
            ),
            Some(d),
        ));
    }
    match local_step(d, node) {
        Some(Action::Rejoin | Action::RejoinMoveAside) => Ok(()),
        Some(Action::RecoverPosition) if position == PositionStep::Allowed => Ok(()),
        Some(Action::RecoverPosition) => Err(refused(
            node,
            "its position is still unknown after recovering it: nothing was started",
            Some(d),
        )),
        Some(Action::Investigate) if opts.accept_loss && opts.move_aside => Ok(()),
        Some(Action::Investigate) => Err(refused(
            node,
            format!(
                "{}; nothing was done",
                d.steps
                    .iter()
                    .find(|s| &s.node == node)
                    .map_or("", |s| s.why.as_str())
            ),
            Some(d),
        )),
        _ => Err(refused(
            node,
            "the plan has no rejoin step for this node",
            Some(d),
        )),
    }
}

fn read_from(path: &Path, offset: u64) -> Vec<u8> {
    use std::io::{Read, Seek, SeekFrom};
    let mut buf = Vec::new();
    if let Ok(mut f) = std::fs::File::open(path) {
        let len = f.metadata().map(|m| m.len()).unwrap_or(0);
        // A rotated (shorter) log is read from its start.
        let start = if len >= offset { offset } else { 0 };
        if f.seek(SeekFrom::Start(start)).is_ok() {
            let _ = f.read_to_end(&mut buf);
        }
    }
    buf
}

// ---------------------------------------------------------------------------------------------
// promote

/// How long promote retries a `pc.bootstrap` that Galera refuses while the node's membership
/// is being changed, and the pause between tries.
const PROMOTE_SETTLE: Duration = Duration::from_secs(30);
const PROMOTE_RETRY: Duration = Duration::from_secs(2);
/// What a failed promote says it restored.
const PROMOTE_RESTORES_NOTHING: &str =
    "nothing to restore: promote changes no file (pc.bootstrap, once applied, cannot be undone)";
/// How long a promoted node has to answer Primary and Synced.
const PROMOTE_WAIT: Duration = Duration::from_secs(60);
/// How long after `pc.bootstrap` a node still non-Primary is taken as one whose Galera
/// ignored the statement.
const PROMOTE_IGNORED_AFTER: Duration = Duration::from_secs(5);

/// Whether the node answers Primary within `within`.
async fn becomes_primary(settings: &Settings, node: &Node, within: Duration) -> bool {
    let client = NodeClient::new(&node.name, &node.mysql, &settings.mysql);
    let reached = poll_status(&client, within, is_primary, &mut String::new()).await;
    client.disconnect().await;
    reached
}

/// Galera refuses `pc.bootstrap` with ERROR 1210 ("Incorrect arguments to SET"; its log says
/// "Set options returned 7") when the bootstrap message cannot be sent: the group
/// communication layer is between views (seen in the sandbox right after a member vanished;
/// the provider's `set_param` throws the send error). Nothing was applied, so the same
/// statement may be retried once the plan, decided again, still says so.
fn membership_is_changing(e: &RecoverError) -> bool {
    matches!(e, RecoverError::Command { output, .. } if output.contains("ERROR 1210"))
}

/// `pc.bootstrap=YES` on the live non-Primary local node, if and only if the decision says so.
pub async fn promote(settings: &Settings, opts: &ActOptions) -> Result<ActReport, ActError> {
    act_as_planned(Kind::Promote, settings, opts, |v| match v {
        Verdict::Promote { node } => Some(node),
        _ => None,
    })
    .await
}

/// Runs [`PROMOTE_SQL`] through `sql_command`; while Galera refuses it with ERROR 1210, waits
/// [`PROMOTE_RETRY`] and retries (for up to [`PROMOTE_SETTLE`]) as long as the decision, taken
/// again from live state, is still the approved one.
async fn promote_now(run: &mut Run<'_>, sql_command: &[String]) -> Result<(), RecoverError> {
    let node = &run.opts.node;
    let started = Instant::now();
    let mut refusals = 0u32;
    let mut ignored = 0u32;
    loop {
        run.interrupt.check(node, "promote it")?;
        let (name, argv) = (node.clone(), sql_command.to_vec());
        let ran = tokio::task::spawn_blocking(move || {
            position::run_checked(
                &name,
                &argv,
                Some(PROMOTE_SQL.as_bytes()),
                Duration::from_secs(30),
            )
        })
        .await
        .map_err(|e| RecoverError::Refused {
            node: node.clone(),
            message: e.to_string(),
        })?;
        match ran {
            // Galera may also accept the statement and drop it: "ignoring 'pc.bootstrap' in
            // state STATES_EXCH" (seen in chaos seed 42: the component was exchanging states
            // as a partition healed). Still non-Primary after a while, it is sent again while
            // the decision, taken again from live state, still says so.
            Ok(_)
                if started.elapsed() < PROMOTE_SETTLE
                    && !becomes_primary(run.settings, run.n, PROMOTE_IGNORED_AFTER).await =>
            {
                ignored += 1;
                run.interrupt.check(node, "promote it")?;
                reverify(run.settings, run.opts, &run.decision)
                    .await
                    .map_err(|e| e.error)?;
            }
            Ok(_) => break,
            Err(e) if membership_is_changing(&e) => {
                refusals += 1;
                if started.elapsed() >= PROMOTE_SETTLE {
                    return Err(RecoverError::Refused {
                        node: node.clone(),
                        message: format!(
                            "Galera refused pc.bootstrap {refusals} times in {:.0?} (ERROR 1210: its membership is being changed); the node is unchanged: plan again in a few seconds",
                            started.elapsed()
                        ),
                    });
                }
                tokio::select! {
                    _ = tokio::time::sleep(PROMOTE_RETRY) => {}
                    _ = run.interrupt.signalled() => {}
                }
                run.interrupt.check(node, "promote it")?;
                // The node's component may have changed meanwhile: retry only while the
                // decision, taken again from live state, is still the one approved.
                reverify(run.settings, run.opts, &run.decision)
                    .await
                    .map_err(|e| e.error)?;
            }
            Err(e) => return Err(e),
        }
    }
    if refusals > 0 {
        run.report.done.push(format!(
            "Galera refused pc.bootstrap {refusals} time(s) while its membership was changing (ERROR 1210: nothing applied); the plan was decided again from live state before each retry"
        ));
    }
    if ignored > 0 {
        run.report.done.push(format!(
            "pc.bootstrap left the node non-Primary {ignored} time(s) (Galera ignores it while its members exchange states); the plan was decided again from live state before it was sent again"
        ));
    }
    run.report
        .done
        .push(format!("ran {} on {}", PROMOTE_SQL.trim(), node));
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// position

/// The outcome of recovering one node's position.
#[derive(Debug, Clone, Serialize)]
pub struct PositionResult {
    pub node: String,
    pub result: Result<super::report::Recovered, String>,
}

/// Recovers the positions of `nodes`: the local one directly, the others through their
/// endpoints. Each node refuses by itself while its mysqld runs.
pub async fn positions(
    settings: &Settings,
    local_node: Option<&str>,
    nodes: &[String],
) -> Vec<PositionResult> {
    let futures = nodes.iter().map(|node| async move {
        let result = if Some(node.as_str()) == local_node {
            recover_local_position(settings, node)
                .await
                .map_err(|e| e.error.to_string())
        } else {
            remote_position(settings, node).await
        };
        PositionResult {
            node: node.clone(),
            result,
        }
    });
    futures::future::join_all(futures).await
}

/// Recovers the local node's position as an action: the audit log must be writable, the
/// node's lock is taken, the cluster is gathered and decided (for the audit line's evidence),
/// `--wsrep-recover` runs, and exactly one audit line records it. `recover position` runs it
/// for its own node and `POST /galera/recover-position` for the node it serves.
pub async fn recover_local_position(
    settings: &Settings,
    node: &str,
) -> Result<super::report::Recovered, ActError> {
    let (_, nr) = position::local_node(settings, node)?;
    audit_ready(settings, node)?;
    let lock = take_lock(nr, node, "recover-position")?;
    let opts = ActOptions {
        node: node.to_string(),
        ..ActOptions::default()
    };
    let (_, d) = plan_now(settings, &opts).await;
    let (s, name) = (settings.clone(), node.to_string());
    let recovered = tokio::task::spawn_blocking(move || position::recover(&s, &name))
        .await
        .unwrap_or_else(|e| {
            Err(RecoverError::Refused {
                node: node.to_string(),
                message: format!("position recovery task failed: {e}"),
            })
        });
    let done = match &recovered {
        Ok(rec) => vec![format!("recovered its position: {}", rec.outcome)],
        Err(_) => Vec::new(),
    };
    let result = recovered
        .as_ref()
        .map(|_| ())
        .map_err(|e| RecoverError::Refused {
            node: node.to_string(),
            message: e.to_string(),
        });
    let written = audit(settings, "position", &opts, &d, &result, &done, None);
    drop(lock);
    let rec = recovered.map_err(|error| ActError {
        error,
        decision: Some(Box::new(d.clone())),
    })?;
    written.map_err(|e| {
        ActError::from(RecoverError::Io {
            what: "the position was recovered but the audit line could not be written to",
            path: settings.recovery.audit_log.clone(),
            source: e,
        })
    })?;
    Ok(rec)
}

async fn remote_position(
    settings: &Settings,
    node: &str,
) -> Result<super::report::Recovered, String> {
    let asked = peer::ask(
        &settings.recovery,
        node,
        hyper::Method::POST,
        "/galera/recover-position",
        None,
        position::RECOVER_TIMEOUT,
    )
    .await?;
    if asked.answer.status != hyper::StatusCode::OK {
        return Err(asked.unexpected());
    }
    serde_json::from_str(&asked.answer.body).map_err(|e| format!("unreadable answer: {e}"))
}

// ---------------------------------------------------------------------------------------------
// audit

/// One line of the audit log (JSON): one per executed action.
#[derive(Serialize)]
struct AuditLine<'a> {
    time: u64,
    /// The invoking user: uid, and `SUDO_USER`/`USER` as set.
    uid: u32,
    user: Option<String>,
    action: &'a str,
    node: &'a str,
    assume_lost: &'a BTreeSet<String>,
    digest: &'a str,
    verdict: String,
    evidence: Vec<String>,
    /// What the action did, in order (the changes it made and the commands it ran).
    done: &'a [String],
    result: String,
    /// On failure: what was restored, or why not and where the originals are.
    restored: Option<&'a str>,
}

/// Opens the audit log for appending (creating it and its directories, mode 0640).
fn open_audit_log(path: &Path) -> std::io::Result<std::fs::File> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::OpenOptions::new()
        .create(true)
        .append(true)
        .mode(0o640)
        .open(path)
}

/// Refuses to act when the audit log cannot be appended to: an executed action must leave its
/// line. (Checked before the lock; the line itself is written after the action.)
fn audit_ready(settings: &Settings, node: &str) -> Result<(), ActError> {
    let path = &settings.recovery.audit_log;
    open_audit_log(path).map(drop).map_err(|e| {
        refused(
            node,
            format!(
                "the audit log {} cannot be opened for appending ({e}): nothing was done; fix it (quorate.recovery.audit_log) and run again",
                path.display()
            ),
            None,
        )
    })
}

/// Appends the action's one line, with a single write of the whole line, then syncs it.
fn audit(
    settings: &Settings,
    action: &str,
    opts: &ActOptions,
    d: &Decision,
    result: &Result<(), RecoverError>,
    done: &[String],
    restored: Option<&str>,
) -> std::io::Result<()> {
    // SAFETY: getuid(2) cannot fail.
    let uid = unsafe { libc::getuid() };
    let line = AuditLine {
        time: unix_now(),
        uid,
        user: std::env::var("SUDO_USER")
            .or_else(|_| std::env::var("USER"))
            .ok(),
        action,
        node: &opts.node,
        assume_lost: &opts.assume_lost,
        digest: &d.digest,
        verdict: verdict_line(d),
        evidence: d
            .evidence
            .iter()
            .map(|e| {
                format!(
                    "{}: {}; uuid {}; seqno {}; safe_to_bootstrap {}",
                    e.node,
                    e.state,
                    e.uuid.as_deref().unwrap_or("-"),
                    e.seqno.map_or_else(|| "-".into(), |s| s.to_string()),
                    e.safe_to_bootstrap
                        .map_or_else(|| "-".into(), |s| u8::from(s).to_string())
                )
            })
            .collect(),
        done,
        result: match result {
            Ok(()) => "ok".into(),
            Err(e) => format!("failed: {e}"),
        },
        restored,
    };
    let path = &settings.recovery.audit_log;
    // JSON escapes newlines inside strings, so this is exactly one line.
    let text = serde_json::to_string(&line).map_err(std::io::Error::other)? + "\n";
    let written = open_audit_log(path).and_then(|mut f| {
        f.write_all(text.as_bytes())?;
        f.sync_data()
    });
    match &written {
        Ok(()) => {
            tracing::info!(action, node = %opts.node, audit = %path.display(), "audit line written")
        }
        Err(e) => {
            tracing::error!(action, node = %opts.node, audit = %path.display(), error = %e, "cannot write the audit line")
        }
    }
    written
}

/// The verdict in a few words.
pub fn verdict_line(d: &Decision) -> String {
    match &d.verdict {
        Verdict::Healthy => "healthy: nothing to do".into(),
        Verdict::Wait => "wait: nothing to start now".into(),
        Verdict::Join { primary } => format!("join the running Primary ({})", primary.join(", ")),
        Verdict::RecoverPositions { nodes } => {
            format!("recover the positions of {} first", nodes.join(", "))
        }
        Verdict::Bootstrap { node } => format!("bootstrap {node}"),
        Verdict::Promote { node } => format!("promote {node}"),
        Verdict::Refuse => "REFUSED: no safe action".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CRASHED: &str = include_str!("../../tests/fixtures/wsrep/grastate/crashed-padded.dat");

    fn recovery(dir: &Path) -> NodeRecovery {
        NodeRecovery {
            endpoint: "http://127.0.0.1:1".into(),
            pid_file: None,
            error_log: None,
            lock_file: dir.join("lock"),
            start_command: vec!["true".into()],
            bootstrap_command: vec!["true".into()],
            recover_command: vec!["true".into()],
            sql_command: vec!["true".into()],
        }
    }

    /// `dir/data` holding `grastate` as grastate.dat (mode 0660).
    fn datadir(dir: &Path, grastate: &str) -> PathBuf {
        let data = dir.join("data");
        std::fs::create_dir(&data).expect("mkdir");
        let g = data.join("grastate.dat");
        std::fs::write(&g, grastate).expect("write");
        std::fs::set_permissions(&g, std::fs::Permissions::from_mode(0o660)).expect("chmod");
        data
    }

    fn fixture_position() -> Option<(String, i64)> {
        let g = parse_grastate(CRASHED).expect("fixture");
        Some((g.uuid, g.seqno))
    }

    #[test]
    fn move_aside_keeps_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::write(data.join("grastate.dat"), "x").expect("write");
        let aside = aside_dir(&data, "node1").expect("aside");
        assert!(aside.starts_with(dir.path()) && !aside.starts_with(&data));
        let to = move_aside(&data.join("grastate.dat"), &aside).expect("move");
        assert_eq!(to, aside.join("grastate.dat"));
        assert_eq!(std::fs::read_to_string(&to).expect("kept"), "x");
        assert!(!data.join("grastate.dat").exists());
        // A second directory in the same second gets its own name.
        assert_ne!(aside_dir(&data, "node1").expect("again"), aside);
        // Moving back never overwrites a file that exists again.
        std::fs::write(data.join("grastate.dat"), "new").expect("write");
        assert!(move_back(&to, &data.join("grastate.dat")).is_err());
        assert_eq!(
            std::fs::read_to_string(data.join("grastate.dat")).expect("read"),
            "new"
        );
        assert!(to.exists());
    }

    #[test]
    fn safe_to_bootstrap_is_set_atomically_and_the_old_file_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = datadir(dir.path(), CRASHED);
        let nr = recovery(dir.path());
        let Some(Change::Grastate { kept, written, .. }) =
            set_safe_to_bootstrap("node1", &data, &nr, fixture_position()).expect("set")
        else {
            panic!("expected an edit");
        };
        let new = std::fs::read_to_string(data.join("grastate.dat")).expect("read");
        assert_eq!(new.as_bytes(), written);
        let g = parse_grastate(&new).expect("still valid");
        let old = parse_grastate(CRASHED).expect("fixture");
        assert!(g.safe_to_bootstrap && !old.safe_to_bootstrap);
        assert_eq!((g.uuid, g.seqno), (old.uuid, old.seqno));
        assert_eq!(std::fs::read_to_string(&kept).expect("kept"), CRASHED);
        assert!(!data.join("grastate.dat.quorate-tmp").exists());
        let mode = |p: &Path| std::fs::metadata(p).expect("stat").mode() & 0o7777;
        assert_eq!(mode(&data.join("grastate.dat")), 0o660);
        assert_eq!(mode(&kept), 0o660);
        // Already 1: nothing is edited, nothing is kept.
        let before = std::fs::read(data.join("grastate.dat")).expect("read");
        assert!(
            set_safe_to_bootstrap("node1", &data, &nr, fixture_position())
                .expect("no-op")
                .is_none()
        );
        assert_eq!(
            std::fs::read(data.join("grastate.dat")).expect("read"),
            before
        );
    }

    #[test]
    fn a_grastate_that_changed_since_the_decision_is_not_edited() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = datadir(dir.path(), CRASHED);
        let nr = recovery(dir.path());
        let (uuid, _) = fixture_position().expect("fixture");
        let err = set_safe_to_bootstrap("node1", &data, &nr, Some((uuid, 42)))
            .expect_err("the decision read seqno 42");
        assert!(
            err.to_string().contains("changed since the decision"),
            "{err}"
        );
        assert_eq!(
            std::fs::read_to_string(data.join("grastate.dat")).expect("read"),
            CRASHED
        );
        // No aside directory was created for an edit that did not happen.
        let asides = std::fs::read_dir(dir.path())
            .expect("ls")
            .filter_map(Result::ok)
            .filter(|e| {
                e.file_name()
                    .to_string_lossy()
                    .starts_with("quorate-aside-")
            })
            .count();
        assert_eq!(asides, 0);
    }

    #[test]
    fn a_failed_bootstrap_restores_the_original_grastate() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = datadir(dir.path(), CRASHED);
        let nr = recovery(dir.path());
        let edit = set_safe_to_bootstrap("node1", &data, &nr, fixture_position())
            .expect("set")
            .expect("an edit");
        let mut changes = Changes::default();
        changes.edits.push(edit);
        changes.started = Some("galera_new_cluster".into());
        let said = changes.restore("node1", &data, None);
        assert!(said.starts_with("restored "), "{said}");
        assert_eq!(
            std::fs::read_to_string(data.join("grastate.dat")).expect("read"),
            CRASHED
        );
        let mode = std::fs::metadata(data.join("grastate.dat"))
            .expect("stat")
            .mode();
        assert_eq!(mode & 0o7777, 0o660);
        assert!(!data.join("grastate.dat.quorate-tmp").exists());
    }

    #[test]
    fn a_grastate_rewritten_by_mysqld_is_not_restored() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = datadir(dir.path(), CRASHED);
        let nr = recovery(dir.path());
        let edit = set_safe_to_bootstrap("node1", &data, &nr, fixture_position())
            .expect("set")
            .expect("an edit");
        // What a started server leaves: Galera rewrote the file.
        let running = include_str!("../../tests/fixtures/wsrep/grastate/running.dat");
        std::fs::write(data.join("grastate.dat"), running).expect("write");
        let changes = Changes {
            edits: vec![edit],
            started: Some("galera_new_cluster".into()),
        };
        let said = changes.restore("node1", &data, None);
        assert!(
            said.contains("NOT restored: it changed since quorate wrote it"),
            "{said}"
        );
        assert!(said.contains("the original is kept in"), "{said}");
        assert_eq!(
            std::fs::read_to_string(data.join("grastate.dat")).expect("read"),
            running
        );
    }

    #[test]
    fn nothing_is_restored_while_a_process_holds_the_datadir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = datadir(dir.path(), CRASHED);
        let nr = recovery(dir.path());
        let edit = set_safe_to_bootstrap("node1", &data, &nr, fixture_position())
            .expect("set")
            .expect("an edit");
        let written = std::fs::read(data.join("grastate.dat")).expect("read");
        // InnoDB's lock on ibdata1, held by another process (the sys tests' helper child).
        let ibdata = data.join("ibdata1");
        std::fs::write(&ibdata, b"x").expect("ibdata1");
        let mut child = sys::tests::spawn_lock_holder(&ibdata);
        let deadline = Instant::now() + Duration::from_secs(20);
        while sys::lock_state(&ibdata).ok() == Some(sys::LockState::Unlocked)
            && Instant::now() < deadline
        {
            std::thread::sleep(Duration::from_millis(20));
        }
        let changes = Changes {
            edits: vec![edit],
            started: None,
        };
        let said = changes.restore("node1", &data, None);
        let _ = child.kill();
        let _ = child.wait();
        assert!(said.contains("grastate.dat NOT restored"), "{said}");
        assert!(said.contains(&format!("pid {}", child.id())), "{said}");
        assert_eq!(
            std::fs::read(data.join("grastate.dat")).expect("read"),
            written
        );
    }

    #[test]
    fn files_moved_aside_go_back_only_if_the_start_never_ran() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = datadir(dir.path(), CRASHED);
        std::fs::write(data.join("galera.cache"), b"cache").expect("cache");
        let aside = aside_dir(&data, "node1").expect("aside");
        let mut changes = Changes::default();
        for f in ["grastate.dat", "galera.cache"] {
            let from = data.join(f);
            let to = move_aside(&from, &aside).expect("move");
            changes.edits.push(Change::Moved { from, to });
        }
        // The start command ran: the files stay aside.
        changes.started = Some("systemctl start mariadb".into());
        let said = changes.restore("node1", &data, None);
        assert!(
            said.contains("NOT moved back: `systemctl start mariadb` ran"),
            "{said}"
        );
        assert!(!data.join("grastate.dat").exists() && aside.join("grastate.dat").exists());
        // It never ran (interrupted before): they go back.
        changes.started = None;
        let said = changes.restore("node1", &data, None);
        assert!(said.contains("moved ") && !said.contains("NOT"), "{said}");
        assert_eq!(
            std::fs::read_to_string(data.join("grastate.dat")).expect("back"),
            CRASHED
        );
        assert_eq!(
            std::fs::read(data.join("galera.cache")).expect("back"),
            b"cache"
        );
    }

    /// A decision whose only step for `a` is `action` (what rejoin's plan reads).
    fn decision_with(action: Action) -> Decision {
        Decision {
            verdict: Verdict::Join {
                primary: vec!["b".into()],
            },
            case: None,
            situation: String::new(),
            reasons: Vec::new(),
            risks: Vec::new(),
            wait_for: Vec::new(),
            steps: vec![super::super::decide::Step {
                node: "a".into(),
                action,
                why: String::new(),
            }],
            evidence: Vec::new(),
            digest: "d".into(),
            apart: Vec::new(),
        }
    }

    #[test]
    fn the_dry_run_says_each_step_the_action_runs_in_order() {
        const YAML: &str = "cluster:\n  name: c1\nnodes:\n  controllers:\n    - hostname: a\n      ip_address: 10.0.0.1\n      services:\n        mariadb: true\n    - hostname: b\n      ip_address: 10.0.0.2\n      services:\n        mariadb: true\nquorate:\n  nodes:\n    a:\n      datadir: /var/lib/mysql\n";
        let settings = crate::config::parse(
            Path::new("/etc/quorate/q.yaml"),
            YAML,
            &Default::default(),
            &mut Vec::new(),
        )
        .expect("valid");
        let opts = ActOptions {
            node: "a".into(),
            ..ActOptions::default()
        };
        let (n, nr) = position::local_node(&settings, "a").expect("a");
        let local = Local { n, nr };
        let would = |kind, action| {
            let plan = ActionPlan::new(kind, &settings, &opts, &local, &decision_with(action))
                .expect("plan");
            let lines = plan.would();
            // Every guard and every line of every step, in order, then how to act.
            let described: Vec<String> = plan
                .guards
                .iter()
                .map(Guard::describe)
                .chain(plan.steps.iter().flat_map(Step::describe))
                .map(|l| format!("would {l}"))
                .collect();
            assert_eq!(lines[..lines.len() - 1], described[..]);
            assert_eq!(
                lines.last().map(String::as_str),
                Some("dry run: add --execute to act")
            );
            (plan.steps, lines.join("\n"))
        };

        let (steps, text) = would(Kind::Bootstrap, Action::Bootstrap);
        assert!(matches!(
            steps[..],
            [
                Step::SetSafeToBootstrap { .. },
                Step::Start { .. },
                Step::WaitPrimarySynced { .. }
            ]
        ));
        assert!(text.starts_with("would check that the audit log"), "{text}");
        assert!(
            text.contains("galera_new_cluster") && !text.contains("ERROR 1210"),
            "{text}"
        );

        let (steps, text) = would(Kind::Rejoin, Action::RecoverPosition);
        assert!(matches!(
            steps[..],
            [
                Step::RecoverPosition,
                Step::MoveAside { all: false, .. },
                Step::Start { .. },
                Step::WaitJoined { .. }
            ]
        ));
        assert!(text.contains("would recover its position"), "{text}");
        let (steps, text) = would(Kind::Rejoin, Action::RejoinMoveAside);
        assert!(matches!(
            steps[..],
            [
                Step::MoveAside { all: true, .. },
                Step::Start { .. },
                Step::WaitJoined { .. }
            ]
        ));
        assert!(
            text.contains("would move grastate.dat, galera.cache"),
            "{text}"
        );

        let (steps, text) = would(Kind::Promote, Action::Promote);
        assert!(matches!(
            steps[..],
            [Step::Promote { .. }, Step::WaitPrimarySynced { .. }]
        ));
        assert!(
            text.contains("pc.bootstrap=YES") && text.contains("ERROR 1210"),
            "{text}"
        );

        // With the loss accepted, the node's record of being found apart is retired last.
        let accepting = ActOptions {
            move_aside: true,
            accept_loss: true,
            ..opts.clone()
        };
        let decision = decision_with(Action::Investigate);
        let plan =
            ActionPlan::new(Kind::Rejoin, &settings, &accepting, &local, &decision).expect("plan");
        assert!(matches!(
            plan.steps[..],
            [
                Step::MoveAside { all: true, .. },
                Step::Start { .. },
                Step::WaitJoined { .. },
                Step::RetireApartRecord { .. }
            ]
        ));
        assert!(
            plan.would().join("\n").contains("would retire its record"),
            "{:?}",
            plan.would()
        );
    }

    #[test]
    fn errors_carry_what_was_restored() {
        let e = with_note(
            RecoverError::Command {
                node: "node1".into(),
                command: "galera_new_cluster".into(),
                status: "did not finish within 1s".into(),
                output: "tail".into(),
            },
            "restored /d/grastate.dat",
        );
        let text = e.to_string();
        assert!(text.contains("galera_new_cluster") && text.ends_with("restored /d/grastate.dat"));
    }
}
