//! Benchmark: scanning a backup root of 5 000 backup directories (the seed's layout), cold, when
//! nothing changed and when one backup is new or changed; the measurement itself is
//! `parts/backup_scan.rs`, which `cargo bench --bench compare` runs too. Not a test: it
//! measures and writes `bench/results/backup.md`.
//!
//! Goals (issue 5): under 100 ms for a cold scan (empty cache), under 5 ms when nothing
//! changed (the periodic quick verification). Run: `cargo bench --bench backup_scan`.

#[path = "parts/backup_scan.rs"]
mod backup_scan;
#[path = "parts/report.rs"]
mod report;

fn main() {
    let section = backup_scan::run(
        &backup_scan::Settings::full(),
        "cargo bench --bench backup_scan",
    );
    report::write_result("backup.md", &section);
}
