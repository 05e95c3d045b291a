//! Benchmark: quorate beside prometheus-mysqld-exporter, the bash + mysql check, one `mariadb`
//! call, `/bin/true` and a Rust program that prints one line, all in one run against one sandbox
//! (see `harness.rs`); then in the same run the recovery timing (quorate and by hand) on that
//! sandbox, the GlusterFS heal info parse and the backup scan (the bodies of the `recover`,
//! `gluster_parse` and `backup_scan` benches, in `../parts/`). Not a test: it measures and
//! writes `bench/results/RESULTS.md`, judging each goal met or not in one table.
//!
//! Run: `cargo bench --bench compare` (needs the packages of `scripts/install-deps --tests`).
//! Smaller runs: `QUORATE_BENCH_SCRAPES`, `QUORATE_BENCH_CLIENTS`, `QUORATE_BENCH_RUNS`,
//! `QUORATE_BENCH_RECOVER_ROUNDS` (3; 0 skips the recovery), `QUORATE_BENCH_GLUSTER_ENTRIES`
//! (100 000), `QUORATE_BENCH_BACKUPS` (5 000 backup directories); `QUORATE_BENCH_OUT` writes
//! elsewhere.
//!
//! Soak mode (`soak.rs`), instead of the comparison: `QUORATE_BENCH_SOAK_SECONDS=3600` (the
//! issue's hour) scrapes with `QUORATE_BENCH_CLIENTS` (50) clients while node1 is frozen, thawed,
//! stopped and started; `QUORATE_BENCH_SOAK_PHASE_SECONDS` (30) is how long each fault lasts. It
//! writes `bench/results/SOAK.md` (or `QUORATE_BENCH_OUT`).

#[path = "../parts/backup_scan.rs"]
mod backup_scan;
#[path = "../../tests/common/mod.rs"]
mod common;
#[path = "../parts/gluster_parse.rs"]
mod gluster_parse;
mod harness;
mod kept_alive;
#[path = "../parts/recover.rs"]
mod recover;
#[path = "../parts/report.rs"]
mod report;
mod soak;

/// Counts the heap, for the GlusterFS parser's peak (per thread: the bench's own allocations
/// elsewhere are not counted; the exporters measured are other processes).
#[global_allocator]
static ALLOC: gluster_parse::Counting = gluster_parse::Counting;

use std::path::PathBuf;
use std::time::Duration;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a number")),
        Err(_) => default,
    }
}

fn main() {
    if let Ok(seconds) = std::env::var("QUORATE_BENCH_SOAK_SECONDS") {
        let seconds: u64 = seconds.parse().unwrap_or_else(|_| {
            panic!("QUORATE_BENCH_SOAK_SECONDS={seconds:?}: expected a number")
        });
        let full = soak::SoakSettings::full(Duration::from_secs(seconds));
        let settings = soak::SoakSettings {
            clients: env_usize("QUORATE_BENCH_CLIENTS", full.clients),
            phase: Duration::from_secs(env_usize(
                "QUORATE_BENCH_SOAK_PHASE_SECONDS",
                full.phase.as_secs() as usize,
            ) as u64),
            ..full
        };
        print!("{}", soak::run(&settings, &out_path("SOAK.md")));
        return;
    }
    let full = harness::Settings::full();
    let settings = harness::Settings {
        scrapes: env_usize("QUORATE_BENCH_SCRAPES", full.scrapes),
        clients: env_usize("QUORATE_BENCH_CLIENTS", full.clients),
        runs: env_usize("QUORATE_BENCH_RUNS", full.runs),
        recover: recover::Settings {
            rounds: env_usize("QUORATE_BENCH_RECOVER_ROUNDS", full.recover.rounds),
        },
        gluster: gluster_parse::Settings {
            entries: env_usize("QUORATE_BENCH_GLUSTER_ENTRIES", full.gluster.entries),
            ..full.gluster.clone()
        },
        backup: backup_scan::Settings {
            backups: env_usize("QUORATE_BENCH_BACKUPS", full.backup.backups),
            ..full.backup.clone()
        },
        ..full
    };
    print!("{}", harness::run(&settings, &out_path("RESULTS.md")));
}

/// `QUORATE_BENCH_OUT`, or `bench/results/NAME`.
fn out_path(name: &str) -> PathBuf {
    std::env::var_os("QUORATE_BENCH_OUT").map_or_else(|| report::results_path(name), PathBuf::from)
}
