//! Rendering a verdict: monitoring-plugin text (Nagios, Icinga, NRPE) or Zabbix values.
//!
//! Plugin output, per the monitoring-plugins guidelines:
//!
//! ```text
//! GALERA OK - node1: Synced, Primary, cluster size 3 | cluster_size=3;3:;2:;0 ready=1;;;0;1
//! [OK] cluster status: Primary
//! [OK] local state: Synced
//! ```
//!
//! The first line carries the state, a short summary and the perfdata; further lines are long
//! output. Everything stays under 1024 bytes (the NRPE v2 limit) unless verbose output is asked
//! for: long output lines are dropped first (with a note saying how many), then perfdata from
//! the end, and the state and summary are always kept. Numbers use '.' whatever the locale.

use serde_json::{Map, Value};

use super::range::{format_number, Range};
use super::{Finding, Status};

/// The guidelines' size limit for the whole plugin output (NRPE v2 buffer).
pub const MAX_OUTPUT_BYTES: usize = 1024;
/// Longest summary kept on the first line (the guidelines ask for a short one).
const MAX_SUMMARY_BYTES: usize = 300;

/// Units of measurement the perfdata format allows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Uom {
    None,
    Seconds,
    Milliseconds,
    Percent,
    Bytes,
    /// A continuous counter (`c`).
    Counter,
}

impl Uom {
    fn as_str(self) -> &'static str {
        match self {
            Uom::None => "",
            Uom::Seconds => "s",
            Uom::Milliseconds => "ms",
            Uom::Percent => "%",
            Uom::Bytes => "B",
            Uom::Counter => "c",
        }
    }
}

/// One perfdata item: `'label'=value[UOM];[warn];[crit];[min];[max]`.
#[derive(Debug, Clone, PartialEq)]
pub struct PerfDatum {
    pub label: String,
    /// `None` is printed `U` (the value could not be determined).
    pub value: Option<f64>,
    pub uom: Uom,
    pub warning: Option<Range>,
    pub critical: Option<Range>,
    pub min: Option<f64>,
    pub max: Option<f64>,
}

impl PerfDatum {
    pub fn new(label: impl Into<String>, value: Option<f64>) -> PerfDatum {
        PerfDatum {
            label: label.into(),
            value,
            uom: Uom::None,
            warning: None,
            critical: None,
            min: None,
            max: None,
        }
    }

    pub fn uom(mut self, uom: Uom) -> PerfDatum {
        self.uom = uom;
        self
    }

    pub fn thresholds(mut self, t: &super::Thresholds) -> PerfDatum {
        self.warning = t.warning.clone();
        self.critical = t.critical.clone();
        self
    }

    pub fn min(mut self, min: f64) -> PerfDatum {
        self.min = Some(min);
        self
    }

    pub fn max(mut self, max: f64) -> PerfDatum {
        self.max = Some(max);
        self
    }

    /// A 0/1 flag with min 0 and max 1.
    pub fn flag(label: impl Into<String>, value: Option<bool>) -> PerfDatum {
        PerfDatum::new(label, value.map(|b| if b { 1.0 } else { 0.0 }))
            .min(0.0)
            .max(1.0)
    }

    /// The item in perfdata syntax.
    pub fn render(&self) -> String {
        let value = match self.value {
            Some(v) if v.is_finite() => format!("{}{}", format_number(v), self.uom.as_str()),
            // `U` carries no unit.
            _ => "U".to_string(),
        };
        let opt_range = |r: &Option<Range>| r.as_ref().map_or(String::new(), |r| r.to_string());
        let opt_num = |n: Option<f64>| n.map_or(String::new(), format_number);
        let mut fields = vec![
            value,
            opt_range(&self.warning),
            opt_range(&self.critical),
            opt_num(self.min),
            opt_num(self.max),
        ];
        while fields.len() > 1 && fields.last().is_some_and(String::is_empty) {
            fields.pop();
        }
        format!("{}={}", quote_label(&self.label), fields.join(";"))
    }
}

/// Quotes a perfdata label when it holds anything but letters, digits and `_.-:/`; a literal
/// quote is doubled and `=` (never allowed) becomes `_`.
pub fn quote_label(label: &str) -> String {
    let label: String = label
        .chars()
        .map(|c| if c == '=' || c.is_control() { '_' } else { c })
        .collect();
    let plain = !label.is_empty()
        && label
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-' | ':' | '/'));
    if plain {
        label
    } else {
        format!("'{}'", label.replace('\'', "''"))
    }
}

/// The verdict of one check, ready to be rendered.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckResult {
    /// `GALERA`, `GALERA CLUSTER`, ...: the first word(s) of the first line.
    pub service: String,
    pub status: Status,
    /// The short text after `STATE - `.
    pub summary: String,
    /// Long output lines.
    pub details: Vec<String>,
    /// Long output shown only with `-v`.
    pub verbose_details: Vec<String>,
    pub perfdata: Vec<PerfDatum>,
    /// Values for Zabbix (`--format zabbix`), by item name.
    pub values: Map<String, Value>,
}

impl CheckResult {
    pub fn new(service: &str, status: Status, summary: impl Into<String>) -> CheckResult {
        CheckResult {
            service: service.to_string(),
            status,
            summary: summary.into(),
            details: Vec::new(),
            verbose_details: Vec::new(),
            perfdata: Vec::new(),
            values: Map::new(),
        }
    }

    /// The verdict of a list of findings: the worst state, the findings at that state joined
    /// as the summary ("nothing read" when there are none), every finding as a long-output
    /// line `[STATE] text`.
    pub fn from_findings(service: &str, findings: &[Finding]) -> CheckResult {
        let status = findings
            .iter()
            .fold(Status::Ok, |acc, f| acc.worst(f.status));
        let worst: Vec<&str> = findings
            .iter()
            .filter(|f| f.status == status)
            .map(|f| f.text.as_str())
            .collect();
        let summary = if worst.is_empty() {
            "nothing read".to_string()
        } else {
            worst.join("; ")
        };
        let mut result = CheckResult::new(service, status, summary);
        result.details = findings
            .iter()
            .map(|f| format!("[{}] {}", f.status, f.text))
            .collect();
        result
    }

    /// The plugin output (with a final newline). Under [`MAX_OUTPUT_BYTES`] unless `verbose`.
    pub fn render_plugin(&self, verbose: bool) -> String {
        let head = format!(
            "{} {} - {}",
            self.service,
            self.status,
            truncate(&one_line(&self.summary), MAX_SUMMARY_BYTES)
        );
        let mut perf: Vec<String> = self.perfdata.iter().map(PerfDatum::render).collect();
        let lines: Vec<String> = self
            .details
            .iter()
            .chain(self.verbose_details.iter().filter(|_| verbose))
            .map(|l| one_line(l))
            .collect();
        let first_line = |perf: &[String]| {
            if perf.is_empty() {
                head.clone()
            } else {
                format!("{head} | {}", perf.join(" "))
            }
        };
        if verbose {
            let mut out = first_line(&perf);
            out.push('\n');
            for line in &lines {
                out.push_str(line);
                out.push('\n');
            }
            return out;
        }
        // The first line alone must fit: drop perfdata from the end until it does.
        let mut out = first_line(&perf);
        while out.len() + 1 > MAX_OUTPUT_BYTES && !perf.is_empty() {
            perf.pop();
            out = first_line(&perf);
        }
        if out.len() + 1 > MAX_OUTPUT_BYTES {
            out = truncate(&out, MAX_OUTPUT_BYTES - 1);
        }
        out.push('\n');
        // Then as many long-output lines as fit, keeping room for the note about the rest.
        for (i, line) in lines.iter().enumerate() {
            let left = lines.len() - i - 1;
            let note_room = if left > 0 { 48 } else { 0 };
            if out.len() + line.len() + 1 + note_room <= MAX_OUTPUT_BYTES {
                out.push_str(line);
                out.push('\n');
            } else {
                let note = format!("({} more lines: use -v)\n", lines.len() - i);
                if out.len() + note.len() <= MAX_OUTPUT_BYTES {
                    out.push_str(&note);
                }
                break;
            }
        }
        out
    }

    /// Zabbix output: the bare value of `item`, or (without one) a JSON object with every value
    /// plus `status` (the plugin exit code), `state` and `summary`, for a master item whose
    /// dependent items pick fields with JSONPath.
    pub fn render_zabbix(&self, item: Option<&str>) -> Result<String, String> {
        let mut all = Map::new();
        all.insert("status".into(), Value::from(self.status.exit_code()));
        all.insert("state".into(), Value::from(self.status.as_str()));
        all.insert("summary".into(), Value::from(one_line(&self.summary)));
        for (k, v) in &self.values {
            all.insert(k.clone(), v.clone());
        }
        match item {
            None => Ok(Value::Object(all).to_string()),
            Some(name) => match all.get(name) {
                Some(Value::String(s)) => Ok(s.clone()),
                // A value that could not be read: empty output makes Zabbix mark the item
                // unsupported for this poll rather than store a made-up number.
                Some(Value::Null) => Ok(String::new()),
                Some(other) => Ok(other.to_string()),
                None => {
                    let mut known: Vec<&str> = all.keys().map(String::as_str).collect();
                    known.sort_unstable();
                    Err(format!(
                        "unknown item {name:?}; known items: {}",
                        known.join(", ")
                    ))
                }
            },
        }
    }
}

/// One line of plugin text: no newlines, no '|' (which would start perfdata), and no other
/// control character (from a directory name, say: an escape sequence would reach the monitoring
/// UI raw) — each is shown as `\xNN`.
fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\n' | '\r' | '\t' => out.push(' '),
            '|' => out.push('/'),
            c if c.is_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c => out.push(c),
        }
    }
    out
}

/// Cuts `text` to at most `max` bytes on a character boundary, marking the cut with "...".
fn truncate(text: &str, max: usize) -> String {
    if text.len() <= max {
        return text.to_string();
    }
    let mut cut = max.saturating_sub(3);
    while cut > 0 && !text.is_char_boundary(cut) {
        cut -= 1;
    }
    format!("{}...", &text[..cut])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::check::Thresholds;

    fn range(t: &str) -> Option<Range> {
        Some(Range::parse(t).unwrap())
    }

    #[test]
    fn perfdata_fields_and_trailing_separators() {
        let t = Thresholds::new(range("3:"), range("2:"));
        assert_eq!(
            PerfDatum::new("cluster_size", Some(3.0))
                .thresholds(&t)
                .min(0.0)
                .render(),
            "cluster_size=3;3:;2:;0"
        );
        assert_eq!(
            PerfDatum::flag("ready", Some(true)).render(),
            "ready=1;;;0;1"
        );
        assert_eq!(PerfDatum::new("x", Some(0.5)).render(), "x=0.5");
        assert_eq!(
            PerfDatum::new("fc_paused", None)
                .uom(Uom::Percent)
                .min(0.0)
                .max(100.0)
                .render(),
            "fc_paused=U;;;0;100"
        );
        assert_eq!(
            PerfDatum::new("time", Some(0.0123))
                .uom(Uom::Seconds)
                .render(),
            "time=0.0123s"
        );
        assert_eq!(
            PerfDatum::new("q", Some(1.0))
                .thresholds(&Thresholds::new(None, range("@10:20")))
                .render(),
            "q=1;;@10:20"
        );
        assert_eq!(PerfDatum::new("nan", Some(f64::NAN)).render(), "nan=U");
        assert_eq!(
            PerfDatum::new("tiny", Some(1.42823e-05)).render(),
            "tiny=0.0000142823"
        );
    }

    #[test]
    fn control_characters_never_reach_the_output_raw() {
        let mut r = CheckResult::new(
            "BACKUP",
            Status::Critical,
            "newest backup in /b/full/\u{1b}[31mred\u{7}\tx\0y",
        );
        r.details.push("[CRITICAL] /b/\u{9b}2J gone".into());
        r.perfdata.push(PerfDatum::new("age\u{1b}", Some(1.0)));
        for verbose in [false, true] {
            let out = r.render_plugin(verbose);
            assert!(!out.chars().any(|c| c.is_control() && c != '\n'), "{out:?}");
            assert!(out.contains("/b/full/\\x1b[31mred\\x07 x\\x00y"), "{out}");
            assert!(out.contains("/b/\\x9b2J gone"), "{out}");
        }
        let zabbix = r.render_zabbix(Some("summary")).expect("summary");
        assert!(!zabbix.chars().any(char::is_control), "{zabbix:?}");
    }

    #[test]
    fn labels_are_quoted_when_needed() {
        assert_eq!(quote_label("recv_queue"), "recv_queue");
        assert_eq!(quote_label("node 1 state"), "'node 1 state'");
        assert_eq!(quote_label("it's"), "'it''s'");
        assert_eq!(quote_label("a=b"), "a_b");
        assert_eq!(quote_label(""), "''");
        assert_eq!(
            PerfDatum::new("db1 size", Some(2.0)).render(),
            "'db1 size'=2"
        );
    }

    fn sample(lines: usize, perf: usize) -> CheckResult {
        let mut r = CheckResult::new("GALERA", Status::Warning, "node1: Donor/Desynced | x");
        r.details = (0..lines)
            .map(|i| format!("[OK] detail line number {i} with some padding text to fill it"))
            .collect();
        r.verbose_details = vec!["verbose only".into()];
        r.perfdata = (0..perf)
            .map(|i| PerfDatum::new(format!("item_{i}"), Some(i as f64)))
            .collect();
        r
    }

    #[test]
    fn first_line_and_long_output() {
        let out = sample(2, 2).render_plugin(false);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(
            lines[0],
            "GALERA WARNING - node1: Donor/Desynced / x | item_0=0 item_1=1"
        );
        assert_eq!(lines.len(), 3);
        assert!(!out.contains("verbose only"));
        assert!(sample(2, 2).render_plugin(true).contains("verbose only\n"));
        assert!(out.ends_with('\n'));
    }

    #[test]
    fn output_stays_under_1024_bytes() {
        let out = sample(100, 5).render_plugin(false);
        assert!(out.len() <= MAX_OUTPUT_BYTES, "{} bytes", out.len());
        assert!(out.starts_with("GALERA WARNING - "));
        assert!(out.contains("more lines: use -v)"), "{out}");
        // Verbose output is complete.
        let verbose = sample(100, 5).render_plugin(true);
        assert!(verbose.len() > MAX_OUTPUT_BYTES);
        assert_eq!(verbose.lines().count(), 1 + 100 + 1);

        // Too much perfdata: items are dropped from the end, state and summary stay.
        let out = sample(0, 200).render_plugin(false);
        assert!(out.len() <= MAX_OUTPUT_BYTES, "{} bytes", out.len());
        assert!(out.starts_with("GALERA WARNING - node1"));
        assert!(out.contains("item_0=0 "));
        assert!(!out.contains("item_199"));

        // A huge summary is cut with a marker.
        let mut r = CheckResult::new("GALERA", Status::Critical, "x".repeat(5000));
        r.details = vec!["y".repeat(2000)];
        let out = r.render_plugin(false);
        assert!(out.len() <= MAX_OUTPUT_BYTES);
        assert!(out.starts_with("GALERA CRITICAL - xxx") && out.contains("..."));
    }

    #[test]
    fn zabbix_values() {
        let mut r = CheckResult::new("GALERA", Status::Critical, "node3: connection refused");
        r.values.insert("cluster_size".into(), Value::from(2));
        r.values
            .insert("local_state_comment".into(), Value::from("Synced"));
        r.values.insert("recv_queue".into(), Value::Null);
        let json: Value = serde_json::from_str(&r.render_zabbix(None).unwrap()).unwrap();
        assert_eq!(json["status"], 2);
        assert_eq!(json["state"], "CRITICAL");
        assert_eq!(json["cluster_size"], 2);
        assert_eq!(r.render_zabbix(Some("cluster_size")).unwrap(), "2");
        assert_eq!(
            r.render_zabbix(Some("local_state_comment")).unwrap(),
            "Synced"
        );
        assert_eq!(r.render_zabbix(Some("recv_queue")).unwrap(), "");
        assert_eq!(r.render_zabbix(Some("status")).unwrap(), "2");
        let err = r.render_zabbix(Some("nope")).unwrap_err();
        assert!(err.contains("cluster_size"), "{err}");
    }
}
