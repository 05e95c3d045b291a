//! Benchmark: parsing `gluster volume heal V info --xml` with 100 000 entries, in the shape
//! captured from glusterd 10.3 (tests/fixtures/gluster/heal-info-brick-killed.xml), and the
//! parser's peak heap use for 1 000, 10 000 and 100 000 entries (it must not grow with the
//! entries: the parser streams). Not a test: it measures and writes
//! `bench/results/gluster.md`. Goal: under 50 ms for 100 000 entries.
//!
//! Run: `cargo bench --bench gluster_parse`.

use std::alloc::{GlobalAlloc, Layout, System};
use std::fmt::Write as _;
use std::io::Write as _;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use quorate::gluster::parse::{parse_heal_list, parse_heal_summary};

/// Counts live heap bytes and their peak, so the parser's own allocations can be measured.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: forwards to the system allocator unchanged; only counts sizes.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let live = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(live, Ordering::Relaxed);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }
}

#[global_allocator]
static ALLOC: Counting = Counting;

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

fn median(mut v: Vec<Duration>) -> Duration {
    v.sort();
    v[v.len() / 2]
}

/// Peak heap bytes allocated by one parse beyond what was live before it.
fn parse_peak(doc: &[u8], max_files: usize) -> usize {
    let base = LIVE.load(Ordering::Relaxed);
    PEAK.store(base, Ordering::Relaxed);
    let bricks = parse_heal_list(doc, max_files).expect("parses");
    let peak = PEAK.load(Ordering::Relaxed) - base;
    drop(bricks);
    peak
}

fn main() {
    let mut report = String::new();
    let _ = writeln!(
        report,
        "`cargo bench --bench gluster_parse` on {} CPU(s), release build. Input: `gluster volume heal V info --xml` in the shape captured from glusterd 10.3, 3 bricks (2 connected, 1 disconnected), entries split over the connected bricks, parsed from memory.\n",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );

    let doc = heal_info(100_000);
    for _ in 0..3 {
        parse_heal_list(&doc[..], 0).expect("warm-up");
    }
    let mut times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let bricks = parse_heal_list(&doc[..], 0).expect("parses");
        times.push(t.elapsed());
        assert_eq!(bricks[0].files_listed, 50_000);
    }
    let counted = median(times.clone());
    let mut listed_times = Vec::new();
    for _ in 0..15 {
        let t = Instant::now();
        let bricks = parse_heal_list(&doc[..], 100).expect("parses");
        listed_times.push(t.elapsed());
        assert_eq!(bricks[0].files.len(), 100);
    }
    let listed = median(listed_times);
    // Streaming from a pipe-like reader (what `quorate` does with the CLI's stdout).
    let mut streamed_times = Vec::new();
    for _ in 0..15 {
        let reader = std::io::BufReader::with_capacity(64 * 1024, &doc[..]);
        let t = Instant::now();
        parse_heal_list(reader, 0).expect("parses");
        streamed_times.push(t.elapsed());
    }
    let streamed = median(streamed_times);

    let _ = writeln!(report, "| input | median | max of 15 | goal |");
    let _ = writeln!(report, "|---|---|---|---|");
    let _ = writeln!(
        report,
        "| 100 000 entries ({:.1} MiB), counted | {:.2} ms | {:.2} ms | < 50 ms |",
        doc.len() as f64 / 1_048_576.0,
        counted.as_secs_f64() * 1e3,
        times.iter().max().map_or(0.0, |d| d.as_secs_f64() * 1e3)
    );
    let _ = writeln!(
        report,
        "| 100 000 entries, first 100 names per brick kept | {:.2} ms | | < 50 ms |",
        listed.as_secs_f64() * 1e3
    );
    let _ = writeln!(
        report,
        "| 100 000 entries through a 64 KiB BufReader | {:.2} ms | | < 50 ms |",
        streamed.as_secs_f64() * 1e3
    );

    let summary = include_bytes!("../tests/fixtures/gluster/heal-summary-brick-killed.xml");
    let t = Instant::now();
    for _ in 0..1000 {
        parse_heal_summary(&summary[..]).expect("summary");
    }
    let _ = writeln!(
        report,
        "| heal info summary (captured fixture, 3 bricks) | {:.1} µs | | |",
        t.elapsed().as_secs_f64() * 1e6 / 1000.0
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
    for entries in [1_000, 10_000, 100_000] {
        let doc = heal_info(entries);
        let _ = writeln!(
            report,
            "| {entries} | {:.1} KiB | {:.1} KiB |",
            parse_peak(&doc, 0) as f64 / 1024.0,
            parse_peak(&doc, 100) as f64 / 1024.0
        );
    }

    print!("{report}");
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results/gluster.md");
    let mut file = std::fs::File::create(&path).expect("bench/results/gluster.md");
    let _ = writeln!(file, "# GlusterFS heal info parsing\n\n{report}");
    eprintln!("wrote {}", path.display());
}
