//! Benchmark: time from "all nodes crashed" (case 6) to "all Synced", with quorate's plan and
//! actions versus the same steps done by hand with the MariaDB tools, on a 3-node sandbox of
//! its own; the measurement itself is `parts/recover.rs`, which `cargo bench --bench compare`
//! runs too (on its sandbox). Machine time only: the by-hand path here is scripted, so the
//! operator's reading, comparing and typing (the real cost at 3 a.m.) is not in its number.
//!
//! Run: `cargo bench --bench recover` (needs the packages of scripts/install-deps); writes
//! `bench/results/recover.md`, unless a round did not end with every node Synced (then it
//! fails, naming the step).

#[path = "../tests/common/mod.rs"]
mod common;
#[path = "parts/recover.rs"]
mod recover;
#[path = "parts/report.rs"]
mod report;

use quorate::sandbox::{self, SandboxGuard, UpOptions};

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sb =
        SandboxGuard::new(sandbox::up(&UpOptions::new(dir.path().join("sb"))).expect("sandbox up"));
    let section = recover::run(
        &recover::Settings::full(),
        &mut sb,
        "cargo bench --bench recover",
    );
    sb.down().expect("sandbox down");
    if let Some(goal) = section.goals.iter().find(|g| g.met != Some(true)) {
        panic!("{}: {}", goal.goal, goal.measured);
    }
    report::write_result("recover.md", &section);
}
