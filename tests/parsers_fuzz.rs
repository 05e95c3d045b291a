//! Every parser of outside input fed mutated fixtures and arbitrary bytes (a `proptest` harness
//! on the stable toolchain, run briefly in CI). The corpus is every file under `tests/fixtures/`;
//! a case takes one, applies a few mutations (bytes flipped, tokens that parsers split on
//! inserted, slices cut or repeated) and gives the result to a target. A parser may refuse the
//! input, never panic; and none may take long on it. This harness is not coverage-guided; the
//! coverage-guided fuzzing is the cargo-fuzz package `fuzz/` (libFuzzer, nightly toolchain, not
//! in CI): the same byte targets (`fuzz/src/targets.rs`, included here), run long by
//! `bench/fuzz.sh`, which writes `bench/results/fuzz_coverage.md` (docs/development.md).
//!
//! The targets ([`TARGETS`]): grastate.dat, gvwstate.dat, the `--wsrep-recover` log, status rows
//! and values, provider options, every gluster `--xml` answer (volume info, volume status, peer
//! status, heal info summary, heal info list), mariabackup's checkpoints and info files,
//! `backup_metadata.json`, human sizes, the YAML configuration with `${VAR}`, durations, the
//! defaults file, Nagios ranges (with and without units), a peer's `/galera/state` JSON (then
//! `decide` over the report it gives); and besides the byte targets, `decide` over arbitrary
//! reports (the generator of `tests/recover_model`) and HTTP paths and queries sent to a running
//! `quorate serve` (raw request lines over TCP: no answer may be a 500, slow or large).
//!
//! `cargo test --test parsers_fuzz` runs a short pass (CI). The long run is an ignored test that
//! runs each target for `QUORATE_FUZZ_SECONDS` (default 30) or `QUORATE_FUZZ_CASES` cases and
//! writes `bench/results/fuzz.md` (cases per target, duration, findings):
//!
//! ```sh
//! QUORATE_FUZZ_SECONDS=30 cargo test --release --test parsers_fuzz -- --ignored --nocapture
//! ```
//!
//! A failure prints the shrunk input: add it under `tests/fixtures/fuzz/` with a regression test.

#[path = "recover_model/arbitrary.rs"]
mod arbitrary;
mod common;
// The byte targets, shared with the cargo-fuzz package (`fuzz/`).
#[path = "../fuzz/src/targets.rs"]
mod targets;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::{Config, TestCaseError, TestError, TestRunner};
use quorate::recover::decide::{decide, Assumptions, ClusterView};
use targets::{Target, TARGETS};

/// Every fixture file's bytes (the seeds).
fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files = Vec::new();
        collect(
            &Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures"),
            &mut files,
        );
        files.sort();
        let seeds: Vec<Vec<u8>> = files
            .iter()
            .filter_map(|f| std::fs::read(f).ok())
            .filter(|b| b.len() <= 256 * 1024)
            .collect();
        assert!(seeds.len() > 50, "only {} fixtures", seeds.len());
        let mut seeds = seeds;
        seeds.extend(report_seeds());
        seeds
    })
}

/// `/galera/state` answers as peers send them: reports from the model's generator, serialized
/// (no fixture holds one; the same 40 every run).
fn report_seeds() -> Vec<Vec<u8>> {
    let mut runner = TestRunner::deterministic();
    (0..40)
        .filter_map(|_| {
            let tree = arbitrary::report().new_tree(&mut runner).ok()?;
            serde_json::to_vec_pretty(&tree.current()).ok()
        })
        .collect()
}

/// Writes the `/galera/state` seeds ([`report_seeds`]) into `QUORATE_FUZZ_SEEDS` (a directory):
/// `bench/fuzz.sh` seeds the cargo-fuzz target `galera_state` with them (no fixture holds one).
#[test]
#[ignore = "bench/fuzz.sh: QUORATE_FUZZ_SEEDS=DIR cargo test --test parsers_fuzz write_report_seeds"]
fn write_report_seeds() {
    let dir = PathBuf::from(std::env::var_os("QUORATE_FUZZ_SEEDS").expect("QUORATE_FUZZ_SEEDS"));
    std::fs::create_dir_all(&dir).expect("create the seed directory");
    for (i, seed) in report_seeds().iter().enumerate() {
        std::fs::write(dir.join(format!("report-{i:02}.json")), seed).expect("write a seed");
    }
}

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else {
            out.push(path);
        }
    }
}

/// Tokens the parsers split or switch on.
const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\0",
    "=",
    ":",
    "#",
    "[",
    "]",
    "{",
    "}",
    "\"",
    "'",
    "\\",
    "${",
    "}",
    "<",
    ">",
    "</",
    "/>",
    "&amp;",
    "&#0;",
    "<![CDATA[",
    "-1",
    "18446744073709551616",
    "1e308",
    "NaN",
    "inf",
    "seqno:",
    "uuid:",
    "safe_to_bootstrap:",
    "my_uuid:",
    "view_id:",
    "member:",
    "WSREP: Recovered position:",
    "backup_type =",
    "to_lsn =",
    "start_time =",
    "@",
    "~",
    "!include",
    "[client]",
    "password=",
    "\u{feff}",
    "\u{202e}",
    "é",
    "\u{1b}[31m",
];

#[derive(Debug, Clone)]
enum Mutation {
    Flip(usize, u8),
    Insert(usize, usize),
    Cut(usize, usize),
    Repeat(usize, usize, usize),
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(i, b)| Mutation::Flip(i, b)),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(i, t)| Mutation::Insert(i, t)),
        (any::<usize>(), 0usize..64).prop_map(|(i, n)| Mutation::Cut(i, n)),
        (any::<usize>(), 1usize..64, 1usize..50).prop_map(|(i, n, k)| Mutation::Repeat(i, n, k)),
    ]
}

fn apply(mut bytes: Vec<u8>, mutations: &[Mutation]) -> Vec<u8> {
    for m in mutations {
        let len = bytes.len();
        match *m {
            Mutation::Flip(i, b) if len > 0 => bytes[i % len] = b,
            Mutation::Flip(..) => bytes.push(0),
            Mutation::Insert(i, t) => {
                let at = if len == 0 { 0 } else { i % (len + 1) };
                bytes.splice(at..at, TOKENS[t].bytes());
            }
            Mutation::Cut(i, n) if len > 0 => {
                let at = i % len;
                bytes.drain(at..(at + n).min(len));
            }
            Mutation::Cut(..) => {}
            Mutation::Repeat(i, n, k) if len > 0 => {
                let at = i % len;
                let slice = bytes[at..(at + n).min(len)].to_vec();
                let repeated = slice.repeat(k);
                bytes.splice(at..at, repeated);
            }
            Mutation::Repeat(..) => {}
        }
    }
    bytes
}

/// Runs `target` on `bytes`; panics only if it does, or is slow.
fn timed(target: &Target, bytes: &[u8]) {
    let started = Instant::now();
    (target.run)(bytes);
    // Generous on a loaded machine; a quadratic parser on 100 KB takes seconds.
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{}: {took:?} on {} bytes",
        target.name,
        bytes.len()
    );
}

/// Runs every byte target on `bytes`.
fn every_parser(bytes: &[u8]) {
    for target in TARGETS {
        timed(target, bytes);
    }
}

fn cases() -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(300)
}

proptest! {
    // No regression files: a failure's shrunk input is printed, and becomes a fixture.
    #![proptest_config(ProptestConfig {
        cases: cases(),
        failure_persistence: None,
        ..ProptestConfig::default()
    })]

    #[test]
    fn mutated_fixtures_never_panic(
        seed in any::<prop::sample::Index>(),
        mutations in prop::collection::vec(mutation(), 0..8),
    ) {
        let corpus = corpus();
        let bytes = apply(corpus[seed.index(corpus.len())].clone(), &mutations);
        every_parser(&bytes);
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..4096)) {
        every_parser(&bytes);
    }
}

/// Every byte target has its cargo-fuzz target `fuzz/fuzz_targets/<slug>.rs` (which runs that
/// slug) and its `[[bin]]` in `fuzz/Cargo.toml`, and no fuzz target runs anything else.
#[test]
fn every_target_is_a_cargo_fuzz_target() {
    let fuzz = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let manifest = std::fs::read_to_string(fuzz.join("Cargo.toml")).expect("fuzz/Cargo.toml");
    let mut slugs: Vec<&str> = TARGETS.iter().map(|t| t.slug).collect();
    for slug in &slugs {
        let file = fuzz.join(format!("fuzz_targets/{slug}.rs"));
        let code = std::fs::read_to_string(&file).unwrap_or_default();
        assert!(
            code.contains(&format!("quorate_fuzz::run(\"{slug}\"")),
            "{} does not run {slug}",
            file.display()
        );
        assert!(
            manifest.contains(&format!(
                "name = \"{slug}\"\npath = \"fuzz_targets/{slug}.rs\""
            )),
            "fuzz/Cargo.toml has no [[bin]] {slug}"
        );
    }
    let mut files: Vec<String> = std::fs::read_dir(fuzz.join("fuzz_targets"))
        .expect("fuzz/fuzz_targets")
        .flatten()
        .map(|e| {
            e.file_name()
                .to_string_lossy()
                .trim_end_matches(".rs")
                .to_string()
        })
        .collect();
    files.sort();
    slugs.sort_unstable();
    assert_eq!(files, slugs, "fuzz/fuzz_targets/ and TARGETS differ");
}

/// Every seed as it is: each parser handles every fixture (most are someone else's format).
#[test]
fn every_fixture_through_every_parser() {
    for seed in corpus() {
        every_parser(seed);
    }
}

/// Mutated seeds and arbitrary bytes, half each.
fn input() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        (
            any::<prop::sample::Index>(),
            prop::collection::vec(mutation(), 0..8)
        )
            .prop_map(|(seed, mutations)| {
                let corpus = corpus();
                apply(corpus[seed.index(corpus.len())].clone(), &mutations)
            }),
        prop::collection::vec(any::<u8>(), 0..4096),
    ]
}

/// `decide` over an arbitrary view (the model's generator): never a panic, and the model's
/// checks that hold of any decision.
fn decide_case((view, a): (ClusterView, Assumptions)) -> Result<(), TestCaseError> {
    let d = decide(&view, &a);
    arbitrary::check_any(&view, &a, &d).map_err(TestCaseError::fail)
}

/// Request targets for `quorate serve`: the real paths and queries, mutated, and arbitrary
/// printable and raw bytes.
fn request_target() -> impl Strategy<Value = Vec<u8>> {
    const PATHS: &[&str] = &[
        "/",
        "/metrics",
        "/healthz",
        "/probe?target=db1",
        "/probe?target=",
        "/probe?target=db1&target=db2",
        "/probe?target=%00%ff%e2%80%ae",
        "/sd",
        "/health/galera",
        "/galera/state",
        "/galera/recover-position",
        "/metrics?format=x",
        "//probe/../metrics",
    ];
    prop_oneof![
        (0..PATHS.len(), prop::collection::vec(mutation(), 0..6))
            .prop_map(|(i, m)| apply(PATHS[i].as_bytes().to_vec(), &m)),
        "/[ -~]{0,300}".prop_map(String::into_bytes),
        prop::collection::vec(any::<u8>(), 0..300),
    ]
}

/// One raw `GET TARGET HTTP/1.1` to `addr`: every answer must come within 5 s, be small, and
/// not be a 500; an error about the request must not echo a long target back.
fn http_case(addr: SocketAddr, target: &[u8]) -> Result<(), TestCaseError> {
    // A request line cannot hold CR or LF: the rest would be headers (tested elsewhere).
    let target: Vec<u8> = target
        .iter()
        .map(|&b| if b == b'\r' || b == b'\n' { b'_' } else { b })
        .collect();
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))
        .map_err(|e| TestCaseError::fail(format!("connect: {e}")))?;
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let mut request = b"GET ".to_vec();
    request.extend_from_slice(&target);
    request.extend_from_slice(b" HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    stream
        .write_all(&request)
        .map_err(|e| TestCaseError::fail(format!("write: {e}")))?;
    let started = Instant::now();
    let mut answer = Vec::new();
    let read = stream.take(1 << 20).read_to_end(&mut answer);
    let took = started.elapsed();
    if let Err(e) = read {
        if e.kind() != std::io::ErrorKind::ConnectionReset {
            return Err(TestCaseError::fail(format!("no answer within 5 s: {e}")));
        }
    }
    if took > Duration::from_secs(5) {
        return Err(TestCaseError::fail(format!("answered in {took:?}")));
    }
    if answer.len() >= 1 << 20 {
        return Err(TestCaseError::fail("an answer of 1 MiB or more"));
    }
    let head = String::from_utf8_lossy(&answer);
    let status = head.split(' ').nth(1).unwrap_or("");
    // 503 is an answer (`/health/galera` of a node that is down); 500 is a bug.
    if status == "500" {
        return Err(TestCaseError::fail(format!(
            "answered {}",
            head.lines().next().unwrap_or("")
        )));
    }
    if status.starts_with('4') && answer.len() > 4096 {
        return Err(TestCaseError::fail(format!(
            "a {status} of {} bytes",
            answer.len()
        )));
    }
    Ok(())
}

/// `quorate serve` with one controller on a port nothing listens on (its collection fails
/// fast) and no backups: what the HTTP target talks to.
fn serve(dir: &Path) -> common::ServeProcess {
    let cfg = dir.join("quorate.yaml");
    let text = format!(
        "cluster:\n  name: fuzz\nnodes:\n  controllers:\n    - hostname: db1\n      ip_address: 127.0.0.1\n      services:\n        mariadb: true\nquorate:\n  node: db1\n  backup:\n    enabled: false\n  nodes:\n    db1:\n      mysql_address: \"127.0.0.1:{}\"\n",
        common::free_port()
    );
    std::fs::write(&cfg, text).expect("write config");
    common::ServeProcess::start(&cfg, &[])
}

/// Runs a proptest runner over `strategy` in batches of 256 cases until `budget` is spent
/// (cases or time); returns the cases run and the first failure with its shrunk input.
fn run_for<S: Strategy>(
    strategy: &S,
    budget: &Budget,
    test: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> (u64, Duration, Option<String>)
where
    S::Value: std::fmt::Debug,
{
    let started = Instant::now();
    let mut cases = 0u64;
    while !budget.spent(cases, started.elapsed()) {
        let batch = match budget {
            Budget::Cases(n) => (n - cases).min(256),
            Budget::Time(_) => 256,
        };
        let mut runner = TestRunner::new(Config {
            cases: u32::try_from(batch).unwrap_or(256),
            failure_persistence: None,
            ..Config::default()
        });
        let result = runner.run(strategy, &test);
        cases += batch;
        match result {
            Ok(()) => {}
            Err(TestError::Fail(why, input)) => {
                let shown = format!("{input:?}");
                let shown: String = shown.chars().take(2000).collect();
                return (
                    cases,
                    started.elapsed(),
                    Some(format!("{why}; input {shown}")),
                );
            }
            Err(TestError::Abort(why)) => {
                return (cases, started.elapsed(), Some(format!("aborted: {why}")));
            }
        }
    }
    (cases, started.elapsed(), None)
}

/// How long the long run spends on each target.
enum Budget {
    Cases(u64),
    Time(Duration),
}

impl Budget {
    fn from_env() -> Budget {
        let var = |name| std::env::var(name).ok().and_then(|v| v.parse::<u64>().ok());
        match (var("QUORATE_FUZZ_CASES"), var("QUORATE_FUZZ_SECONDS")) {
            (Some(n), _) => Budget::Cases(n),
            (None, s) => Budget::Time(Duration::from_secs(s.unwrap_or(30))),
        }
    }

    fn spent(&self, cases: u64, elapsed: Duration) -> bool {
        match self {
            Budget::Cases(n) => cases >= *n,
            Budget::Time(t) => elapsed >= *t,
        }
    }

    fn describe(&self) -> String {
        match self {
            Budget::Cases(n) => format!("{n} cases per target (`QUORATE_FUZZ_CASES={n}`)"),
            Budget::Time(t) => format!(
                "{} s per target (`QUORATE_FUZZ_SECONDS={}`)",
                t.as_secs(),
                t.as_secs()
            ),
        }
    }
}

/// The short pass of the non-byte targets (CI): `decide` over arbitrary views and HTTP
/// request targets against a running `quorate serve`.
#[test]
fn decide_and_http_targets_briefly() {
    let (_, _, failed) = run_for(
        &arbitrary::view(),
        &Budget::Cases(u64::from(cases())),
        decide_case,
    );
    assert_eq!(failed, None, "decide");
    let dir = tempfile::tempdir().expect("tempdir");
    let serve = serve(dir.path());
    let addr = serve.addr;
    let (_, _, failed) = run_for(&request_target(), &Budget::Cases(200), |t| {
        http_case(addr, &t)
    });
    assert_eq!(failed, None, "HTTP:\n{}", serve.log());
    assert_eq!(serve.get("/healthz").status, 200, "still serving");
}

/// The long run: every target for its budget, each finding printed and written to
/// `bench/results/fuzz.md` (or `QUORATE_FUZZ_OUT`). See the module header for the command.
#[test]
#[ignore = "long: QUORATE_FUZZ_SECONDS=30 cargo test --release --test parsers_fuzz -- --ignored"]
fn long_run_every_target() {
    let budget = Budget::from_env();
    let started = Instant::now();
    let mut rows = Vec::new();
    let mut record = |name: &str, (cases, took, failed): (u64, Duration, Option<String>)| {
        eprintln!(
            "{name}: {cases} cases in {:.1} s: {}",
            took.as_secs_f64(),
            failed.as_deref().unwrap_or("no finding")
        );
        rows.push((name.to_string(), cases, took, failed));
    };
    for target in TARGETS {
        record(
            target.name,
            run_for(&input(), &budget, |b| {
                timed(target, &b);
                Ok(())
            }),
        );
    }
    record(
        "decide over arbitrary reports",
        run_for(&arbitrary::view(), &budget, decide_case),
    );
    let dir = tempfile::tempdir().expect("tempdir");
    let serve = serve(dir.path());
    let addr = serve.addr;
    record(
        "HTTP paths and queries (quorate serve)",
        run_for(&request_target(), &budget, |t| http_case(addr, &t)),
    );
    let serving = serve.get("/healthz").status == 200;
    drop(serve);

    let total: u64 = rows.iter().map(|r| r.1).sum();
    let findings: Vec<&(String, u64, Duration, Option<String>)> =
        rows.iter().filter(|r| r.3.is_some()).collect();
    let profile = if cfg!(debug_assertions) {
        "debug"
    } else {
        "release"
    };
    let mut md = String::new();
    md.push_str(concat!(
        "# Fuzzing: long run of tests/parsers_fuzz.rs\n\n",
        "Written by `long_run_every_target` (the command is in the header of\n",
        "`tests/parsers_fuzz.rs` and in docs/development.md). A `proptest` harness on the stable\n",
        "toolchain: mutated fixtures (`tests/fixtures/`, plus generated `/galera/state` reports) and\n",
        "arbitrary bytes; `decide` over the `tests/recover_model` generator; raw HTTP request targets\n",
        "against a running `quorate serve`. Not coverage-guided: the coverage-guided run of the same\n",
        "byte targets is the cargo-fuzz package `fuzz/` (`bench/fuzz.sh`, nightly toolchain), whose\n",
        "results are in `bench/results/fuzz_coverage.md`.\n\n",
    ));
    md.push_str(&format!(
        "- Budget: {}; {profile} build; {} targets, {total} cases in {:.0} s.\n",
        budget.describe(),
        rows.len(),
        started.elapsed().as_secs_f64()
    ));
    md.push_str(&format!(
        "- Findings: {}.\n",
        if findings.is_empty() {
            "none".to_string()
        } else {
            findings.len().to_string()
        }
    ));
    md.push_str(&format!(
        "- `quorate serve` still answered `/healthz` after the HTTP target: {}.\n\n",
        if serving { "yes" } else { "NO" }
    ));
    md.push_str("| target | cases | seconds | cases/s | finding |\n|---|---:|---:|---:|---|\n");
    for (name, cases, took, failed) in &rows {
        let secs = took.as_secs_f64();
        md.push_str(&format!(
            "| {name} | {cases} | {secs:.1} | {:.0} | {} |\n",
            *cases as f64 / secs.max(0.001),
            failed.as_deref().map_or("none".to_string(), |f| f
                .replace('|', "\\|")
                .replace('\n', " "))
        ));
    }
    let out = std::env::var_os("QUORATE_FUZZ_OUT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results/fuzz.md"));
    std::fs::write(&out, md).expect("write the results");
    eprintln!("wrote {}", out.display());
    assert!(serving, "quorate serve stopped answering");
    assert!(findings.is_empty(), "findings: {findings:?}");
}
