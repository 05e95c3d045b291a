//! Every parser of outside input fed mutated fixtures and arbitrary bytes (a `proptest` harness:
//! cargo-fuzz needs a nightly toolchain, this runs on the stable one). The corpus is every file
//! under `tests/fixtures/`; a case takes one, applies a few mutations (bytes flipped, tokens
//! that parsers split on inserted, slices cut or repeated) and gives the result to each parser.
//! A parser may refuse the input, never panic; and none may take long on it.
//!
//! The parsers: grastate.dat, gvwstate.dat, the `--wsrep-recover` log, status rows and values,
//! provider options, every gluster `--xml` answer, mariabackup's checkpoints and info files,
//! `backup_metadata.json`, human sizes, the YAML configuration with `${VAR}`, durations, the
//! defaults file, Nagios ranges (with and without units).
//!
//! `cargo test --test parsers_fuzz` runs a short pass (CI); `PROPTEST_CASES=200000 cargo test
//! --release --test parsers_fuzz` a long one (docs/development.md). A failure prints the shrunk
//! input: add it under `tests/fixtures/fuzz/` with a regression test.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use proptest::prelude::*;
use quorate::check::range::{Range, TIME_UNITS};

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
        seeds
    })
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

/// Runs every parser on `bytes`; panics only if a parser does (or is slow).
fn every_parser(bytes: &[u8]) {
    let started = Instant::now();
    let text = String::from_utf8_lossy(bytes);
    let _ = quorate::galera::parse::parse_grastate(&text);
    let _ = quorate::galera::parse::parse_gvwstate(&text);
    let _ = quorate::galera::parse::parse_recover_log(bytes);
    for (_, value) in quorate::galera::parse::parse_name_value_rows(&text) {
        let _ = quorate::galera::parse::status_value_as_f64(&value);
        let _ = quorate::galera::parse::parse_galera_size(&value);
        let _ = quorate::galera::parse::bool_flag(&value);
    }
    let _ = quorate::galera::parse::parse_provider_options(&text);
    let _ = quorate::gluster::parse::parse_volume_info(bytes);
    let _ = quorate::gluster::parse::parse_volume_status(bytes);
    let _ = quorate::gluster::parse::parse_peer_status(bytes);
    let _ = quorate::gluster::parse::parse_heal_summary(bytes);
    let _ = quorate::backup::parse::parse_checkpoints(&text);
    let _ = quorate::backup::parse::parse_info(&text);
    let _ = quorate::backup::parse::parse_metadata(&text, &jiff::tz::TimeZone::UTC);
    let _ = quorate::config::parse_defaults_file(&text);
    let env: BTreeMap<String, String> = [("PW".to_string(), "x".repeat(20))].into();
    let _ = quorate::config::parse(
        Path::new("/etc/quorate/fuzz.yaml"),
        &text,
        &env,
        &mut Vec::new(),
    );
    for line in text.lines().take(64) {
        let mut end = line.len().min(200);
        while !line.is_char_boundary(end) {
            end -= 1;
        }
        let line = &line[..end];
        let _ = Range::parse(line);
        let _ = Range::parse_with_units(line, TIME_UNITS);
        let _ = quorate::config::parse_duration(line);
        let _ = quorate::backup::parse::parse_human_size(line);
    }
    // Generous on a loaded machine; a quadratic parser on 100 KB takes seconds.
    let took = started.elapsed();
    assert!(
        took < Duration::from_secs(2),
        "{took:?} on {} bytes",
        bytes.len()
    );
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

/// Every seed as it is: each parser handles every fixture (most are someone else's format).
#[test]
fn every_fixture_through_every_parser() {
    for seed in corpus() {
        every_parser(seed);
    }
}
