//! The recovery actions, each on the local node only: `bootstrap`, `rejoin`, `promote` and
//! `position`. Dry-run unless `execute`; when executing, every action
//!
//! 1. gathers and decides, checks the decision names this action on this node (and, given
//!    `--plan`, that nothing changed since the plan the operator read),
//! 2. takes the node's lock (flock; a concurrent action is refused, not queued),
//! 3. gathers and decides **again** under the lock and refuses if anything changed,
//! 4. acts, waits for the node to be Primary and Synced, writes an audit line,
//! 5. gathers and decides once more: that is the next step of the runbook.
//!
//! State files are never deleted: what is replaced or moved goes to a timestamped directory
//! next to the datadir (`quorate-aside-<node>-<time>`), not inside it, because SST removes
//! unknown entries from the datadir (rsync runs with `--delete`, mariabackup empties it).

use std::collections::BTreeSet;
use std::io::Write;
use std::os::unix::fs::{MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde::Serialize;

use super::config::NodeRecovery;
use super::decide::{decide, Action, Assumptions, ClusterView, Decision, Observed, Verdict};
use super::report::{FileState, Live, NodeReport};
use super::transfer::{parse_join_log, Transfer};
use super::{gather, peer, position, sys, unix_now, RecoverError};
use crate::config::{Node, Settings};
use crate::wsrep::client::NodeClient;

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
// bootstrap

/// Bootstraps a new Primary from the local node, if and only if the decision says so.
pub async fn bootstrap(settings: &Settings, opts: &ActOptions) -> Result<ActReport, ActError> {
    let (n, nr) = position::local_node(settings, &opts.node)?;
    let d = planned_for_this_node(settings, opts, "bootstrap", |v| match v {
        Verdict::Bootstrap { node } => Some(node),
        _ => None,
    })
    .await?;
    let datadir = n.datadir.clone().ok_or(RecoverError::NoDatadir {
        node: opts.node.clone(),
    })?;
    let mut report = ActReport::new("bootstrap", opts);
    if !opts.execute {
        report.done = vec![
            format!("would take the lock {}", nr.lock_file.display()),
            "would gather and decide again, and stop if anything changed".into(),
            format!(
                "would set safe_to_bootstrap: 1 in {}/grastate.dat if it is 0 (after checking no mysqld holds the datadir; the old file kept aside)",
                datadir.display()
            ),
            format!("would run: {}", nr.bootstrap_command.join(" ")),
            "would wait until the node is Primary and Synced".into(),
            "dry run: add --execute to act".into(),
        ];
        report.next = Some(d);
        return Ok(report);
    }
    let lock = take_lock(nr, &opts.node, "bootstrap")?;
    let (view, d) = reverify(settings, opts, &d).await?;
    let result = async {
        let before = local_report(&view, &opts.node).cloned();
        if let Some(FileState::Read { value }) = before.as_ref().map(|r| &r.grastate) {
            if !value.safe_to_bootstrap {
                let aside = set_safe_to_bootstrap(&opts.node, &datadir, nr)?;
                report.done.push(format!(
                    "set safe_to_bootstrap: 1 in {}/grastate.dat (previous file kept in {})",
                    datadir.display(),
                    aside.display()
                ));
            }
        }
        run_start(
            &opts.node,
            &nr.bootstrap_command,
            settings.recovery.start_timeout,
        )
        .await?;
        report
            .done
            .push(format!("ran: {}", nr.bootstrap_command.join(" ")));
        wait_primary_synced(settings, n, settings.recovery.start_timeout).await?;
        report
            .done
            .push(format!("{} is Primary and Synced", opts.node));
        Ok::<(), RecoverError>(())
    }
    .await;
    audit(settings, "bootstrap", opts, &d, &result);
    drop(lock);
    result.map_err(|error| ActError {
        error,
        decision: Some(Box::new(d)),
    })?;
    report.next = Some(plan_now(settings, opts).await.1);
    Ok(report)
}

/// Sets `safe_to_bootstrap: 1`, atomically, only while nothing holds the datadir. Returns
/// the directory where the previous file was kept.
fn set_safe_to_bootstrap(
    node: &str,
    datadir: &Path,
    nr: &NodeRecovery,
) -> Result<PathBuf, RecoverError> {
    // find_mysqld also probes InnoDB's and Galera's locks, right before the edit.
    sys::require_stopped(node, datadir, nr.pid_file.as_deref(), "edit grastate.dat")?;
    let path = datadir.join("grastate.dat");
    let text =
        std::fs::read_to_string(&path).map_err(|e| RecoverError::io("cannot read", &path, e))?;
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
    let aside = aside_dir(datadir, node)?;
    let kept = aside.join("grastate.dat");
    std::fs::copy(&path, &kept).map_err(|e| RecoverError::io("cannot keep a copy at", &kept, e))?;
    let meta = std::fs::metadata(&path).map_err(|e| RecoverError::io("cannot stat", &path, e))?;
    let tmp = datadir.join("grastate.dat.quorate-tmp");
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(meta.mode() & 0o7777)
        .open(&tmp)
        .map_err(|e| RecoverError::io("cannot create", &tmp, e))?;
    f.write_all(new.as_bytes())
        .and_then(|()| f.sync_all())
        .map_err(|e| RecoverError::io("cannot write", &tmp, e))?;
    std::os::unix::fs::fchown(&f, Some(meta.uid()), Some(meta.gid()))
        .map_err(|e| RecoverError::io("cannot chown", &tmp, e))?;
    drop(f);
    std::fs::rename(&tmp, &path).map_err(|e| RecoverError::io("cannot replace", &path, e))?;
    Ok(aside)
}

/// A new `quorate-aside-<node>-<unix time>` directory beside the datadir.
fn aside_dir(datadir: &Path, node: &str) -> Result<PathBuf, RecoverError> {
    let parent = datadir.parent().unwrap_or(Path::new("/"));
    let base = parent.join(format!("quorate-aside-{node}-{}", unix_now()));
    let mut dir = base.clone();
    let mut i = 1;
    while dir.exists() {
        dir = PathBuf::from(format!("{}.{i}", base.display()));
        i += 1;
    }
    std::fs::create_dir_all(&dir).map_err(|e| RecoverError::io("cannot create", &dir, e))?;
    Ok(dir)
}

/// Moves `file` into `dir` (rename, or copy + remove across file systems).
fn move_aside(file: &Path, dir: &Path) -> Result<(), RecoverError> {
    let target = dir.join(file.file_name().unwrap_or_default());
    match std::fs::rename(file, &target) {
        Ok(()) => Ok(()),
        Err(e) if e.raw_os_error() == Some(libc::EXDEV) => {
            std::fs::copy(file, &target)
                .map_err(|e| RecoverError::io("cannot copy to", &target, e))?;
            std::fs::File::open(&target)
                .and_then(|f| f.sync_all())
                .map_err(|e| RecoverError::io("cannot sync", &target, e))?;
            std::fs::remove_file(file).map_err(|e| RecoverError::io("cannot remove", file, e))
        }
        Err(e) => Err(RecoverError::io("cannot move", file, e)),
    }
}

async fn run_start(node: &str, argv: &[String], timeout: Duration) -> Result<(), RecoverError> {
    let (node_owned, argv_owned) = (node.to_string(), argv.to_vec());
    tokio::task::spawn_blocking(move || {
        position::run_checked(&node_owned, &argv_owned, None, timeout)
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

/// Polls the node's server (monitoring account) until it is Primary and Synced.
async fn wait_primary_synced(
    settings: &Settings,
    node: &Node,
    timeout: Duration,
) -> Result<(), RecoverError> {
    let client = NodeClient::new(&node.name, &node.mysql, &settings.mysql);
    let started = Instant::now();
    let mut last;
    let result = loop {
        match client.collect(Duration::from_secs(3)).await {
            Ok(r) => {
                let st = &r.status;
                let primary = st.get("wsrep_cluster_status") == Some("Primary");
                let synced = st.get("wsrep_local_state") == Some("4");
                if primary && synced {
                    break Ok(());
                }
                last = format!(
                    "{} {}",
                    st.get("wsrep_cluster_status").unwrap_or("?"),
                    st.local_state_comment().unwrap_or("?")
                );
            }
            Err(e) => last = e.to_string(),
        }
        if started.elapsed() >= timeout {
            break Err(RecoverError::Timeout {
                node: node.name.clone(),
                message: format!("not Primary and Synced after {timeout:?} (last: {last})"),
            });
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    client.disconnect().await;
    result
}

// ---------------------------------------------------------------------------------------------
// rejoin

/// Starts the stopped local node so that it joins the running Primary.
pub async fn rejoin(settings: &Settings, opts: &ActOptions) -> Result<ActReport, ActError> {
    let (n, nr) = position::local_node(settings, &opts.node)?;
    let datadir = n.datadir.clone().ok_or(RecoverError::NoDatadir {
        node: opts.node.clone(),
    })?;
    let (view, d) = plan_now(settings, opts).await;
    check_plan_digest(opts, &d)?;
    check_rejoin(&view, &d, opts)?;
    let mut report = ActReport::new("rejoin", opts);
    let needs_position = local_report(&view, &opts.node)
        .and_then(|r| r.grastate.value())
        .is_some_and(|g| g.seqno < 0 && g.uuid != super::report::ZERO_UUID)
        && local_report(&view, &opts.node)
            .and_then(|r| r.recovered.as_ref())
            .is_none_or(|r| !r.fresh);
    let move_it = opts.move_aside || local_step(&d, &opts.node) == Some(Action::RejoinMoveAside);
    if !opts.execute {
        report
            .done
            .push(format!("would take the lock {}", nr.lock_file.display()));
        if needs_position {
            report.done.push("would recover its position (--wsrep-recover) and check it is not ahead of the Primary".into());
        }
        if move_it {
            report.done.push(format!(
                "would move grastate.dat, galera.cache and gvwstate.dat from {} aside (it then joins by SST)",
                datadir.display()
            ));
        }
        report
            .done
            .push(format!("would run: {}", nr.start_command.join(" ")));
        report
            .done
            .push("would wait until it is Synced and report IST or SST".into());
        report.done.push("dry run: add --execute to act".into());
        report.next = Some(d);
        return Ok(report);
    }
    let lock = take_lock(nr, &opts.node, "rejoin")?;
    // Other nodes may be rejoining at the same time (their locks change the digest): what
    // must still hold is that a Primary runs and this node's step is a rejoin.
    let (view, mut d) = plan_now(settings, opts).await;
    check_rejoin(&view, &d, opts)?;
    let result = async {
        if needs_position {
            let node = opts.node.clone();
            let s = settings.clone();
            let rec = tokio::task::spawn_blocking(move || position::recover(&s, &node))
                .await
                .map_err(|e| RecoverError::Refused {
                    node: opts.node.clone(),
                    message: format!("position recovery task failed: {e}"),
                })??;
            report
                .done
                .push(format!("recovered its position: {}", rec.outcome));
            // With its position known, the decision may now see it ahead of the Primary.
            let (view2, d2) = plan_now(settings, opts).await;
            check_rejoin(&view2, &d2, opts).map_err(|e| e.error)?;
            d = d2;
        }
        if move_it {
            let aside = aside_dir(&datadir, &opts.node)?;
            for f in ["grastate.dat", "galera.cache", "gvwstate.dat"] {
                let p = datadir.join(f);
                if p.exists() {
                    move_aside(&p, &aside)?;
                }
            }
            report
                .done
                .push(format!("moved its state files to {}", aside.display()));
        }
        let log_start = nr
            .error_log
            .as_ref()
            .and_then(|p| std::fs::metadata(p).ok())
            .map_or(0, |m| m.len());
        run_start(
            &opts.node,
            &nr.start_command,
            settings.recovery.start_timeout,
        )
        .await?;
        report
            .done
            .push(format!("ran: {}", nr.start_command.join(" ")));
        wait_primary_synced(settings, n, settings.recovery.start_timeout).await?;
        let transfer = nr.error_log.as_ref().map_or(Transfer::Unknown, |p| {
            parse_join_log(&read_from(p, log_start))
        });
        report.done.push(format!(
            "{} is Synced; it caught up by {transfer}",
            opts.node
        ));
        report.transfer = Some(transfer);
        Ok::<(), RecoverError>(())
    }
    .await;
    audit(settings, "rejoin", opts, &d, &result);
    drop(lock);
    result.map_err(|error| ActError {
        error,
        decision: Some(Box::new(d.clone())),
    })?;
    report.next = Some(plan_now(settings, opts).await.1);
    Ok(report)
}

fn local_step(d: &Decision, node: &str) -> Option<Action> {
    d.steps.iter().find(|s| s.node == node).map(|s| s.action)
}

fn check_rejoin(view: &ClusterView, d: &Decision, opts: &ActOptions) -> Result<(), ActError> {
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

/// `pc.bootstrap=YES` on the live non-Primary local node, if and only if the decision says so.
pub async fn promote(settings: &Settings, opts: &ActOptions) -> Result<ActReport, ActError> {
    let (n, nr) = position::local_node(settings, &opts.node)?;
    let d = planned_for_this_node(settings, opts, "promote", |v| match v {
        Verdict::Promote { node } => Some(node),
        _ => None,
    })
    .await?;
    const SQL: &str = "SET GLOBAL wsrep_provider_options='pc.bootstrap=YES';\n";
    let mut report = ActReport::new("promote", opts);
    if !opts.execute {
        report.done = vec![
            format!("would take the lock {}", nr.lock_file.display()),
            "would gather and decide again, and stop if anything changed".into(),
            format!(
                "would run `{}` with the SQL on its stdin: {}",
                nr.sql_command.join(" "),
                SQL.trim()
            ),
            "would wait until the node is Primary and Synced".into(),
            "dry run: add --execute to act".into(),
        ];
        report.next = Some(d);
        return Ok(report);
    }
    let lock = take_lock(nr, &opts.node, "promote")?;
    let (_, d) = reverify(settings, opts, &d).await?;
    let result = async {
        let (node, argv) = (opts.node.clone(), nr.sql_command.clone());
        tokio::task::spawn_blocking(move || {
            position::run_checked(&node, &argv, Some(SQL.as_bytes()), Duration::from_secs(30))
        })
        .await
        .map_err(|e| RecoverError::Refused {
            node: opts.node.clone(),
            message: e.to_string(),
        })??;
        report
            .done
            .push(format!("ran {} on {}", SQL.trim(), opts.node));
        wait_primary_synced(settings, n, Duration::from_secs(60)).await?;
        report
            .done
            .push(format!("{} is Primary and Synced", opts.node));
        Ok(())
    }
    .await;
    audit(settings, "promote", opts, &d, &result);
    drop(lock);
    result.map_err(|error| ActError {
        error,
        decision: Some(Box::new(d)),
    })?;
    report.next = Some(plan_now(settings, opts).await.1);
    Ok(report)
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
            let s = settings.clone();
            let name = node.clone();
            let lock_file = settings.recovery.node(node).map(|r| r.lock_file.clone());
            tokio::task::spawn_blocking(move || {
                let _lock = match lock_file
                    .as_deref()
                    .map(|p| sys::ActionLock::try_acquire(p, &format!("recover-position {name}")))
                {
                    Some(Ok(l)) => Some(l),
                    Some(Err(Ok(holder))) => {
                        return Err(format!("a recovery action holds the lock: {holder}"))
                    }
                    Some(Err(Err(e))) => return Err(e.to_string()),
                    None => None,
                };
                position::recover(&s, &name).map_err(|e| e.to_string())
            })
            .await
            .unwrap_or_else(|e| Err(e.to_string()))
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

async fn remote_position(
    settings: &Settings,
    node: &str,
) -> Result<super::report::Recovered, String> {
    let nr = settings
        .recovery
        .node(node)
        .ok_or("no quorate.recovery settings for this node")?;
    let token = settings
        .recovery
        .token
        .as_ref()
        .ok_or_else(|| RecoverError::NoToken.to_string())?;
    let answer = peer::request(
        peer::Call {
            method: hyper::Method::POST,
            endpoint: &nr.endpoint,
            path: "/galera/recover-position",
            token,
            ca_file: settings.recovery.ca_file.as_deref(),
        },
        position::RECOVER_TIMEOUT,
    )
    .await
    .map_err(|e| format!("{}: {e}", nr.endpoint))?;
    if answer.status != hyper::StatusCode::OK {
        return Err(format!(
            "{} answered {}: {}",
            nr.endpoint,
            answer.status,
            answer.body.trim()
        ));
    }
    serde_json::from_str(&answer.body).map_err(|e| format!("unreadable answer: {e}"))
}

// ---------------------------------------------------------------------------------------------
// audit

/// One line of the audit log (JSON).
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
    result: String,
}

fn audit(
    settings: &Settings,
    action: &str,
    opts: &ActOptions,
    d: &Decision,
    result: &Result<(), RecoverError>,
) {
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
        result: match result {
            Ok(()) => "ok".into(),
            Err(e) => format!("failed: {e}"),
        },
    };
    let path = &settings.recovery.audit_log;
    let text = serde_json::to_string(&line).unwrap_or_default() + "\n";
    let written = path
        .parent()
        .map_or(Ok(()), std::fs::create_dir_all)
        .and_then(|()| {
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .mode(0o640)
                .open(path)
        })
        .and_then(|mut f| f.write_all(text.as_bytes()));
    match written {
        Ok(()) => {
            tracing::info!(action, node = %opts.node, audit = %path.display(), "audit line written")
        }
        Err(e) => {
            tracing::error!(action, node = %opts.node, audit = %path.display(), error = %e, "cannot write the audit line")
        }
    }
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

    #[test]
    fn move_aside_keeps_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        std::fs::write(data.join("grastate.dat"), "x").expect("write");
        let aside = aside_dir(&data, "node1").expect("aside");
        assert!(aside.starts_with(dir.path()) && !aside.starts_with(&data));
        move_aside(&data.join("grastate.dat"), &aside).expect("move");
        assert_eq!(
            std::fs::read_to_string(aside.join("grastate.dat")).expect("kept"),
            "x"
        );
        assert!(!data.join("grastate.dat").exists());
        // A second directory in the same second gets its own name.
        assert_ne!(aside_dir(&data, "node1").expect("again"), aside);
    }

    #[test]
    fn safe_to_bootstrap_is_set_atomically_and_the_old_file_kept() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        std::fs::create_dir(&data).expect("mkdir");
        let crashed = include_str!("../../tests/fixtures/wsrep/grastate/crashed-padded.dat");
        std::fs::write(data.join("grastate.dat"), crashed).expect("write");
        let nr = NodeRecovery {
            endpoint: "http://127.0.0.1:1".into(),
            pid_file: None,
            error_log: None,
            lock_file: dir.path().join("lock"),
            start_command: vec!["true".into()],
            bootstrap_command: vec!["true".into()],
            recover_command: vec!["true".into()],
            sql_command: vec!["true".into()],
        };
        let aside = set_safe_to_bootstrap("node1", &data, &nr).expect("set");
        let new = std::fs::read_to_string(data.join("grastate.dat")).expect("read");
        let g = crate::wsrep::parse::parse_grastate(&new).expect("still valid");
        let old = crate::wsrep::parse::parse_grastate(crashed).expect("fixture");
        assert!(g.safe_to_bootstrap && !old.safe_to_bootstrap);
        assert_eq!((g.uuid, g.seqno), (old.uuid, old.seqno));
        assert_eq!(
            std::fs::read_to_string(aside.join("grastate.dat")).expect("kept"),
            crashed
        );
        assert!(!data.join("grastate.dat.quorate-tmp").exists());
    }
}
