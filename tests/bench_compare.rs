//! The comparison harness (`cargo bench --bench compare`) on a tiny setting: it starts its
//! sandbox, quorate and mysqld_exporter, measures, recovers the crashed cluster once each way,
//! parses a small gluster answer and scans a small backup tree, and writes a report with every
//! section and every goal judged; and its soak mode, 12 s of scrapers while the node is frozen,
//! thawed, stopped and started. That they run is tested here, and the goals that do not depend
//! on the machine's speed (the recovery ended Synced, the parser's heap does not grow); the
//! other numbers are the bench's business.

#[path = "../benches/parts/backup_scan.rs"]
mod backup_scan;
#[path = "common/mod.rs"]
mod common;
#[path = "../benches/parts/gluster_parse.rs"]
mod gluster_parse;
#[path = "../benches/compare/harness.rs"]
mod harness;
#[path = "../benches/compare/kept_alive.rs"]
mod kept_alive;
#[path = "../benches/parts/recover.rs"]
mod recover;
#[path = "../benches/parts/report.rs"]
mod report;
#[path = "../benches/compare/soak.rs"]
mod soak;

/// As in the bench binaries: the gluster section measures the parser's heap with it.
#[global_allocator]
static ALLOC: gluster_parse::Counting = gluster_parse::Counting;

/// Held by each test for its whole run: the soak judges scrape latencies while node1 is frozen,
/// which the harness's crash recovery of three nodes on the same cores would disturb.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// The report file (equal to what the run returned, printed for `--nocapture`) and the byte
/// after its last heading, once every heading of `sections` is found in order.
fn written_with_sections(
    out: &std::path::Path,
    report: &str,
    sections: &[&str],
) -> (String, usize) {
    let written = std::fs::read_to_string(out).expect("the report file");
    assert_eq!(written, report);
    println!("{written}");
    let mut at = 0;
    for section in sections {
        let found = written[at..]
            .find(section)
            .unwrap_or_else(|| panic!("no {section:?} after byte {at}:\n{written}"));
        at += found + section.len();
    }
    (written, at)
}

#[test]
fn harness_runs_on_a_tiny_setting_and_writes_every_section() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("RESULTS.md");
    let settings = harness::Settings {
        // Three nodes: the recovery crashes and recovers a real cluster.
        nodes: 3,
        scrapes: 50,
        warmup: 5,
        clients: 5,
        per_client: 4,
        runs: 5,
        recover: recover::Settings { rounds: 1 },
        // Two sizes for the heap: 1 000 and 10 000 entries.
        gluster: gluster_parse::Settings {
            entries: 10_000,
            runs: 5,
        },
        backup: backup_scan::Settings {
            backups: 50,
            runs: 5,
        },
    };
    let report = harness::run(&settings, &out);
    let (written, at) = written_with_sections(&out, &report, harness::SECTIONS);
    // Every goal judged: 6 of the exporters and checks, 1 of the recovery, 2 of the gluster
    // parser, 3 of the backup scan; the RSS flatness needs more than 1 000 scrapes.
    let goals = &written[at..];
    assert_eq!(
        goals.matches("**met**").count() + goals.matches("**not met**").count(),
        12,
        "{goals}"
    );
    assert_eq!(goals.matches("not measured").count(), 1, "{goals}");
    let goal = |start: &str| -> &str {
        goals
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no goal {start:?}:\n{goals}"))
    };
    for met in [
        "| case 6 (all 3 nodes crashed) recovered to all Synced",
        "| gluster parser's peak heap does not grow",
    ] {
        let line = goal(met);
        assert!(line.ends_with("| **met** |"), "{line}");
    }
    for judged in [
        "| gluster heal info, 10 000 entries: median parse < 50 ms",
        "| backup scan of 50 directories, cold (empty cache): p50 < 100 ms",
        "| backup scan of 50 directories, nothing changed, periodic quick verification: p50 < 5 ms",
        "| backup scan of 50 directories, nothing changed, watcher path: p50 < 5 ms",
    ] {
        goal(judged);
    }
    // The start-up floor was built and timed: the Rust program's row, and the note comparing
    // `--version` with it.
    assert!(
        written
            .lines()
            .any(|l| l.starts_with("| a Rust program that prints one line")),
        "{written}"
    );
    assert!(
        written.contains("`quorate --version` vs a Rust program that prints one line (no goal):"),
        "{written}"
    );
    // Both recovery paths timed in the one round.
    for path in ["| quorate: `position`", "| by hand, scripted:"] {
        let line = written
            .lines()
            .find(|l| l.starts_with(path))
            .unwrap_or_else(|| panic!("no row {path:?}:\n{written}"));
        let median = line.split('|').nth(2).map(str::trim).unwrap_or_default();
        assert!(median.ends_with(" s"), "{line}");
    }
    // No serial scrape of either exporter failed (the table's "failed" column), in either
    // pass: kept-alive connections (every scrape) and a connection per scrape (a fifth).
    for (row, scrapes) in [
        ("| quorate `/metrics`, connection kept alive |", "50"),
        (
            "| mysqld_exporter `/metrics`, connection kept alive |",
            "50",
        ),
        ("| quorate `/metrics`, connection per scrape |", "10"),
        (
            "| mysqld_exporter `/metrics`, connection per scrape |",
            "10",
        ),
    ] {
        let line = written
            .lines()
            .find(|l| l.starts_with(row))
            .unwrap_or_else(|| panic!("no row {row:?}:\n{written}"));
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        assert_eq!(cells.get(2), Some(&scrapes), "{line}");
        assert_eq!(cells.get(7), Some(&"0"), "{line}");
    }
}

#[test]
fn soak_runs_on_a_tiny_setting_through_every_fault() {
    let _alone = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("SOAK.md");
    let settings = soak::SoakSettings {
        nodes: 1,
        clients: 5,
        duration: std::time::Duration::from_secs(12),
        interval: std::time::Duration::from_millis(250),
        // Longer than the 2 s collection deadline, so that scrapes time out on the frozen node;
        // not a multiple of the interval: the freeze starts 2.6 s in, between two rounds of
        // scrapes (at 2.5 s the round still sees node1 Synced and ends before the freeze, the
        // one at 2.75 s is held by the frozen node). At 2.5 s it raced a round, which then
        // counted as Synced, was held 2 s, and the next round caught the thaw.
        phase: std::time::Duration::from_millis(2600),
        sample_every: std::time::Duration::from_secs(1),
    };
    let report = soak::run(&settings, &out);
    let (written, at) = written_with_sections(&out, &report, soak::SECTIONS);
    // Both kinds of fault happened, and the server answered every scrape in time: quorate
    // reports a frozen or stopped node with `mysql_up 0`, it does not fail the scrape.
    let cells = |start: &str| -> Vec<String> {
        let line = written
            .lines()
            .find(|l| l.starts_with(start))
            .unwrap_or_else(|| panic!("no row {start:?}:\n{written}"));
        line.split('|').map(|c| c.trim().to_string()).collect()
    };
    for fault in ["| freeze, thaw |", "| stop, start |"] {
        let done = cells(fault)[2].parse::<usize>();
        assert!(done.is_ok_and(|n| n >= 1), "{fault} never done:\n{written}");
    }
    let goals = &written[at..];
    for goal in [
        "| no failed scrape |",
        "| no late scrape",
        "| the fault schedule ran",
    ] {
        let line = goals
            .lines()
            .find(|l| l.starts_with(goal))
            .unwrap_or_else(|| panic!("no goal {goal:?}:\n{goals}"));
        assert!(line.ends_with("| **met** |"), "{line}");
    }
    // Scrapes that started while the node was frozen: some answered mysql_up 0 (a scrape that
    // started just before the thaw may still get the thawed node's answer).
    let frozen = cells("| node1 frozen");
    assert!(
        frozen[5].parse::<usize>().is_ok_and(|n| n > 0),
        "no scrape of the frozen node said mysql_up 0: {frozen:?}"
    );
}
