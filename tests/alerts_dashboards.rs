//! The alert rules (`alerts/`) and Grafana dashboards (`dashboards/`) proven against the real
//! programs: promtool checks and unit-tests every rule file; every alert carries a severity,
//! a summary and description naming what is affected, and a `runbook_url` whose section
//! exists in docs/runbook.md; every dashboard is well-formed Grafana JSON for grafana.com
//! import. Then a real Prometheus scrapes `quorate serve` on a real sandbox (3 Galera nodes,
//! a GlusterFS volume, real mariabackup full and incremental backups) with `alerts/` loaded:
//! every rule evaluates without error, no alert fires on the healthy cluster,
//! every dashboard query and every metric a rule reads has data (except the documented
//! legitimately-empty ones), every metric name is one quorate exports; a node desynced on
//! purpose stays silent, a crashed GlusterFS peer fires GlusterPeerDisconnected and
//! GlusterBrickDown for its brick, and a broken incremental chain MariaDBBackupChainBroken
//! (each clearing when repaired); a node stopped during its planned maintenance
//! (`quorate maintenance on`) raises nothing, and GaleraNodeDown fires once it is off;
//! and stopping a node makes GaleraNodeDown (and GaleraClusterSizeBelowExpected) pending, then
//! firing, through Prometheus' own rule evaluation; when quorate stops, QuorateTargetDown
//! fires for every target of both scrape jobs.
//!
//! The live test loads a copy of `alerts/` in which every `for:` is 5 s (expressions and
//! labels untouched), so an alert fires within seconds instead of minutes; the real `for:`
//! durations are covered by the promtool unit tests.

mod common;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use common::docs::{anchor, documented_metric_names, documented_metrics};
use common::mariabackup::{config_with_backup_root, BackupPair};
use common::{get, PrometheusProcess, ServeProcess};
use quorate::sandbox::{self, SandboxGuard, UpOptions};
use serde_json::Value;
use serde_yaml_ng::Value as Yaml;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The files in `dir` (relative to the repository) ending in `.ext`, sorted.
fn files_in(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = fs::read_dir(repo().join(dir))
        .unwrap_or_else(|e| panic!("{dir}/: {e}"))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == ext))
        .collect();
    files.sort();
    files
}

/// `alerts/*.yml`: the rule files (their unit tests live in `alerts/tests/`).
fn rule_files() -> Vec<PathBuf> {
    let files = files_in("alerts", "yml");
    assert!(files.len() >= 5, "rule files: {files:?}");
    files
}

fn rule_test_files() -> Vec<PathBuf> {
    files_in("alerts/tests", "yml")
}

fn dashboard_files() -> Vec<PathBuf> {
    files_in("dashboards", "json")
}

fn yaml(path: &Path) -> Yaml {
    serde_yaml_ng::from_str(&fs::read_to_string(path).expect("read YAML"))
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// One rule of a rule file.
#[derive(Debug, Clone)]
struct Rule {
    file: String,
    /// The alert or recording rule's name.
    name: String,
    alert: bool,
    expr: String,
    labels: BTreeMap<String, String>,
    annotations: BTreeMap<String, String>,
}

fn string_map(v: &Yaml) -> BTreeMap<String, String> {
    v.as_mapping()
        .map(|m| {
            m.iter()
                .filter_map(|(k, v)| Some((k.as_str()?.to_string(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

fn rules() -> Vec<Rule> {
    let mut out = Vec::new();
    for file in rule_files() {
        let doc = yaml(&file);
        let name = file
            .file_name()
            .expect("name")
            .to_string_lossy()
            .into_owned();
        for group in doc["groups"].as_sequence().expect("groups") {
            for r in group["rules"].as_sequence().expect("rules") {
                let (rule_name, alert) = match (r["alert"].as_str(), r["record"].as_str()) {
                    (Some(a), _) => (a, true),
                    (None, Some(rec)) => (rec, false),
                    _ => panic!("{name}: a rule without alert or record: {r:?}"),
                };
                out.push(Rule {
                    file: name.clone(),
                    name: rule_name.to_string(),
                    alert,
                    expr: r["expr"].as_str().expect("expr").to_string(),
                    labels: string_map(&r["labels"]),
                    annotations: string_map(&r["annotations"]),
                });
            }
        }
    }
    out
}

fn runbook_anchors() -> BTreeSet<String> {
    fs::read_to_string(repo().join("docs/runbook.md"))
        .expect("docs/runbook.md")
        .lines()
        .filter(|l| l.starts_with('#'))
        .map(|l| anchor(l.trim_start_matches('#')))
        .collect()
}

fn run(cmd: &mut Command) -> (bool, String) {
    let out = cmd
        .current_dir(repo())
        .stdin(Stdio::null())
        .output()
        .unwrap_or_else(|e| panic!("{cmd:?} (install the Debian package prometheus): {e}"));
    (
        out.status.success(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn promtool_checks_and_unit_tests_every_rule_file() {
    let (ok, out) = run(Command::new("promtool")
        .args(["check", "rules"])
        .args(rule_files()));
    assert!(ok, "promtool check rules:\n{out}");
    assert!(!out.contains("WARNING"), "promtool check rules:\n{out}");

    let tests = rule_test_files();
    assert!(tests.len() >= 4, "unit test files: {tests:?}");
    let (ok, out) = run(Command::new("promtool")
        .args(["test", "rules"])
        .args(&tests));
    assert!(ok, "promtool test rules:\n{out}");
    assert_eq!(
        out.matches("SUCCESS").count(),
        tests.len(),
        "every test file passes:\n{out}"
    );

    // The unit tests are real tests: a broken rule makes them fail. Copy the rules with
    // GaleraNodeDown's comparison inverted and run the Galera unit tests on the copy.
    let dir = tempfile::tempdir().expect("temp dir");
    fs::create_dir(dir.path().join("tests")).expect("mkdir");
    for f in rule_files() {
        let text = fs::read_to_string(&f).expect("read");
        fs::write(
            dir.path().join(f.file_name().expect("name")),
            text.replace("expr: mysql_up == 0", "expr: mysql_up == 1"),
        )
        .expect("write");
    }
    let test = dir.path().join("tests/galera.test.yml");
    fs::copy(repo().join("alerts/tests/galera.test.yml"), &test).expect("copy");
    let (ok, out) = run(Command::new("promtool").args(["test", "rules"]).arg(&test));
    assert!(
        !ok && out.contains("GaleraNodeDown"),
        "a broken GaleraNodeDown must fail its unit test:\n{out}"
    );
}

#[test]
fn every_alert_has_severity_runbook_and_unit_tests_both_ways() {
    let rules = rules();
    let anchors = runbook_anchors();
    // Which alerts the unit tests expect to fire, and which they check stay silent.
    let mut fires: BTreeSet<String> = BTreeSet::new();
    let mut silent: BTreeSet<String> = BTreeSet::new();
    for file in rule_test_files() {
        for test in yaml(&file)["tests"].as_sequence().expect("tests") {
            for case in test["alert_rule_test"].as_sequence().into_iter().flatten() {
                let name = case["alertname"].as_str().expect("alertname").to_string();
                match case["exp_alerts"].as_sequence() {
                    Some(exp) if !exp.is_empty() => {
                        for a in exp {
                            let labels = string_map(&a["exp_labels"]);
                            let ann = string_map(&a["exp_annotations"]);
                            assert!(
                                labels.contains_key("severity")
                                    && ann.contains_key("summary")
                                    && ann.contains_key("description")
                                    && ann.contains_key("runbook_url"),
                                "{}: {name}: expected alerts state their severity and annotations",
                                file.display()
                            );
                        }
                        fires.insert(name);
                    }
                    _ => {
                        silent.insert(name);
                    }
                }
            }
        }
    }
    let alerts: Vec<&Rule> = rules.iter().filter(|r| r.alert).collect();
    assert!(alerts.len() >= 20, "{} alerts", alerts.len());
    let mut problems = Vec::new();
    for a in &alerts {
        let id = format!("{} in {}", a.name, a.file);
        match a.labels.get("severity").map(String::as_str) {
            Some("critical" | "warning") => {}
            other => problems.push(format!("{id}: severity {other:?}")),
        }
        for key in ["summary", "description"] {
            let text = a.annotations.get(key).map(String::as_str).unwrap_or("");
            if !text.contains("$labels.") && !text.contains("$value") {
                problems.push(format!("{id}: {key} names neither a label nor the value"));
            }
        }
        if !a.annotations["description"].contains("$value")
            && !a.annotations["summary"].contains("$value")
        {
            problems.push(format!("{id}: no annotation gives the value"));
        }
        let expected = format!("docs/runbook.md#{}", a.name.to_lowercase());
        match a.annotations.get("runbook_url") {
            Some(url) if *url == expected => {}
            other => problems.push(format!("{id}: runbook_url {other:?}, want {expected}")),
        }
        if !anchors.contains(&a.name.to_lowercase()) {
            problems.push(format!("{id}: docs/runbook.md has no section {}", a.name));
        }
        if !fires.contains(&a.name) {
            problems.push(format!("{id}: no unit test where it fires"));
        }
        if !silent.contains(&a.name) {
            problems.push(format!("{id}: no unit test where it stays silent"));
        }
    }
    // Every link from the runbook's Alerts section to another section resolves.
    let runbook = fs::read_to_string(repo().join("docs/runbook.md")).expect("runbook");
    let alerts_section = runbook
        .split_once("\n## Alerts\n")
        .map(|(_, s)| s)
        .expect("docs/runbook.md has an Alerts section");
    for link in alerts_section.split("](#").skip(1) {
        let target = link.split(')').next().unwrap_or("");
        if !anchors.contains(target) {
            problems.push(format!("runbook Alerts section links to missing #{target}"));
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// One PromQL expression of a dashboard: where it is and what it says.
#[derive(Debug, Clone)]
struct DashboardQuery {
    file: String,
    panel: String,
    expr: String,
}

fn dashboards() -> Vec<(String, Value)> {
    dashboard_files()
        .iter()
        .map(|f| {
            let text = fs::read_to_string(f).expect("read dashboard");
            let json: Value = serde_json::from_str(&text)
                .unwrap_or_else(|e| panic!("{} is not JSON: {e}", f.display()));
            (
                f.file_name().expect("name").to_string_lossy().into_owned(),
                json,
            )
        })
        .collect()
}

/// Every panel target's expression and every variable's query (`label_values(EXPR, label)`
/// contributes EXPR).
fn dashboard_queries() -> Vec<DashboardQuery> {
    let mut out = Vec::new();
    for (file, d) in dashboards() {
        for panel in d["panels"].as_array().expect("panels") {
            for t in panel["targets"].as_array().into_iter().flatten() {
                out.push(DashboardQuery {
                    file: file.clone(),
                    panel: panel["title"].as_str().unwrap_or("?").to_string(),
                    expr: t["expr"].as_str().unwrap_or("").to_string(),
                });
            }
        }
        for v in d["templating"]["list"].as_array().expect("templating") {
            if v["type"] != "query" {
                continue;
            }
            // A string (every Grafana version) or Grafana 10's {"query": …} object.
            let q = v["query"]
                .as_str()
                .or_else(|| v["query"]["query"].as_str())
                .unwrap_or("");
            let inner = q
                .strip_prefix("label_values(")
                .and_then(|r| r.rsplit_once(','))
                .map(|(e, _)| e.trim().to_string())
                .unwrap_or_else(|| panic!("{file}: variable {}: {q}", v["name"]));
            out.push(DashboardQuery {
                file: file.clone(),
                panel: format!("variable ${}", v["name"].as_str().unwrap_or("?")),
                expr: inner,
            });
        }
    }
    out
}

#[test]
fn dashboards_are_well_formed_for_grafana_import() {
    let all = dashboards();
    let uids: Vec<&str> = all
        .iter()
        .map(|(_, d)| d["uid"].as_str().unwrap_or(""))
        .collect();
    // Stable uids: links and provisioning refer to them.
    assert_eq!(
        uids,
        [
            "quorate-backups",
            "quorate-galera-node",
            "quorate-galera-overview",
            "quorate-gluster"
        ],
        "dashboards/*.json in name order"
    );
    let mut problems = Vec::new();
    for (file, d) in &all {
        if d["schemaVersion"].as_u64().is_none_or(|v| v < 30) {
            problems.push(format!("{file}: schemaVersion {}", d["schemaVersion"]));
        }
        if d["id"].as_u64().is_some() {
            problems.push(format!("{file}: a fixed numeric id breaks import"));
        }
        let inputs = d["__inputs"].as_array().cloned().unwrap_or_default();
        if !inputs
            .iter()
            .any(|i| i["name"] == "DS_PROMETHEUS" && i["pluginId"] == "prometheus")
        {
            problems.push(format!("{file}: __inputs lacks DS_PROMETHEUS"));
        }
        let vars = d["templating"]["list"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let var = |name: &str| vars.iter().find(|v| v["name"] == name).cloned();
        match var("datasource") {
            Some(v) if v["type"] == "datasource" && v["query"] == "prometheus" => {}
            other => problems.push(format!("{file}: datasource variable {other:?}")),
        }
        for name in ["cluster", "node"] {
            match var(name) {
                Some(v) if v["type"] == "query" && v["datasource"]["uid"] == "${datasource}" => {}
                other => problems.push(format!("{file}: ${name} selector {other:?}")),
            }
        }
        let mut ids = BTreeSet::new();
        for p in d["panels"].as_array().into_iter().flatten() {
            let title = p["title"].as_str().unwrap_or("");
            let id = p["id"].as_u64().unwrap_or(0);
            if id == 0 || !ids.insert(id) {
                problems.push(format!(
                    "{file}: panel {title:?} id {id} missing or repeated"
                ));
            }
            let pos = &p["gridPos"];
            let (x, w) = (pos["x"].as_u64(), pos["w"].as_u64());
            if !matches!((x, w), (Some(x), Some(w)) if w > 0 && x + w <= 24)
                || pos["h"].as_u64().is_none()
            {
                problems.push(format!("{file}: panel {title:?} gridPos {pos}"));
            }
            if p["type"] == "row" {
                continue;
            }
            if p["description"].as_str().is_none_or(str::is_empty) {
                problems.push(format!("{file}: panel {title:?} has no description"));
            }
            if title.is_empty() || p["type"].as_str().is_none() {
                problems.push(format!(
                    "{file}: a panel without title or type: {}",
                    p["id"]
                ));
            }
            if p["datasource"]["uid"] != "${datasource}" {
                problems.push(format!(
                    "{file}: panel {title:?} datasource {}",
                    p["datasource"]
                ));
            }
            let targets = p["targets"].as_array().cloned().unwrap_or_default();
            if targets.is_empty() {
                problems.push(format!("{file}: panel {title:?} has no query"));
            }
            let mut refs = BTreeSet::new();
            for t in &targets {
                let expr = t["expr"].as_str().unwrap_or("");
                if expr.trim().is_empty() || t["datasource"]["uid"] != "${datasource}" {
                    problems.push(format!("{file}: panel {title:?} target {t}"));
                }
                if !refs.insert(t["refId"].as_str().unwrap_or("").to_string()) {
                    problems.push(format!(
                        "{file}: panel {title:?} repeats refId {}",
                        t["refId"]
                    ));
                }
                if expr.matches('(').count() != expr.matches(')').count()
                    || expr.matches('{').count() != expr.matches('}').count()
                {
                    problems.push(format!("{file}: panel {title:?} unbalanced: {expr}"));
                }
            }
        }
    }
    // Every metric a dashboard or rule reads is at least one quorate documents or records
    // (the live test below also checks them against a real scrape).
    let known = documented_metrics();
    let records: BTreeSet<String> = rules()
        .iter()
        .filter(|r| !r.alert)
        .map(|r| r.name.clone())
        .collect();
    for q in dashboard_queries() {
        for name in metric_names(&q.expr) {
            let documented = known.contains(&name)
                || records.contains(&name)
                || PROMETHEUS_SERIES.contains(&name.as_str());
            if !documented {
                problems.push(format!(
                    "{}: panel {:?}: {name} is no metric quorate documents",
                    q.file, q.panel
                ));
            }
        }
    }
    for rule in rules() {
        for name in metric_names(&rule.expr) {
            if !known.contains(&name)
                && !records.contains(&name)
                && !PROMETHEUS_SERIES.contains(&name.as_str())
            {
                problems.push(format!(
                    "{}: rule {}: {name} is no metric quorate documents",
                    rule.file, rule.name
                ));
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

/// Series Prometheus itself makes.
const PROMETHEUS_SERIES: &[&str] = &["up", "ALERTS", "ALERTS_FOR_STATE"];

/// The metric names an expression selects: identifiers that are not functions, keywords,
/// label names (inside `{}` or a grouping clause), strings, numbers or durations.
fn metric_names(expr: &str) -> BTreeSet<String> {
    // Binary operators, modifiers and aggregation operators (these may be followed by
    // `by (...)` rather than a parenthesis).
    #[rustfmt::skip]
    const KEYWORDS: &[&str] = &[
        "and", "or", "unless", "bool", "offset", "inf", "nan", "sum", "min", "max", "avg",
        "count", "group", "stddev", "stdvar", "topk", "bottomk", "quantile", "count_values",
    ];
    // Followed by a list of label names.
    #[rustfmt::skip]
    const GROUPING: &[&str] = &[
        "by", "without", "on", "ignoring", "group_left", "group_right",
    ];
    let chars: Vec<char> = expr.chars().collect();
    let mut names = BTreeSet::new();
    let mut i = 0;
    let mut nested = 0usize;
    while i < chars.len() {
        let c = chars[i];
        match c {
            '"' | '\'' | '`' => {
                i += 1;
                while i < chars.len() && chars[i] != c {
                    if chars[i] == '\\' {
                        i += 1;
                    }
                    i += 1;
                }
                i += 1;
            }
            '#' => {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
            }
            // Label matchers and range durations: no metric names inside.
            '{' | '[' => {
                nested += 1;
                i += 1;
            }
            '}' | ']' => {
                nested = nested.saturating_sub(1);
                i += 1;
            }
            '$' => {
                // A Grafana variable: $name or ${name}.
                i += 1;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_{}".contains(chars[i])) {
                    i += 1;
                }
            }
            c if c.is_ascii_digit()
                || (c == '.' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit())) =>
            {
                while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '.') {
                    i += 1;
                }
            }
            c if c.is_alphabetic() || c == '_' || c == ':' => {
                let start = i;
                while i < chars.len() && (chars[i].is_alphanumeric() || "_:".contains(chars[i])) {
                    i += 1;
                }
                let word: String = chars[start..i].iter().collect();
                let mut j = i;
                while j < chars.len() && chars[j].is_whitespace() {
                    j += 1;
                }
                let next = chars.get(j).copied();
                let lower = word.to_lowercase();
                if GROUPING.contains(&lower.as_str()) && next == Some('(') {
                    // Skip the label list.
                    while i < chars.len() && chars[i] != ')' {
                        i += 1;
                    }
                } else if nested > 0 || next == Some('(') || KEYWORDS.contains(&lower.as_str()) {
                    // A label name, a duration, a function or a keyword.
                } else {
                    names.insert(word);
                }
            }
            _ => i += 1,
        }
    }
    names
}

#[test]
fn metric_name_extraction() {
    let names = |e: &str| metric_names(e).into_iter().collect::<Vec<_>>();
    assert_eq!(
        names(
            r#"max by (cluster) (a_b{x="y",cluster=~"$cluster"} and on(job, instance) c == 1) < on(cluster) quorate:d"#
        ),
        ["a_b", "c", "quorate:d"]
    );
    assert_eq!(
        names("rate(x_total[$__rate_interval]) > on() group_left() y offset 1h + 1e3 * Inf"),
        ["x_total", "y"]
    );
    assert_eq!(
        names("label_replace(vector(26 * 3600), \"type\", \"full\", \"\", \"\") # c_d\n or z"),
        ["z"]
    );
    assert_eq!(names("time() - m{type=\"full\"}"), ["m"]);
}

// ---------------------------------------------------------------------------------------------
// The live test.

/// Dashboard panels that are empty on a healthy sandbox, and why. (file, panel title, reason)
const EMPTY_WHEN_HEALTHY: &[(&str, &str, &str)] = &[
    (
        "quorate-backups.json",
        "Failed backups",
        "mariadb_backup_failed_info exists only for failed backups",
    ),
    (
        "quorate-backups.json",
        "Chain breaks",
        "mariadb_backup_chain_break_info exists only for broken links",
    ),
    (
        "quorate-backups.json",
        "Verified restore",
        "the verification series exist only once quorate backup verify has recorded an outcome",
    ),
    (
        "quorate-gluster.json",
        "Mount probe failures",
        "gluster_mount_probe_failure_info exists only while a mount's probe fails",
    ),
];

/// Metrics rules read that are absent on a healthy sandbox, and why (the sandbox's GlusterFS
/// pool has a peer, its backups a full and an incremental, so only these).
const ABSENT_WHEN_HEALTHY: &[(&str, &str)] = &[
    (
        "quorate:maintenance",
        "has a series only while a node is in planned maintenance",
    ),
    (
        "quorate:maintenance_by_host",
        "has a series only while a node is in planned maintenance",
    ),
    (
        "mariadb_backup_verify_success",
        "exists only once quorate backup verify has recorded an outcome",
    ),
    (
        "mariadb_backup_last_verified_timestamp_seconds",
        "exists only once quorate backup verify has recorded a success",
    ),
];

/// Grafana's variables as the test selects them: everything.
fn substitute_variables(expr: &str) -> String {
    expr.replace("$__rate_interval", "30s")
        .replace("$__interval", "5s")
        .replace("\"$cluster\"", "\".*\"")
        .replace("\"$node\"", "\".*\"")
        .replace("\"$volume\"", "\".*\"")
}

fn api(prometheus: &PrometheusProcess, path: &str) -> Value {
    let r = get(prometheus.addr, path, &[]).expect("prometheus API");
    let json: Value = serde_json::from_str(&r.body).expect("prometheus JSON");
    assert_eq!(json["status"], "success", "{path}: {}", r.body);
    json["data"].clone()
}

/// Every sample name of an exposition.
fn exposed_names(body: &str) -> BTreeSet<String> {
    body.lines()
        .filter(|l| !l.starts_with('#') && !l.is_empty())
        .filter_map(|l| l.split(['{', ' ']).next())
        .map(str::to_string)
        .collect()
}

/// A copy of `alerts/*.yml` in `dir` with every `for:` shortened to 5 s.
fn fast_rule_copies(dir: &Path) -> Vec<PathBuf> {
    rule_files()
        .iter()
        .map(|f| {
            let text = fs::read_to_string(f).expect("read rules");
            let fast: String = text
                .lines()
                .map(|l| {
                    if l.trim_start().starts_with("for: ") {
                        let indent = &l[..l.len() - l.trim_start().len()];
                        format!("{indent}for: 5s\n")
                    } else {
                        format!("{l}\n")
                    }
                })
                .collect();
            let copy = dir.join(f.file_name().expect("name"));
            fs::write(&copy, fast).expect("write rule copy");
            copy
        })
        .collect()
}

/// Alerts Prometheus holds now: (alertname, state, labels).
fn active_alerts(prometheus: &PrometheusProcess) -> Alerts {
    api(prometheus, "/api/v1/alerts")["alerts"]
        .as_array()
        .cloned()
        .unwrap_or_default()
        .into_iter()
        .map(|a| {
            (
                a["labels"]["alertname"].as_str().unwrap_or("").to_string(),
                a["state"].as_str().unwrap_or("").to_string(),
                a["labels"].clone(),
            )
        })
        .collect()
}

type Alerts = Vec<(String, String, Value)>;

/// Polls Prometheus' active alerts until `done` accepts them; returns them and every
/// (alertname, state) seen on the way.
fn wait_alerts(
    prometheus: &PrometheusProcess,
    what: &str,
    done: impl Fn(&Alerts) -> bool,
) -> (Alerts, BTreeSet<(String, String)>) {
    let mut seen = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let alerts = active_alerts(prometheus);
        seen.extend(alerts.iter().map(|(n, s, _)| (n.clone(), s.clone())));
        if done(&alerts) {
            return (alerts, seen);
        }
        assert!(
            Instant::now() < deadline,
            "{what}: last alerts {alerts:?}\n{}",
            prometheus.log()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn firing(alerts: &Alerts, name: &str) -> bool {
    alerts.iter().any(|(n, s, _)| n == name && s == "firing")
}

#[test]
fn live_prometheus_evaluates_rules_and_dashboards_against_a_real_sandbox() {
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sb = SandboxGuard::new(
        sandbox::up_gluster(&UpOptions {
            dir: dir.path().join("sb"),
            nodes: 3,
        })
        .expect("sandbox up --gluster with 3 Galera nodes"),
    );

    // Real backups: a full and an incremental on it, in the seed's layout.
    let socket = sb.socket("node1").expect("socket");
    let backups = BackupPair::take(
        &socket,
        &dir.path().join("backups"),
        &jiff::tz::TimeZone::system(),
        || {
            sb.sql("node1", "CREATE DATABASE alerts_t; CREATE TABLE alerts_t.t (id INT PRIMARY KEY) ENGINE=InnoDB; INSERT INTO alerts_t.t VALUES (1),(2),(3);")
                .expect("a change for the incremental");
        },
    );
    let inc = &backups.inc;

    let config_path = dir.path().join("quorate.yaml");
    let mut config = config_with_backup_root(&sb.config_path(), &backups.root);
    // `quorate maintenance` records go here (step 8); this serve's node is node1.
    let maintenance_file = dir.path().join("maintenance");
    config["quorate"]["health"] = serde_yaml_ng::from_str(&format!(
        "{{maintenance_file: \"{}\"}}",
        maintenance_file.display()
    ))
    .expect("health section");
    fs::write(
        &config_path,
        serde_yaml_ng::to_string(&config).expect("YAML"),
    )
    .expect("write quorate.yaml");
    let serve = ServeProcess::start(&config_path, &[]);

    // The layout of docs/alerts-and-dashboards.md: Galera through /probe (instance = node name), this host's
    // GlusterFS, backups and quorate itself through /metrics without its Galera series
    // (they would duplicate node1's). Both carry the optional `cluster` label.
    let scrape = format!(
        "  - job_name: galera\n    metrics_path: /probe\n    static_configs:\n      - targets: [node1, node2, node3]\n        labels: {{cluster: sandbox}}\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - source_labels: [__param_target]\n        target_label: instance\n      - target_label: __address__\n        replacement: {addr}\n  - job_name: quorate\n    static_configs:\n      - targets: ['{addr}']\n        labels: {{cluster: sandbox}}\n    metric_relabel_configs:\n      - source_labels: [__name__]\n        regex: 'mysql_.*'\n        action: drop\n",
        addr = serve.addr
    );
    let serve_addr = serve.addr;
    let prometheus = PrometheusProcess::start_with_rules(&scrape, fast_rule_copies);

    // Everything scraped, heal info collected, both backups seen, the rules evaluated, and
    // enough samples for the rates.
    let wait = Duration::from_secs(60);
    prometheus.wait_for("mysql_global_status_wsrep_cluster_size", wait, |r| {
        r.len() == 3 && r.iter().all(|(_, v)| *v == 3.0)
    });
    prometheus.wait_for("gluster_heal_pending_entries", wait, |r| r.len() == 3);
    prometheus.wait_for("mariadb_backup_count", wait, |r| {
        r.len() == 2 && r.iter().all(|(_, v)| *v == 1.0)
    });
    prometheus.wait_for("quorate:galera_expected_cluster_size", wait, |r| {
        r.len() == 1 && r[0].1 == 3.0 && r[0].0["cluster"] == "sandbox"
    });
    prometheus.wait_for(
        "count_over_time(mysql_global_status_wsrep_replicated_bytes[30s])",
        wait,
        |r| r.len() == 3 && r.iter().all(|(_, v)| *v >= 3.0),
    );

    // 1. Every rule evaluates without error, and nothing alerts on the healthy cluster.
    let all_rules = rules();
    let groups = api(&prometheus, "/api/v1/rules")["groups"].clone();
    let evaluated: Vec<&Value> = groups
        .as_array()
        .expect("groups")
        .iter()
        .flat_map(|g| g["rules"].as_array().expect("rules"))
        .collect();
    assert_eq!(evaluated.len(), all_rules.len(), "{groups}");
    for r in &evaluated {
        assert_eq!(r["health"], "ok", "rule {} : {}", r["name"], r["lastError"]);
    }
    // Firing means true for 5 s of evaluations in a row: not a transient.
    let alerts = active_alerts(&prometheus);
    assert!(
        !alerts.iter().any(|(_, state, _)| state == "firing"),
        "alerts on a healthy cluster: {alerts:?}"
    );

    // 2. Every recording rule has data (but those listed as absent); every metric an alert
    //    reads has series.
    for rule in all_rules
        .iter()
        .filter(|r| !r.alert && !ABSENT_WHEN_HEALTHY.iter().any(|(n, _)| *n == r.name))
    {
        assert!(
            !prometheus.query(&rule.name).is_empty(),
            "recording rule {} in {} has no data",
            rule.name,
            rule.file
        );
    }
    let mut empty = Vec::new();
    for rule in all_rules.iter().filter(|r| r.alert) {
        for name in metric_names(&rule.expr) {
            let absent_ok = ABSENT_WHEN_HEALTHY.iter().any(|(n, _)| *n == name);
            let has_data = !prometheus.query(&name).is_empty();
            if !has_data && !absent_ok {
                empty.push(format!(
                    "{} ({}): {name} has no series",
                    rule.name, rule.file
                ));
            }
            if has_data && absent_ok {
                empty.push(format!(
                    "{name} is listed as absent but has data: update the list"
                ));
            }
        }
    }

    // 3. Every dashboard query returns data, except the documented ones (which must stay
    //    empty, or the list is out of date).
    for q in dashboard_queries() {
        let expr = substitute_variables(&q.expr);
        let result = prometheus.query(&expr);
        let documented = EMPTY_WHEN_HEALTHY
            .iter()
            .any(|(f, p, _)| *f == q.file && *p == q.panel);
        match (result.is_empty(), documented) {
            (true, false) => empty.push(format!(
                "{}: panel {:?}: no data for {expr}",
                q.file, q.panel
            )),
            (false, true) => empty.push(format!(
                "{}: panel {:?} is listed as empty when healthy but has data",
                q.file, q.panel
            )),
            _ => {}
        }
    }
    assert!(empty.is_empty(), "{}", empty.join("\n"));

    // 4. Every metric name in a dashboard or a rule is one quorate exports (a live scrape of
    //    /metrics and /probe) or documents in docs/metrics.md; recording rules are their own.
    let mut exported = exposed_names(&serve.get("/metrics").body);
    exported.extend(exposed_names(&serve.get("/probe?target=node2").body));
    exported.extend(documented_metric_names());
    exported.extend(PROMETHEUS_SERIES.iter().map(|s| s.to_string()));
    exported.extend(
        all_rules
            .iter()
            .filter(|r| !r.alert)
            .map(|r| r.name.clone()),
    );
    let mut unknown = Vec::new();
    for q in dashboard_queries() {
        for name in metric_names(&q.expr) {
            if !exported.contains(&name) {
                unknown.push(format!("{}: panel {:?}: {name}", q.file, q.panel));
            }
        }
    }
    for rule in &all_rules {
        for name in metric_names(&rule.expr) {
            if !exported.contains(&name) {
                unknown.push(format!("{}: rule {}: {name}", rule.file, rule.name));
            }
        }
    }
    assert!(
        unknown.is_empty(),
        "names quorate does not export:\n{}",
        unknown.join("\n")
    );

    // 5. A node desynced on purpose (as for a backup) is Donor/Desynced, and stays silent
    //    well past the alerts' (shortened) `for:`.
    // Sets node2's wsrep_desync and waits until Prometheus has the state `reached` selects.
    let desync_node2 = |value: &str, reached: &str| {
        sb.sql("node2", &format!("SET GLOBAL wsrep_desync={value}"))
            .expect("set wsrep_desync on node2");
        prometheus.wait_for(reached, wait, |r| r.len() == 1);
    };
    desync_node2(
        "ON",
        "mysql_global_status_wsrep_local_state{instance=\"node2\"} == 2 and on(instance) mysql_global_variables_wsrep_desync == 1",
    );
    let mut seen = BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(8);
    while Instant::now() < until {
        seen.extend(
            active_alerts(&prometheus)
                .into_iter()
                .map(|(name, state, _)| (name, state)),
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    assert!(
        !seen
            .iter()
            .any(|(name, state)| name.starts_with("Galera") || state == "firing"),
        "alerts for a node desynced on purpose: {seen:?}"
    );
    desync_node2(
        "OFF",
        "mysql_global_status_wsrep_local_state{instance=\"node2\"} == 4",
    );

    // 6. A crashed GlusterFS peer (glusterd and its brick killed): GlusterPeerDisconnected
    //    fires for the peer and GlusterBrickDown for its brick, and both clear when it is back.
    let gluster = sb.gluster().expect("sandbox volume");
    let brick = gluster.brick_name(2).expect("the peer's brick");
    let peer = gluster
        .peer_address()
        .expect("the sandbox's peer")
        .to_string();
    gluster.stop_peer().expect("crash the peer");
    let (alerts, _) = wait_alerts(
        &prometheus,
        "GlusterPeerDisconnected and GlusterBrickDown",
        |a| firing(a, "GlusterPeerDisconnected") && firing(a, "GlusterBrickDown"),
    );
    // The test's own gluster CLI calls may hold glusterd's lock while quorate collects, so
    // the gluster collector may fail for a moment (QuorateCollectorFailing): not counted.
    let contention = |(n, _, l): &&(String, String, Value)| {
        n == "QuorateCollectorFailing" && l["collector"] == "gluster"
    };
    // The mount probe writes (and removes) a file every interval: with the peer's brick down
    // each is pending heal on the other two, so their backlog really grows (and heals later).
    let probe_writes = |(n, _, l): &&(String, String, Value)| {
        n == "GlusterHealBacklogGrowing" && l["brick"].as_str() != Some(brick.as_str())
    };
    let mut down: Vec<(&str, &str, &str)> = alerts
        .iter()
        .filter(|a| a.1 == "firing" && !contention(a) && !probe_writes(a))
        .map(|(n, _, l)| {
            (
                n.as_str(),
                l["brick"].as_str().or(l["peer"].as_str()).unwrap_or(""),
                l["severity"].as_str().unwrap_or(""),
            )
        })
        .collect();
    down.sort();
    assert_eq!(
        down,
        [
            ("GlusterBrickDown", brick.as_str(), "critical"),
            ("GlusterPeerDisconnected", peer.as_str(), "critical")
        ]
    );
    gluster.start_peer().expect("restart the peer");
    wait_alerts(&prometheus, "alerts clear after the peer restart", |a| {
        !a.iter().any(|a| a.1 == "firing")
    });

    // 7. A broken incremental chain (the incremental's from_lsn moved off its base's
    //    to_lsn): MariaDBBackupChainBroken fires, the dashboard's "Chain breaks" table (empty
    //    when healthy) shows the link, and both clear when the file is put back.
    let checkpoints = inc.join("xtrabackup_checkpoints");
    let original = fs::read_to_string(&checkpoints).expect("checkpoints");
    let broken: String = original
        .lines()
        .map(|l| match l.strip_prefix("from_lsn = ") {
            Some(lsn) => format!(
                "from_lsn = {}\n",
                lsn.trim().parse::<u64>().expect("from_lsn") + 12345
            ),
            None => format!("{l}\n"),
        })
        .collect();
    assert_ne!(broken, original);
    fs::write(&checkpoints, broken).expect("break the chain");
    let (alerts, _) = wait_alerts(&prometheus, "MariaDBBackupChainBroken", |a| {
        firing(a, "MariaDBBackupChainBroken")
    });
    let chain: Vec<(&str, &str)> = alerts
        .iter()
        .filter(|a| a.1 == "firing")
        .map(|(n, _, l)| (n.as_str(), l["severity"].as_str().unwrap_or("")))
        .collect();
    assert_eq!(chain, [("MariaDBBackupChainBroken", "warning")]);
    let breaks = dashboard_queries()
        .into_iter()
        .find(|q| q.panel == "Chain breaks")
        .expect("the backups dashboard's chain breaks table");
    let rows = prometheus.query(&substitute_variables(&breaks.expr));
    assert!(
        rows.len() == 1 && rows[0].0["reason"] == "lsn_gap",
        "{rows:?}"
    );
    fs::write(&checkpoints, &original).expect("mend the chain");
    wait_alerts(&prometheus, "alerts clear after the chain is mended", |a| {
        !a.iter().any(|a| a.1 == "firing")
    });

    // 8. Planned maintenance of node1 (`quorate maintenance on`): node1 stopped raises
    //    nothing, pending or firing, in the real Prometheus well past the alerts' `for:`;
    //    once the maintenance is off, GaleraNodeDown fires for node1; it clears when node1
    //    is back.
    let maintenance = |args: &[&str]| {
        let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
            .arg("maintenance")
            .args(args)
            .arg("--config")
            .arg(&config_path)
            .output()
            .expect("quorate maintenance");
        assert!(
            out.status.success(),
            "quorate maintenance {args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    maintenance(&[
        "on",
        "--node",
        "node1",
        "--for",
        "30m",
        "--reason",
        "alerts test",
    ]);
    prometheus.wait_for("quorate:maintenance{instance=\"node1\"}", wait, |r| {
        r.len() == 1
    });
    sb.stop_node("node1").expect("stop node1");
    prometheus.wait_for("mysql_up{instance=\"node1\"} == 0", wait, |r| r.len() == 1);
    let mut seen = BTreeSet::new();
    let until = Instant::now() + Duration::from_secs(10);
    while Instant::now() < until {
        seen.extend(
            active_alerts(&prometheus)
                .into_iter()
                .map(|(name, state, labels)| (name, state, labels["instance"].to_string())),
        );
        std::thread::sleep(Duration::from_millis(250));
    }
    // Nothing fires, and nothing about node1 even goes pending. (A cluster-wide alert that
    // maintenance deliberately does not silence, GaleraMultiplePrimaryComponents, may go
    // pending for a moment while the view changes; its `for:` outlasts that.)
    assert!(
        !seen.iter().any(|(name, state, instance)| state == "firing"
            || instance == "\"node1\""
            || name == "GaleraNodeDown"),
        "alerts while node1 is in planned maintenance: {seen:?}"
    );
    maintenance(&["off", "--node", "node1"]);
    wait_alerts(
        &prometheus,
        "GaleraNodeDown for node1 after maintenance",
        |a| {
            a.iter().any(|(n, st, l)| {
                n == "GaleraNodeDown" && st == "firing" && l["instance"] == "node1"
            })
        },
    );
    sb.start_node("node1").expect("start node1");
    wait_alerts(&prometheus, "alerts clear after node1 is back", |a| {
        !a.iter().any(|a| a.1 == "firing" || a.1 == "pending")
    });

    // 9. Stop node3: GaleraNodeDown goes pending, then firing, for node3, and the cluster is
    //    smaller than expected; nothing else alerts.
    sb.stop_node("node3").expect("stop node3");
    let (firing_now, seen) = wait_alerts(&prometheus, "GaleraNodeDown never fired", |a| {
        firing(a, "GaleraNodeDown") && firing(a, "GaleraClusterSizeBelowExpected")
    });
    assert!(
        seen.contains(&("GaleraNodeDown".to_string(), "pending".to_string())),
        "GaleraNodeDown was pending before firing: {seen:?}"
    );
    let firing = firing_now;
    let mut names: Vec<(&str, &str)> = firing
        .iter()
        .filter(|a| a.1 == "firing")
        .map(|(n, _, l)| (n.as_str(), l["instance"].as_str().unwrap_or("")))
        .collect();
    names.sort();
    assert_eq!(
        names,
        [
            ("GaleraClusterSizeBelowExpected", ""),
            ("GaleraNodeDown", "node3")
        ],
        "{firing:?}"
    );
    let (_, _, labels) = firing
        .iter()
        .find(|a| a.0 == "GaleraNodeDown")
        .expect("node down");
    assert_eq!(labels["severity"], "critical");
    assert_eq!(labels["cluster"], "sandbox");
    assert_eq!(labels["job"], "galera");
    let size = prometheus
        .query("ALERTS{alertname=\"GaleraClusterSizeBelowExpected\",alertstate=\"firing\"}");
    assert_eq!(size.len(), 1, "{size:?}");
    assert_eq!(size[0].0["cluster"], "sandbox");
    assert_eq!(size[0].0["severity"], "warning");
    let annotations = api(&prometheus, "/api/v1/alerts")["alerts"]
        .as_array()
        .expect("alerts")
        .iter()
        .find(|a| a["labels"]["alertname"] == "GaleraClusterSizeBelowExpected")
        .map(|a| {
            a["annotations"]["description"]
                .as_str()
                .unwrap_or("")
                .to_string()
        })
        .expect("size alert");
    assert!(
        annotations.contains("cluster sandbox has 2 members; expected 3"),
        "{annotations}"
    );

    // 10. quorate itself stops: every target of both jobs (whatever they are called) is down.
    let status = serve.terminate();
    assert!(status.success(), "quorate serve exit: {status}");
    let (alerts, _) = wait_alerts(&prometheus, "QuorateTargetDown for every target", |a| {
        a.iter()
            .filter(|(n, s, _)| n == "QuorateTargetDown" && s == "firing")
            .count()
            == 4
    });
    let mut targets: Vec<String> = alerts
        .iter()
        .filter(|(n, s, _)| n == "QuorateTargetDown" && s == "firing")
        .map(|(_, _, l)| {
            format!(
                "{}/{}",
                l["job"].as_str().unwrap_or(""),
                l["instance"].as_str().unwrap_or("")
            )
        })
        .collect();
    targets.sort();
    assert_eq!(
        targets,
        [
            "galera/node1".to_string(),
            "galera/node2".to_string(),
            "galera/node3".to_string(),
            format!("quorate/{}", serve_addr),
        ]
    );

    drop(prometheus);
    sb.down().expect("sandbox down");
    eprintln!("live alerts and dashboards test: {:?}", started.elapsed());
}
