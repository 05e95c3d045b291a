//! The standard `process_*` families every Prometheus client library exports (the Go client's
//! process collector, prometheus-client's process collector), with the same names, types and
//! units, so the usual dashboards and alerts (e.g. `process_open_fds / process_max_fds`) work.

use crate::process_stats::parse::ProcessStats;

use super::{Family, Kind};

/// The process families of `stats`.
pub fn families(stats: &ProcessStats) -> Vec<Family> {
    // Linux never reports "unlimited" for open files (the kernel caps it at fs.nr_open); if
    // it did, the family is left without a sample rather than given a made-up number.
    let max_fds = Family::new(
        "process_max_fds",
        "Soft limit on the file descriptors this process may open.",
    );
    let max_fds = match stats.max_fds {
        Some(max) => max_fds.with(Vec::new(), max as f64),
        None => max_fds,
    };
    vec![
        Family::single(
            "process_cpu_seconds_total",
            "User and system CPU time this process has used, in seconds.",
            stats.cpu_seconds,
        )
        .of_kind(Kind::Counter),
        Family::single(
            "process_resident_memory_bytes",
            "Resident set size of this process, in bytes.",
            stats.resident_memory_bytes as f64,
        ),
        Family::single(
            "process_virtual_memory_bytes",
            "Virtual memory size of this process, in bytes.",
            stats.virtual_memory_bytes as f64,
        ),
        Family::single(
            "process_open_fds",
            "File descriptors this process has open.",
            stats.open_fds as f64,
        ),
        max_fds,
        Family::single(
            "process_start_time_seconds",
            "Unix time this process started, in seconds.",
            stats.start_time_seconds,
        ),
    ]
}
