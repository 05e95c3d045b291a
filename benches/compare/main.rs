//! Benchmark: quorate beside prometheus-mysqld-exporter, the bash + mysql check, one `mariadb`
//! call and `/bin/true`, all in one run against one sandbox (see `harness.rs`). Not a test: it
//! measures and writes `bench/results/RESULTS.md`, judging each goal met or not.
//!
//! Run: `cargo bench --bench compare` (needs the packages of `scripts/install-deps --tests`).
//! Smaller runs: `QUORATE_BENCH_SCRAPES`, `QUORATE_BENCH_CLIENTS`, `QUORATE_BENCH_RUNS`;
//! `QUORATE_BENCH_OUT` writes elsewhere.

#[path = "../../tests/common/mod.rs"]
mod common;
mod harness;

use std::path::PathBuf;

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?}: expected a number")),
        Err(_) => default,
    }
}

fn main() {
    let full = harness::Settings::full();
    let settings = harness::Settings {
        scrapes: env_usize("QUORATE_BENCH_SCRAPES", full.scrapes),
        clients: env_usize("QUORATE_BENCH_CLIENTS", full.clients),
        runs: env_usize("QUORATE_BENCH_RUNS", full.runs),
        ..full
    };
    let out = std::env::var_os("QUORATE_BENCH_OUT").map_or_else(
        || PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("bench/results/RESULTS.md"),
        PathBuf::from,
    );
    print!("{}", harness::run(&settings, &out));
}
