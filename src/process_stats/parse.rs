//! Pure parsing of the `/proc` files that describe this process: `/proc/self/stat` (CPU time,
//! memory, start) and `/proc/stat` (boot time), into [`ProcessStats`] with the file descriptor
//! limit and count. The reading is in the parent module.

/// What the standard `process_*` metrics report, in their units.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ProcessStats {
    /// User and system CPU time, seconds.
    pub cpu_seconds: f64,
    pub resident_memory_bytes: u64,
    pub virtual_memory_bytes: u64,
    pub open_fds: u64,
    /// The soft limit on open files; `None` when unlimited.
    pub max_fds: Option<u64>,
    /// Unix time the process started, seconds.
    pub start_time_seconds: f64,
}

/// The fields of `/proc/self/stat` the metrics use, still in the kernel's units.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Stat {
    pub utime_ticks: u64,
    pub stime_ticks: u64,
    /// Clock ticks after boot.
    pub starttime_ticks: u64,
    pub vsize_bytes: u64,
    pub rss_pages: u64,
}

/// Why a `/proc` file could not be read as expected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{file}: {message}")]
pub struct ProcError {
    pub file: &'static str,
    pub message: String,
}

fn proc_error(file: &'static str, message: impl Into<String>) -> ProcError {
    ProcError {
        file,
        message: message.into(),
    }
}

/// Parses `/proc/[pid]/stat`. The command name (field 2) is in parentheses and may itself hold
/// spaces and parentheses, so the numbered fields are counted from the last `)`.
pub fn parse_stat(text: &str) -> Result<Stat, ProcError> {
    const FILE: &str = "/proc/self/stat";
    let (_, rest) = text
        .rsplit_once(')')
        .ok_or_else(|| proc_error(FILE, "no command name in parentheses"))?;
    // rest[0] is field 3 (state): field n is rest[n - 3].
    let rest: Vec<&str> = rest.split_whitespace().collect();
    let field = |n: usize, name: &str| -> Result<u64, ProcError> {
        let text = rest
            .get(n - 3)
            .ok_or_else(|| proc_error(FILE, format!("field {n} ({name}) is missing")))?;
        text.parse().map_err(|_| {
            proc_error(
                FILE,
                format!("field {n} ({name}) is not a number: {text:?}"),
            )
        })
    };
    Ok(Stat {
        utime_ticks: field(14, "utime")?,
        stime_ticks: field(15, "stime")?,
        starttime_ticks: field(22, "starttime")?,
        vsize_bytes: field(23, "vsize")?,
        rss_pages: field(24, "rss")?,
    })
}

/// The boot time (`btime`, Unix seconds) of `/proc/stat`.
pub fn parse_boot_time(text: &str) -> Result<u64, ProcError> {
    const FILE: &str = "/proc/stat";
    let value = text
        .lines()
        .find_map(|l| l.strip_prefix("btime "))
        .ok_or_else(|| proc_error(FILE, "no btime line"))?;
    value
        .trim()
        .parse()
        .map_err(|_| proc_error(FILE, format!("btime is not a number: {value:?}")))
}

/// The process's stats from its parsed files and the system's clock tick rate and page size.
pub fn stats(
    stat: &Stat,
    boot_time: u64,
    max_fds: Option<u64>,
    open_fds: u64,
    ticks_per_second: u64,
    page_size: u64,
) -> ProcessStats {
    let ticks = ticks_per_second.max(1) as f64;
    ProcessStats {
        cpu_seconds: (stat.utime_ticks + stat.stime_ticks) as f64 / ticks,
        resident_memory_bytes: stat.rss_pages.saturating_mul(page_size),
        virtual_memory_bytes: stat.vsize_bytes,
        open_fds,
        max_fds,
        start_time_seconds: boot_time as f64 + stat.starttime_ticks as f64 / ticks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // A real line, with a command name that holds a space and a parenthesis.
    const STAT: &str = "4242 (quo rate)) S 1 4242 4242 0 -1 4194560 2810 0 0 0 \
        150 37 0 0 20 0 9 0 123456 1234567168 3072 18446744073709551615 1 1 0 0 0 0 0 4096 \
        17922 0 0 0 17 1 0 0 0 0 0\n";

    #[test]
    fn stat_fields_are_counted_from_the_last_parenthesis() {
        let stat = parse_stat(STAT).expect("parses");
        assert_eq!(
            stat,
            Stat {
                utime_ticks: 150,
                stime_ticks: 37,
                starttime_ticks: 123_456,
                vsize_bytes: 1_234_567_168,
                rss_pages: 3072,
            }
        );
        let s = stats(&stat, 1_700_000_000, Some(65_536), 12, 100, 4096);
        assert_eq!(s.cpu_seconds, 1.87);
        assert_eq!(s.resident_memory_bytes, 3072 * 4096);
        assert_eq!(s.start_time_seconds, 1_700_001_234.56);
        assert_eq!(s.max_fds, Some(65_536));
    }

    #[test]
    fn bad_stat_names_the_field() {
        let e = parse_stat("1 (x) S 1 2").expect_err("short");
        assert!(e.to_string().contains("field 14 (utime)"), "{e}");
        assert!(parse_stat("no parenthesis").is_err());
    }

    #[test]
    fn boot_time() {
        assert_eq!(
            parse_boot_time("cpu  1 2 3\nbtime 1700000000\nprocesses 9\n"),
            Ok(1_700_000_000)
        );
        assert!(parse_boot_time("cpu 1\n").is_err());
    }
}
