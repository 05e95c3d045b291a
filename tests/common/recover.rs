//! What the `quorate recover` tests share (recover_cases.rs, recover_chaos.rs):
//!
//! - [`Cluster`]: a real Galera sandbox plus one `quorate serve --node NAME` per node, every
//!   `quorate recover` command run as the real binary, and a record of every action a test
//!   executed, so that [`Cluster::assert_audit`] can count the audit lines against them.
//! - [`Writer`]: inserts rows through every node and records each acknowledged commit with
//!   when it was sent and acknowledged, so that a test can prove who holds which rows and that
//!   writes were acknowledged during a fault and after the recovery.
//! - [`TextPlan`] and [`Cluster::recover_by_text_plan`]: the operator's path. The text plan is
//!   parsed and each printed command run exactly as printed (through `sh -c`, with the built
//!   `quorate` first in PATH), on the host its `# on NODE` marker names.
//! - [`Sampler`]: polls every node's wsrep status all along a test and reports any moment at
//!   which two Primary components that do not know each other existed.
//! - [`HeldLock`]: a node's recovery lock held by the test itself (flock(2) with a holder
//!   line, as `quorate::recover::sys::ActionLock` takes it), so that contention is certain.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use quorate::sandbox::{self, SandboxGuard, UpOptions};
use serde_json::Value;

use super::ServeProcess;

pub const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");

/// An action a test ran with `--execute` (or a printed command it executed), as the audit
/// log must then record it.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Executed {
    /// `bootstrap`, `rejoin`, `promote` or `position`.
    pub action: String,
    pub node: String,
    /// The action reported success (exit 0, or `NODE: <position>` for `position`).
    pub ok: bool,
}

/// A sandbox plus one `quorate serve` per node.
pub struct Cluster {
    pub sb: SandboxGuard,
    serves: Vec<Option<ServeProcess>>,
    executed: Mutex<Vec<Executed>>,
    _dir: tempfile::TempDir,
}

impl Cluster {
    pub fn up(nodes: usize) -> Cluster {
        Cluster::build(nodes, sandbox::up)
    }

    /// Every node in a network namespace of its own: the network between them can be cut.
    pub fn up_netns(nodes: usize) -> Cluster {
        Cluster::build(nodes, sandbox::up_netns)
    }

    fn build(
        nodes: usize,
        up: fn(&UpOptions) -> Result<sandbox::Sandbox, sandbox::SandboxError>,
    ) -> Cluster {
        let dir = tempfile::tempdir().expect("temp dir");
        let sb = SandboxGuard::new(
            up(&UpOptions {
                dir: dir.path().join("sb"),
                nodes,
            })
            .expect("sandbox up"),
        );
        sb.write_config(Path::new(QUORATE)).expect("config");
        let mut c = Cluster {
            sb,
            serves: Vec::new(),
            executed: Mutex::new(Vec::new()),
            _dir: dir,
        };
        for n in c.sb.node_names() {
            c.serves.push(Some(c.serve(&n)));
        }
        c.sql(
            "node1",
            "CREATE DATABASE qt; CREATE TABLE qt.acked (id BIGINT PRIMARY KEY, node VARCHAR(8))",
        );
        c
    }

    pub fn names(&self) -> Vec<String> {
        self.sb.node_names()
    }

    fn serve(&self, node: &str) -> ServeProcess {
        let addr = self.sb.serve_address(node).expect("serve address");
        ServeProcess::start_at(
            &self.sb.config_path(),
            addr.parse().expect("addr"),
            &["--node", node],
        )
    }

    fn index(node: &str) -> usize {
        node.trim_start_matches("node")
            .parse::<usize>()
            .expect("nodeN")
            - 1
    }

    /// The host of `node` "goes down": its quorate serve stops answering.
    pub fn kill_serve(&mut self, node: &str) {
        self.serves[Self::index(node)] = None;
    }

    pub fn restart_serve(&mut self, node: &str) {
        self.serves[Self::index(node)] = Some(self.serve(node));
    }

    pub fn sql(&self, node: &str, sql: &str) -> Vec<Vec<String>> {
        self.sb
            .sql(node, sql)
            .unwrap_or_else(|e| panic!("SQL on {node}: {e}"))
    }

    /// The node's recovery lock file, as quorate.yaml configures it.
    pub fn lock_file(&self, node: &str) -> PathBuf {
        let loaded = quorate::config::load(&self.sb.config_path()).expect("load quorate.yaml");
        loaded
            .settings
            .recovery
            .node(node)
            .unwrap_or_else(|| panic!("no recovery settings for {node}"))
            .lock_file
            .clone()
    }

    /// Runs `quorate recover ARGS --config C` and returns (exit code, stdout). Executed actions
    /// are recorded for [`Cluster::assert_audit`].
    pub fn recover(&self, args: &[&str]) -> (i32, String) {
        let out = Command::new(QUORATE)
            .arg("recover")
            .args(args)
            .arg("--config")
            .arg(self.sb.config_path())
            .env("QUORATE_LOG", "warn")
            .output()
            .expect("run quorate recover");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        eprintln!(
            "$ quorate recover {}\n{stdout}{}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr)
        );
        let code = out.status.code().unwrap_or(-1);
        let words: Vec<String> = args.iter().map(|s| s.to_string()).collect();
        self.record(&words, code, &stdout);
        (code, stdout)
    }

    /// Records what a `quorate recover` command line executed, from its words (with or
    /// without a leading `quorate recover`), its exit code and its output.
    pub fn record(&self, words: &[String], code: i32, stdout: &str) {
        for e in executed_by(words, code, stdout) {
            self.executed.lock().expect("executed").push(e);
        }
    }

    pub fn executed(&self) -> Vec<Executed> {
        self.executed.lock().map(|e| e.clone()).unwrap_or_default()
    }

    /// Runs `quorate sandbox VERB --dir DIR ARGS` and returns its stdout (it must succeed).
    pub fn sandbox_cli(&self, args: &[&str]) -> String {
        let out = Command::new(QUORATE)
            .arg("sandbox")
            .arg(args[0])
            .arg("--dir")
            .arg(self.sb.dir())
            .args(&args[1..])
            .env("QUORATE_LOG", "warn")
            .output()
            .expect("run quorate sandbox");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "quorate sandbox {args:?}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    /// `recover plan --format json` on `node`.
    pub fn plan(&self, node: &str, lost: &[&str]) -> (i32, Value) {
        let mut args = vec!["plan", "--node", node, "--format", "json"];
        if !lost.is_empty() {
            args.push("--assume-lost");
            args.extend_from_slice(lost);
        }
        let (code, out) = self.recover(&args);
        (
            code,
            serde_json::from_str(&out).unwrap_or_else(|e| panic!("plan JSON: {e}: {out}")),
        )
    }

    /// Runs an action on `node` and asserts it succeeded.
    pub fn act(&self, node: &str, action: &str, extra: &[&str]) -> String {
        let mut args = vec![action, "--node", node, "--execute"];
        args.extend_from_slice(extra);
        let (code, out) = self.recover(&args);
        assert_eq!(code, 0, "recover {action} on {node} failed:\n{out}");
        out
    }

    pub fn wait_status(&self, node: &str, want: &str, timeout: Duration) {
        let start = Instant::now();
        loop {
            let rows = self
                .sb
                .sql_with_timeout(
                    node,
                    "SHOW STATUS LIKE 'wsrep_cluster_status'",
                    Duration::from_secs(3),
                )
                .unwrap_or_default();
            if rows.first().and_then(|r| r.get(1)).map(String::as_str) == Some(want) {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "{node} never became {want}: {rows:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Starts a writer through every node (socket, root).
    pub fn writer(&self) -> Writer {
        let sockets: Vec<(String, PathBuf)> = self
            .names()
            .into_iter()
            .map(|n| {
                let s = self.sb.socket(&n).expect("socket");
                (n, s)
            })
            .collect();
        Writer::start(sockets)
    }

    /// A sampler of every node's wsrep status (see [`Sampler`]).
    pub fn sampler(&self) -> Sampler {
        let nodes = self
            .names()
            .into_iter()
            .map(|n| SampledNode {
                socket: self.sb.socket(&n).expect("socket"),
                mysql_port: self.sb.mysql_port(&n).expect("port"),
                name: n,
            })
            .collect();
        Sampler::start(nodes)
    }

    /// Waits (bounded) until every node is Synced in one Primary component of all nodes.
    /// Polled, because a node that was frozen or partitioned still reports its old
    /// Synced/Primary view for a moment after it resumes, before it notices and merges back.
    pub fn wait_converged(&self, timeout: Duration) {
        let names = self.names();
        let want_size = names.len().to_string();
        let start = Instant::now();
        loop {
            let views: Vec<(String, Vec<Vec<String>>)> = names
                .iter()
                .map(|n| {
                    let rows = self.sb.sql_with_timeout(
                        n,
                        "SHOW STATUS WHERE Variable_name IN ('wsrep_cluster_status','wsrep_cluster_size','wsrep_local_state','wsrep_cluster_state_uuid')",
                        Duration::from_secs(5),
                    );
                    (n.clone(), rows.unwrap_or_default())
                })
                .collect();
            let get = |rows: &[Vec<String>], k: &str| {
                rows.iter()
                    .find(|r| r[0] == k)
                    .map(|r| r[1].clone())
                    .unwrap_or_default()
            };
            let uuids: BTreeSet<String> = views
                .iter()
                .map(|(_, r)| get(r, "wsrep_cluster_state_uuid"))
                .collect();
            let converged = uuids.len() == 1
                && views.iter().all(|(_, rows)| {
                    get(rows, "wsrep_cluster_status") == "Primary"
                        && get(rows, "wsrep_cluster_size") == want_size
                        && get(rows, "wsrep_local_state") == "4"
                });
            if converged {
                return;
            }
            assert!(
                start.elapsed() < timeout,
                "the cluster never converged to one Primary of {want_size} Synced nodes: {views:?}"
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// Every node Synced in one Primary of all nodes; the writer's acknowledged writes during
    /// the fault window (from `fault_start` until now) and, once recovered, through every
    /// node; every acknowledged row on every node; one audit line per executed action.
    pub fn assert_recovered(&self, writer: Writer, fault_start: Instant) {
        self.wait_converged(Duration::from_secs(120));
        let recovered = Instant::now();
        for n in self.names() {
            writer.wait_acks(
                &format!("through {n} after the recovery"),
                3,
                Duration::from_secs(90),
                |a| a.node == n && a.started >= recovered,
            );
        }
        let acked = writer.stop();
        let during = acked
            .iter()
            .filter(|a| a.started >= fault_start && a.acked < recovered)
            .count();
        assert!(
            during > 0,
            "no write was acknowledged during the fault window ({} in all)",
            acked.len()
        );
        eprintln!(
            "writer: {} rows acknowledged, {during} of them during the fault window",
            acked.len()
        );
        self.assert_rows_everywhere(&acked);
        self.assert_audit();
    }

    /// Every acknowledged row is on every node, and every node holds the same rows.
    pub fn assert_rows_everywhere(&self, acked: &[Ack]) {
        let mut counts = BTreeSet::new();
        for n in &self.names() {
            let ids = self.ids_on(n);
            let missing: Vec<&Ack> = acked.iter().filter(|a| !ids.contains(&a.id)).collect();
            assert!(
                missing.is_empty(),
                "{n} lost {} acknowledged rows: {:?}",
                missing.len(),
                &missing[..missing.len().min(10)]
            );
            counts.insert(ids.len());
        }
        assert_eq!(counts.len(), 1, "nodes differ in row count: {counts:?}");
    }

    /// The ids in qt.acked on `node` (causally after everything it has received).
    pub fn ids_on(&self, node: &str) -> BTreeSet<u64> {
        let rows = self.sql(
            node,
            "SET SESSION wsrep_sync_wait=1; SELECT id FROM qt.acked",
        );
        rows.iter().filter_map(|r| r[0].parse().ok()).collect()
    }

    /// The audit log, one parsed JSON line each; a line that is not JSON fails the test.
    pub fn audit_lines(&self) -> Vec<Value> {
        let path = self.sb.dir().join("recover-audit.log");
        let text = match std::fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => panic!("cannot read {}: {e}", path.display()),
        };
        text.lines()
            .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("audit line {l:?}: {e}")))
            .collect()
    }

    /// One audit line per action the test executed, no more, no fewer: each names its action
    /// and node, its result (`ok` for actions that succeeded), the digest and verdict it acted
    /// on and the evidence of every configured node. Compared as multisets of
    /// (action, node, ok); `position` counts one line per node it recovered.
    pub fn assert_audit(&self) {
        let names = self.names();
        let lines = self.audit_lines();
        let mut logged = Vec::new();
        for l in &lines {
            let action = l["action"]
                .as_str()
                .unwrap_or_else(|| panic!("no action: {l}"));
            let action = if action == "recover-position" {
                "position"
            } else {
                action
            };
            let node = l["node"].as_str().unwrap_or_else(|| panic!("no node: {l}"));
            let result = l["result"]
                .as_str()
                .unwrap_or_else(|| panic!("no result: {l}"));
            assert!(
                !l["digest"].as_str().unwrap_or("").is_empty()
                    && !l["verdict"].as_str().unwrap_or("").is_empty(),
                "audit line without the plan it acted on: {l}"
            );
            let evidence: Vec<&str> = l["evidence"]
                .as_array()
                .unwrap_or_else(|| panic!("no evidence: {l}"))
                .iter()
                .filter_map(Value::as_str)
                .collect();
            for n in &names {
                assert!(
                    evidence.iter().any(|e| e.starts_with(&format!("{n}: "))),
                    "audit line without evidence for {n}: {l}"
                );
            }
            logged.push(Executed {
                action: action.to_string(),
                node: node.to_string(),
                ok: result == "ok",
            });
        }
        let mut expected = self.executed();
        logged.sort();
        expected.sort();
        assert_eq!(
            logged,
            expected,
            "the audit log must hold exactly one line per executed action\naudit log:\n{}",
            lines
                .iter()
                .map(Value::to_string)
                .collect::<Vec<_>>()
                .join("\n")
        );
        assert!(
            logged.iter().all(|e| e.ok),
            "an executed action failed: {logged:?}"
        );
    }

    /// The operator's first command: `quorate recover plan --config C` (text).
    pub fn plan_command(&self) -> String {
        format!(
            "quorate recover plan --config {}",
            self.sb.config_path().display()
        )
    }

    /// Runs one printed command line exactly as printed, through `sh -c`, with the built
    /// `quorate` first in PATH. Returns (exit code, stdout + stderr). Recovery actions it
    /// executed are recorded.
    pub fn run_printed(&self, line: &str) -> (i32, String) {
        let bin_dir = Path::new(QUORATE).parent().expect("binary dir");
        let path = format!(
            "{}:{}",
            bin_dir.display(),
            std::env::var("PATH").unwrap_or_default()
        );
        let out = Command::new("sh")
            .arg("-c")
            .arg(line)
            .env("PATH", path)
            .output()
            .expect("run sh");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
        let code = out.status.code().unwrap_or(-1);
        let words: Vec<String> = line
            .split('#')
            .next()
            .unwrap_or("")
            .split_whitespace()
            .map(str::to_string)
            .collect();
        self.record(&words, code, &stdout);
        (code, format!("{stdout}{stderr}"))
    }

    /// Follows the text plan to the end as an operator would: `quorate recover plan`, run the
    /// first printed command (on the host its marker names), read the plan the command prints
    /// next (`Next step:`) or run the `next:` command it prints, and so on, until the plan
    /// says `healthy`. A plan without a command (`wait`, or a refusal naming whom to wait
    /// for) is planned again after a pause. `policy` says which refusals end the recovery.
    pub fn recover_by_text_plan(&self, bound: Duration, policy: RefusalPolicy) -> Recovery {
        let start = Instant::now();
        let mut rec = Recovery::default();
        let plan_command = self.plan_command();
        let mut text = self.printed(&plan_command, &mut rec).1;
        let mut unambiguous_refusals = 0;
        let mut half_way_since: Option<Instant> = None;
        loop {
            if start.elapsed() > bound {
                rec.failure = Some(format!("not healthy after {bound:?} of following the plan"));
                break;
            }
            let Some(plan) = TextPlan::parse(&text) else {
                rec.failure = Some(format!("unreadable plan:\n{text}"));
                break;
            };
            rec.plans += 1;
            if plan.decision.starts_with("healthy") {
                break;
            }
            if !(plan.decision.starts_with("REFUSED") && plan.half_way()) {
                half_way_since = None;
            }
            if let Some(why) = plan.never_acceptable() {
                rec.failure = Some(format!("{why}:\n{text}"));
                break;
            }
            let step = plan.steps.iter().find(|s| s.command.is_some());
            match step {
                Some(step) => {
                    let line = step.command.clone().unwrap_or_default();
                    if let Some(node) = flag_value(&line, "--node") {
                        assert_eq!(
                            step.host.as_deref(),
                            Some(node.as_str()),
                            "a command with --node {node} must be marked `# on {node}`: {line}"
                        );
                    }
                    let (code, out) = self.printed(&line, &mut rec);
                    rec.commands.push(line.clone());
                    if code != 0 {
                        let busy = out.contains("another recovery action is running")
                            || out.contains("a recovery action holds the lock");
                        if code == 4 && (busy || policy == RefusalPolicy::Transitional) {
                            std::thread::sleep(Duration::from_secs(2));
                            text = self.printed(&plan_command, &mut rec).1;
                            continue;
                        }
                        rec.failure =
                            Some(format!("the printed command failed (exit {code}): {line}"));
                        break;
                    }
                    text = match next_plan(&out) {
                        NextPlan::Printed(t) => t,
                        NextPlan::Command(c) => self.printed(&c, &mut rec).1,
                        NextPlan::None => self.printed(&plan_command, &mut rec).1,
                    };
                }
                None => {
                    if plan.decision.starts_with("REFUSED") && plan.half_way() {
                        let since = *half_way_since.get_or_insert_with(Instant::now);
                        if policy == RefusalPolicy::Never || since.elapsed() > HALF_WAY_GRACE {
                            rec.failure = Some(format!(
                                "refused for over {HALF_WAY_GRACE:?} as a view change caught half-way:\n{text}"
                            ));
                            break;
                        }
                    } else if plan.decision.starts_with("REFUSED") {
                        if plan.transitional_evidence().is_empty() {
                            unambiguous_refusals += 1;
                        } else {
                            unambiguous_refusals = 0;
                        }
                        let allowed = match policy {
                            RefusalPolicy::Never => 0,
                            RefusalPolicy::Transitional => 2,
                        };
                        if unambiguous_refusals > allowed || policy == RefusalPolicy::Never {
                            rec.failure = Some(format!(
                                "refused although every node answers and none is in transition:\n{text}"
                            ));
                            break;
                        }
                    }
                    std::thread::sleep(Duration::from_secs(2));
                    text = self.printed(&plan_command, &mut rec).1;
                }
            }
        }
        rec.elapsed = start.elapsed();
        rec
    }

    fn printed(&self, line: &str, rec: &mut Recovery) -> (i32, String) {
        let t = Instant::now();
        let (code, out) = self.run_printed(line);
        let _ = writeln!(
            rec.transcript,
            "$ {line}    [exit {code}, {:.1}s]\n{out}",
            t.elapsed().as_secs_f64()
        );
        (code, out)
    }
}

impl Drop for Cluster {
    /// Nodes started by quorate's start and bootstrap commands (`quorate sandbox start` in
    /// another process) are recorded in sandbox.json, which the test's own view of the sandbox
    /// does not reload, and a joiner that never got going has no pid file yet: the sandbox's
    /// teardown would miss it. So first every mariadbd running on one of this sandbox's
    /// datadirs (found in /proc by its exact `--datadir=`) is ended by its pid.
    fn drop(&mut self) {
        for n in self.names() {
            let Ok(datadir) = self.sb.datadir(&n) else {
                continue;
            };
            for pid in mariadbd_on(&datadir) {
                super::signal(pid, libc::SIGCONT);
                super::signal(pid, libc::SIGKILL);
                let start = Instant::now();
                while Path::new(&format!("/proc/{pid}")).exists()
                    && start.elapsed() < Duration::from_secs(10)
                {
                    std::thread::sleep(Duration::from_millis(20));
                }
            }
        }
    }
}

/// Pids of the mariadbd processes whose command line has `--datadir=DATADIR`.
fn mariadbd_on(datadir: &Path) -> Vec<u32> {
    let want = format!("--datadir={}", datadir.display());
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            let exe = std::fs::read_link(format!("/proc/{pid}/exe")).unwrap_or_default();
            let is_mariadbd = exe
                .file_name()
                .is_some_and(|f| f.to_string_lossy().starts_with("mariadbd"));
            is_mariadbd
                && std::fs::read(format!("/proc/{pid}/cmdline"))
                    .is_ok_and(|c| c.split(|b| *b == 0).any(|a| a == want.as_bytes()))
        })
        .collect()
}

/// The value after `flag` in a command line.
pub fn flag_value(line: &str, flag: &str) -> Option<String> {
    let words: Vec<&str> = line.split('#').next()?.split_whitespace().collect();
    words
        .iter()
        .position(|w| *w == flag)
        .and_then(|i| words.get(i + 1))
        .map(|s| s.to_string())
}

/// What a `quorate recover` command line executed (see [`Cluster::record`]).
fn executed_by(words: &[String], code: i32, stdout: &str) -> Vec<Executed> {
    let mut w: Vec<&str> = words.iter().map(String::as_str).collect();
    if w.first().is_some_and(|f| f.ends_with("quorate")) {
        w.remove(0);
    }
    if w.first() == Some(&"recover") {
        w.remove(0);
    }
    let Some(action) = w.first().copied() else {
        return Vec::new();
    };
    if !w.contains(&"--execute") {
        return Vec::new();
    }
    match action {
        // Text: `NODE: <outcome>` or `NODE: FAILED: ...` per node, whatever the exit code.
        "position" => stdout
            .lines()
            .filter_map(|l| l.split_once(": "))
            .filter(|(n, _)| n.starts_with("node") && !n.contains(' '))
            .map(|(n, rest)| Executed {
                action: "position".into(),
                node: n.to_string(),
                ok: !rest.starts_with("FAILED"),
            })
            .collect(),
        "bootstrap" | "rejoin" | "promote" => {
            let node = w
                .iter()
                .position(|x| *x == "--node")
                .and_then(|i| w.get(i + 1))
                .map(|s| s.to_string())
                .unwrap_or_default();
            match code {
                0 => vec![Executed {
                    action: action.into(),
                    node,
                    ok: true,
                }],
                // Refused: nothing was done, no audit line.
                4 => Vec::new(),
                _ => vec![Executed {
                    action: action.into(),
                    node,
                    ok: false,
                }],
            }
        }
        _ => Vec::new(),
    }
}

/// How long a plan may call the situation a view change caught half-way (Galera's suspect
/// and inactive timeouts are 5 and 15 s).
pub const HALF_WAY_GRACE: Duration = Duration::from_secs(60);

/// Which refusals [`Cluster::recover_by_text_plan`] accepts before failing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefusalPolicy {
    /// Any refusal fails (a case whose evidence is complete from the start).
    Never,
    /// Refusals while a node is in transition (unknown, not answering, joining, busy,
    /// non-Primary merging back) are waited out; a refusal with every node answering and none
    /// in transition fails on its third time in a row.
    Transitional,
}

/// What following the text plan did.
#[derive(Debug, Default)]
pub struct Recovery {
    /// Every command run and its output.
    pub transcript: String,
    /// The printed action commands executed, in order.
    pub commands: Vec<String>,
    /// Plans read.
    pub plans: usize,
    pub elapsed: Duration,
    /// Why it stopped before `healthy`, if it did.
    pub failure: Option<String>,
}

enum NextPlan {
    /// The command printed the next plan (`Next step:` / `Now:`).
    Printed(String),
    /// The command printed the command to run next (`next: quorate recover plan ...`).
    Command(String),
    None,
}

fn next_plan(out: &str) -> NextPlan {
    for header in ["\nNext step:\n", "\nNow:\n"] {
        if let Some(i) = out.find(header) {
            return NextPlan::Printed(out[i + header.len()..].to_string());
        }
    }
    match out.lines().find_map(|l| l.strip_prefix("next: ")) {
        Some(c) => NextPlan::Command(c.trim().to_string()),
        None => NextPlan::None,
    }
}

/// One numbered step of a text plan.
#[derive(Debug, Clone)]
pub struct TextStep {
    pub number: usize,
    /// The command exactly as printed (with its `# on NODE` comment), when the step is one.
    pub command: Option<String>,
    /// The node the `# on NODE` marker names.
    pub host: Option<String>,
    /// The whole step line after its number.
    pub line: String,
}

/// A plan as `quorate recover plan` prints it for the operator.
#[derive(Debug, Clone)]
pub struct TextPlan {
    pub situation: String,
    pub decision: String,
    /// (node, state) from the Evidence section.
    pub evidence: Vec<(String, String)>,
    pub why: Vec<String>,
    pub steps: Vec<TextStep>,
}

impl TextPlan {
    pub fn parse(text: &str) -> Option<TextPlan> {
        let mut plan = TextPlan {
            situation: String::new(),
            decision: String::new(),
            evidence: Vec::new(),
            why: Vec::new(),
            steps: Vec::new(),
        };
        let mut section = "";
        for line in text.lines() {
            if let Some(s) = line.strip_prefix("Situation:") {
                plan.situation = s.trim().to_string();
                continue;
            }
            if let Some(d) = line.strip_prefix("Decision:") {
                plan.decision = d.trim().to_string();
                continue;
            }
            if !line.starts_with(' ') && line.ends_with(':') {
                section = match line {
                    "Evidence:" => "evidence",
                    "Why:" => "why",
                    "Steps:" => "steps",
                    _ => "",
                };
                continue;
            }
            if line.trim().is_empty() {
                continue;
            }
            match section {
                "evidence" if line.starts_with("  ") && !line.starts_with("   ") => {
                    let rest = line.trim_start();
                    let (node, state) = rest.split_once(' ').unwrap_or((rest, ""));
                    plan.evidence
                        .push((node.to_string(), state.trim().to_string()));
                }
                "why" => {
                    if let Some(r) = line.trim_start().strip_prefix("- ") {
                        plan.why.push(r.to_string());
                    }
                }
                "steps" => {
                    let t = line.trim_start();
                    let Some((num, rest)) = t.split_once(". ") else {
                        continue;
                    };
                    let Ok(number) = num.parse::<usize>() else {
                        continue;
                    };
                    let command = rest.starts_with("quorate ").then(|| rest.to_string());
                    let host = rest
                        .split_once("# on ")
                        .map(|(_, h)| h.trim().to_string())
                        .filter(|_| command.is_some());
                    plan.steps.push(TextStep {
                        number,
                        command,
                        host,
                        line: rest.to_string(),
                    });
                }
                _ => {}
            }
        }
        (!plan.decision.is_empty()).then_some(plan)
    }

    /// Nodes whose evidence says they are in transition: not answering (yet), joining,
    /// busy with another action, or running non-Primary (merging back by itself).
    pub fn transitional_evidence(&self) -> Vec<String> {
        const TRANSIENT: [&str; 10] = [
            "unknown:",
            "does not answer",
            "frozen",
            "state transfer",
            "busy:",
            "non-Primary",
            "Joining",
            "Joined",
            "Donor",
            "Initialized",
        ];
        self.evidence
            .iter()
            .filter(|(_, s)| TRANSIENT.iter().any(|t| s.contains(t)))
            .map(|(n, s)| format!("{n}: {s}"))
            .collect()
    }

    /// A plan no test situation can justify: two histories or two Primary components.
    pub fn never_acceptable(&self) -> Option<&'static str> {
        let said = |s: &str| {
            self.situation.contains(s)
                || self.why.iter().any(|w| w.contains(s))
                || self.steps.iter().any(|st| st.line.contains(s))
        };
        if said("Primary components with different cluster UUIDs")
            || said("more nodes report Primary than any Primary component has members")
        {
            Some("split brain reported")
        } else if said("cluster UUIDs disagree") || said("show two Primary components") {
            Some("two histories reported")
        } else if self.steps.iter().any(|st| {
            st.line.starts_with("investigate")
                && (st.line.contains("ahead of the Primary")
                    || st.line.contains("differs from the Primary's"))
        }) {
            Some("a stopped node holds transactions the running Primary lacks")
        } else {
            None
        }
    }

    /// A refusal the plan itself calls a view change caught half-way (a stale view, members
    /// reporting different sizes: "plan again in a few seconds"): waited out, up to
    /// [`HALF_WAY_GRACE`].
    pub fn half_way(&self) -> bool {
        self.why
            .iter()
            .any(|w| w.starts_with("plan again in a few seconds"))
    }
}

// ---------------------------------------------------------------------------------------------
// The writer.

/// One acknowledged insert.
#[derive(Debug, Clone)]
pub struct Ack {
    pub id: u64,
    /// The node it was sent through.
    pub node: String,
    /// When the INSERT was sent.
    pub started: Instant,
    /// When its commit returned OK.
    pub acked: Instant,
}

/// Inserts rows through every node; records the ids whose commit was acknowledged.
pub struct Writer {
    stop: Arc<AtomicBool>,
    acked: Arc<Mutex<Vec<Ack>>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Writer {
    pub fn start(nodes: Vec<(String, PathBuf)>) -> Writer {
        let names: Vec<String> = nodes.iter().map(|(n, _)| n.clone()).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let acked = Arc::new(Mutex::new(Vec::new()));
        let (s, a) = (Arc::clone(&stop), Arc::clone(&acked));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(async move {
                let tasks = nodes.into_iter().enumerate().map(|(i, (name, socket))| {
                    let (s, a) = (Arc::clone(&s), Arc::clone(&a));
                    async move { write_loop(i as u64, &name, &socket, &s, &a).await }
                });
                futures::future::join_all(tasks).await;
            });
        });
        let w = Writer {
            stop,
            acked,
            thread: Some(thread),
        };
        // Commits through every node land before the fault.
        for n in &names {
            w.wait_acks(
                &format!("through {n} before the fault"),
                5,
                Duration::from_secs(30),
                |a| &a.node == n,
            );
        }
        w
    }

    pub fn acks(&self) -> Vec<Ack> {
        self.acked.lock().map(|a| a.clone()).unwrap_or_default()
    }

    /// Waits until at least `n` acknowledged rows satisfy `which`; fails the test after
    /// `timeout`, saying `what` was expected.
    pub fn wait_acks(
        &self,
        what: &str,
        n: usize,
        timeout: Duration,
        which: impl Fn(&Ack) -> bool,
    ) -> Vec<Ack> {
        let start = Instant::now();
        loop {
            let got: Vec<Ack> = self.acks().into_iter().filter(|a| which(a)).collect();
            if got.len() >= n {
                return got;
            }
            assert!(
                start.elapsed() < timeout,
                "the writer got only {} of {n} acknowledged writes {what} within {timeout:?}",
                got.len()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    pub fn stop(mut self) -> Vec<Ack> {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.acks()
    }
}

impl Drop for Writer {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

fn socket_opts(socket: &Path) -> mysql_async::OptsBuilder {
    mysql_async::OptsBuilder::default()
        .user(Some("root"))
        .socket(Some(socket.to_string_lossy().into_owned()))
}

async fn write_loop(
    index: u64,
    node: &str,
    socket: &Path,
    stop: &AtomicBool,
    acked: &Mutex<Vec<Ack>>,
) {
    let opts = socket_opts(socket);
    let mut next = index * 1_000_000_000;
    let mut conn: Option<mysql_async::Conn> = None;
    while !stop.load(Ordering::SeqCst) {
        if conn.is_none() {
            conn =
                tokio::time::timeout(Duration::from_secs(2), mysql_async::Conn::new(opts.clone()))
                    .await
                    .ok()
                    .and_then(Result::ok);
            if conn.is_none() {
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
        }
        let Some(c) = conn.as_mut() else { continue };
        next += 1;
        let id = next;
        let started = Instant::now();
        let insert = c.exec_drop("INSERT INTO qt.acked (id, node) VALUES (?, ?)", (id, node));
        match tokio::time::timeout(Duration::from_secs(3), insert).await {
            // Acknowledged: the commit returned OK to the client.
            Ok(Ok(())) => {
                if let Ok(mut a) = acked.lock() {
                    a.push(Ack {
                        id,
                        node: node.to_string(),
                        started,
                        acked: Instant::now(),
                    });
                }
                tokio::time::sleep(Duration::from_millis(15)).await;
            }
            // Refused (non-Primary) or unknown outcome (timeout, dropped connection): not
            // acknowledged, so not counted; reconnect.
            _ => {
                conn = None;
                tokio::time::sleep(Duration::from_millis(200)).await;
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The sampler.

/// A node the sampler polls.
#[derive(Debug, Clone)]
pub struct SampledNode {
    pub name: String,
    pub socket: PathBuf,
    pub mysql_port: u16,
}

/// One node's answer in one sampling round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observation {
    pub node: String,
    pub status: String,
    pub state_uuid: String,
    pub conf_id: String,
    /// Members of its component, by node name (from wsrep_incoming_addresses).
    pub members: BTreeSet<String>,
}

impl std::fmt::Display for Observation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} {} conf {} uuid {} members {{{}}}",
            self.node,
            self.status,
            self.conf_id,
            self.state_uuid,
            self.members.iter().cloned().collect::<Vec<_>>().join(",")
        )
    }
}

/// What the sampler saw.
#[derive(Debug, Default, Clone)]
pub struct SamplerReport {
    /// Sampling rounds (each queries every node concurrently, bounded by 1 s per node).
    pub rounds: u64,
    /// Rounds in which at least one node answered Primary.
    pub rounds_with_primary: u64,
    /// Two Primary components at once: each line says when and what.
    pub violations: Vec<String>,
    /// Changes of each node's (status, conf_id, members), in order, with the time since the
    /// sampler started: the story of a failing run.
    pub timeline: Vec<String>,
}

/// Polls `wsrep_cluster_status`, `wsrep_cluster_state_uuid`, `wsrep_cluster_conf_id` and
/// the members (`wsrep_incoming_addresses`) of every node, all nodes concurrently, about four
/// times a second, until [`Sampler::finish`].
///
/// Two nodes answering Primary in the same round are two Primary components when their
/// cluster state UUIDs differ, when neither lists the other as a member, or when they report
/// the same configuration id with different members and do not both list each other. A node
/// that lists the other while the other no longer lists it holds a stale view (it has not
/// noticed yet that it was left out, as a partitioned minority does for a few seconds), and
/// two nodes that list each other with different members at one configuration id are in the
/// middle of a view change; either is only a violation when it lasts more than
/// [`STALE_VIEW_GRACE`].
pub struct Sampler {
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<SamplerReport>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

/// How long a node may keep a stale Primary view that still lists a node which has formed a
/// newer component without it (Galera's suspect and inactive timeouts are 5 and 15 s).
pub const STALE_VIEW_GRACE: Duration = Duration::from_secs(30);

impl Sampler {
    pub fn start(nodes: Vec<SampledNode>) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let report = Arc::new(Mutex::new(SamplerReport::default()));
        let (s, r) = (Arc::clone(&stop), Arc::clone(&report));
        let thread = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime");
            rt.block_on(sample_loop(nodes, s, r));
        });
        Sampler {
            stop,
            report,
            thread: Some(thread),
        }
    }

    /// What was seen so far.
    pub fn report(&self) -> SamplerReport {
        self.report.lock().map(|r| r.clone()).unwrap_or_default()
    }

    pub fn finish(mut self) -> SamplerReport {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        self.report()
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

async fn sample_one(
    node: &SampledNode,
    conn: &mut Option<mysql_async::Conn>,
    by_port: &BTreeMap<u16, String>,
) -> Option<Observation> {
    let bound = Duration::from_secs(1);
    if conn.is_none() {
        *conn = tokio::time::timeout(bound, mysql_async::Conn::new(socket_opts(&node.socket)))
            .await
            .ok()
            .and_then(Result::ok);
    }
    let c = conn.as_mut()?;
    let query = c.query::<(String, String), _>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_cluster_status', \
         'wsrep_cluster_state_uuid', 'wsrep_cluster_conf_id', 'wsrep_incoming_addresses')",
    );
    let rows = match tokio::time::timeout(bound, query).await {
        Ok(Ok(rows)) => rows,
        _ => {
            // A frozen node keeps the connection hanging: drop it and connect again later.
            *conn = None;
            return None;
        }
    };
    let get = |k: &str| {
        rows.iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(k))
            .map(|(_, v)| v.clone())
            .unwrap_or_default()
    };
    let members = get("wsrep_incoming_addresses")
        .split(',')
        .filter(|a| !a.trim().is_empty())
        .map(|a| {
            a.trim()
                .rsplit_once(':')
                .and_then(|(_, p)| p.parse::<u16>().ok())
                .and_then(|p| by_port.get(&p).cloned())
                .unwrap_or_else(|| a.trim().to_string())
        })
        .collect();
    Some(Observation {
        node: node.name.clone(),
        status: get("wsrep_cluster_status"),
        state_uuid: get("wsrep_cluster_state_uuid"),
        conf_id: get("wsrep_cluster_conf_id"),
        members,
    })
}

async fn sample_loop(
    nodes: Vec<SampledNode>,
    stop: Arc<AtomicBool>,
    report: Arc<Mutex<SamplerReport>>,
) {
    let by_port: BTreeMap<u16, String> = nodes
        .iter()
        .map(|n| (n.mysql_port, n.name.clone()))
        .collect();
    let mut conns: Vec<Option<mysql_async::Conn>> = nodes.iter().map(|_| None).collect();
    let mut last: BTreeMap<String, String> = BTreeMap::new();
    let mut stale_since: BTreeMap<(String, String), Instant> = BTreeMap::new();
    let started = Instant::now();
    while !stop.load(Ordering::SeqCst) {
        let round = Instant::now();
        let futures = nodes
            .iter()
            .zip(conns.iter_mut())
            .map(|(n, c)| sample_one(n, c, &by_port));
        let seen: Vec<Observation> = futures::future::join_all(futures)
            .await
            .into_iter()
            .flatten()
            .collect();
        let at = started.elapsed().as_secs_f64();
        match report.lock() {
            Ok(mut r) => judge_round(&mut r, &seen, at, round, &mut last, &mut stale_since),
            Err(_) => return,
        }
        let spent = round.elapsed();
        if spent < Duration::from_millis(250) {
            tokio::time::sleep(Duration::from_millis(250) - spent).await;
        }
    }
    for c in conns.into_iter().flatten() {
        let _ = tokio::time::timeout(Duration::from_secs(1), c.disconnect()).await;
    }
}

/// Records one sampling round: timeline changes and any two Primary components at once.
pub fn judge_round(
    r: &mut SamplerReport,
    seen: &[Observation],
    at: f64,
    round: Instant,
    last: &mut BTreeMap<String, String>,
    stale_since: &mut BTreeMap<(String, String), Instant>,
) {
    r.rounds += 1;
    for o in seen {
        let now = o.to_string();
        if last.get(&o.node) != Some(&now) {
            if r.timeline.len() < 2000 {
                r.timeline.push(format!("{at:7.2}s {now}"));
            }
            last.insert(o.node.clone(), now);
        }
    }
    let primaries: Vec<&Observation> = seen.iter().filter(|o| o.status == "Primary").collect();
    if !primaries.is_empty() {
        r.rounds_with_primary += 1;
    }
    let mut stale_now = BTreeSet::new();
    for (i, a) in primaries.iter().enumerate() {
        for b in primaries.iter().skip(i + 1) {
            let a_knows_b = a.members.contains(&b.node);
            let b_knows_a = b.members.contains(&a.node);
            let conflict = if a.state_uuid != b.state_uuid {
                Some("different cluster state UUIDs")
            } else if a.conf_id == b.conf_id && a.members != b.members && !(a_knows_b && b_knows_a)
            {
                Some("the same configuration id with different members")
            } else if !a_knows_b && !b_knows_a {
                Some("neither lists the other as a member")
            } else {
                None
            };
            if let Some(why) = conflict {
                if r.violations.len() < 50 {
                    r.violations.push(format!(
                        "{at:7.2}s two Primary components ({why}): [{a}] and [{b}]"
                    ));
                }
                continue;
            }
            // Both list each other but disagree on the members at one configuration id: a
            // view change under way. Galera updates wsrep_incoming_addresses before the view
            // reaches the server that sets wsrep_cluster_conf_id (replicator_smm.cpp,
            // process_prim_conf_change), so one status read can show the new members with
            // the old id for a moment.
            let changing =
                a_knows_b && b_knows_a && a.members != b.members && a.conf_id == b.conf_id;
            if a_knows_b != b_knows_a || changing {
                let key = (a.node.clone(), b.node.clone());
                let since = *stale_since.entry(key.clone()).or_insert(round);
                stale_now.insert(key);
                let why = if changing {
                    "both list each other, with different members at one configuration id"
                } else {
                    "one still lists the other, which formed a component without it"
                };
                if round.duration_since(since) > STALE_VIEW_GRACE && r.violations.len() < 50 {
                    r.violations.push(format!(
                        "{at:7.2}s two Primary components for over {STALE_VIEW_GRACE:?} ({why}): [{a}] and [{b}]"
                    ));
                }
            }
        }
    }
    stale_since.retain(|k, _| stale_now.contains(k));
}

// ---------------------------------------------------------------------------------------------
// The lock.

/// A node's recovery lock file held by the test: flock(2) LOCK_EX as quorate's ActionLock
/// takes it, with a holder line quorate shows as the node being busy. Released (the line
/// cleared, the file closed) on drop.
pub struct HeldLock {
    file: std::fs::File,
}

impl HeldLock {
    /// Takes the lock at `path` (it must be free) and writes `holder` into it.
    pub fn take(path: &Path, holder: &str) -> HeldLock {
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).expect("lock dir");
        }
        let mut file = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .unwrap_or_else(|e| panic!("open {}: {e}", path.display()));
        // SAFETY: flock(2) on a descriptor we own for the lifetime of `file`.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(
            rc,
            0,
            "the lock {} is held already: {}",
            path.display(),
            std::io::Error::last_os_error()
        );
        file.set_len(0).expect("truncate lock");
        file.write_all(format!("{holder}\n").as_bytes())
            .expect("write holder");
        HeldLock { file }
    }
}

impl Drop for HeldLock {
    fn drop(&mut self) {
        let _ = self.file.set_len(0);
    }
}

/// Who holds the flock(2) lock at `path` now (its holder line), or None when it is free.
pub fn lock_holder(path: &Path) -> Option<String> {
    let file = std::fs::File::open(path).ok()?;
    // SAFETY: flock(2) on a descriptor we own; a shared probe released when `file` closes.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        return None;
    }
    Some(
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .trim()
            .to_string(),
    )
}

// ---------------------------------------------------------------------------------------------
// Plan JSON helpers.

pub fn verdict(plan: &Value) -> (&str, Option<&str>) {
    (
        plan["verdict"]["kind"].as_str().unwrap_or("?"),
        plan["verdict"]["node"].as_str(),
    )
}

/// The evidence entry of `node` in a JSON plan.
pub fn evidence<'a>(plan: &'a Value, node: &str) -> &'a Value {
    plan["evidence"]
        .as_array()
        .and_then(|e| e.iter().find(|e| e["node"] == node))
        .unwrap_or_else(|| panic!("no evidence for {node}: {plan}"))
}

pub fn rejoin_all_stopped(c: &Cluster, plan: &Value) {
    let steps = plan["steps"].as_array().expect("steps");
    for s in steps {
        if s["action"] == "rejoin" {
            let node = s["node"].as_str().expect("node");
            let out = c.act(node, "rejoin", &[]);
            assert!(out.contains("is Synced; it caught up by"), "{out}");
        }
    }
}
