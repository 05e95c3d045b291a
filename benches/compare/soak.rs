//! The soak mode of `cargo bench --bench compare` (`QUORATE_BENCH_SOAK_SECONDS`): `quorate
//! serve` watching node1 of a sandbox, `clients` scrapers hitting `/metrics` together once per
//! `interval` for the whole duration, while node1 — the node quorate watches — is frozen
//! (SIGSTOP) and thawed, then stopped cleanly and started again, in a loop. It records every
//! scrape (status, latency, `mysql_up`) with the fault phase it started in, and samples the
//! server's resident memory and open descriptors, then judges: no failed scrape, no late scrape
//! (over [`LATE`], Prometheus' default scrape timeout), RSS and open descriptors flat.
//!
//! Flat is judged on the samples taken while node1 is not frozen (a frozen node legitimately
//! holds every scraper's connection open for the collection deadline): the highest sample in
//! the last tenth of the run against the highest in the first tenth, within
//! [`RSS_TOLERANCE_KIB`] / [`FD_TOLERANCE`]. A leak per scrape or per fault shows as growth
//! between the two; the first tenth of a long run already spans a whole fault cycle, so
//! warm-up growth is not counted.

use std::fmt::Write as _;
use std::path::Path;
use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::common;
use super::harness::Memory;
use super::report::{goals_table, mib, ms, percentile, Goal};

/// A scrape slower than this is late (Prometheus' default `scrape_timeout`).
pub const LATE: Duration = Duration::from_secs(10);
/// RSS growth from the first to the last tenth of the run still called flat.
pub const RSS_TOLERANCE_KIB: u64 = 1024;
/// Growth of the open descriptor count still called flat (the client pool may keep one more
/// connection, a log file may be reopened).
pub const FD_TOLERANCE: u64 = 4;

/// How long and how hard to soak.
#[derive(Debug, Clone)]
pub struct SoakSettings {
    pub nodes: usize,
    pub clients: usize,
    pub duration: Duration,
    /// Every scraper scrapes once per interval, all at the same instant.
    pub interval: Duration,
    /// How long node1 stays frozen, stopped, or Synced between two faults.
    pub phase: Duration,
    /// How often memory and descriptors are sampled.
    pub sample_every: Duration,
}

impl SoakSettings {
    /// The soak the performance issue asks for, lasting `duration`.
    #[allow(dead_code)]
    pub fn full(duration: Duration) -> SoakSettings {
        SoakSettings {
            nodes: 3,
            clients: 50,
            duration,
            interval: Duration::from_secs(1),
            phase: Duration::from_secs(30),
            sample_every: Duration::from_secs(10),
        }
    }
}

/// The headings of the soak report, in order (the test checks them).
pub const SECTIONS: &[&str] = &[
    "## Faults",
    "## Scrapes",
    "## Memory and open files",
    "## Goals",
];

/// What node1 is doing when a scrape starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
enum Phase {
    Synced = 0,
    Frozen = 1,
    /// Thawed or started again, not yet Synced.
    Rejoining = 2,
    /// Being stopped, or stopped.
    Stopped = 3,
}

const PHASES: [Phase; 4] = [
    Phase::Synced,
    Phase::Frozen,
    Phase::Rejoining,
    Phase::Stopped,
];

impl Phase {
    fn from_u8(v: u8) -> Phase {
        PHASES.get(usize::from(v)).copied().unwrap_or(Phase::Synced)
    }

    fn name(self) -> &'static str {
        match self {
            Phase::Synced => "node1 Synced",
            Phase::Frozen => "node1 frozen (SIGSTOP)",
            Phase::Rejoining => "node1 rejoining (thawed or started)",
            Phase::Stopped => "node1 stopping or stopped",
        }
    }
}

/// One scrape: when it started, how long it took, its phase and its `mysql_up` (`None`: the
/// scrape failed — no answer, not 200, or an empty body).
struct Scrape {
    took: Duration,
    phase: Phase,
    mysql_up: Option<f64>,
    ok: bool,
}

struct Sample {
    at: Duration,
    phase: Phase,
    mem: Memory,
    fds: u64,
}

/// One fault done, and how long node1 took to be Synced again afterwards.
struct Fault {
    kind: &'static str,
    back_after: Option<Duration>,
}

/// Runs the soak and writes its report to `out`; returns the report.
pub fn run(s: &SoakSettings, out: &Path) -> String {
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sb = quorate::sandbox::SandboxGuard::new(
        quorate::sandbox::up(&quorate::sandbox::UpOptions {
            dir: dir.path().join("sb"),
            nodes: s.nodes,
        })
        .expect("sandbox up"),
    );
    let serve = common::ServeProcess::start(&sb.config_path(), &["--log-level", "info"]);
    let pid = serve.pid();
    let addr = serve.addr;
    let phase = AtomicU8::new(Phase::Synced as u8);
    let scrapes = Mutex::new(Vec::<Scrape>::new());
    let samples = Mutex::new(Vec::<Sample>::new());
    let start = Instant::now();
    let end = start + s.duration;

    let (faults, schedule_error) = std::thread::scope(|scope| {
        for _ in 0..s.clients {
            scope.spawn(|| {
                let mut mine = Vec::new();
                let mut tick: u32 = 0;
                loop {
                    let at = start + s.interval * tick;
                    if at >= end {
                        break;
                    }
                    sleep_until(at);
                    let p = Phase::from_u8(phase.load(Ordering::SeqCst));
                    mine.push(scrape(addr, p));
                    // Missed ticks (a scrape longer than the interval) are skipped, as
                    // Prometheus skips them.
                    let since = start.elapsed().as_secs_f64() / s.interval.as_secs_f64();
                    tick = (since.floor() as u32 + 1).max(tick + 1);
                }
                scrapes.lock().expect("scrape list").extend(mine);
            });
        }
        scope.spawn(|| {
            // Half an interval after the scrapes, when a healthy server holds none of them.
            let mut at = start + s.interval / 2;
            while at < end {
                sleep_until(at);
                let sample = Sample {
                    at: start.elapsed(),
                    phase: Phase::from_u8(phase.load(Ordering::SeqCst)),
                    mem: Memory::of(pid),
                    fds: open_fds(pid),
                };
                samples.lock().expect("sample list").push(sample);
                at += s.sample_every;
            }
        });
        let result = fault_schedule(&mut sb, s, &phase, end);
        // Thawed whatever happened, so that the sandbox can be taken down.
        let _ = sb.thaw_node("node1");
        result
    });

    let log = serve.log();
    let version = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"))
        .arg("--version")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .unwrap_or_default();
    drop(serve);
    sb.down().expect("sandbox down");

    let mut scrapes = scrapes.into_inner().expect("scrape list");
    scrapes.sort_by_key(|x| x.took);
    let samples = samples.into_inner().expect("sample list");
    let report = render(
        s,
        &version,
        &faults,
        schedule_error.as_deref(),
        &scrapes,
        &samples,
        &log,
    );
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("result directory");
    }
    std::fs::write(out, &report).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    report
}

fn sleep_until(at: Instant) {
    let now = Instant::now();
    if at > now {
        std::thread::sleep(at - now);
    }
}

fn scrape(addr: std::net::SocketAddr, phase: Phase) -> Scrape {
    let start = Instant::now();
    let r = common::get(addr, "/metrics", &[]);
    let took = start.elapsed();
    match r {
        Ok(r) if r.status == 200 && !r.body.is_empty() => Scrape {
            took,
            phase,
            mysql_up: common::sample(&r.body, "mysql_up", &[]),
            ok: true,
        },
        _ => Scrape {
            took,
            phase,
            mysql_up: None,
            ok: false,
        },
    }
}

fn open_fds(pid: u32) -> u64 {
    std::fs::read_dir(format!("/proc/{pid}/fd")).map_or(0, |d| d.count() as u64)
}

/// Freeze, thaw, stop, start node1 in a loop, `phase` apart, until `end`. Returns the faults
/// done and, if one step failed, why (the schedule stops there; the scrapers go on).
fn fault_schedule(
    sb: &mut quorate::sandbox::SandboxGuard,
    s: &SoakSettings,
    phase: &AtomicU8,
    end: Instant,
) -> (Vec<Fault>, Option<String>) {
    const NODE: &str = "node1";
    let set = |p: Phase| phase.store(p as u8, Ordering::SeqCst);
    let wait = |d: Duration| sleep_until((Instant::now() + d).min(end));
    let mut faults = Vec::new();
    // The wait for Synced after a thaw is bounded like a join.
    let rejoin = Duration::from_secs(300);
    loop {
        wait(s.phase);
        if Instant::now() >= end {
            return (faults, None);
        }
        set(Phase::Frozen);
        if let Err(e) = sb.freeze_node(NODE) {
            return (faults, Some(format!("freezing {NODE}: {e}")));
        }
        wait(s.phase);
        if let Err(e) = sb.thaw_node(NODE) {
            return (faults, Some(format!("thawing {NODE}: {e}")));
        }
        set(Phase::Rejoining);
        let thawed = Instant::now();
        if let Err(e) = sb.wait_state(NODE, quorate::sandbox::SYNCED, rejoin) {
            return (faults, Some(format!("{NODE} after the thaw: {e}")));
        }
        faults.push(Fault {
            kind: "freeze, thaw",
            back_after: Some(thawed.elapsed()),
        });
        set(Phase::Synced);
        wait(s.phase);
        if Instant::now() >= end {
            return (faults, None);
        }
        set(Phase::Stopped);
        if let Err(e) = sb.stop_node(NODE) {
            return (faults, Some(format!("stopping {NODE}: {e}")));
        }
        wait(s.phase);
        set(Phase::Rejoining);
        let started = Instant::now();
        // A one-node cluster has no peer to join: it starts a new Primary component.
        let r = if s.nodes == 1 {
            sb.bootstrap_node(NODE)
        } else {
            sb.start_node(NODE)
        };
        if let Err(e) = r {
            return (faults, Some(format!("starting {NODE}: {e}")));
        }
        faults.push(Fault {
            kind: "stop, start",
            back_after: Some(started.elapsed()),
        });
        set(Phase::Synced);
    }
}

/// The highest value among the samples (node1 not frozen) of the first tenth of the run, and
/// of the last tenth; `None` when either tenth has no such sample.
fn flat(
    samples: &[Sample],
    s: &SoakSettings,
    value: impl Fn(&Sample) -> u64,
) -> Option<(u64, u64)> {
    let tenth = s.duration / 10;
    let steady = samples.iter().filter(|x| x.phase != Phase::Frozen);
    let first = steady.clone().filter(|x| x.at <= tenth).map(&value).max()?;
    let last = steady
        .filter(|x| x.at + tenth >= s.duration)
        .map(&value)
        .max()?;
    Some((first, last))
}

fn render(
    s: &SoakSettings,
    version: &str,
    faults: &[Fault],
    schedule_error: Option<&str>,
    scrapes: &[Scrape],
    samples: &[Sample],
    log: &str,
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# quorate serve under a soak\n");
    let _ = writeln!(
        r,
        "Written by `QUORATE_BENCH_SOAK_SECONDS={} cargo bench --bench compare` on {} (UTC). One \
         {}-node MariaDB Galera sandbox on loopback; `quorate serve` watches node1 over TCP. {} \
         scrapers hit `/metrics` together once every {} s for {} s (one HTTP/1.1 connection per \
         scrape), while node1 — the node quorate watches — is in turn frozen (SIGSTOP) for {} s \
         and thawed, then stopped cleanly for {} s and started again, with {} s Synced between \
         two faults. A scrape fails when it gets no answer, not 200 or an empty body; it is \
         late when it takes over {} s (Prometheus' default scrape timeout). Measured: {} ({} \
         build).\n",
        s.duration.as_secs(),
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M"),
        s.nodes,
        s.clients,
        s.interval.as_secs_f64(),
        s.duration.as_secs(),
        s.phase.as_secs(),
        s.phase.as_secs(),
        s.phase.as_secs(),
        LATE.as_secs(),
        version,
        if cfg!(debug_assertions) {
            "debug"
        } else {
            "release"
        },
    );

    let _ = writeln!(r, "{}\n", SECTIONS[0]);
    let _ = writeln!(
        r,
        "How long node1 took to report Synced again after the thaw or the start (the longest). \
         A thawed node can report Synced before it notices that its peers evicted it; it then \
         rejoins while its scrapes count as Synced.\n"
    );
    let _ = writeln!(r, "| fault | done | node1 Synced again after (max) |");
    let _ = writeln!(r, "|---|---|---|");
    for kind in ["freeze, thaw", "stop, start"] {
        let of_kind: Vec<&Fault> = faults.iter().filter(|f| f.kind == kind).collect();
        let max = of_kind.iter().filter_map(|f| f.back_after).max();
        let _ = writeln!(
            r,
            "| {kind} | {} | {} |",
            of_kind.len(),
            max.map_or("–".into(), |d| format!("{:.1} s", d.as_secs_f64()))
        );
    }
    if let Some(e) = schedule_error {
        let _ = writeln!(
            r,
            "\nThe fault schedule stopped early (the scrapers went on): {e}"
        );
    }

    let _ = writeln!(r, "\n{}\n", SECTIONS[1]);
    let _ = writeln!(
        r,
        "Each scrape counted under what node1 was doing when it started. `mysql_up 0`: quorate \
         answered in time and reported the collection failed.\n"
    );
    let _ = writeln!(
        r,
        "| node1 | scrapes | failed | late | `mysql_up 0` | p50 | p99 | max |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|---|---|");
    let row = |r: &mut String, name: &str, of: &[&Scrape]| {
        let times: Vec<Duration> = of.iter().map(|x| x.took).collect();
        let _ = writeln!(
            r,
            "| {name} | {} | {} | {} | {} | {} | {} | {} |",
            of.len(),
            of.iter().filter(|x| !x.ok).count(),
            of.iter().filter(|x| x.took > LATE).count(),
            of.iter().filter(|x| x.mysql_up == Some(0.0)).count(),
            ms(percentile(&times, 0.5)),
            ms(percentile(&times, 0.99)),
            ms(times.last().copied().unwrap_or_default()),
        );
    };
    for p in PHASES {
        let of: Vec<&Scrape> = scrapes.iter().filter(|x| x.phase == p).collect();
        row(&mut r, p.name(), &of);
    }
    let all: Vec<&Scrape> = scrapes.iter().collect();
    row(&mut r, "**all**", &all);
    let warnings = log.lines().filter(|l| l.contains("WARN")).count();
    let errors = log.lines().filter(|l| l.contains("ERROR")).count();
    let _ = writeln!(
        r,
        "\nThe server logged {warnings} warnings and {errors} errors (info level)."
    );

    let _ = writeln!(r, "\n{}\n", SECTIONS[2]);
    let _ = writeln!(
        r,
        "`/proc/PID/status` and `/proc/PID/fd` of `quorate serve` every {} s, half an interval \
         after the scrapes; {} samples. A row every tenth of the run:\n",
        s.sample_every.as_secs(),
        samples.len()
    );
    let _ = writeln!(r, "| at | node1 | VmRSS | RssAnon | open fds |");
    let _ = writeln!(r, "|---|---|---|---|---|");
    let step = (samples.len() / 10).max(1);
    for (i, x) in samples.iter().enumerate() {
        if i % step == 0 || i + 1 == samples.len() {
            let _ = writeln!(
                r,
                "| {} s | {} | {} | {} | {} |",
                x.at.as_secs(),
                x.phase.name(),
                mib(x.mem.rss),
                mib(x.mem.anon),
                x.fds
            );
        }
    }
    let range = |f: &dyn Fn(&Sample) -> u64| {
        (
            samples.iter().map(f).min().unwrap_or(0),
            samples.iter().map(f).max().unwrap_or(0),
        )
    };
    let (rss_min, rss_max) = range(&|x| x.mem.rss);
    let (fd_min, fd_max) = range(&|x| x.fds);
    let _ = writeln!(
        r,
        "\nOver the whole run: VmRSS {} to {}, open fds {fd_min} to {fd_max}.",
        mib(rss_min),
        mib(rss_max)
    );

    let _ = writeln!(r, "\n{}\n", SECTIONS[3]);
    let failed = scrapes.iter().filter(|x| !x.ok).count();
    let late = scrapes.iter().filter(|x| x.took > LATE).count();
    let max = scrapes.last().map(|x| x.took).unwrap_or_default();
    let judged = |what: &str, v: Option<(u64, u64)>, tol: u64, show: &dyn Fn(u64) -> String| match v
    {
        Some((first, last)) => Goal::new(
            format!(
                "{what} flat (node1 not frozen: last tenth ≤ first tenth + {})",
                show(tol)
            ),
            format!("{} → {}", show(first), show(last)),
            Some(last <= first + tol),
        ),
        None => Goal::new(
            format!("{what} flat"),
            "no sample in the first or last tenth",
            None,
        ),
    };
    let goals = [
        Goal::new(
            "no failed scrape",
            format!("{failed} of {} failed", scrapes.len()),
            Some(failed == 0 && !scrapes.is_empty()),
        ),
        Goal::new(
            format!("no late scrape (over {} s)", LATE.as_secs()),
            format!("{late} late; max {}", ms(max)),
            Some(late == 0 && !scrapes.is_empty()),
        ),
        judged(
            "RSS",
            flat(samples, s, |x| x.mem.rss),
            RSS_TOLERANCE_KIB,
            &|k| format!("{k} KiB"),
        ),
        judged(
            "open fds",
            flat(samples, s, |x| x.fds),
            FD_TOLERANCE,
            &|n| n.to_string(),
        ),
        Goal::new(
            "the fault schedule ran to the end",
            format!("{} faults", faults.len()),
            Some(schedule_error.is_none()),
        ),
    ];
    r.push_str(&goals_table(&goals));
    r
}
