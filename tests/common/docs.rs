//! The documentation pages as tests read them: docs/*.md by name, and the metric names the
//! tables of docs/metrics.md document (used by tests/alerts_dashboards.rs against the rules and
//! dashboards, and by tests/docs_reference.rs against the code).

use std::collections::BTreeSet;
use std::fs;
use std::path::PathBuf;

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The text of `docs/NAME`.
pub fn page(name: &str) -> String {
    let path = repo().join("docs").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The GitHub anchor of a Markdown heading: lower case, punctuation other than `-` and `_`
/// dropped, spaces to `-`.
pub fn anchor(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// What the metric tables of docs/metrics.md document: the backticked names in the first cell
/// of each row, with the tables' two shorthands: `prefix_*` (a family of names, e.g. every numeric
/// `wsrep%` status) and `…_suffix` (the previous name of the cell with its end replaced).
#[derive(Debug, Default)]
pub struct Documented {
    pub exact: BTreeSet<String>,
    pub prefixes: Vec<String>,
    /// (previous full name, `_suffix`)
    pub abbreviated: Vec<(String, String)>,
    /// What a `prefix_*` row may stand for: the status and variable names with a numeric or
    /// boolean value in the captured `SHOW GLOBAL STATUS/VARIABLES` of a Synced node
    /// (tests/fixtures/wsrep/), so a typo behind a documented prefix is still caught.
    pub captured: BTreeSet<String>,
}

impl Documented {
    pub fn contains(&self, name: &str) -> bool {
        self.exact.contains(name)
            || (self.prefixes.iter().any(|p| name.starts_with(p.as_str()))
                && self.captured.contains(name))
            || self.abbreviated.iter().any(|(prev, suffix)| {
                name.strip_suffix(suffix.as_str()).is_some_and(|stem| {
                    prev.strip_prefix(stem)
                        .is_some_and(|rest| rest.starts_with('_'))
                })
            })
    }
}

pub fn documented_metrics() -> Documented {
    let text = page("metrics.md");
    let mut doc = Documented::default();
    for (fixture, prefix) in [
        ("status/synced.tsv", "mysql_global_status_"),
        ("status/flow-control-active.tsv", "mysql_global_status_"),
        ("variables/synced.tsv", "mysql_global_variables_"),
    ] {
        let path = repo().join("tests/fixtures/wsrep").join(fixture);
        let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        for (name, value) in text.lines().filter_map(|l| l.split_once('\t')) {
            let value = value.trim().to_ascii_lowercase();
            let scalar = value.parse::<f64>().is_ok()
                || [
                    "on",
                    "off",
                    "yes",
                    "no",
                    "true",
                    "false",
                    "primary",
                    "non-primary",
                ]
                .contains(&value.as_str());
            if scalar {
                doc.captured
                    .insert(format!("{prefix}{}", name.to_ascii_lowercase()));
            }
        }
    }
    let metric_like = |n: &str| {
        n.chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
            && n.contains('_')
            && ["mysql_", "gluster_", "mariadb_", "quorate_", "process_"]
                .iter()
                .any(|p| n.starts_with(p))
    };
    for line in text.lines().filter(|l| l.starts_with("| `")) {
        let first_cell = line.split('|').nth(1).unwrap_or("");
        let mut previous: Option<String> = None;
        for name in first_cell.split('`').skip(1).step_by(2) {
            if let Some(prefix) = name.strip_suffix('*').filter(|p| metric_like(p)) {
                doc.prefixes.push(prefix.to_string());
            } else if let Some(suffix) = name.strip_prefix('…').filter(|s| s.starts_with('_')) {
                if let Some(prev) = &previous {
                    doc.abbreviated.push((prev.clone(), suffix.to_string()));
                }
            } else if metric_like(name) {
                doc.exact.insert(name.to_string());
                previous = Some(name.to_string());
            }
        }
    }
    doc
}

/// The names of docs/metrics.md written out in full (no shorthand).
pub fn documented_metric_names() -> BTreeSet<String> {
    documented_metrics().exact
}
