//! `quorate check galera`: one node's reading + policy → verdict. Pure.
//!
//! Default policy, in short: anything but a connected, ready, Synced node in the Primary
//! component is CRITICAL (a Donor/Desynced node WARNING), bad credentials UNKNOWN, cluster size,
//! queues and flow control by range. Every state is configurable on the command line. The full
//! table, the reference, is in docs/checks.md ("What `check galera` judges").

use serde_json::{Map, Value};

use super::flow::FlowObservation;
use super::output::{CheckResult, PerfDatum, Uom};
use super::range::{Range, Thresholds};
use super::{Finding, Status};
use crate::galera::parse::{ClusterStatus, LocalState, WsrepStatus};
use crate::galera::CollectError;
use crate::galera::GaleraReading;

/// The first word of the plugin output.
pub const SERVICE: &str = "GALERA";

/// How each observation maps to a state.
#[derive(Debug, Clone, PartialEq)]
pub struct GaleraPolicy {
    /// `wsrep_cluster_status` other than Primary.
    pub non_primary: Status,
    /// `wsrep_ready` OFF.
    pub not_ready: Status,
    /// `wsrep_connected` OFF.
    pub not_connected: Status,
    /// Joining or Joined.
    pub joining: Status,
    /// Initialized (not part of a Primary component yet).
    pub initialized: Status,
    /// Donor/Desynced.
    pub donor: Status,
    /// Donor/Desynced with `wsrep_desync=ON` (desynced on purpose, e.g. for a backup) is OK.
    pub allow_desync: bool,
    /// `read_only` ON.
    pub read_only: Status,
    pub cluster_size: Thresholds,
    pub recv_queue: Thresholds,
    pub send_queue: Thresholds,
    /// Percent of the time since the previous run that replication was paused.
    pub flow_control: Thresholds,
}

impl Default for GaleraPolicy {
    fn default() -> GaleraPolicy {
        GaleraPolicy {
            non_primary: Status::Critical,
            not_ready: Status::Critical,
            not_connected: Status::Critical,
            joining: Status::Critical,
            initialized: Status::Critical,
            donor: Status::Warning,
            allow_desync: false,
            read_only: Status::Ok,
            cluster_size: Thresholds::default(),
            recv_queue: Thresholds::default(),
            send_queue: Thresholds::default(),
            flow_control: default_flow_control(),
        }
    }
}

/// Flow control: WARNING above 10 % paused since the previous run, CRITICAL above 50 %.
pub fn default_flow_control() -> Thresholds {
    Thresholds::new(
        Some(Range::from_bounds(Some(0.0), Some(10.0), false)),
        Some(Range::from_bounds(Some(0.0), Some(50.0), false)),
    )
}

/// MySQL/MariaDB server error codes that mean "your credentials or grants are wrong": the
/// plugin cannot judge the node, which is UNKNOWN, not a node failure.
const AUTH_ERRORS: &[u16] = &[
    1044, // ER_DBACCESS_DENIED_ERROR
    1045, // ER_ACCESS_DENIED_ERROR
    1142, // ER_TABLEACCESS_DENIED_ERROR
    1143, // ER_COLUMNACCESS_DENIED_ERROR
    1227, // ER_SPECIFIC_ACCESS_DENIED_ERROR
    1251, // ER_NOT_SUPPORTED_AUTH_MODE
    1698, // ER_ACCESS_DENIED_NO_PASSWORD_ERROR
    4151, // ER_ACCOUNT_HAS_BEEN_LOCKED (MariaDB)
];

/// The state a collection error stands for: credentials/grants → UNKNOWN, no answer in time →
/// `timeout_state`, anything else (refused, unreachable, server refusing work) → CRITICAL.
pub fn error_status(err: &CollectError, timeout_state: Status) -> Status {
    match err {
        CollectError::Server { code, .. } if AUTH_ERRORS.contains(code) => Status::Unknown,
        CollectError::Timeout { .. } => timeout_state,
        CollectError::File { .. } | CollectError::Parse { .. } => Status::Unknown,
        CollectError::Server { .. } | CollectError::Connection { .. } => Status::Critical,
    }
}

/// A short reason for a collection error, for the summary (the full error goes to the long
/// output).
pub fn error_reason(err: &CollectError) -> String {
    match err {
        CollectError::Server { code, message, .. } => format!("server error {code}: {message}"),
        CollectError::Timeout { timeout, .. } => {
            format!("no answer within {:.1} s", timeout.as_secs_f64())
        }
        CollectError::Connection { message, .. } => collapse_repeats(message),
        CollectError::File { path, message, .. } | CollectError::Parse { path, message, .. } => {
            format!("{}: {message}", path.display())
        }
    }
}

/// Drops consecutive repeats of a `: `-separated segment: the MySQL client library wraps I/O
/// errors in layers that print the same words twice ("Input/output error: Input/output
/// error: Connection refused").
fn collapse_repeats(message: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in message.split(": ") {
        if parts.last() != Some(&part) {
            parts.push(part);
        }
    }
    parts.join(": ")
}

/// The verdict for a node that could not be read. The perfdata still carries the policy's
/// ranges, so graphs keep their threshold lines.
pub fn judge_error(
    node: &str,
    err: &CollectError,
    timeout_state: Status,
    policy: &GaleraPolicy,
) -> CheckResult {
    let status = error_status(err, timeout_state);
    let mut result = CheckResult::new(SERVICE, status, format!("{node}: {}", error_reason(err)));
    result.details.push(format!("[{status}] {err}"));
    result.values = null_values(node);
    result.values.insert("up".into(), Value::from(0));
    result
        .values
        .insert("error".into(), Value::from(error_reason(err)));
    result.perfdata = vec![
        PerfDatum::new("cluster_size", None)
            .thresholds(&policy.cluster_size)
            .min(0.0),
        PerfDatum::new("local_state", None).min(0.0).max(4.0),
        PerfDatum::flag("primary", None),
        PerfDatum::flag("ready", None),
    ];
    result
}

/// Every Zabbix value of a galera check, unknown.
fn null_values(node: &str) -> Map<String, Value> {
    let mut v = Map::new();
    v.insert("node".into(), Value::from(node));
    for key in ZABBIX_ITEMS {
        v.entry(key.to_string()).or_insert(Value::Null);
    }
    v
}

/// The value names `--format zabbix` reports for a galera check (besides `status`, `state`,
/// `summary`). The Zabbix template's dependent items read these.
pub const ZABBIX_ITEMS: &[&str] = &[
    "node",
    "up",
    "error",
    "cluster_status",
    "primary",
    "cluster_size",
    "local_state",
    "local_state_comment",
    "ready",
    "connected",
    "desync",
    "read_only",
    "recv_queue",
    "send_queue",
    "fc_paused_pct",
    "fc_active",
    "last_committed",
    "cluster_state_uuid",
];

/// Judges one node's reading.
pub fn judge(
    node: &str,
    reading: &GaleraReading,
    flow: &FlowObservation,
    policy: &GaleraPolicy,
) -> CheckResult {
    let facts = Facts::read(reading, flow);
    let findings = findings(&facts, flow, policy);
    let overall = findings
        .iter()
        .fold(Status::Ok, |acc, f| acc.worst(f.status));
    let mut result = CheckResult::new(SERVICE, overall, summary(node, overall, &facts, &findings));
    result.details = findings
        .iter()
        .map(|f| format!("[{}] {}", f.status, f.text))
        .collect();
    result.verbose_details = verbose_details(reading);
    result.perfdata = perfdata(&facts, policy);
    result.values = zabbix_values(node, &facts);
    result
}

/// What a galera check reads from one node's reading, once, for its findings, summary,
/// performance data and Zabbix values.
struct Facts<'a> {
    status: &'a WsrepStatus,
    /// Galera is loaded: the server reports wsrep status rows.
    loaded: bool,
    cluster_status: Option<ClusterStatus>,
    local_state: Option<LocalState>,
    /// The local state in words ([`state_comment`]).
    comment: String,
    desync: Option<bool>,
    ready: Option<bool>,
    read_only: Option<bool>,
    size: Option<u64>,
    recv_queue: Option<f64>,
    send_queue: Option<f64>,
    /// The share of the last interval the node was paused by flow control, when judged.
    fc_percent: Option<f64>,
}

impl Facts<'_> {
    fn read<'a>(reading: &'a GaleraReading, flow: &FlowObservation) -> Facts<'a> {
        let status = &reading.status;
        Facts {
            status,
            loaded: !status.is_empty(),
            cluster_status: status.cluster_status(),
            local_state: status.local_state(),
            comment: state_comment(status),
            desync: reading.variables.desync(),
            ready: status.ready(),
            read_only: reading.variables.read_only(),
            size: status.cluster_size(),
            recv_queue: status.local_recv_queue().map(|q| q as f64),
            send_queue: status.local_send_queue().map(|q| q as f64),
            fc_percent: match flow {
                FlowObservation::Paused { percent, .. } => Some(*percent),
                _ => None,
            },
        }
    }

    /// Whether the node is in the Primary component, when it says.
    fn primary(&self) -> Option<bool> {
        self.cluster_status
            .as_ref()
            .map(|c| *c == ClusterStatus::Primary)
    }
}

/// Every finding, in the order they are listed: Galera loaded, connected, component, local
/// state, ready, read_only, cluster size, queues, flow control.
fn findings(facts: &Facts<'_>, flow: &FlowObservation, policy: &GaleraPolicy) -> Vec<Finding> {
    let mut findings: Vec<Finding> = Vec::new();
    if !facts.loaded {
        findings.push(Finding::new(
            Status::Critical,
            "no wsrep status: Galera is not loaded on this server (wsrep_on OFF?)",
        ));
    }
    findings.extend(flag_finding(
        facts.status.connected(),
        facts.loaded,
        ("wsrep_connected", "connected to the group"),
        (
            policy.not_connected,
            "not connected to the group (wsrep_connected OFF)",
        ),
    ));
    findings.extend(component_finding(facts, policy));
    findings.extend(local_state_finding(facts, policy));
    findings.extend(flag_finding(
        facts.ready,
        facts.loaded,
        ("wsrep_ready", "ready (wsrep_ready ON)"),
        (
            policy.not_ready,
            "not ready (wsrep_ready OFF): refuses queries",
        ),
    ));
    if facts.read_only == Some(true) {
        findings.push(Finding::new(policy.read_only, "read_only ON"));
    }
    if let Some(size) = facts.size {
        let s = policy.cluster_size.evaluate(size as f64);
        findings.push(Finding::new(s, format!("cluster size {size}")));
    }
    findings.extend(queue_findings(facts, policy));
    findings.push(flow_finding(flow, policy));
    findings
}

/// `wsrep_cluster_status`: Primary, or the `non_primary` state.
fn component_finding(facts: &Facts<'_>, policy: &GaleraPolicy) -> Option<Finding> {
    match &facts.cluster_status {
        Some(ClusterStatus::Primary) => Some(Finding::new(Status::Ok, "Primary")),
        Some(other) => Some(Finding::new(
            policy.non_primary,
            format!("{} (not in the Primary component)", other.as_str()),
        )),
        None if facts.loaded => Some(Finding::new(
            Status::Unknown,
            "wsrep_cluster_status missing from the status",
        )),
        None => None,
    }
}

/// `wsrep_local_state`: Synced, a donor (desynced on purpose or not), joining, initialized.
fn local_state_finding(facts: &Facts<'_>, policy: &GaleraPolicy) -> Option<Finding> {
    let comment = &facts.comment;
    match facts.local_state {
        Some(LocalState::Synced) => Some(Finding::new(Status::Ok, comment.clone())),
        Some(LocalState::DonorDesynced) => {
            let (state, why) = donor_state(facts.desync, policy.donor, policy.allow_desync);
            Some(Finding::new(state, format!("{comment}: {why}")))
        }
        Some(LocalState::Joining) | Some(LocalState::Joined) => {
            Some(Finding::new(policy.joining, comment.clone()))
        }
        Some(LocalState::Initialized) => Some(Finding::new(policy.initialized, comment.clone())),
        None if facts.loaded => Some(Finding::new(
            Status::Unknown,
            format!(
                "wsrep_local_state {:?} is not a Galera state",
                facts.status.get("wsrep_local_state").unwrap_or("missing")
            ),
        )),
        None => None,
    }
}

/// The receive and send queues, each by its range.
fn queue_findings(facts: &Facts<'_>, policy: &GaleraPolicy) -> Vec<Finding> {
    [
        ("recv queue", facts.recv_queue, &policy.recv_queue),
        ("send queue", facts.send_queue, &policy.send_queue),
    ]
    .into_iter()
    .filter_map(|(label, value, thresholds)| {
        value.map(|v| {
            Finding::new(
                thresholds.evaluate(v),
                format!("{label} {}", super::range::format_number(v)),
            )
        })
    })
    .collect()
}

/// Flow control: the paused share of the last interval by its range, or why it is not
/// judged this time.
fn flow_finding(flow: &FlowObservation, policy: &GaleraPolicy) -> Finding {
    match flow {
        FlowObservation::Paused { percent, interval } => Finding::new(
            policy.flow_control.evaluate(*percent),
            format!(
                "flow control paused {percent:.1}% of the last {} s",
                super::range::format_number((interval.as_secs_f64() * 10.0).round() / 10.0)
            ),
        ),
        FlowObservation::FirstRun => Finding::new(
            Status::Ok,
            "flow control: first run, baseline saved; the paused share is judged from the next run on",
        ),
        FlowObservation::Reset(why) => Finding::new(
            Status::Ok,
            format!("flow control: new baseline ({why})"),
        ),
        FlowObservation::Unavailable(why) => Finding::new(
            Status::Unknown,
            format!("flow control not judged: {why}"),
        ),
    }
}

/// The one-line summary: the state, component and size when all is well, else the problems
/// worst first.
fn summary(node: &str, overall: Status, facts: &Facts<'_>, findings: &[Finding]) -> String {
    if overall != Status::Ok {
        return format!("{node}: {}", problems(findings));
    }
    let mut parts = vec![facts.comment.clone()];
    if let Some(cs) = &facts.cluster_status {
        parts.push(cs.as_str().to_string());
    }
    if let Some(size) = facts.size {
        parts.push(format!("cluster size {size}"));
    }
    format!("{node}: {}", parts.join(", "))
}

/// What `--verbose` adds: the cluster's name and state UUID, the position, whether flow
/// control is active now, the provider's version.
fn verbose_details(reading: &GaleraReading) -> Vec<String> {
    let status = &reading.status;
    let mut extra = Vec::new();
    if let Some(name) = reading.variables.cluster_name() {
        extra.push(format!("cluster name: {name}"));
    }
    if let Some(uuid) = status.cluster_state_uuid() {
        extra.push(format!("cluster state uuid: {uuid}"));
    }
    if let Some(seqno) = status.last_committed() {
        extra.push(format!("last committed: {seqno}"));
    }
    if let Some(active) = status.flow_control_active() {
        extra.push(format!(
            "flow control active now: {}",
            if active { "yes" } else { "no" }
        ));
    }
    if let Some(version) = status.provider_version() {
        extra.push(format!("provider version: {version}"));
    }
    extra
}

/// The performance data, with the policy's thresholds.
fn perfdata(facts: &Facts<'_>, policy: &GaleraPolicy) -> Vec<PerfDatum> {
    vec![
        PerfDatum::new("cluster_size", facts.size.map(|s| s as f64))
            .thresholds(&policy.cluster_size)
            .min(0.0),
        PerfDatum::new("local_state", facts.local_state.map(|s| s.number() as f64))
            .min(0.0)
            .max(4.0),
        PerfDatum::flag("primary", facts.primary()),
        PerfDatum::flag("ready", facts.ready),
        PerfDatum::flag("connected", facts.status.connected()),
        PerfDatum::new("recv_queue", facts.recv_queue)
            .thresholds(&policy.recv_queue)
            .min(0.0),
        PerfDatum::new("send_queue", facts.send_queue)
            .thresholds(&policy.send_queue)
            .min(0.0),
        PerfDatum::new("fc_paused", facts.fc_percent)
            .uom(Uom::Percent)
            .thresholds(&policy.flow_control)
            .min(0.0)
            .max(100.0),
    ]
}

/// The Zabbix values ([`ZABBIX_ITEMS`]) of a node that answered.
fn zabbix_values(node: &str, facts: &Facts<'_>) -> Map<String, Value> {
    let status = facts.status;
    let flag = |b: Option<bool>| b.map_or(Value::Null, |b| Value::from(u8::from(b)));
    let mut v = null_values(node);
    v.insert("up".into(), Value::from(1));
    v.insert(
        "cluster_status".into(),
        facts
            .cluster_status
            .as_ref()
            .map_or(Value::Null, |c| Value::from(c.as_str())),
    );
    v.insert("primary".into(), flag(facts.primary()));
    v.insert(
        "cluster_size".into(),
        facts.size.map_or(Value::Null, Value::from),
    );
    v.insert(
        "local_state".into(),
        facts
            .local_state
            .map_or(Value::Null, |s| Value::from(s.number())),
    );
    v.insert(
        "local_state_comment".into(),
        status
            .local_state_comment()
            .map_or(Value::Null, Value::from),
    );
    v.insert("ready".into(), flag(facts.ready));
    v.insert("connected".into(), flag(status.connected()));
    v.insert("desync".into(), flag(facts.desync));
    v.insert("read_only".into(), flag(facts.read_only));
    v.insert("recv_queue".into(), number_value(facts.recv_queue));
    v.insert("send_queue".into(), number_value(facts.send_queue));
    v.insert("fc_paused_pct".into(), number_value(facts.fc_percent));
    v.insert("fc_active".into(), flag(status.flow_control_active()));
    v.insert(
        "last_committed".into(),
        status.last_committed().map_or(Value::Null, Value::from),
    );
    v.insert(
        "cluster_state_uuid".into(),
        status.cluster_state_uuid().map_or(Value::Null, Value::from),
    );
    v
}

/// The finding for an ON/OFF status row: OK text when ON, `off` when OFF, UNKNOWN when the
/// row is missing from a server that has Galera loaded (an unloaded Galera is reported once).
fn flag_finding(
    flag: Option<bool>,
    loaded: bool,
    (row, on): (&str, &str),
    (off_state, off): (Status, &str),
) -> Option<Finding> {
    match flag {
        Some(true) => Some(Finding::new(Status::Ok, on)),
        Some(false) => Some(Finding::new(off_state, off)),
        None if loaded => Some(Finding::new(
            Status::Unknown,
            format!("{row} missing from the status"),
        )),
        None => None,
    }
}

/// `wsrep_local_state_comment`, else the state's canonical label, else "unknown state".
pub(crate) fn state_comment(status: &WsrepStatus) -> String {
    status
        .local_state_comment()
        .map(str::to_string)
        .or_else(|| status.local_state().map(|s| s.label().to_string()))
        .unwrap_or_else(|| "unknown state".to_string())
}

/// How a Donor/Desynced node is judged, and why: OK when it was desynced on purpose
/// (`wsrep_desync=ON`) and that is allowed, else the `donor` state.
pub(crate) fn donor_state(
    desync: Option<bool>,
    donor: Status,
    allow_desync: bool,
) -> (Status, &'static str) {
    match (desync == Some(true), allow_desync) {
        (true, true) => (Status::Ok, "desynced on purpose (wsrep_desync=ON), allowed"),
        (true, false) => (donor, "desynced on purpose (wsrep_desync=ON)"),
        (false, _) => (donor, "serving a state transfer"),
    }
}

/// The non-OK findings, worst first, for a summary.
pub(crate) fn problems(findings: &[Finding]) -> String {
    let mut bad: Vec<&Finding> = findings.iter().filter(|f| f.status != Status::Ok).collect();
    // Stable sort: equally bad findings keep the order they were judged in.
    bad.sort_by_key(|f| std::cmp::Reverse(f.status.severity()));
    bad.iter()
        .map(|f| f.text.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// A JSON number, integral values without a fraction (Zabbix unsigned items reject `3.0`).
pub(crate) fn number_value(v: Option<f64>) -> Value {
    match v {
        Some(v) if v.fract() == 0.0 && v.abs() < 9e15 => Value::from(v as i64),
        Some(v) if v.is_finite() => Value::from(v),
        _ => Value::Null,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::galera::test_support::{reading, wsrep_fixture};
    use std::time::Duration;

    const SYNCED_VARS: &str = wsrep_fixture!("variables/synced.tsv");

    fn first_line(r: &CheckResult) -> String {
        r.render_plugin(false)
            .lines()
            .next()
            .unwrap_or_default()
            .to_string()
    }

    /// Every captured wsrep state and the state the default policy gives it.
    #[test]
    fn default_policy_on_every_captured_state() {
        let p = GaleraPolicy::default();
        let first = FlowObservation::FirstRun;
        let cases: &[(&str, &str, &str, Status, &str)] = &[
            (
                "synced",
                wsrep_fixture!("status/synced.tsv"),
                SYNCED_VARS,
                Status::Ok,
                "Synced, Primary, cluster size 3",
            ),
            (
                "synced-mixed-incoming",
                wsrep_fixture!("status/synced-mixed-incoming.tsv"),
                SYNCED_VARS,
                Status::Ok,
                "Synced",
            ),
            (
                "flow-control-active",
                wsrep_fixture!("status/flow-control-active.tsv"),
                SYNCED_VARS,
                Status::Ok,
                "Synced",
            ),
            (
                "flow-control-requested",
                wsrep_fixture!("status/flow-control-requested.tsv"),
                SYNCED_VARS,
                Status::Ok,
                "Synced",
            ),
            (
                "donor-sst",
                wsrep_fixture!("status/donor-sst.tsv"),
                SYNCED_VARS,
                Status::Warning,
                "Donor/Desynced: serving a state transfer",
            ),
            (
                "donor-desync",
                wsrep_fixture!("status/donor-desync.tsv"),
                wsrep_fixture!("variables/desync-on.tsv"),
                Status::Warning,
                "wsrep_desync=ON",
            ),
            (
                "joining",
                wsrep_fixture!("status/joining.tsv"),
                SYNCED_VARS,
                Status::Critical,
                "Joining",
            ),
            (
                "joining-receiving-sst",
                wsrep_fixture!("status/joining-receiving-sst.tsv"),
                SYNCED_VARS,
                Status::Critical,
                "Joining: receiving State Transfer",
            ),
            (
                "joined",
                wsrep_fixture!("status/joined.tsv"),
                SYNCED_VARS,
                Status::Critical,
                "Joined",
            ),
            (
                "non-primary",
                wsrep_fixture!("status/non-primary.tsv"),
                wsrep_fixture!("variables/non-primary.tsv"),
                Status::Critical,
                "non-Primary (not in the Primary component)",
            ),
            (
                "disconnected",
                wsrep_fixture!("status/disconnected.tsv"),
                SYNCED_VARS,
                Status::Critical,
                "not connected to the group",
            ),
        ];
        for (name, status, vars, expected, text) in cases {
            let r = judge("node1", &reading(status, vars), &first, &p);
            assert_eq!(r.status, *expected, "{name}: {}", r.render_plugin(true));
            let line = first_line(&r);
            assert!(
                line.starts_with(&format!("GALERA {expected} - node1: ")),
                "{name}: {line}"
            );
            assert!(line.contains(text), "{name}: {line}");
        }
    }

    #[test]
    fn non_primary_lists_every_problem_and_perfdata_is_numeric() {
        let r = judge(
            "node1",
            &reading(
                wsrep_fixture!("status/non-primary.tsv"),
                wsrep_fixture!("variables/non-primary.tsv"),
            ),
            &FlowObservation::FirstRun,
            &GaleraPolicy::default(),
        );
        let line = first_line(&r);
        assert!(line.contains("non-Primary"), "{line}");
        assert!(line.contains("Initialized"), "{line}");
        assert!(line.contains("wsrep_ready OFF"), "{line}");
        let perf = line.split_once(" | ").map(|(_, p)| p).unwrap_or_default();
        assert!(perf.contains("cluster_size=1;;;0"), "{perf}");
        assert!(perf.contains("local_state=0;;;0;4"), "{perf}");
        assert!(perf.contains("primary=0;;;0;1"), "{perf}");
        assert!(perf.contains("fc_paused=U;10;50;0;100"), "{perf}");
        assert!(
            !perf.contains("Primary") && !perf.contains("Synced"),
            "{perf}"
        );
    }

    #[test]
    fn donor_policy_and_deliberate_desync() {
        let desync = reading(
            wsrep_fixture!("status/donor-desync.tsv"),
            wsrep_fixture!("variables/desync-on.tsv"),
        );
        let sst = reading(wsrep_fixture!("status/donor-sst.tsv"), SYNCED_VARS);
        let first = FlowObservation::FirstRun;
        let mut p = GaleraPolicy::default();
        assert_eq!(judge("n", &desync, &first, &p).status, Status::Warning);
        p.donor = Status::Critical;
        assert_eq!(judge("n", &desync, &first, &p).status, Status::Critical);
        p.donor = Status::Ok;
        assert_eq!(judge("n", &sst, &first, &p).status, Status::Ok);
        // Deliberate desync allowed: OK, but an SST donor still follows --donor.
        p.donor = Status::Warning;
        p.allow_desync = true;
        let r = judge("n", &desync, &first, &p);
        assert_eq!(r.status, Status::Ok, "{}", r.render_plugin(true));
        assert!(r.render_plugin(false).contains("allowed"));
        assert_eq!(judge("n", &sst, &first, &p).status, Status::Warning);
    }

    #[test]
    fn each_state_item_is_configurable() {
        let first = FlowObservation::FirstRun;
        let p = GaleraPolicy {
            non_primary: Status::Warning,
            not_ready: Status::Warning,
            initialized: Status::Warning,
            ..GaleraPolicy::default()
        };
        let r = judge(
            "n",
            &reading(
                wsrep_fixture!("status/non-primary.tsv"),
                wsrep_fixture!("variables/non-primary.tsv"),
            ),
            &first,
            &p,
        );
        assert_eq!(r.status, Status::Warning);
        let p = GaleraPolicy {
            joining: Status::Ok,
            not_ready: Status::Ok,
            ..GaleraPolicy::default()
        };
        let joining = reading(wsrep_fixture!("status/joining.tsv"), SYNCED_VARS);
        assert_eq!(judge("n", &joining, &first, &p).status, Status::Ok);
        let p = GaleraPolicy {
            not_connected: Status::Warning,
            non_primary: Status::Warning,
            initialized: Status::Ok,
            not_ready: Status::Ok,
            ..GaleraPolicy::default()
        };
        let disconnected = reading(wsrep_fixture!("status/disconnected.tsv"), SYNCED_VARS);
        assert_eq!(
            judge("n", &disconnected, &first, &p).status,
            Status::Warning
        );
    }

    #[test]
    fn size_queue_and_read_only_thresholds() {
        let first = FlowObservation::FirstRun;
        let synced = reading(wsrep_fixture!("status/synced.tsv"), SYNCED_VARS);
        let p = GaleraPolicy {
            cluster_size: Thresholds::expected_size(5),
            ..GaleraPolicy::default()
        };
        // 3 of 5: below expected (WARNING), still a majority (3 >= 3).
        let r = judge("n", &synced, &first, &p);
        assert_eq!(r.status, Status::Warning);
        assert!(
            first_line(&r).contains("cluster_size=3;5:;3:;0"),
            "{}",
            first_line(&r)
        );
        let p = GaleraPolicy {
            cluster_size: Thresholds::new(
                Some(Range::parse("4:").unwrap()),
                Some(Range::parse("4:").unwrap()),
            ),
            ..GaleraPolicy::default()
        };
        assert_eq!(judge("n", &synced, &first, &p).status, Status::Critical);

        let joining = reading(wsrep_fixture!("status/joining.tsv"), SYNCED_VARS);
        let p = GaleraPolicy {
            joining: Status::Ok,
            not_ready: Status::Ok,
            recv_queue: Thresholds::new(Some(Range::parse("100").unwrap()), None),
            ..GaleraPolicy::default()
        };
        let r = judge("n", &joining, &first, &p);
        assert_eq!(r.status, Status::Warning);
        assert!(
            first_line(&r).contains("recv queue 1096"),
            "{}",
            first_line(&r)
        );

        let ro = reading(
            wsrep_fixture!("status/synced.tsv"),
            &SYNCED_VARS.replace("read_only\tOFF", "read_only\tON"),
        );
        assert_eq!(
            judge("n", &ro, &first, &GaleraPolicy::default()).status,
            Status::Ok
        );
        let p = GaleraPolicy {
            read_only: Status::Warning,
            ..GaleraPolicy::default()
        };
        assert_eq!(judge("n", &ro, &first, &p).status, Status::Warning);
    }

    #[test]
    fn flow_control_is_judged_on_the_delta() {
        let synced = reading(
            wsrep_fixture!("status/flow-control-active.tsv"),
            SYNCED_VARS,
        );
        let p = GaleraPolicy::default();
        let paused = |percent| FlowObservation::Paused {
            percent,
            interval: Duration::from_secs(60),
        };
        assert_eq!(judge("n", &synced, &paused(5.0), &p).status, Status::Ok);
        let r = judge("n", &synced, &paused(20.0), &p);
        assert_eq!(r.status, Status::Warning);
        assert!(first_line(&r).contains("flow control paused 20.0% of the last 60 s"));
        assert!(first_line(&r).contains("fc_paused=20%;10;50;0;100"));
        assert_eq!(
            judge("n", &synced, &paused(75.0), &p).status,
            Status::Critical
        );
        let r = judge("n", &synced, &FlowObservation::FirstRun, &p);
        assert!(
            r.render_plugin(false).contains("first run"),
            "{}",
            r.render_plugin(false)
        );
        let r = judge(
            "n",
            &synced,
            &FlowObservation::Unavailable("state file x: permission denied".into()),
            &p,
        );
        assert_eq!(r.status, Status::Unknown);
    }

    #[test]
    fn collection_errors_map_to_states() {
        let refused = CollectError::Connection {
            node: "n".into(),
            endpoint: "127.0.0.1:1".into(),
            message: "Connection refused (os error 111)".into(),
        };
        let denied = CollectError::Server {
            node: "n".into(),
            endpoint: "e".into(),
            code: 1045,
            message: "Access denied for user 'quorate'@'localhost' (using password: YES)".into(),
        };
        let too_many = CollectError::Server {
            node: "n".into(),
            endpoint: "e".into(),
            code: 1040,
            message: "Too many connections".into(),
        };
        let timeout = CollectError::Timeout {
            node: "n".into(),
            endpoint: "e".into(),
            timeout: Duration::from_secs(3),
        };
        assert_eq!(error_status(&refused, Status::Critical), Status::Critical);
        let layered = CollectError::Connection {
            node: "n".into(),
            endpoint: "e".into(),
            message: "Input/output error: Input/output error: Connection refused (os error 111)"
                .into(),
        };
        assert_eq!(
            error_reason(&layered),
            "Input/output error: Connection refused (os error 111)"
        );
        assert_eq!(error_status(&denied, Status::Critical), Status::Unknown);
        assert_eq!(error_status(&too_many, Status::Unknown), Status::Critical);
        assert_eq!(error_status(&timeout, Status::Unknown), Status::Unknown);
        assert_eq!(error_status(&timeout, Status::Critical), Status::Critical);
        let r = judge_error("node2", &denied, Status::Critical, &GaleraPolicy::default());
        assert_eq!(r.status, Status::Unknown);
        assert!(
            first_line(&r).contains("Access denied"),
            "{}",
            first_line(&r)
        );
        let json: Value = serde_json::from_str(&r.render_zabbix(None).unwrap()).unwrap();
        assert_eq!(json["up"], 0);
        assert_eq!(json["cluster_size"], Value::Null);
        assert_eq!(json["status"], 3);
    }

    #[test]
    fn zabbix_values_cover_every_item() {
        let r = judge(
            "node1",
            &reading(wsrep_fixture!("status/synced.tsv"), SYNCED_VARS),
            &FlowObservation::Paused {
                percent: 0.0,
                interval: Duration::from_secs(60),
            },
            &GaleraPolicy::default(),
        );
        for item in ZABBIX_ITEMS {
            assert!(r.values.contains_key(*item), "{item}");
        }
        let json: Value = serde_json::from_str(&r.render_zabbix(None).unwrap()).unwrap();
        assert_eq!(json["cluster_size"], 3);
        assert_eq!(json["local_state"], 4);
        assert_eq!(json["local_state_comment"], "Synced");
        assert_eq!(json["primary"], 1);
        assert_eq!(json["fc_paused_pct"], 0);
        assert_eq!(json["up"], 1);
        assert_eq!(json["status"], 0);
        assert_eq!(json["error"], Value::Null);
    }
}
