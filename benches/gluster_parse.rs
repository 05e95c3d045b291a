//! Benchmark: parsing `gluster volume heal V info --xml` with 100 000 entries, and the parser's
//! peak heap (it must not grow with the entries: the parser streams); the measurement itself is
//! `parts/gluster_parse.rs`, which `cargo bench --bench compare` runs too. Not a test: it
//! measures and writes `bench/results/gluster.md`. Goal: under 50 ms for 100 000 entries.
//!
//! Run: `cargo bench --bench gluster_parse`.

#[path = "parts/gluster_parse.rs"]
mod gluster_parse;
#[path = "parts/report.rs"]
mod report;

/// Counts the heap, for the parser's peak.
#[global_allocator]
static ALLOC: gluster_parse::Counting = gluster_parse::Counting;

fn main() {
    let section = gluster_parse::run(
        &gluster_parse::Settings::full(),
        "cargo bench --bench gluster_parse",
    );
    report::write_result("gluster.md", &section);
}
