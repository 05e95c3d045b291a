//! The comparison harness (`cargo bench --bench compare`) on a tiny setting: it starts its
//! sandbox, quorate and mysqld_exporter, measures, and writes a report with every section and
//! every goal judged. Only that it runs is tested here; its numbers are the bench's business.

#[path = "common/mod.rs"]
mod common;
#[path = "../benches/compare/harness.rs"]
mod harness;

#[test]
fn harness_runs_on_a_tiny_setting_and_writes_every_section() {
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("RESULTS.md");
    let settings = harness::Settings {
        nodes: 1,
        scrapes: 50,
        warmup: 5,
        clients: 5,
        per_client: 4,
        runs: 5,
    };
    let report = harness::run(&settings, &out);
    let written = std::fs::read_to_string(&out).expect("the report file");
    assert_eq!(written, report);
    println!("{written}");
    let mut at = 0;
    for section in harness::SECTIONS {
        let found = written[at..]
            .find(section)
            .unwrap_or_else(|| panic!("no {section:?} after byte {at}:\n{written}"));
        at += found + section.len();
    }
    // Every goal judged; the RSS flatness needs more than 1 000 scrapes.
    let goals = &written[at..];
    assert_eq!(
        goals.matches("**met**").count() + goals.matches("**not met**").count(),
        6,
        "{goals}"
    );
    assert!(goals.contains("not measured"), "{goals}");
    // No serial scrape of either exporter failed (the table's "failed" column).
    for row in ["| quorate `/metrics` |", "| mysqld_exporter `/metrics` |"] {
        let line = written
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row:?}:\n{written}"));
        let failed = line.split('|').nth(6).map(str::trim);
        assert_eq!(failed, Some("0"), "{line}");
    }
}
