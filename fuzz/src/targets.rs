//! The byte targets: each parser of outside input, and what is done with one input. Written once
//! and used by both fuzzers: `tests/parsers_fuzz.rs` (the `proptest` harness, stable toolchain,
//! CI) includes this file by path, and the cargo-fuzz package `fuzz/` (libFuzzer, nightly, the
//! long coverage-guided run) builds one fuzz target per entry, named by its `slug`.
//!
//! Both include `tests/recover_model/arbitrary.rs` as `crate::arbitrary` (the model's checks
//! that a decision must pass).

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::path::Path;

use quorate::check::range::{Range, TIME_UNITS};
use quorate::recover::decide::{decide, Assumptions, ClusterView, NodeView, Observed};
use quorate::recover::report::NodeReport;

/// A byte target: its name (in `bench/results/fuzz.md`), its slug (the cargo-fuzz target
/// `fuzz/fuzz_targets/<slug>.rs` and its corpus directory) and what it does with one input.
pub struct Target {
    pub name: &'static str,
    pub slug: &'static str,
    pub run: fn(&[u8]),
}

fn text(bytes: &[u8]) -> Cow<'_, str> {
    String::from_utf8_lossy(bytes)
}

/// The first 64 lines, each cut to 200 bytes: what ranges, durations and sizes are.
fn short_lines(bytes: &[u8]) -> Vec<String> {
    text(bytes)
        .lines()
        .take(64)
        .map(|line| {
            let mut end = line.len().min(200);
            while !line.is_char_boundary(end) {
                end -= 1;
            }
            line[..end].to_string()
        })
        .collect()
}

pub const TARGETS: &[Target] = &[
    Target {
        name: "grastate.dat",
        slug: "grastate",
        run: |b| drop(quorate::galera::parse::parse_grastate(&text(b))),
    },
    Target {
        name: "gvwstate.dat",
        slug: "gvwstate",
        run: |b| drop(quorate::galera::parse::parse_gvwstate(&text(b))),
    },
    Target {
        name: "--wsrep-recover log",
        slug: "recover_log",
        run: |b| drop(quorate::galera::parse::parse_recover_log(b)),
    },
    Target {
        name: "status rows and values",
        slug: "status_rows",
        run: |b| {
            for (_, value) in quorate::galera::parse::parse_name_value_rows(&text(b)) {
                let _ = quorate::galera::parse::status_value_as_f64(&value);
                let _ = quorate::galera::parse::parse_galera_size(&value);
                let _ = quorate::galera::parse::bool_flag(&value);
            }
        },
    },
    Target {
        name: "provider options",
        slug: "provider_options",
        run: |b| drop(quorate::galera::parse::parse_provider_options(&text(b))),
    },
    Target {
        name: "gluster volume info --xml",
        slug: "gluster_volume_info",
        run: |b| drop(quorate::gluster::parse::parse_volume_info(b)),
    },
    Target {
        name: "gluster volume status --xml",
        slug: "gluster_volume_status",
        run: |b| drop(quorate::gluster::parse::parse_volume_status(b)),
    },
    Target {
        name: "gluster peer status --xml",
        slug: "gluster_peer_status",
        run: |b| drop(quorate::gluster::parse::parse_peer_status(b)),
    },
    Target {
        name: "gluster volume heal info summary --xml",
        slug: "gluster_heal_summary",
        run: |b| drop(quorate::gluster::parse::parse_heal_summary(b)),
    },
    Target {
        name: "gluster volume heal info --xml",
        slug: "gluster_heal_list",
        run: |b| drop(quorate::gluster::parse::parse_heal_list(b, 16)),
    },
    Target {
        name: "xtrabackup_checkpoints",
        slug: "backup_checkpoints",
        run: |b| drop(quorate::backup::parse::parse_checkpoints(&text(b))),
    },
    Target {
        name: "xtrabackup_info",
        slug: "backup_info",
        run: |b| drop(quorate::backup::parse::parse_info(&text(b))),
    },
    Target {
        name: "backup_metadata.json",
        slug: "backup_metadata",
        run: |b| {
            let _ = quorate::backup::parse::parse_metadata(&text(b), &jiff::tz::TimeZone::UTC);
        },
    },
    Target {
        name: "YAML configuration with ${VAR}",
        slug: "config_yaml",
        run: |b| {
            let env: BTreeMap<String, String> = [("PW".to_string(), "x".repeat(20))].into();
            let _ = quorate::config::parse(
                Path::new("/etc/quorate/fuzz.yaml"),
                &text(b),
                &env,
                &mut Vec::new(),
            );
        },
    },
    Target {
        name: "defaults file",
        slug: "defaults_file",
        run: |b| drop(quorate::config::parse_defaults_file(&text(b))),
    },
    Target {
        name: "Nagios ranges",
        slug: "nagios_range",
        run: |b| {
            for line in short_lines(b) {
                let _ = Range::parse(&line);
                let _ = Range::parse_with_units(&line, TIME_UNITS);
            }
        },
    },
    Target {
        name: "durations and human sizes",
        slug: "durations_sizes",
        run: |b| {
            for line in short_lines(b) {
                let _ = quorate::config::parse_duration(&line);
                let _ = quorate::backup::parse::parse_human_size(&line);
            }
        },
    },
    Target {
        name: "/galera/state JSON, then decide",
        slug: "galera_state",
        run: galera_state,
    },
];

/// A peer's `/galera/state` answer as `recover` reads it; a report that parses is decided on,
/// beside a node that does not answer, and the decision must pass the model's checks.
fn galera_state(bytes: &[u8]) {
    let Ok(report) = serde_json::from_slice::<NodeReport>(bytes) else {
        return;
    };
    let name = report.node.clone();
    let view = ClusterView {
        nodes: vec![
            NodeView {
                name,
                observed: Observed::Known(Box::new(report)),
            },
            NodeView {
                name: "node9".into(),
                observed: Observed::Unknown {
                    reason: "fuzz".into(),
                },
            },
        ],
    };
    for lost in [vec![], vec!["node9".to_string()]] {
        let a = Assumptions {
            assume_lost: lost.into_iter().collect(),
        };
        let d = decide(&view, &a);
        if let Err(e) = crate::arbitrary::check_any(&view, &a, &d) {
            panic!("{e}: {d:?}");
        }
    }
}
