//! `quorate_collector_success` and `quorate_collector_duration_seconds`: the per-collector
//! families every source exports, defined once (as mysqld_exporter's `exporter.go` does).
//! A collector's success and duration come from its [`Collected`] value, so the rule for
//! "succeeded" is the source's own ([`Succeeded`]), written once in its data type.

use std::time::Duration;

use super::Family;
use crate::collected::{Collected, Succeeded};

/// The two families of `collector`'s latest collection.
pub fn families<T: Succeeded>(collector: &str, collected: &Collected<T>) -> [Family; 2] {
    families_of(collector, collected.succeeded(), collected.duration)
}

/// The two families from a success and a duration already taken out of a [`Collected`] (by a
/// reading that keeps only those).
pub fn families_of(collector: &str, succeeded: bool, duration: Duration) -> [Family; 2] {
    let label = || vec![("collector".into(), collector.to_string())];
    [
        Family::new(
            "quorate_collector_success",
            "Whether the collector's last collection succeeded (1) or failed (0).",
        )
        .with(label(), f64::from(u8::from(succeeded))),
        Family::new(
            "quorate_collector_duration_seconds",
            "How long the collector's last collection took.",
        )
        .with(label(), duration.as_secs_f64()),
    ]
}
