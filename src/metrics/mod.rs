//! Prometheus exposition: readings become [`Family`]s (gauges, counters, untyped), which are
//! encoded with prometheus-client in either exposition format.
//!
//! Owns metric names, HELP texts and content negotiation. prometheus-client writes
//! OpenMetrics only; the classic text format 0.0.4 differs from it, for the kinds we use, in
//! three places only, which [`MetricSet::encode`] rewrites: no `# EOF`, `untyped` for
//! OpenMetrics' `unknown`, and a counter's HELP/TYPE lines name the `_total` sample.
//! Info metrics are gauges named `*_info` with value 1. prometheus-client escapes label
//! values; HELP texts are ours and are kept free of characters that would need escaping.

pub mod backup;
pub mod collector;
pub mod galera;
pub mod gluster;
pub mod maintenance;
pub mod process;

use std::borrow::Cow;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, MetricEncoder};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The Content-Type of each exposition format.
pub const OPENMETRICS_CONTENT_TYPE: &str =
    "application/openmetrics-text; version=1.0.0; charset=utf-8";
pub const TEXT_CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// An exposition format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    OpenMetrics,
    Text,
}

impl Format {
    /// Picks the format from an HTTP `Accept` header: OpenMetrics when the client lists
    /// `application/openmetrics-text` with a q-value above 0 and no lower than text/plain's;
    /// the classic text format otherwise (it is what every Prometheus understands).
    pub fn negotiate(accept: Option<&str>) -> Format {
        let Some(accept) = accept else {
            return Format::Text;
        };
        let mut openmetrics_q: Option<f32> = None;
        let mut text_q: Option<f32> = None;
        for part in accept.split(',') {
            let mut params = part.split(';').map(str::trim);
            let media = params.next().unwrap_or("").to_ascii_lowercase();
            let q = params
                .filter_map(|p| p.strip_prefix("q="))
                .find_map(|q| q.parse::<f32>().ok())
                .unwrap_or(1.0);
            match media.as_str() {
                "application/openmetrics-text" => {
                    openmetrics_q = Some(openmetrics_q.unwrap_or(0.0).max(q))
                }
                "text/plain" | "text/*" | "*/*" => text_q = Some(text_q.unwrap_or(0.0).max(q)),
                _ => {}
            }
        }
        match openmetrics_q {
            Some(om) if om > 0.0 && om >= text_q.unwrap_or(0.0) => Format::OpenMetrics,
            _ => Format::Text,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => OPENMETRICS_CONTENT_TYPE,
            Format::Text => TEXT_CONTENT_TYPE,
        }
    }
}

/// One sample: its labels and value.
#[derive(Debug, Clone, PartialEq)]
pub struct Sample {
    pub labels: Vec<(Cow<'static, str>, String)>,
    pub value: f64,
}

/// The type of a family.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Gauge,
    /// A counter; the family's name ends in `_total`, as its samples do.
    Counter,
    /// Untyped (OpenMetrics `unknown`): what mysqld_exporter uses for SHOW GLOBAL STATUS.
    Untyped,
}

/// A family: a name, a type, a HELP text and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: Cow<'static, str>,
    pub kind: Kind,
    pub help: Cow<'static, str>,
    pub samples: Vec<Sample>,
}

impl Family {
    /// A gauge family.
    pub fn new(name: impl Into<Cow<'static, str>>, help: impl Into<Cow<'static, str>>) -> Family {
        Family {
            name: name.into(),
            kind: Kind::Gauge,
            help: help.into(),
            samples: Vec::new(),
        }
    }

    pub fn of_kind(mut self, kind: Kind) -> Family {
        self.kind = kind;
        self
    }

    /// A family with a single unlabelled sample.
    pub fn single(
        name: impl Into<Cow<'static, str>>,
        help: impl Into<Cow<'static, str>>,
        value: f64,
    ) -> Family {
        Family::new(name, help).with(Vec::new(), value)
    }

    pub fn with(mut self, labels: Vec<(Cow<'static, str>, String)>, value: f64) -> Family {
        self.samples.push(Sample { labels, value });
        self
    }
}

/// The families of one scrape, in output order. Adding a family whose name is already present
/// merges the samples (so two collectors can contribute to one family).
#[derive(Debug, Clone, Default)]
pub struct MetricSet {
    families: Vec<Family>,
}

impl MetricSet {
    pub fn push(&mut self, family: Family) {
        if let Some(existing) = self.families.iter_mut().find(|f| f.name == family.name) {
            existing.samples.extend(family.samples);
        } else {
            self.families.push(family);
        }
    }

    pub fn extend(&mut self, families: impl IntoIterator<Item = Family>) {
        for f in families {
            self.push(f);
        }
    }

    pub fn families(&self) -> &[Family] {
        &self.families
    }

    /// The value of the sample of `name` whose labels include all of `labels`.
    pub fn value(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let family = self.families.iter().find(|f| f.name == name)?;
        family
            .samples
            .iter()
            .find(|s| {
                labels
                    .iter()
                    .all(|(k, v)| s.labels.iter().any(|(lk, lv)| lk == k && lv == v))
            })
            .map(|s| s.value)
    }

    /// Encodes the set in `format`.
    pub fn encode(self, format: Format) -> String {
        // Sized once for the whole exposition, which otherwise grows through a dozen copies.
        let size: usize = self
            .families
            .iter()
            .map(|f| 2 * f.name.len() + f.help.len() + 32 + f.samples.len() * (f.name.len() + 48))
            .sum();
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Families(self.families)));
        let mut out = String::with_capacity(size);
        // Writing into a String cannot fail; an Err here would be an encoder bug.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        match format {
            Format::OpenMetrics => out,
            Format::Text => to_text_format(&out),
        }
    }
}

/// Rewrites prometheus-client's OpenMetrics output into the text format 0.0.4.
fn to_text_format(openmetrics: &str) -> String {
    let mut out = String::with_capacity(openmetrics.len());
    let mut pending_help: Option<&str> = None;
    for line in openmetrics.lines() {
        if line == "# EOF" {
            continue;
        }
        if let Some(rest) = line.strip_prefix("# HELP ") {
            // Held back until the TYPE line says whether the name needs `_total`.
            pending_help = Some(rest);
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.rsplit_once(' ').unwrap_or((rest, ""));
            let (suffix, kind) = match kind {
                "counter" => ("_total", "counter"),
                "unknown" => ("", "untyped"),
                other => ("", other),
            };
            // Pushed piece by piece: this runs for every family on every scrape.
            if let Some(help) = pending_help.take() {
                let text = help.split_once(' ').map_or("", |(_, t)| t);
                for piece in ["# HELP ", name, suffix, " ", text, "\n"] {
                    out.push_str(piece);
                }
            }
            for piece in ["# TYPE ", name, suffix, " ", kind, "\n"] {
                out.push_str(piece);
            }
            continue;
        }
        out.push_str(line);
        out.push('\n');
    }
    out
}

#[derive(Debug)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            if family.samples.is_empty() {
                continue;
            }
            let (name, metric_type) = match family.kind {
                Kind::Gauge => (family.name.as_ref(), MetricType::Gauge),
                Kind::Untyped => (family.name.as_ref(), MetricType::Unknown),
                // prometheus-client appends `_total` to a counter's samples itself.
                Kind::Counter => (
                    family.name.strip_suffix("_total").unwrap_or(&family.name),
                    MetricType::Counter,
                ),
            };
            let mut metric = encoder.encode_descriptor(name, &family.help, None, metric_type)?;
            for sample in &family.samples {
                let labels: Vec<(&str, &str)> = sample
                    .labels
                    .iter()
                    .map(|(k, v)| (k.as_ref(), v.as_str()))
                    .collect();
                if labels.is_empty() && family.samples.len() == 1 {
                    // Encoding through an empty label set would print `name{} value`.
                    encode_value(family.kind, sample.value, metric)?;
                    break;
                }
                encode_value(family.kind, sample.value, metric.encode_family(&labels)?)?;
            }
        }
        Ok(())
    }
}

fn encode_value(kind: Kind, value: f64, encoder: MetricEncoder) -> Result<(), std::fmt::Error> {
    match kind {
        Kind::Counter => ConstCounter::new(value).encode(encoder),
        Kind::Gauge | Kind::Untyped => ConstGauge::new(value).encode(encoder),
    }
}

/// Facts about quorate itself, exported on every scrape.
#[derive(Debug, Clone, Default)]
pub struct SelfInfo {
    /// Whether the last configuration (re)load succeeded.
    pub config_last_reload_successful: bool,
    /// Unix time of the last successful configuration load.
    pub config_last_reload_success_timestamp: f64,
    /// This process's CPU, memory and file descriptors, when they could be read.
    pub process: Option<crate::process_stats::parse::ProcessStats>,
}

/// `quorate_build_info`, the configuration reload state and the `process_*` families.
pub fn self_families(info: &SelfInfo) -> Vec<Family> {
    let build = [
        ("version", crate::VERSION),
        ("revision", crate::GIT_REVISION),
        ("rustc_version", crate::RUSTC_VERSION),
        ("build_date", crate::BUILD_DATE),
    ];
    let mut families = vec![
        Family::new(
            "quorate_build_info",
            "quorate version, git revision, rustc version and build date, value 1.",
        )
        .with(
            build
                .iter()
                .map(|(k, v)| (Cow::Borrowed(*k), v.to_string()))
                .collect(),
            1.0,
        ),
        Family::single(
            "quorate_config_last_reload_successful",
            "1 if the last configuration reload succeeded; 0 means an older configuration is still in force.",
            f64::from(u8::from(info.config_last_reload_successful)),
        ),
        Family::single(
            "quorate_config_last_reload_success_timestamp_seconds",
            "Unix time of the last successful configuration load.",
            info.config_last_reload_success_timestamp,
        ),
    ];
    if let Some(stats) = &info.process {
        families.extend(process::families(stats));
    }
    families
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn negotiation() {
        assert_eq!(Format::negotiate(None), Format::Text);
        assert_eq!(Format::negotiate(Some("text/plain")), Format::Text);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Text);
        // What Prometheus 2.x sends.
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0.2, text/plain;q=0.9")),
            Format::Text
        );
        assert_eq!(
            Format::negotiate(Some("application/openmetrics-text;q=0")),
            Format::Text
        );
        assert_eq!(Format::negotiate(Some("garbage;;;q=x,")), Format::Text);
    }

    #[test]
    fn encodes_both_formats_and_escapes_label_values() {
        let mut set = MetricSet::default();
        set.push(Family::single("a_metric", "An example.", 2.5));
        set.push(
            Family::new("b_info", "Info.").with(vec![("x".into(), "q\"uo\\te\nnl".into())], 1.0),
        );
        set.push(Family::new("empty_family", "Never printed."));
        set.push(Family::single("c_seconds_total", "A counter.", 7.0).of_kind(Kind::Counter));
        set.push(Family::single("d_thread_count", "Untyped.", 3.0).of_kind(Kind::Untyped));
        let om = set.clone().encode(Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"), "{om}");
        assert!(om.contains("# TYPE a_metric gauge\na_metric 2.5\n"), "{om}");
        assert!(om.contains(r#"b_info{x="q\"uo\\te\nnl"} 1"#), "{om}");
        assert!(!om.contains("empty_family"));
        assert!(
            om.contains("# HELP c_seconds A counter.\n# TYPE c_seconds counter\nc_seconds_total 7"),
            "{om}"
        );
        assert!(
            om.contains("# TYPE d_thread_count unknown\nd_thread_count 3"),
            "{om}"
        );
        let text = set.encode(Format::Text);
        assert!(!text.contains("# EOF"));
        assert!(
            text.contains("# TYPE a_metric gauge\na_metric 2.5\n"),
            "{text}"
        );
        assert!(
            text.contains("# HELP c_seconds_total A counter.\n# TYPE c_seconds_total counter\nc_seconds_total 7"),
            "{text}"
        );
        assert!(
            text.contains("# TYPE d_thread_count untyped\nd_thread_count 3"),
            "{text}"
        );
    }

    #[test]
    fn build_info_and_process_families() {
        let stats = crate::process_stats::parse::ProcessStats {
            cpu_seconds: 1.25,
            resident_memory_bytes: 4096,
            virtual_memory_bytes: 8192,
            open_fds: 9,
            max_fds: None,
            start_time_seconds: 1.7e9,
        };
        let mut set = MetricSet::default();
        set.extend(self_families(&SelfInfo {
            process: Some(stats),
            ..Default::default()
        }));
        let text = set.encode(Format::Text);
        assert!(
            text.contains(&format!("revision=\"{}\"", crate::GIT_REVISION)),
            "{text}"
        );
        assert!(
            text.contains(
                "# TYPE process_cpu_seconds_total counter\nprocess_cpu_seconds_total 1.25\n"
            ),
            "{text}"
        );
        // An unlimited soft limit has no sample (Linux never reports one).
        assert!(!text.contains("process_max_fds"), "{text}");
        assert!(
            text.contains("# TYPE process_open_fds gauge\nprocess_open_fds 9.0\n"),
            "{text}"
        );
        // Without a reading (no /proc), the process families are left out.
        let bare = self_families(&SelfInfo::default());
        assert!(bare.iter().all(|f| !f.name.starts_with("process_")));
    }

    #[test]
    fn merge_and_lookup() {
        let mut set = MetricSet::default();
        set.push(Family::new("f", "h").with(vec![("c".into(), "a".into())], 1.0));
        set.push(Family::new("f", "h").with(vec![("c".into(), "b".into())], 0.0));
        assert_eq!(set.families().len(), 1);
        assert_eq!(set.value("f", &[("c", "b")]), Some(0.0));
        assert_eq!(set.value("f", &[("c", "z")]), None);
    }
}
