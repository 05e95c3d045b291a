//! `quorate_collector_success`, `quorate_collector_duration_seconds` and
//! `quorate_collector_last_success_timestamp_seconds`: the per-collector families every source
//! exports, defined once (as mysqld_exporter's `exporter.go` does). A collector's status comes
//! from its [`Collected`] value ([`Collected::status`]), so the rule for "succeeded" is the
//! source's own ([`crate::collected::Succeeded`]), written once in its data type; a background
//! collector that stalled reads as failed ([`crate::collected::stalled_for`]).

use super::Family;
use crate::collected::CollectorStatus;
use crate::unix_time;

/// The families of `collector`'s status; the timestamp is absent until a collection succeeded.
pub fn families(collector: &str, status: &CollectorStatus) -> Vec<Family> {
    let label = || vec![("collector".into(), collector.to_string())];
    let mut out = vec![
        Family::new(
            "quorate_collector_success",
            "Whether the collector's last collection succeeded and is current (1) or failed or stalled (0).",
        )
        .with(label(), f64::from(u8::from(status.succeeded))),
        Family::new(
            "quorate_collector_duration_seconds",
            "How long the collector's last collection took.",
        )
        .with(label(), status.duration.as_secs_f64()),
    ];
    if let Some(at) = status.last_success {
        out.push(
            Family::new(
                "quorate_collector_last_success_timestamp_seconds",
                "Unix time the collector's last successful collection finished.",
            )
            .with(label(), unix_time::seconds(at)),
        );
    }
    out
}
