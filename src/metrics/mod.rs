//! Prometheus exposition: readings become [`Family`]s of gauges, which are encoded with
//! prometheus-client in either exposition format.
//!
//! Owns metric names, HELP texts and content negotiation. Every family is a gauge (info
//! metrics are gauges named `*_info` with value 1), which makes the OpenMetrics output and the
//! classic text format 0.0.4 identical apart from OpenMetrics' closing `# EOF` line.
//! prometheus-client escapes label values; HELP texts are ours and are kept free of the
//! characters that would need escaping (a unit test holds us to that).

pub mod galera;

use std::borrow::Cow;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::Registry;

/// The Content-Type of each exposition format.
pub const OPENMETRICS_CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";
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
                "application/openmetrics-text" => openmetrics_q = Some(openmetrics_q.unwrap_or(0.0).max(q)),
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

/// A gauge family: a name, a HELP text and its samples.
#[derive(Debug, Clone, PartialEq)]
pub struct Family {
    pub name: Cow<'static, str>,
    pub help: Cow<'static, str>,
    pub samples: Vec<Sample>,
}

impl Family {
    pub fn new(name: impl Into<Cow<'static, str>>, help: impl Into<Cow<'static, str>>) -> Family {
        Family {
            name: name.into(),
            help: help.into(),
            samples: Vec::new(),
        }
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
        let mut registry = Registry::default();
        registry.register_collector(Box::new(Families(self.families)));
        let mut out = String::new();
        // Writing into a String cannot fail; an Err here would be an encoder bug.
        if let Err(e) = prometheus_client::encoding::text::encode(&mut out, &registry) {
            tracing::error!(error = %e, "encoding metrics");
        }
        if format == Format::Text {
            if let Some(stripped) = out.strip_suffix("# EOF\n") {
                out.truncate(stripped.len());
            }
        }
        out
    }
}

#[derive(Debug)]
struct Families(Vec<Family>);

impl Collector for Families {
    fn encode(&self, mut encoder: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        for family in &self.0 {
            if family.samples.is_empty() {
                continue;
            }
            let mut metric = encoder.encode_descriptor(&family.name, &family.help, None, MetricType::Gauge)?;
            for sample in &family.samples {
                let gauge = ConstGauge::new(sample.value);
                if sample.labels.is_empty() {
                    gauge.encode(metric.encode_family(&Vec::<(String, String)>::new())?)?;
                } else {
                    let labels: Vec<(&str, &str)> =
                        sample.labels.iter().map(|(k, v)| (k.as_ref(), v.as_str())).collect();
                    gauge.encode(metric.encode_family(&labels)?)?;
                }
            }
        }
        Ok(())
    }
}

/// Facts about quorate itself, exported on every scrape.
#[derive(Debug, Clone, Default)]
pub struct SelfInfo {
    /// Whether the last configuration (re)load succeeded.
    pub config_last_reload_successful: bool,
    /// Unix time of the last successful configuration load.
    pub config_last_reload_success_timestamp: f64,
}

/// `quorate_build_info` and the configuration reload state.
pub fn self_families(info: &SelfInfo) -> Vec<Family> {
    vec![
        Family::new("quorate_build_info", "quorate version, value 1.")
            .with(vec![("version".into(), crate::VERSION.to_string())], 1.0),
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
    ]
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
        assert_eq!(Format::negotiate(Some("application/openmetrics-text;q=0")), Format::Text);
        assert_eq!(Format::negotiate(Some("garbage;;;q=x,")), Format::Text);
    }

    #[test]
    fn encodes_both_formats_and_escapes_label_values() {
        let mut set = MetricSet::default();
        set.push(Family::single("a_metric", "An example.", 2.5));
        set.push(Family::new("b_info", "Info.").with(vec![("x".into(), "q\"uo\\te\nnl".into())], 1.0));
        set.push(Family::new("empty_family", "Never printed."));
        let om = set.clone().encode(Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"), "{om}");
        assert!(om.contains("# TYPE a_metric gauge\na_metric 2.5\n"), "{om}");
        assert!(om.contains(r#"b_info{x="q\"uo\\te\nnl"} 1"#), "{om}");
        assert!(!om.contains("empty_family"));
        let text = set.encode(Format::Text);
        assert!(!text.contains("# EOF"));
        assert_eq!(format!("{text}# EOF\n"), om);
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
