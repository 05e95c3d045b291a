//! What every bench reports with: a [`Section`] (the Markdown a bench writes to its own file,
//! the short version `cargo bench --bench compare` puts into `RESULTS.md`, and its goals),
//! one [`Goal`] row and its verdict, the goals table, and the number formats (`percentile`,
//! `ms`, `mib`). Included by path into each bench binary that needs it and into
//! `tests/bench_compare.rs`, so every bench judges and prints the same way.

// Each binary that includes this uses a different part of it.
#![allow(dead_code)]

use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

/// One measured part of a bench run.
#[derive(Debug, Clone)]
pub struct Section {
    /// The whole report, as the bench running alone writes it to its own file.
    pub markdown: String,
    /// A few lines (no heading) for `RESULTS.md`, where the section has its own heading.
    pub summary: String,
    pub goals: Vec<Goal>,
}

/// A goal, what was measured, and whether it was met (`None`: not measured in this run).
#[derive(Debug, Clone)]
pub struct Goal {
    pub goal: String,
    pub measured: String,
    pub met: Option<bool>,
}

impl Goal {
    pub fn new(goal: impl Into<String>, measured: impl Into<String>, met: Option<bool>) -> Goal {
        Goal {
            goal: goal.into(),
            measured: measured.into(),
            met,
        }
    }

    /// The verdict column: `**met**`, `**not met**` or `not measured`.
    pub fn verdict(&self) -> &'static str {
        match self.met {
            Some(true) => "**met**",
            Some(false) => "**not met**",
            None => "not measured",
        }
    }
}

/// The goals as a Markdown table (header included).
pub fn goals_table(goals: &[Goal]) -> String {
    let mut t = String::from("| goal | measured | |\n|---|---|---|\n");
    for g in goals {
        let _ = writeln!(t, "| {} | {} | {} |", g.goal, g.measured, g.verdict());
    }
    t
}

/// The `p`-quantile (0..=1) of sorted times, nearest rank; zero when there are none.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

/// `times` sorted, for [`percentile`].
pub fn sorted(mut times: Vec<Duration>) -> Vec<Duration> {
    times.sort();
    times
}

pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

pub fn mib(kib: u64) -> String {
    format!("{:.1} MiB", kib as f64 / 1024.0)
}

/// The number of CPUs this process may run on, as the reports state it.
pub fn cpus() -> usize {
    std::thread::available_parallelism().map_or(1, |n| n.get())
}

/// `n` with its thousands grouped by spaces (`100 000`), as the reports write counts.
pub fn grouped(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(' ');
        }
        out.push(c);
    }
    out
}

/// The build profile the bench binary was compiled in (benches: release; the test: debug).
pub fn profile() -> &'static str {
    if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    }
}

/// `bench/results/NAME` in the source tree, where the benches keep their reports.
pub fn results_path(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("bench/results")
        .join(name)
}

/// What a bench run alone does with its section: prints it and writes it to
/// `bench/results/NAME`.
pub fn write_result(name: &str, section: &Section) {
    print!("{}", section.markdown);
    let path = results_path(name);
    std::fs::write(&path, &section.markdown)
        .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    eprintln!("wrote {}", path.display());
}
