//! Flow control judged on recent behaviour, not the lifetime average.
//!
//! `wsrep_flow_control_paused` is the paused share since the server started (or the last
//! `FLUSH STATUS`): after a week of calm, an hour of heavy flow control barely moves it. What
//! an operator wants is "how much of the time since the last check was replication paused",
//! which is the delta of the `wsrep_flow_control_paused_ns` counter over the wall time between
//! two runs. A plugin is a new process each time, so the previous run's sample is kept in a
//! state file ([`super::state`]); this module is the pure arithmetic over two samples.

use std::time::Duration;

use serde::{Deserialize, Serialize};

/// What one run saw: the paused-time counter, when, and on which server incarnation.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowSample {
    /// `wsrep_flow_control_paused_ns`.
    pub paused_ns: u64,
    /// Wall clock of the reading, milliseconds since the Unix epoch.
    pub at_unix_ms: u64,
    /// `wsrep_gcomm_uuid`: a new one means the node restarted and the counter began again.
    #[serde(default)]
    pub gcomm_uuid: Option<String>,
}

/// The paused share since the previous run, or why there is none.
#[derive(Debug, Clone, PartialEq)]
pub enum FlowObservation {
    /// No previous sample: this run saved the baseline.
    FirstRun,
    /// The counter went backwards or the node restarted since the previous run: new baseline.
    Reset(&'static str),
    /// Share of the interval during which replication was paused, in percent (0-100).
    Paused { percent: f64, interval: Duration },
    /// The server does not report the counter, or the previous sample could not be used.
    Unavailable(String),
}

/// Compares the previous run's sample with this one.
pub fn observe(previous: Option<&FlowSample>, current: &FlowSample) -> FlowObservation {
    let Some(prev) = previous else {
        return FlowObservation::FirstRun;
    };
    if prev.gcomm_uuid.is_some()
        && current.gcomm_uuid.is_some()
        && prev.gcomm_uuid != current.gcomm_uuid
    {
        return FlowObservation::Reset("the node restarted since the previous run");
    }
    if current.paused_ns < prev.paused_ns {
        return FlowObservation::Reset(
            "the paused-time counter was reset (restart or FLUSH STATUS)",
        );
    }
    if current.at_unix_ms <= prev.at_unix_ms {
        return FlowObservation::Reset("the clock did not advance since the previous run");
    }
    let interval = Duration::from_millis(current.at_unix_ms - prev.at_unix_ms);
    let paused = (current.paused_ns - prev.paused_ns) as f64 / 1e9;
    // Clamp: both clocks are sampled a few milliseconds apart, so a fully paused interval
    // can come out a hair above 100 %.
    let percent = (paused / interval.as_secs_f64() * 100.0).clamp(0.0, 100.0);
    FlowObservation::Paused { percent, interval }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(paused_ns: u64, at_unix_ms: u64, uuid: Option<&str>) -> FlowSample {
        FlowSample {
            paused_ns,
            at_unix_ms,
            gcomm_uuid: uuid.map(str::to_string),
        }
    }

    #[test]
    fn first_run_and_resets() {
        let now = sample(5, 1_000, Some("a"));
        assert_eq!(observe(None, &now), FlowObservation::FirstRun);
        assert!(matches!(
            observe(Some(&sample(10, 500, Some("a"))), &now),
            FlowObservation::Reset(_)
        ));
        assert!(matches!(
            observe(Some(&sample(1, 500, Some("b"))), &now),
            FlowObservation::Reset(m) if m.contains("restarted")
        ));
        assert!(matches!(
            observe(Some(&sample(1, 1_000, Some("a"))), &now),
            FlowObservation::Reset(_)
        ));
    }

    #[test]
    fn delta_over_wall_time() {
        // 1.5 s paused during 60 s: 2.5 %.
        let prev = sample(10_000_000_000, 1_000_000, Some("a"));
        let now = sample(11_500_000_000, 1_060_000, Some("a"));
        match observe(Some(&prev), &now) {
            FlowObservation::Paused { percent, interval } => {
                assert!((percent - 2.5).abs() < 1e-9, "{percent}");
                assert_eq!(interval, Duration::from_secs(60));
            }
            other => panic!("{other:?}"),
        }
        // A lifetime average would be tiny; the delta is what happened lately.
        let now = sample(10_000_000_000 + 30_000_000_000, 1_060_000, None);
        assert!(matches!(
            observe(Some(&prev), &now),
            FlowObservation::Paused { percent, .. } if (percent - 50.0).abs() < 1e-9
        ));
        // More paused time than wall time (clock skew between samples) is capped at 100 %.
        let now = sample(10_000_000_000 + 61_000_000_000, 1_060_000, Some("a"));
        assert!(matches!(
            observe(Some(&prev), &now),
            FlowObservation::Paused { percent, .. } if percent == 100.0
        ));
    }
}
