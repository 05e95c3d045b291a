//! This process's CPU time, memory, file descriptors and start time, read from `/proc` for the
//! standard `process_*` metrics (named and typed as Prometheus client libraries export them;
//! see [`crate::metrics::process`]). Read at each scrape, as those libraries do: a handful of
//! small procfs reads (the boot time, a constant, only once) and getrlimit(2) for the descriptor
//! limit. Linux only: elsewhere [`read`] fails and the metrics are left out.
//!
//! [`parse`] is pure; this file only reads.

pub mod parse;

use std::fs;
use std::sync::OnceLock;

use parse::{ProcError, ProcessStats};

/// Reads this process's stats from `/proc/self`, `/proc/stat` and getrlimit(2).
pub fn read() -> Result<ProcessStats, ProcError> {
    let read = |file: &'static str| {
        fs::read_to_string(file).map_err(|e| ProcError {
            file,
            message: e.to_string(),
        })
    };
    let stat = parse::parse_stat(&read("/proc/self/stat")?)?;
    // The soft limit as /proc/self/limits shows it, without the kernel formatting that table
    // (~30 µs a scrape); `None` is unlimited.
    let max_fds = rustix::process::getrlimit(rustix::process::Resource::Nofile).current;
    // The boot time does not change while the system runs, and /proc/stat is the costliest
    // read here (the kernel formats every CPU's and every interrupt's counters for it, ~30 µs,
    // a few % of a scrape's CPU: issue 16's profile), so it is read once, at the first success.
    static BOOT_TIME: OnceLock<u64> = OnceLock::new();
    let boot_time = match BOOT_TIME.get() {
        Some(b) => *b,
        None => {
            let b = parse::parse_boot_time(&read("/proc/stat")?)?;
            *BOOT_TIME.get_or_init(|| b)
        }
    };
    let open_fds = fs::read_dir("/proc/self/fd")
        .map_err(|e| ProcError {
            file: "/proc/self/fd",
            message: e.to_string(),
        })?
        .count() as u64;
    Ok(parse::stats(
        &stat,
        boot_time,
        max_fds,
        open_fds,
        rustix::param::clock_ticks_per_second(),
        rustix::param::page_size() as u64,
    ))
}

#[cfg(test)]
mod tests {
    #[test]
    fn reads_this_process() {
        let stats = super::read().expect("/proc is readable on Linux");
        assert!(stats.open_fds >= 3, "{stats:?}");
        assert!(stats.resident_memory_bytes > 0, "{stats:?}");
        assert!(stats.virtual_memory_bytes >= stats.resident_memory_bytes);
        // The soft RLIMIT_NOFILE of this test process, as /proc/self/limits shows it.
        let limits = std::fs::read_to_string("/proc/self/limits").expect("/proc/self/limits");
        let soft = limits
            .lines()
            .find_map(|l| l.strip_prefix("Max open files"))
            .and_then(|l| l.split_whitespace().next())
            .expect("a Max open files line");
        assert_eq!(stats.max_fds, soft.parse().ok(), "{limits}");
        // Started after 2020 and not in the future.
        let now = crate::unix_time::seconds(std::time::SystemTime::now());
        assert!(stats.start_time_seconds > 1.6e9 && stats.start_time_seconds <= now + 1.0);
    }
}
