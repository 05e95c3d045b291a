//! The GlusterFS parsing measurement, shared by `cargo bench --bench gluster_parse` (which
//! writes `bench/results/gluster.md`) and `cargo bench --bench compare` (its section of
//! `RESULTS.md`): parsing `gluster volume heal V info --xml` with `entries` entries (100 000 in
//! full), in the shape captured from glusterd 10.3
//! (tests/fixtures/gluster/heal-info-brick-killed.xml), and the parser's peak heap for 1 000,
//! 10 000 and 100 000 entries, up to `entries`. Goals: under 50 ms for 100 000 entries; the heap
//! must not grow with the entries (the parser streams).
//!
//! The heap is counted by [`Counting`], which a bench binary installs with
//! `#[global_allocator]`; it counts per thread, so other threads of the same process (a test
//! harness, scrapers) do not move the parser's numbers. Without it the heap is "not measured".

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt::Write as _;
use std::time::{Duration, Instant};

use quorate::gluster::parse::{parse_heal_list, parse_heal_summary};

use super::report::{cpus, grouped, ms, percentile, profile, sorted, Goal, Section};

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Entries in the timed answer; the heap is measured at [`HEAP_SIZES`] below it and at it.
    pub entries: usize,
    /// Timed parses of each kind, after 3 warm-up.
    pub runs: usize,
}

impl Settings {
    /// The sizes of the goal.
    #[allow(dead_code)]
    pub fn full() -> Settings {
        Settings {
            entries: 100_000,
            runs: 15,
        }
    }
}

/// The time goal per parse.
const GOAL: Duration = Duration::from_millis(50);
/// Peak heap growth from the smallest to the largest answer still called "not growing"
/// (allocator granularity; a parser that kept the entries would grow by megabytes).
const HEAP_TOLERANCE: isize = 1024;
/// Answers the heap is measured for (below `entries`). The smallest has 500 names per brick,
/// more than the 100 the parser keeps when asked to, so only a parser that grows with the
/// entries can use more for the larger ones.
const HEAP_SIZES: [usize; 3] = [1_000, 10_000, 100_000];

/// Counts the live heap bytes of each thread and their peak, forwarding to the system
/// allocator unchanged.
pub struct Counting;

thread_local! {
    // Signed: a block freed by another thread than the one that allocated it is subtracted
    // there. Only differences within one thread are read.
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

fn count(delta: isize) {
    // `try_with`: never panic inside the allocator (e.g. while a thread is torn down).
    let _ = LIVE.try_with(|live| {
        let now = live.get().wrapping_add(delta);
        live.set(now);
        let _ = PEAK.try_with(|peak| peak.set(peak.get().max(now)));
    });
}

// SAFETY: forwards to the system allocator unchanged; only counts sizes, without allocating.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            count(layout.size() as isize);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        count(-(layout.size() as isize));
    }
}

fn live() -> isize {
    LIVE.try_with(Cell::get).unwrap_or(0)
}

/// Whether this binary installed [`Counting`]: an allocation moves the count.
fn counting() -> bool {
    let before = live();
    let block = std::hint::black_box(Box::new([0u8; 64]));
    let after = live();
    drop(block);
    after > before
}

const BRICKS: [&str; 3] = [
    "10.254.0.1:/tmp/qgcap/a/b1",
    "10.254.0.1:/tmp/qgcap/a/b2",
    "10.254.0.2:/tmp/qgcap/b/b3",
];

/// A heal info answer with `entries` entries spread over the two live bricks; the third
/// brick is disconnected, as in the captured file.
fn heal_info(entries: usize) -> Vec<u8> {
    let mut x = String::with_capacity(entries * 110 + 1024);
    x.push_str("<?xml version=\"1.0\" encoding=\"UTF-8\" standalone=\"yes\"?>\n<cliOutput>\n  <healInfo>\n    <bricks>\n");
    let per_brick = entries / 2;
    for (i, brick) in BRICKS.iter().enumerate() {
        if i == 1 {
            let _ = write!(
                x,
                "      <brick hostUuid=\"-\">\n        <name>{brick}</name>\n        <status>Transport endpoint is not connected</status>\n        <numberOfEntries>-</numberOfEntries>\n      </brick>\n"
            );
            continue;
        }
        let _ = write!(
            x,
            "      <brick hostUuid=\"a22a8401-4f80-4ca7-a5d9-940a44cbd9f8\">\n        <name>{brick}</name>\n"
        );
        for n in 0..per_brick {
            let _ = writeln!(
                x,
                "        <file gfid=\"{:08x}-0cb7-4bda-be4a-{:012x}\">/data/dir{}/file{n}</file>",
                n,
                n * 7 + i,
                n % 100
            );
        }
        let _ = write!(
            x,
            "        <status>Connected</status>\n        <numberOfEntries>{per_brick}</numberOfEntries>\n      </brick>\n"
        );
    }
    x.push_str("    </bricks>\n  </healInfo>\n  <opRet>0</opRet>\n  <opErrno>0</opErrno>\n  <opErrstr/>\n</cliOutput>\n");
    x.into_bytes()
}

/// Peak heap bytes allocated by one parse beyond what was live before it.
fn parse_peak(doc: &[u8], max_files: usize) -> isize {
    let base = live();
    let _ = PEAK.try_with(|p| p.set(base));
    let bricks = parse_heal_list(doc, max_files).expect("parses");
    let peak = PEAK.try_with(Cell::get).unwrap_or(base) - base;
    drop(bricks);
    peak
}

fn kib(bytes: isize) -> String {
    format!("{:.1} KiB", bytes as f64 / 1024.0)
}

/// Times `runs` parses; sorted.
fn timed(runs: usize, mut parse: impl FnMut() -> Duration) -> Vec<Duration> {
    sorted((0..runs).map(|_| parse()).collect())
}

/// Measures; `bench` is the command named in the report (`cargo bench --bench …`).
pub fn run(s: &Settings, bench: &str) -> Section {
    let entries = s.entries;
    let per_brick = entries / 2;
    let doc = heal_info(entries);
    for _ in 0..3 {
        parse_heal_list(&doc[..], 0).expect("warm-up");
    }
    let counted = timed(s.runs, || {
        let t = Instant::now();
        let bricks = parse_heal_list(&doc[..], 0).expect("parses");
        let took = t.elapsed();
        assert_eq!(bricks[0].files_listed, per_brick as u64);
        took
    });
    let listed = timed(s.runs, || {
        let t = Instant::now();
        let bricks = parse_heal_list(&doc[..], 100).expect("parses");
        let took = t.elapsed();
        assert_eq!(bricks[0].files.len(), per_brick.min(100));
        took
    });
    // Streaming from a pipe-like reader (what `quorate` does with the CLI's stdout).
    let streamed = timed(s.runs, || {
        let reader = std::io::BufReader::with_capacity(64 * 1024, &doc[..]);
        let t = Instant::now();
        parse_heal_list(reader, 0).expect("parses");
        t.elapsed()
    });
    let summary_doc = include_bytes!("../../tests/fixtures/gluster/heal-summary-brick-killed.xml");
    let t = Instant::now();
    for _ in 0..1000 {
        parse_heal_summary(&summary_doc[..]).expect("summary");
    }
    let summary_us = t.elapsed().as_secs_f64() * 1e6 / 1000.0;
    let heap_sizes: Vec<usize> = HEAP_SIZES
        .into_iter()
        .filter(|&n| n < entries)
        .chain([entries])
        .collect();
    let heap: Option<Vec<(usize, isize, isize)>> = counting().then(|| {
        heap_sizes
            .iter()
            .map(|&n| {
                let doc = heal_info(n);
                (n, parse_peak(&doc, 0), parse_peak(&doc, 100))
            })
            .collect()
    });

    let p50 = |t: &[Duration]| percentile(t, 0.5);
    let mut report = String::new();
    let _ = writeln!(
        report,
        "`{bench}` on {} CPU(s), {} build. Input: `gluster volume heal V info --xml` in the shape captured from glusterd 10.3, 3 bricks (2 connected, 1 disconnected), entries split over the connected bricks, parsed from memory.\n",
        cpus(),
        profile()
    );
    let _ = writeln!(report, "| input | median | max of {} | goal |", s.runs);
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| {} entries ({:.1} MiB), counted | {} | {} | < 50 ms |",
        grouped(entries),
        doc.len() as f64 / 1_048_576.0,
        ms(p50(&counted)),
        ms(counted.last().copied().unwrap_or_default())
    );
    let _ = writeln!(
        report,
        "| {} entries, first 100 names per brick kept | {} | | < 50 ms |",
        grouped(entries),
        ms(p50(&listed))
    );
    let _ = writeln!(
        report,
        "| {} entries through a 64 KiB BufReader | {} | | < 50 ms |",
        grouped(entries),
        ms(p50(&streamed))
    );
    let _ = writeln!(
        report,
        "| heal info summary (captured fixture, 3 bricks) | {summary_us:.1} µs | | |"
    );
    let _ = writeln!(
        report,
        "\nPeak heap allocated by the parser during one parse (input excluded):\n"
    );
    let _ = writeln!(
        report,
        "| entries | counted only | first 100 names per brick |"
    );
    let _ = writeln!(report, "|---|---|---|");
    for (n, counted, listed) in heap.iter().flatten() {
        let _ = writeln!(report, "| {n} | {} | {} |", kib(*counted), kib(*listed));
    }
    if heap.is_none() {
        let _ = writeln!(report, "| not measured (no counting allocator) | | |");
    }

    let times = [&counted, &listed, &streamed].map(|t| p50(t));
    let mut goals = vec![Goal::new(
        format!(
            "gluster heal info, {} entries: median parse < 50 ms (counted; 100 names kept; \
             through a BufReader)",
            grouped(entries)
        ),
        times.map(ms).join("; "),
        Some(times.iter().all(|t| *t < GOAL)),
    )];
    let heap_summary = match heap.as_deref() {
        Some([first, .., last]) => {
            goals.push(Goal::new(
                format!(
                    "gluster parser's peak heap does not grow with the entries ({} → {} entries, \
                     within {HEAP_TOLERANCE} B)",
                    grouped(first.0),
                    grouped(last.0)
                ),
                format!(
                    "counted {} → {}; 100 names kept {} → {}",
                    kib(first.1),
                    kib(last.1),
                    kib(first.2),
                    kib(last.2)
                ),
                Some(last.1 <= first.1 + HEAP_TOLERANCE && last.2 <= first.2 + HEAP_TOLERANCE),
            ));
            format!(
                "peak heap of one parse {} → {} from {} to {} entries ({} → {} keeping 100 names \
                 per brick)",
                kib(first.1),
                kib(last.1),
                grouped(first.0),
                grouped(last.0),
                kib(first.2),
                kib(last.2)
            )
        }
        _ => {
            goals.push(Goal::new(
                "gluster parser's peak heap does not grow with the entries",
                if heap.is_none() {
                    "no counting allocator in this binary".to_string()
                } else {
                    format!("one size only: {} entries", grouped(entries))
                },
                None,
            ));
            "peak heap not measured".into()
        }
    };
    let summary = format!(
        "`gluster volume heal V info --xml`, {} entries ({:.1} MiB) in the shape captured from \
         glusterd 10.3, parsed from memory, median of {}: {} counted, {} keeping the first 100 \
         names per brick, {} through a 64 KiB BufReader; the heal info summary {summary_us:.1} \
         µs; {heap_summary}. Alone, `cargo bench --bench gluster_parse` writes this to \
         [gluster.md](gluster.md).\n",
        grouped(entries),
        doc.len() as f64 / 1_048_576.0,
        s.runs,
        ms(times[0]),
        ms(times[1]),
        ms(times[2])
    );
    Section {
        markdown: format!("# GlusterFS heal info parsing\n\n{report}\n"),
        summary,
        goals,
    }
}
