//! Benchmark: `/metrics` and `/probe` latency and the resident memory of `quorate serve`
//! against a real 3-node Galera sandbox. Not a test: it asserts nothing about speed; it
//! measures and writes `bench/results/serve.md`.
//!
//! Run: `cargo bench --bench serve` (needs the packages of scripts/install-deps).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::time::{Duration, Instant};

const WARMUP: usize = 20;
const SAMPLES: usize = 500;

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}

fn measure(serve: &common::ServeProcess, path: &str) -> Vec<Duration> {
    for _ in 0..WARMUP {
        serve.get(path);
    }
    let mut times: Vec<Duration> = (0..SAMPLES)
        .map(|_| {
            let start = Instant::now();
            let r = serve.get(path);
            let t = start.elapsed();
            assert_eq!(r.status, 200);
            t
        })
        .collect();
    times.sort();
    times
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = common::three_node_sandbox(dir.path());
    let serve = common::ServeProcess::start(&sb.config_path(), &[]);
    let rss_start = rss_kib(serve.pid());

    let mut report = String::new();
    let _ = writeln!(report, "# quorate serve: scrape latency and memory\n");
    let _ = writeln!(
        report,
        "3-node MariaDB Galera sandbox on loopback, {SAMPLES} sequential scrapes per endpoint after {WARMUP} warm-up, \
         one HTTP/1.1 connection per scrape (Connection: close), measured by `cargo bench --bench serve` \
         on {} CPU(s).\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(report, "| endpoint | p50 | p90 | p99 | max |");
    let _ = writeln!(report, "|---|---|---|---|---|");
    for path in ["/metrics", "/probe?target=node2", "/healthz"] {
        let t = measure(&serve, path);
        let ms = |d: Duration| format!("{:.2} ms", d.as_secs_f64() * 1000.0);
        let _ = writeln!(
            report,
            "| `{path}` | {} | {} | {} | {} |",
            ms(percentile(&t, 0.5)),
            ms(percentile(&t, 0.9)),
            ms(percentile(&t, 0.99)),
            ms(t[t.len() - 1])
        );
    }
    // Concurrent load: 8 threads × 100 scrapes of /metrics.
    let addr = serve.addr;
    let start = Instant::now();
    let handles: Vec<_> = (0..8)
        .map(|_| {
            std::thread::spawn(move || {
                for _ in 0..100 {
                    let r = common::get(addr, "/metrics", &[]).expect("scrape");
                    assert_eq!(r.status, 200);
                }
            })
        })
        .collect();
    for h in handles {
        h.join().expect("load thread");
    }
    let elapsed = start.elapsed();
    let rss_end = rss_kib(serve.pid());
    let _ = writeln!(
        report,
        "\nConcurrent: 8 clients × 100 scrapes of `/metrics` in {:.2} s ({:.0} scrapes/s).\n",
        elapsed.as_secs_f64(),
        800.0 / elapsed.as_secs_f64()
    );
    let kib = |v: Option<u64>| {
        v.map_or("n/a".to_string(), |k| {
            format!("{:.1} MiB", k as f64 / 1024.0)
        })
    };
    let _ = writeln!(
        report,
        "Resident memory (VmRSS) of `quorate serve`: {} after start, {} after all scrapes.",
        kib(rss_start),
        kib(rss_end)
    );
    print!("{report}");
    let out = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&out).expect("bench/results");
    std::fs::write(out.join("serve.md"), report).expect("writing bench/results/serve.md");
}
