//! The comparison harness behind `cargo bench --bench compare`: one sandbox, and side by side in
//! one run quorate and the tools an operator would otherwise run against the same node, the
//! same account and the same transport (TCP on loopback):
//!
//! - `quorate serve` `/metrics` vs `prometheus-mysqld-exporter` (global status and variables
//!   only), scrapes alternating with the physical floor: quorate's two monitoring queries on
//!   one persistent mysql_async connection opened by this process;
//! - the same two exporters under `clients` concurrent scrapers;
//! - CPU per scrape (utime + stime from `/proc/PID/stat`) and resident memory after 1 000 and
//!   after all scrapes;
//! - `quorate --version` vs `/bin/true` and vs a Rust program that prints one line (the
//!   start-up floor of any Rust binary here), and `quorate check galera` vs the bash + mysql
//!   check (`bench/check_galera_shell.sh`) vs one `mariadb -e` call;
//! - then, on the same sandbox, case 6 recovery (every node crashed, to all Synced) with quorate
//!   and by hand (`../parts/recover.rs`); after the sandbox is down, the GlusterFS heal info
//!   parse (`../parts/gluster_parse.rs`) and the backup scan (`../parts/backup_scan.rs`), the
//!   measurements the `recover`, `gluster_parse` and `backup_scan` benches also run alone.
//!
//! It writes one Markdown report judging each goal of the performance issue and of those
//! parts in one table. The bench runs it with the real sizes (release build);
//! `tests/bench_compare.rs` runs it tiny (debug build) to prove it works. Secrets go in 0600
//! option files, never on a command line; every process it starts is ended by its pid and its
//! temp dir removed, also when a step panics.

use std::fmt::Write as _;
use std::io::Write as _;
use std::os::unix::fs::OpenOptionsExt as _;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::kept_alive::KeptAlive;
use super::report::{goals_table, mib, ms, percentile, profile, Goal, Section};
use super::{backup_scan, common, gluster_parse, recover};

/// The command named in the parts' reports.
const BENCH: &str = "cargo bench --bench compare";

/// How much to measure.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Galera nodes in the sandbox (quorate and mysqld_exporter both watch node1).
    pub nodes: usize,
    /// Serial scrapes of each exporter (alternating), after `warmup` each.
    pub scrapes: usize,
    pub warmup: usize,
    /// Concurrent scrapers, each doing `per_client` scrapes.
    pub clients: usize,
    pub per_client: usize,
    /// Runs of each short-lived command (`--version`, the checks).
    pub runs: usize,
    /// The recovery (case 6) on the sandbox, after the exporters and checks (0 rounds: none).
    pub recover: recover::Settings,
    /// The GlusterFS heal info parse and the backup scan, once the sandbox is down.
    pub gluster: gluster_parse::Settings,
    pub backup: backup_scan::Settings,
}

impl Settings {
    /// The sizes the performance issue asks for (the bench's; the test uses its own).
    #[allow(dead_code)]
    pub fn full() -> Settings {
        Settings {
            nodes: 3,
            scrapes: 10_000,
            warmup: 50,
            clients: 50,
            per_client: 20,
            runs: 200,
            recover: recover::Settings::full(),
            gluster: gluster_parse::Settings::full(),
            backup: backup_scan::Settings::full(),
        }
    }
}

/// Where RSS is also read during the serial scrapes, to see whether it stays flat.
const RSS_CHECKPOINT: usize = 1_000;
/// RSS growth from the checkpoint to the end still called flat (page-granular noise).
const FLAT_TOLERANCE_KIB: u64 = 256;

/// The headings of the report, in order (the test checks them).
pub const SECTIONS: &[&str] = &[
    "## Machine and versions",
    "## Serial scrapes",
    "## Concurrent scrapes",
    "## Memory",
    "## Short-lived commands",
    "## Recovery: all nodes crashed to all Synced",
    "## GlusterFS heal info parsing",
    "## Backup scan",
    "## Goals",
];

/// Runs everything and writes the report to `out`; returns the report.
pub fn run(settings: &Settings, out: &Path) -> String {
    let quorate = Path::new(env!("CARGO_BIN_EXE_quorate"));
    let dir = tempfile::tempdir().expect("temp dir");
    let mut sb = quorate::sandbox::SandboxGuard::new(
        quorate::sandbox::up(&quorate::sandbox::UpOptions {
            dir: dir.path().join("sb"),
            nodes: settings.nodes,
        })
        .expect("sandbox up"),
    );
    let password = std::fs::read_to_string(sb.password_file()).expect("password file");
    let password = password.trim();
    let port = sb.mysql_port("node1").expect("node1 port");
    // The checks' option file (user and password only: host and port are on their command
    // lines) and mysqld_exporter's (it takes the address from the file too).
    let client_cnf = secret_file(
        dir.path(),
        "client.cnf",
        &format!("[client]\nuser=quorate\npassword={password}\n"),
    );
    let exporter_cnf = secret_file(
        dir.path(),
        "exporter.cnf",
        &format!("[client]\nuser=quorate\npassword={password}\nhost=127.0.0.1\nport={port}\n"),
    );

    // Info logging, as a service runs (the tests' helper defaults to debug).
    let serve = common::ServeProcess::start(&sb.config_path(), &["--log-level", "info"]);
    let exporter = Exporter::start(dir.path(), &exporter_cnf);
    let mut floor = Floor::connect(port, password);

    let kept = serial_scrapes(
        settings,
        settings.scrapes,
        Connections::KeptAlive,
        &serve,
        &exporter,
        &mut floor,
    );
    let per_scrape = serial_scrapes(
        settings,
        (settings.scrapes / 5).max(1),
        Connections::PerScrape,
        &serve,
        &exporter,
        &mut floor,
    );
    let quorate_conc = concurrent(settings, serve.addr);
    let exporter_conc = concurrent(settings, exporter.addr);
    let mem_end = (Memory::of(serve.pid()), Memory::of(exporter.pid()));

    let commands = short_lived(settings, quorate, &client_cnf, port, dir.path());

    let versions = Versions::read(quorate);
    drop(floor);
    drop(exporter);
    drop(serve);
    // Crashes every node, so after everything that scrapes or checks them.
    let recovery = recover::run(&settings.recover, &mut sb, BENCH);
    sb.down().expect("sandbox down");
    // No sandbox left running to share the cores with.
    let parts = [
        recovery,
        gluster_parse::run(&settings.gluster, BENCH),
        backup_scan::run(&settings.backup, BENCH),
    ];

    let report = render(
        settings,
        &versions,
        (&kept, &per_scrape),
        (&quorate_conc, &exporter_conc),
        mem_end,
        &commands,
        &parts,
    );
    if let Some(parent) = out.parent() {
        std::fs::create_dir_all(parent).expect("result directory");
    }
    std::fs::write(out, &report).unwrap_or_else(|e| panic!("writing {}: {e}", out.display()));
    report
}

fn secret_file(dir: &Path, name: &str, content: &str) -> PathBuf {
    let path = dir.join(name);
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&path)
        .expect("option file");
    f.write_all(content.as_bytes())
        .expect("writing option file");
    path
}

/// `prometheus-mysqld-exporter` on a free loopback port with only the collectors that answer
/// what quorate's `/metrics` answers (global status and variables); ended by its pid on drop.
struct Exporter {
    child: Child,
    addr: std::net::SocketAddr,
    log: PathBuf,
}

/// The collectors enabled by default in mysqld_exporter 0.14 besides global status and
/// variables; switched off so both exporters ask the server about the same things.
const EXPORTER_OFF: &[&str] = &[
    "--no-collect.slave_status",
    "--no-collect.info_schema.innodb_cmp",
    "--no-collect.info_schema.innodb_cmpmem",
    "--no-collect.info_schema.query_response_time",
];

impl Exporter {
    fn start(dir: &Path, cnf: &Path) -> Exporter {
        let addr: std::net::SocketAddr = format!("127.0.0.1:{}", common::free_port())
            .parse()
            .expect("loopback address");
        let log = dir.join("mysqld_exporter.log");
        let child = Command::new("prometheus-mysqld-exporter")
            .arg(format!("--web.listen-address={addr}"))
            .arg(format!("--config.my-cnf={}", cnf.display()))
            .args(EXPORTER_OFF)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).expect("exporter log"))
            .spawn()
            .expect("spawning prometheus-mysqld-exporter (scripts/install-deps --tests)");
        let exporter = Exporter { child, addr, log };
        let start = Instant::now();
        while !common::get(addr, "/metrics", &[]).is_ok_and(|r| r.status == 200) {
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "mysqld_exporter not ready: {}",
                std::fs::read_to_string(&exporter.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        exporter
    }

    fn pid(&self) -> u32 {
        self.child.id()
    }
}

impl Drop for Exporter {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// The physical floor: quorate's monitoring queries on one persistent connection, from this
/// process (mysql_async on a current-thread runtime, as `quorate serve` uses it).
struct Floor {
    rt: tokio::runtime::Runtime,
    conn: Option<mysql_async::Conn>,
    /// quorate's monitoring statements, built once as the client builds them.
    queries: String,
}

impl Floor {
    fn connect(port: u16, password: &str) -> Floor {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let opts = mysql_async::OptsBuilder::default()
            .ip_or_hostname("127.0.0.1")
            .tcp_port(port)
            .prefer_socket(false)
            .user(Some("quorate"))
            .pass(Some(password));
        let conn = rt
            .block_on(mysql_async::Conn::new(opts))
            .expect("floor connection");
        Floor {
            rt,
            conn: Some(conn),
            queries: quorate::galera::client::monitoring_queries(),
        }
    }

    /// The monitoring statements in one round trip, as quorate sends them, rows read; the time
    /// it took.
    fn query(&mut self) -> Duration {
        use mysql_async::prelude::Queryable;
        let conn = self.conn.as_mut().expect("floor connection");
        let start = Instant::now();
        self.rt.block_on(async {
            let mut answers = conn
                .query_iter(self.queries.as_str())
                .await
                .expect("floor queries");
            // The SET's answer has no rows.
            let _: Vec<mysql_async::Row> = answers.collect().await.expect("floor session set");
            let s: Vec<mysql_async::Row> = answers.collect().await.expect("floor status rows");
            let v: Vec<mysql_async::Row> = answers.collect().await.expect("floor variable rows");
            assert!(
                !s.is_empty() && !v.is_empty(),
                "floor queries returned no rows"
            );
        });
        start.elapsed()
    }
}

impl Drop for Floor {
    fn drop(&mut self) {
        if let Some(conn) = self.conn.take() {
            let _ = self.rt.block_on(conn.disconnect());
        }
    }
}

/// utime + stime of a process, in seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).expect("/proc/PID/stat");
    // Fields after the command name (which may contain spaces) start at field 3 (state).
    let rest = stat.rsplit_once(')').map_or("", |(_, r)| r);
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // utime is field 14, stime 15; `fields[0]` is field 3.
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) }.max(1) as f64;
    (ticks(11) + ticks(12)) as f64 / hz
}

/// A process's resident memory, from `/proc/PID/status`, in KiB.
#[derive(Debug, Clone, Copy, Default)]
pub struct Memory {
    pub rss: u64,
    pub anon: u64,
    pub file: u64,
}

impl Memory {
    pub fn of(pid: u32) -> Memory {
        let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
        let field = |name: &str| {
            status
                .lines()
                .find_map(|l| l.strip_prefix(name))
                .and_then(|v| v.split_whitespace().next())
                .and_then(|v| v.parse().ok())
                .unwrap_or(0)
        };
        Memory {
            rss: field("VmRSS:"),
            anon: field("RssAnon:"),
            file: field("RssFile:"),
        }
    }
}

/// How the serial scrapers connect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Connections {
    /// One connection per exporter, kept open between scrapes (what Prometheus does).
    KeptAlive,
    /// A new connection per scrape (`Connection: close`).
    PerScrape,
}

impl Connections {
    fn describe(self) -> &'static str {
        match self {
            Connections::KeptAlive => "connection kept alive",
            Connections::PerScrape => "connection per scrape",
        }
    }
}

/// A scraper of one exporter in either mode.
enum Scraper {
    KeptAlive(KeptAlive),
    PerScrape(std::net::SocketAddr),
}

impl Scraper {
    fn new(connections: Connections, addr: std::net::SocketAddr) -> Scraper {
        match connections {
            Connections::KeptAlive => Scraper::KeptAlive(KeptAlive::new(addr)),
            Connections::PerScrape => Scraper::PerScrape(addr),
        }
    }

    /// The time a scrape took and its body's size, `None` if it failed (no answer, not 200, or
    /// an empty body).
    fn scrape(&mut self) -> (Duration, Option<usize>) {
        let start = Instant::now();
        let answer = match self {
            Scraper::PerScrape(addr) => {
                common::get(*addr, "/metrics", &[]).map(|r| (r.status, r.body.len()))
            }
            Scraper::KeptAlive(client) => client.get("/metrics").map(|(s, body)| (s, body.len())),
        };
        let t = start.elapsed();
        match answer {
            Ok((200, bytes)) if bytes > 0 => (t, Some(bytes)),
            _ => (t, None),
        }
    }
}

/// The serial part: scrapes alternating quorate, mysqld_exporter, floor.
struct Serial {
    connections: Connections,
    scrapes: usize,
    quorate: Vec<Duration>,
    exporter: Vec<Duration>,
    floor: Vec<Duration>,
    failed: (usize, usize),
    cpu_per_scrape: (f64, f64),
    mem_checkpoint: Option<(Memory, Memory)>,
    mem_after: (Memory, Memory),
    bytes: (usize, usize),
}

fn serial_scrapes(
    s: &Settings,
    scrapes: usize,
    connections: Connections,
    serve: &common::ServeProcess,
    exporter: &Exporter,
    floor: &mut Floor,
) -> Serial {
    let mut quorate = Scraper::new(connections, serve.addr);
    let mut peer = Scraper::new(connections, exporter.addr);
    for _ in 0..s.warmup {
        quorate.scrape();
        peer.scrape();
        floor.query();
    }
    let cpu0 = (cpu_seconds(serve.pid()), cpu_seconds(exporter.pid()));
    let mut out = Serial {
        connections,
        scrapes,
        quorate: Vec::with_capacity(scrapes),
        exporter: Vec::with_capacity(scrapes),
        floor: Vec::with_capacity(scrapes),
        failed: (0, 0),
        cpu_per_scrape: (0.0, 0.0),
        mem_checkpoint: None,
        mem_after: Default::default(),
        bytes: (0, 0),
    };
    for i in 1..=scrapes {
        let (t, ok) = quorate.scrape();
        out.quorate.push(t);
        match ok {
            Some(b) => out.bytes.0 = b,
            None => out.failed.0 += 1,
        }
        let (t, ok) = peer.scrape();
        out.exporter.push(t);
        match ok {
            Some(b) => out.bytes.1 = b,
            None => out.failed.1 += 1,
        }
        out.floor.push(floor.query());
        if i == RSS_CHECKPOINT && scrapes > RSS_CHECKPOINT {
            out.mem_checkpoint = Some((Memory::of(serve.pid()), Memory::of(exporter.pid())));
        }
    }
    let n = scrapes.max(1) as f64;
    out.cpu_per_scrape = (
        (cpu_seconds(serve.pid()) - cpu0.0) / n,
        (cpu_seconds(exporter.pid()) - cpu0.1) / n,
    );
    out.mem_after = (Memory::of(serve.pid()), Memory::of(exporter.pid()));
    for t in [&mut out.quorate, &mut out.exporter, &mut out.floor] {
        t.sort();
    }
    out
}

/// `clients` threads scraping at once, each `per_client` times.
struct Concurrent {
    times: Vec<Duration>,
    failed: usize,
    wall: Duration,
}

fn concurrent(s: &Settings, addr: std::net::SocketAddr) -> Concurrent {
    let per_client = s.per_client;
    let start = Instant::now();
    let handles: Vec<_> = (0..s.clients)
        .map(|_| {
            std::thread::spawn(move || {
                (0..per_client)
                    .map(|_| Scraper::PerScrape(addr).scrape())
                    .collect::<Vec<(Duration, Option<usize>)>>()
            })
        })
        .collect();
    let mut times = Vec::new();
    let mut failed = 0;
    for h in handles {
        for (t, ok) in h.join().expect("scraper thread") {
            times.push(t);
            failed += usize::from(ok.is_none());
        }
    }
    let wall = start.elapsed();
    times.sort();
    Concurrent {
        times,
        failed,
        wall,
    }
}

/// Wall times of the short-lived commands, interleaved so load changes hit all alike.
struct Commands {
    rows: Vec<(&'static str, Vec<Duration>)>,
}

impl Commands {
    fn p50(&self, name: &str) -> Option<Duration> {
        self.rows
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, t)| percentile(t, 0.5))
    }
}

/// Builds a fresh command for each run.
type MakeCommand<'a> = Box<dyn Fn() -> Command + 'a>;

const VERSION: &str = "`quorate --version`";
const TRUE: &str = "`/bin/true`";
const CHECK: &str = "`quorate check galera -H 127.0.0.1 -P PORT --defaults-file F`";
const SHELL: &str = "`check_galera_shell.sh` (bash + 6 × mysql)";
const ONE_MARIADB: &str = "one `mariadb -e` call";
const RUST_FLOOR: &str = "a Rust program that prints one line (`rustc -O`)";

/// The start-up floor of any Rust binary on this machine: `fn main` printing one line, built
/// by the rustc that built quorate, linked the same way (PIE, glibc, libgcc_s). `--version` can
/// come no closer to `/bin/true` than this. `None` (and a note on stderr) when rustc cannot
/// build it; the row is then left out.
fn build_rust_floor(dir: &Path) -> Option<PathBuf> {
    let src = dir.join("floor.rs");
    let bin = dir.join("floor");
    std::fs::write(&src, "fn main() { println!(\"quorate 0.1.0\"); }\n").ok()?;
    let rustc = std::env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let out = Command::new(&rustc)
        .args(["-O", "--edition", "2021", "-o"])
        .arg(&bin)
        .arg(&src)
        .output();
    match out {
        Ok(o) if o.status.success() => Some(bin),
        Ok(o) => {
            eprintln!(
                "compare: the Rust start-up floor is left out: {rustc:?} failed: {}",
                String::from_utf8_lossy(&o.stderr).trim()
            );
            None
        }
        Err(e) => {
            eprintln!("compare: the Rust start-up floor is left out: running {rustc:?}: {e}");
            None
        }
    }
}

fn short_lived(s: &Settings, quorate: &Path, cnf: &Path, port: u16, dir: &Path) -> Commands {
    let port = port.to_string();
    // The shell check's minimum cluster size (its default, 2, fails a 1-node sandbox).
    let min_size = s.nodes.min(2).to_string();
    let state = dir.join("state");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/check_galera_shell.sh");
    let rust_floor = build_rust_floor(dir);
    let mut make: Vec<(&'static str, MakeCommand)> = vec![
        (
            VERSION,
            Box::new(|| {
                let mut c = Command::new(quorate);
                c.arg("--version");
                c
            }),
        ),
        (TRUE, Box::new(|| Command::new("/bin/true"))),
        (
            CHECK,
            Box::new(|| {
                let mut c = Command::new(quorate);
                c.args(["check", "galera", "-H", "127.0.0.1", "-P", &port])
                    .arg("--defaults-file")
                    .arg(cnf)
                    .env("QUORATE_STATE_DIR", &state);
                c
            }),
        ),
        (
            SHELL,
            Box::new(|| {
                let mut c = Command::new("bash");
                c.arg(&script)
                    .arg(cnf)
                    .args(["127.0.0.1", &port, &min_size]);
                c
            }),
        ),
        (
            ONE_MARIADB,
            Box::new(|| {
                let mut c = Command::new("mariadb");
                c.arg(format!("--defaults-extra-file={}", cnf.display()))
                    .args(["-h", "127.0.0.1", "-P", &port, "-B", "-N", "-e"])
                    .arg("SHOW GLOBAL STATUS LIKE 'wsrep_cluster_size'");
                c
            }),
        ),
    ];
    if let Some(floor) = &rust_floor {
        // Beside `/bin/true`, the row it is read against.
        make.insert(2, (RUST_FLOOR, Box::new(move || Command::new(floor))));
    }
    let warmup = (s.runs / 10).max(1);
    let mut rows: Vec<(&'static str, Vec<Duration>)> =
        make.iter().map(|(n, _)| (*n, Vec::new())).collect();
    for i in 0..warmup + s.runs {
        for (j, (_, cmd)) in make.iter().enumerate() {
            let t = time_run(&mut cmd());
            if i >= warmup {
                rows[j].1.push(t);
            }
        }
    }
    for (_, t) in &mut rows {
        t.sort();
    }
    Commands { rows }
}

fn time_run(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("running a command");
    let elapsed = start.elapsed();
    assert!(
        out.status.success(),
        "{cmd:?} failed ({}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

/// Versions of everything measured, and the machine.
struct Versions {
    quorate: String,
    exporter: String,
    mariadb: String,
    cpu: String,
    cpus: usize,
    kernel: String,
    binary_bytes: u64,
    /// The text segment (`size`: code and read-only data), what running it maps.
    text_bytes: Option<u64>,
    /// How the binary holds the functions of `packaging/symbol-order.txt`.
    order: Option<SymbolOrder>,
    profile: &'static str,
}

/// The functions `packaging/symbol-order.txt` lists, as the binary holds them: how many it
/// still has (a name changes with its crate's version or rustc), and the address span they
/// cover (about their total size when the linker placed them together).
struct SymbolOrder {
    listed: usize,
    found: usize,
    span: u64,
}

impl SymbolOrder {
    fn read(binary: &Path) -> Option<SymbolOrder> {
        let order = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/symbol-order.txt");
        let listed: std::collections::HashSet<String> = std::fs::read_to_string(order)
            .ok()?
            .lines()
            .map(str::to_string)
            .collect();
        let nm = Command::new("nm")
            .arg("--defined-only")
            .arg(binary)
            .output()
            .ok()?;
        let found: std::collections::HashMap<String, u64> = String::from_utf8_lossy(&nm.stdout)
            .lines()
            .filter_map(|l| {
                let mut fields = l.split_whitespace();
                let address = u64::from_str_radix(fields.next()?, 16).ok()?;
                let name = fields.nth(1)?;
                listed.contains(name).then(|| (name.to_string(), address))
            })
            .collect();
        let span = found.values().max()? - found.values().min()?;
        Some(SymbolOrder {
            listed: listed.len(),
            found: found.len(),
            span,
        })
    }
}

impl Versions {
    fn read(quorate: &Path) -> Versions {
        let first_line = |program: &str, args: &[&str]| {
            Command::new(program)
                .args(args)
                .output()
                .ok()
                .map(|o| {
                    let text = format!(
                        "{}{}",
                        String::from_utf8_lossy(&o.stdout),
                        String::from_utf8_lossy(&o.stderr)
                    );
                    text.lines().next().unwrap_or("").trim().to_string()
                })
                .unwrap_or_else(|| "unknown".into())
        };
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        Versions {
            quorate: first_line(&quorate.to_string_lossy(), &["--version"]),
            exporter: first_line("prometheus-mysqld-exporter", &["--version"]),
            mariadb: first_line("mariadb", &["--version"]),
            cpu: cpuinfo
                .lines()
                .find_map(|l| l.strip_prefix("model name"))
                .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
                .unwrap_or_else(|| "unknown".into()),
            cpus: std::thread::available_parallelism().map_or(0, |n| n.get()),
            kernel: first_line("uname", &["-r"]),
            binary_bytes: std::fs::metadata(quorate).map_or(0, |m| m.len()),
            text_bytes: Command::new("size")
                .arg(quorate)
                .output()
                .ok()
                .and_then(|o| {
                    let out = String::from_utf8_lossy(&o.stdout).into_owned();
                    out.lines().nth(1)?.split_whitespace().next()?.parse().ok()
                }),
            order: SymbolOrder::read(quorate),
            profile: profile(),
        }
    }
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::INFINITY
    }
}

fn render(
    s: &Settings,
    v: &Versions,
    (serial, per_scrape): (&Serial, &Serial),
    conc: (&Concurrent, &Concurrent),
    mem_end: (Memory, Memory),
    cmds: &Commands,
    parts: &[Section; 3],
) -> String {
    let mut r = String::new();
    let _ = writeln!(r, "# quorate beside the tools it replaces\n");
    let _ = writeln!(
        r,
        "Written by `cargo bench --bench compare` on {} (UTC). One {}-node MariaDB Galera sandbox \
         on loopback; quorate and mysqld_exporter both watch node1 over TCP with the same \
         account. Ratios within this one run are what the goals judge; absolute times on a \
         shared machine are noisy.\n",
        jiff::Timestamp::now().strftime("%Y-%m-%d %H:%M"),
        s.nodes
    );

    let _ = writeln!(r, "{}\n", SECTIONS[0]);
    let _ = writeln!(r, "- CPU: {} × {}", v.cpus, v.cpu);
    let _ = writeln!(r, "- kernel: {}", v.kernel);
    let _ = writeln!(
        r,
        "- quorate: {} ({} build, binary {:.1} MB, text segment {})",
        v.quorate,
        v.profile,
        v.binary_bytes as f64 / 1e6,
        v.text_bytes
            .map_or("unknown".into(), |t| format!("{:.1} MB", t as f64 / 1e6))
    );
    if let Some(o) = &v.order {
        let _ = writeln!(
            r,
            "- hot functions (`packaging/symbol-order.txt`): {} of {} listed are in the binary, \
             spread over {:.1} MB of its text",
            o.found,
            o.listed,
            o.span as f64 / 1e6
        );
    }
    let _ = writeln!(
        r,
        "- prometheus-mysqld-exporter: {} (collectors: global status and global variables \
         only)",
        v.exporter
    );
    let _ = writeln!(r, "- server and client: {}\n", v.mariadb);

    let _ = writeln!(r, "{}\n", SECTIONS[1]);
    let _ = writeln!(
        r,
        "Scrapes alternating quorate, mysqld_exporter and the floor, after {} warm-up each: \
         {} with one HTTP/1.1 connection per exporter kept open between scrapes (what \
         Prometheus 2.x does; the goals judge these), then {} with a new connection per scrape \
         (`Connection: close`). The floor is quorate's monitoring queries (`SHOW GLOBAL STATUS \
         LIKE 'wsrep%'; SHOW GLOBAL VARIABLES WHERE Variable_name IN (…)`, one round trip) on \
         one persistent mysql_async connection opened by the bench. CPU per scrape is the \
         exporter's utime + stime over the pass divided by its scrapes.\n",
        s.warmup, serial.scrapes, per_scrape.scrapes
    );
    let _ = writeln!(
        r,
        "| | scrapes | p50 | p90 | p99 | max | failed | CPU per scrape | body |"
    );
    let _ = writeln!(r, "|---|---|---|---|---|---|---|---|---|");
    let row =
        |r: &mut String, name: &str, t: &[Duration], failed: String, cpu: String, body: String| {
            let _ = writeln!(
                r,
                "| {name} | {} | {} | {} | {} | {} | {failed} | {cpu} | {body} |",
                t.len(),
                ms(percentile(t, 0.5)),
                ms(percentile(t, 0.9)),
                ms(percentile(t, 0.99)),
                ms(t.last().copied().unwrap_or_default()),
            );
        };
    for pass in [serial, per_scrape] {
        let how = pass.connections.describe();
        let exporters = [
            (
                "quorate",
                &pass.quorate,
                pass.failed.0,
                pass.cpu_per_scrape.0,
                pass.bytes.0,
            ),
            (
                "mysqld_exporter",
                &pass.exporter,
                pass.failed.1,
                pass.cpu_per_scrape.1,
                pass.bytes.1,
            ),
        ];
        for (name, times, failed, cpu, bytes) in exporters {
            row(
                &mut r,
                &format!("{name} `/metrics`, {how}"),
                times,
                failed.to_string(),
                format!("{:.3} ms", cpu * 1000.0),
                format!("{bytes} B"),
            );
        }
        row(
            &mut r,
            &format!("floor (one round trip), beside the {how} pass"),
            &pass.floor,
            "0".into(),
            String::new(),
            String::new(),
        );
    }

    let _ = writeln!(r, "\n{}\n", SECTIONS[2]);
    let _ = writeln!(
        r,
        "{} clients at once, {} scrapes each, against one exporter at a time.\n",
        s.clients, s.per_client
    );
    let _ = writeln!(r, "| | p50 | p99 | max | failed | scrapes/s |");
    let _ = writeln!(r, "|---|---|---|---|---|---|");
    for (name, c) in [("quorate", conc.0), ("mysqld_exporter", conc.1)] {
        let _ = writeln!(
            r,
            "| {name} | {} | {} | {} | {} | {:.0} |",
            ms(percentile(&c.times, 0.5)),
            ms(percentile(&c.times, 0.99)),
            ms(c.times.last().copied().unwrap_or_default()),
            c.failed,
            c.times.len() as f64 / c.wall.as_secs_f64().max(1e-9)
        );
    }

    let _ = writeln!(r, "\n{}\n", SECTIONS[3]);
    let _ = writeln!(
        r,
        "Resident memory (`/proc/PID/status`: VmRSS = RssAnon + RssFile + RssShmem).\n"
    );
    let _ = writeln!(r, "| | when | VmRSS | RssAnon | RssFile |");
    let _ = writeln!(r, "|---|---|---|---|---|");
    let mut mem_row = |name: &str, when: String, m: Memory| {
        let _ = writeln!(
            r,
            "| {name} | {when} | {} | {} | {} |",
            mib(m.rss),
            mib(m.anon),
            mib(m.file)
        );
    };
    if let Some((q, e)) = serial.mem_checkpoint {
        mem_row("quorate", format!("after {RSS_CHECKPOINT} scrapes"), q);
        mem_row(
            "mysqld_exporter",
            format!("after {RSS_CHECKPOINT} scrapes"),
            e,
        );
    }
    let after = format!("after {} serial scrapes", serial.scrapes);
    mem_row("quorate", after.clone(), serial.mem_after.0);
    mem_row("mysqld_exporter", after, serial.mem_after.1);
    let after = format!(
        "after {} more, {}",
        per_scrape.scrapes,
        per_scrape.connections.describe()
    );
    mem_row("quorate", after.clone(), per_scrape.mem_after.0);
    mem_row("mysqld_exporter", after, per_scrape.mem_after.1);
    mem_row(
        "quorate",
        "after the concurrent scrapes too".into(),
        mem_end.0,
    );
    mem_row(
        "mysqld_exporter",
        "after the concurrent scrapes too".into(),
        mem_end.1,
    );

    let _ = writeln!(r, "\n{}\n", SECTIONS[4]);
    let _ = writeln!(
        r,
        "{} runs of each (interleaved, after {} warm-up), wall time of the whole process as a \
         monitoring system sees it; the checks ask node1 with the same account.\n",
        s.runs,
        (s.runs / 10).max(1)
    );
    let _ = writeln!(r, "| command | p50 | p90 | max |");
    let _ = writeln!(r, "|---|---|---|---|");
    for (name, t) in &cmds.rows {
        let _ = writeln!(
            r,
            "| {name} | {} | {} | {} |",
            ms(percentile(t, 0.5)),
            ms(percentile(t, 0.9)),
            ms(t.last().copied().unwrap_or_default())
        );
    }

    for (heading, part) in SECTIONS[5..8].iter().zip(parts) {
        let _ = writeln!(r, "\n{heading}\n\n{}", part.summary.trim_end());
    }

    let _ = writeln!(r, "\n{}\n", SECTIONS[8]);
    let mut goals = Vec::new();
    let mut goal = |name: &str, measured: String, ok: Option<bool>| {
        goals.push(Goal::new(name, measured, ok));
    };
    let (q, e) = serial.mem_after;
    goal(
        &format!(
            "RSS of `quorate serve` after {} scrapes ≤ 1/3 of mysqld_exporter's",
            serial.scrapes
        ),
        format!(
            "{} vs {} ({:.2}x)",
            mib(q.rss),
            mib(e.rss),
            ratio(e.rss as f64, q.rss as f64)
        ),
        Some(q.rss * 3 <= e.rss),
    );
    match serial.mem_checkpoint {
        Some((q1, _)) => goal(
            &format!(
                "RSS flat from scrape {RSS_CHECKPOINT} to {} (growth ≤ {FLAT_TOLERANCE_KIB} KiB)",
                serial.scrapes
            ),
            format!("{} → {}", mib(q1.rss), mib(q.rss)),
            Some(q.rss <= q1.rss + FLAT_TOLERANCE_KIB),
        ),
        None => goal(
            &format!("RSS flat from scrape {RSS_CHECKPOINT} on"),
            format!("only {} scrapes", serial.scrapes),
            None,
        ),
    }
    let (cq, ce) = serial.cpu_per_scrape;
    let (cq1, ce1) = per_scrape.cpu_per_scrape;
    goal(
        "CPU per scrape ≥ 30x below mysqld_exporter's",
        format!(
            "{:.3} ms vs {:.3} ms ({:.1}x); with a connection per scrape {:.3} vs {:.3} ms ({:.1}x)",
            cq * 1000.0,
            ce * 1000.0,
            ratio(ce, cq),
            cq1 * 1000.0,
            ce1 * 1000.0,
            ratio(ce1, cq1)
        ),
        Some(cq * 30.0 <= ce),
    );
    let p50 = |t: &[Duration]| percentile(t, 0.5).as_secs_f64();
    let (pq, pf) = (p50(&serial.quorate), p50(&serial.floor));
    goal(
        "`/metrics` p50 ≤ 1.5x the floor",
        format!(
            "{} vs {} ({:.2}x); with a connection per scrape {} vs {} ({:.2}x)",
            ms(percentile(&serial.quorate, 0.5)),
            ms(percentile(&serial.floor, 0.5)),
            ratio(pq, pf),
            ms(percentile(&per_scrape.quorate, 0.5)),
            ms(percentile(&per_scrape.floor, 0.5)),
            ratio(p50(&per_scrape.quorate), p50(&per_scrape.floor))
        ),
        Some(pq <= 1.5 * pf),
    );
    let p99 = |c: &Concurrent| percentile(&c.times, 0.99).as_secs_f64();
    goal(
        &format!(
            "{} concurrent scrapers: no failed scrape, p99 < 1/4 of mysqld_exporter's",
            s.clients
        ),
        format!(
            "{} failed; p99 {} vs {} ({:.1}x)",
            conc.0.failed,
            ms(percentile(&conc.0.times, 0.99)),
            ms(percentile(&conc.1.times, 0.99)),
            ratio(p99(conc.1), p99(conc.0))
        ),
        Some(conc.0.failed == 0 && p99(conc.0) * 4.0 < p99(conc.1)),
    );
    let both = |a: &str, b: &str| cmds.p50(a).zip(cmds.p50(b));
    // Measurements beside the goals, printed under the table.
    let mut notes: Vec<String> = Vec::new();
    if let Some((ver, tru)) = both(VERSION, TRUE) {
        goal(
            "`quorate --version` p50 ≤ 1.5x `/bin/true`",
            format!(
                "{} vs {} ({:.2}x)",
                ms(ver),
                ms(tru),
                ratio(ver.as_secs_f64(), tru.as_secs_f64())
            ),
            Some(ver.as_secs_f64() <= 1.5 * tru.as_secs_f64()),
        );
    }
    if let Some((ver, floor)) = both(VERSION, RUST_FLOOR) {
        notes.push(format!(
            "`quorate --version` vs a Rust program that prints one line (no goal): {} vs {} \
             ({:.2}x); the Rust program vs `/bin/true`: {}",
            ms(ver),
            ms(floor),
            ratio(ver.as_secs_f64(), floor.as_secs_f64()),
            cmds.p50(TRUE).map_or_else(
                || "not measured".to_string(),
                |t| format!("{:.2}x.", ratio(floor.as_secs_f64(), t.as_secs_f64()))
            )
        ));
    }
    if let Some((check, shell)) = both(CHECK, SHELL) {
        goal(
            "`check galera` p50 ≥ 15x faster than the bash + mysql check",
            format!(
                "{} vs {} ({:.1}x)",
                ms(check),
                ms(shell),
                ratio(shell.as_secs_f64(), check.as_secs_f64())
            ),
            Some(check.as_secs_f64() * 15.0 <= shell.as_secs_f64()),
        );
    }
    goals.extend(parts.iter().flat_map(|p| p.goals.iter().cloned()));
    r.push_str(&goals_table(&goals));
    if let Some((check, one)) = both(CHECK, ONE_MARIADB) {
        notes.push(format!(
            "`check galera` vs one `mariadb -e` call (no goal): {} vs {} ({:.2}x).",
            ms(check),
            ms(one),
            ratio(one.as_secs_f64(), check.as_secs_f64())
        ));
    }
    for note in notes {
        let _ = writeln!(r, "\n{note}");
    }
    let _ = writeln!(
        r,
        "\nThe soak (50 scrapers for an hour while node1 is frozen, thawed, stopped and \
         started) is a separate run, `QUORATE_BENCH_SOAK_SECONDS=3600 cargo bench --bench \
         compare`, written to [SOAK.md](SOAK.md). The benches `recover`, `gluster_parse` and \
         `backup_scan` run the measurements of their sections above alone and write them to \
         their own files beside this one, with every column; `serve` and `check` write theirs."
    );
    r
}
