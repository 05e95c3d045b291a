//! The documentation's reference tables checked against the code, both ways, without a
//! cluster:
//!
//! - every option of every `quorate check` subcommand (read from the real binary's `--help`)
//!   is in an option table of docs/checks.md, and every option there exists;
//! - every configuration key (found by asking the real configuration loader, which rejects
//!   unknown keys and lists the ones it expects) is in the reference table of
//!   docs/configuration.md, and every key there exists;
//! - every metric family the exporter's code builds (from captured fixtures) is in a metric
//!   table of docs/metrics.md, and every name there is built;
//! - the README's configuration example loads; every relative link of the README and docs/
//!   resolves (file and heading); every page has a table of contents naming its sections; no
//!   prose line is longer than 120 characters.

mod common;

use std::collections::BTreeSet;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, SystemTime};

use common::docs::{anchor, documented_metrics, page};
use serde_json::{json, Value};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// Lines of `text` outside fenced code blocks, with their 1-based numbers.
fn prose_lines(text: &str) -> Vec<(usize, &str)> {
    let mut fenced = false;
    let mut out = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            continue;
        }
        if !fenced {
            out.push((i + 1, line));
        }
    }
    out
}

/// The cells of a Markdown table row.
fn cells(row: &str) -> Vec<&str> {
    let inner = row.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(str::trim).collect()
}

/// The first cell of every row of every table in `text` whose header's first cell is
/// `header` (separator rows left out).
fn first_cells(text: &str, header: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut in_table = false;
    for (_, line) in prose_lines(text) {
        if !line.starts_with('|') {
            in_table = false;
            continue;
        }
        let row = cells(line);
        let first = row.first().copied().unwrap_or("");
        if !in_table {
            in_table = first == header;
            continue;
        }
        if !first.starts_with("---") {
            out.push(first.to_string());
        }
    }
    out
}

/// The backticked spans of `text`.
fn code_spans(text: &str) -> Vec<&str> {
    text.split('`').skip(1).step_by(2).collect()
}

/// A sorted list, one per line, for failure messages.
fn listed(set: &BTreeSet<String>) -> String {
    set.iter().map(|s| format!("  {s}\n")).collect()
}

// ---------------------------------------------------------------------------------------------
// `quorate check` options

/// The output of the real binary with `args` (`--help` of a plugin exits 3: only the text
/// matters).
fn quorate_help(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(args)
        .output()
        .expect("run quorate");
    String::from_utf8(out.stdout).expect("help is UTF-8")
}

/// The long options of a clap help text: `--name` on the lines that introduce an option
/// (indented at most 6 columns and starting with `-`; descriptions are indented further).
fn long_options(help: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for line in help.lines() {
        let indent = line.len() - line.trim_start().len();
        if indent == 0 || indent > 6 || !line.trim_start().starts_with('-') {
            continue;
        }
        let flags = line.trim_start().split("  ").next().unwrap_or("");
        for word in flags.split([' ', ',', '<', '>', '[', ']', '=']) {
            if word.len() > 2 && word.starts_with("--") {
                out.insert(word.trim_end_matches("...").to_string());
            }
        }
    }
    out
}

/// The subcommands of `quorate check`, from its own help ("Commands:" section).
fn check_subcommands() -> Vec<String> {
    let help = quorate_help(&["check", "--help"]);
    let section = help
        .split_once("Commands:\n")
        .expect("`quorate check --help` lists its commands")
        .1;
    section
        .lines()
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|c| *c != "help")
        .map(str::to_string)
        .collect()
}

#[test]
fn check_options_match_docs_checks() {
    let subcommands = check_subcommands();
    assert!(
        subcommands.len() >= 4,
        "quorate check has fewer subcommands than expected: {subcommands:?}"
    );
    let mut code = BTreeSet::new();
    for sub in &subcommands {
        let options = long_options(&quorate_help(&["check", sub, "--help"]));
        assert!(
            options.contains("--timeout") && options.contains("--format"),
            "cannot read the options of `quorate check {sub} --help`: {options:?}"
        );
        code.extend(options);
    }

    let doc_page = page("checks.md");
    let mut documented = BTreeSet::new();
    for cell in first_cells(&doc_page, "option") {
        for span in code_spans(&cell) {
            for word in span.split([' ', ',', '/', '=']) {
                if word.len() > 2 && word.starts_with("--") {
                    documented.insert(word.to_string());
                }
            }
        }
    }
    let undocumented: BTreeSet<_> = code.difference(&documented).cloned().collect();
    let unknown: BTreeSet<_> = documented.difference(&code).cloned().collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "options of `quorate check` missing from the option tables of docs/checks.md:\n{}\
         options in those tables that no `quorate check` subcommand has:\n{}",
        listed(&undocumented),
        listed(&unknown)
    );
}

// ---------------------------------------------------------------------------------------------
// Configuration keys

/// One step of a path into the configuration file.
#[derive(Clone)]
enum Step {
    /// A named key.
    Key(String),
    /// Any key of a map keyed by controller hostname (`<hostname>`).
    Hostname,
    /// An element of a list (`[]`).
    Element,
}

/// A document holding `leaf` at `path` and nothing else.
fn document_at(path: &[Step], leaf: Value) -> Value {
    path.iter().rev().fold(leaf, |inner, step| match step {
        Step::Key(k) => json!({ k.as_str(): inner }),
        Step::Hostname => json!({ "probe-host": inner }),
        Step::Element => json!([inner]),
    })
}

/// The error `quorate::config::load` gives for `doc` (JSON is YAML), or "" if it loads.
fn load_error(dir: &Path, doc: &Value) -> String {
    let file = dir.join("probe.yaml");
    fs::write(&file, doc.to_string()).expect("write probe");
    match quorate::config::load(&file) {
        Ok(_) => String::new(),
        Err(e) => e.to_string(),
    }
}

/// The keys the loader expects at `path`, if a mapping there is a section (it rejects an
/// unknown key and lists the ones it accepts); None for a value.
fn section_keys(dir: &Path, path: &[Step]) -> Option<Vec<String>> {
    let error = load_error(dir, &document_at(path, json!({ "zz_probe": 1 })));
    let (_, expected) = error.split_once("unknown field `zz_probe`, ")?;
    let expected = expected.split(" at line ").next().unwrap_or(expected);
    Some(
        code_spans(expected)
            .into_iter()
            .map(str::to_string)
            .collect(),
    )
}

/// Every key the loader accepts below `path` (named `name`), sections included, found by
/// probing: a key is a section, a map of sections by hostname, a list of sections, or a value.
fn walk(
    dir: &Path,
    path: &[Step],
    name: &str,
    keys: &mut BTreeSet<String>,
    leaves: &mut BTreeSet<String>,
) {
    let Some(fields) = section_keys(dir, path) else {
        leaves.insert(name.to_string());
        return;
    };
    assert!(!fields.is_empty(), "{name}: a section without keys?");
    for field in fields {
        let child_name = if name.is_empty() {
            field.clone()
        } else {
            format!("{name}.{field}")
        };
        keys.insert(child_name.clone());
        let mut child = path.to_vec();
        child.push(Step::Key(field));
        let as_map = [child.clone(), vec![Step::Hostname]].concat();
        let as_list = [child.clone(), vec![Step::Element]].concat();
        if section_keys(dir, &child).is_some() {
            walk(dir, &child, &child_name, keys, leaves);
        } else if section_keys(dir, &as_map).is_some() {
            let map_name = format!("{child_name}.<hostname>");
            keys.insert(map_name.clone());
            walk(dir, &as_map, &map_name, keys, leaves);
        } else if section_keys(dir, &as_list).is_some() {
            let list_name = format!("{child_name}[]");
            keys.insert(list_name.clone());
            walk(dir, &as_list, &list_name, keys, leaves);
        } else {
            leaves.insert(child_name);
        }
    }
}

/// The keys of the reference table of docs/configuration.md, shorthand expanded: `.key`
/// after a full key is a sibling of its last part, `{a,b}` one key per name.
fn documented_config_keys() -> BTreeSet<String> {
    let text = page("configuration.md");
    let reference = text
        .split_once("\n## Reference\n")
        .expect("docs/configuration.md has a Reference section")
        .1;
    let reference = reference.split("\n## ").next().unwrap_or(reference);
    let mut out = BTreeSet::new();
    for cell in first_cells(reference, "key") {
        let mut previous: Option<String> = None;
        for span in code_spans(&cell) {
            let full = match (span.strip_prefix('.'), &previous) {
                (Some(sibling), Some(prev)) => {
                    let parent = prev.rsplit_once('.').map_or("", |(p, _)| p);
                    format!("{parent}.{sibling}")
                }
                _ => span.to_string(),
            };
            if let Some((head, rest)) = full.split_once('{') {
                let (names, tail) = rest.split_once('}').expect("closing brace");
                for n in names.split(',') {
                    out.insert(format!("{head}{}{tail}", n.trim()));
                }
            } else {
                out.insert(full.clone());
            }
            previous = Some(full);
        }
    }
    out
}

#[test]
fn configuration_keys_match_docs_configuration() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut keys = BTreeSet::new();
    let mut leaves = BTreeSet::new();
    walk(dir.path(), &[], "", &mut keys, &mut leaves);
    for expected in [
        "cluster.name",
        "quorate.mysql.user",
        "quorate.recovery.nodes.<hostname>.endpoint",
    ] {
        assert!(
            leaves.contains(expected),
            "probing the loader did not find {expected}; found:\n{}",
            listed(&leaves)
        );
    }
    let documented = documented_config_keys();
    let undocumented: BTreeSet<_> = leaves.difference(&documented).cloned().collect();
    let unknown: BTreeSet<_> = documented.difference(&keys).cloned().collect();
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "configuration keys the loader accepts but docs/configuration.md does not list:\n{}\
         keys docs/configuration.md lists that the loader rejects:\n{}",
        listed(&undocumented),
        listed(&unknown)
    );
}

/// The README's example is a configuration quorate loads (given the password file it names).
#[test]
fn readme_configuration_example_loads() {
    let readme = fs::read_to_string(repo().join("README.md")).expect("README.md");
    let section = readme
        .split_once("\n## Configuration\n")
        .expect("README has a Configuration section")
        .1;
    let start = section.find("```yaml\n").expect("a yaml example") + "```yaml\n".len();
    let example = &section[start..start + section[start..].find("```").expect("end of example")];
    assert!(
        example.lines().count() <= 25,
        "the README's example should stay short"
    );

    let dir = tempfile::tempdir().expect("tempdir");
    let mut doc: serde_yaml_ng::Value = serde_yaml_ng::from_str(example).expect("example is YAML");
    let password = dir.path().join("mysql.password");
    fs::write(&password, "secret\n").expect("password file");
    doc["quorate"]["mysql"]["password_file"] = password.display().to_string().into();
    let file = dir.path().join("quorate.yaml");
    fs::write(&file, serde_yaml_ng::to_string(&doc).expect("yaml")).expect("write");
    let loaded = quorate::config::load(&file).unwrap_or_else(|e| panic!("README example: {e}"));
    assert_eq!(loaded.settings.galera_nodes().count(), 3);
}

// ---------------------------------------------------------------------------------------------
// Metric families

fn wsrep_fixture(name: &str) -> String {
    let path = repo().join("tests/fixtures/wsrep").join(name);
    fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Every family name the exporter's code builds, from captured fixtures: a Synced node's
/// status and variables (and one with flow control active) with its grastate.dat, a backup
/// scan, a GlusterFS snapshot after a successful collection, and quorate's own families with
/// the `process_*` ones.
/// The families are built, not listed, so a name cannot drift from the code.
fn built_family_names() -> BTreeSet<String> {
    use quorate::collected::{Collected, Retained};
    use quorate::galera::parse::{
        parse_grastate, parse_name_value_rows, WsrepStatus, WsrepVariables,
    };
    use quorate::galera::{GaleraReading, GaleraSnapshot};
    use quorate::gluster::snapshot::ClusterState;

    let collected = |value, duration| Collected {
        value,
        at: SystemTime::now(),
        duration,
    };
    let mut families = Vec::new();
    for status in ["status/synced.tsv", "status/flow-control-active.tsv"] {
        let reading = GaleraReading {
            status: WsrepStatus::from_rows(parse_name_value_rows(&wsrep_fixture(status))),
            variables: WsrepVariables::from_rows(parse_name_value_rows(&wsrep_fixture(
                "variables/synced.tsv",
            ))),
        };
        let grastate = parse_grastate(&wsrep_fixture("grastate/running.dat")).expect("grastate");
        let snapshot = GaleraSnapshot {
            node: "node1".into(),
            server: collected(Ok(reading), Duration::from_millis(3)),
            grastate: Some(Collected {
                value: Ok(grastate),
                at: SystemTime::now(),
                duration: Duration::from_micros(40),
            }),
            last_success: Default::default(),
        };
        families.extend(
            quorate::metrics::galera::families(&snapshot)
                .families()
                .to_vec(),
        );
    }

    let root = tempfile::tempdir().expect("tempdir");
    let scan = quorate::backup::scan_once(&[root.path().to_path_buf()], &jiff::tz::TimeZone::UTC);
    let backups = quorate::backup::BackupReading::from_scan(&scan, SystemTime::now());
    families.extend(quorate::metrics::backup::families(Some(&backups)));

    let gluster = quorate::gluster::GlusterSnapshot {
        state: Retained {
            last_good: Some(Collected {
                value: ClusterState {
                    volumes: Vec::new(),
                    status: Vec::new(),
                    peers: Vec::new(),
                },
                at: SystemTime::now(),
                duration: Duration::from_millis(5),
            }),
            latest: Some(Collected {
                value: Ok(()),
                at: SystemTime::now(),
                duration: Duration::from_millis(5),
            }),
        },
        ..Default::default()
    };
    let reading = quorate::gluster::reading::reading(&gluster, SystemTime::now(), None);
    families.extend(quorate::metrics::gluster::families(&reading));
    let process = quorate::process_stats::parse::ProcessStats {
        cpu_seconds: 1.5,
        resident_memory_bytes: 1 << 24,
        virtual_memory_bytes: 1 << 30,
        open_fds: 12,
        max_fds: Some(65_536),
        start_time_seconds: 1.7e9,
    };
    families.extend(quorate::metrics::self_families(
        &quorate::metrics::SelfInfo {
            process: Some(process),
            ..Default::default()
        },
    ));

    families.extend(quorate::metrics::maintenance::families(
        "node2",
        &quorate::maintenance::Maintenance::Expired(quorate::maintenance::Record {
            reason: "kernel update".into(),
            since: 1,
            expires: 2,
            desync: true,
            by: None,
        }),
    ));

    families.into_iter().map(|f| f.name.into_owned()).collect()
}

#[test]
fn metric_families_match_docs_metrics() {
    let built = built_family_names();
    let documented = documented_metrics();
    let undocumented: BTreeSet<_> = built
        .iter()
        .filter(|name| !documented.contains(name))
        .cloned()
        .collect();
    // Every name written out must be built; every shorthand must stand for a built name.
    let mut unknown: BTreeSet<String> = documented.exact.difference(&built).cloned().collect();
    for prefix in &documented.prefixes {
        if !built.iter().any(|n| n.starts_with(prefix.as_str())) {
            unknown.insert(format!("{prefix}*"));
        }
    }
    for (previous, suffix) in &documented.abbreviated {
        let stands_for_one = built.iter().any(|name| {
            name.strip_suffix(suffix.as_str()).is_some_and(|stem| {
                previous
                    .strip_prefix(stem)
                    .is_some_and(|rest| rest.starts_with('_'))
            })
        });
        if !stands_for_one {
            unknown.insert(format!("{previous} / …{suffix}"));
        }
    }
    assert!(
        undocumented.is_empty() && unknown.is_empty(),
        "metric families the code builds that docs/metrics.md does not list:\n{}\
         names docs/metrics.md lists that the code does not build:\n{}",
        listed(&undocumented),
        listed(&unknown)
    );
}

// ---------------------------------------------------------------------------------------------
// Pages: links, tables of contents, line length

/// A page: its path, its name (relative to the repository) and its text.
struct Page {
    path: PathBuf,
    name: String,
    text: String,
}

/// The README and every page of docs/.
fn pages() -> Vec<Page> {
    let mut paths = vec![repo().join("README.md")];
    let mut docs: Vec<PathBuf> = fs::read_dir(repo().join("docs"))
        .expect("docs/")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "md"))
        .collect();
    docs.sort();
    paths.extend(docs);
    paths
        .into_iter()
        .map(|path| Page {
            name: path
                .strip_prefix(repo())
                .unwrap_or(&path)
                .display()
                .to_string(),
            text: fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            path,
        })
        .collect()
}

fn anchors(text: &str) -> BTreeSet<String> {
    prose_lines(text)
        .into_iter()
        .filter(|(_, l)| l.starts_with('#'))
        .map(|(_, l)| anchor(l.trim_start_matches('#')))
        .collect()
}

/// The targets of the inline links `[text](target)` on prose lines.
fn link_targets(line: &str) -> Vec<&str> {
    line.match_indices("](")
        .filter_map(|(i, _)| {
            let rest = &line[i + 2..];
            rest.find(')').map(|end| &rest[..end])
        })
        .collect()
}

#[test]
fn every_link_resolves() {
    let mut problems = Vec::new();
    for Page { path, name, text } in pages() {
        for (number, line) in prose_lines(&text) {
            for target in link_targets(line) {
                if target.contains("://") || target.starts_with("mailto:") {
                    continue;
                }
                let (file, fragment) = target.split_once('#').unwrap_or((target, ""));
                let resolved = if file.is_empty() {
                    path.clone()
                } else {
                    path.parent().expect("dir").join(file)
                };
                if !resolved.exists() {
                    problems.push(format!("{name}:{number}: {target}: no such file"));
                    continue;
                }
                if !fragment.is_empty() && resolved.extension().is_some_and(|e| e == "md") {
                    let target_text = fs::read_to_string(&resolved).expect("target page");
                    if !anchors(&target_text).contains(fragment) {
                        problems.push(format!("{name}:{number}: {target}: no such heading"));
                    }
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn every_page_has_a_table_of_contents_naming_its_sections() {
    let mut problems = Vec::new();
    for Page { name, text, .. } in pages() {
        let Some((_, after)) = text.split_once("\n## Contents\n") else {
            problems.push(format!("{name}: no \"## Contents\" section"));
            continue;
        };
        let contents = after.split("\n## ").next().unwrap_or(after);
        let linked: BTreeSet<String> = contents
            .lines()
            .flat_map(link_targets)
            .filter_map(|t| t.strip_prefix('#'))
            .map(str::to_string)
            .collect();
        for (_, line) in prose_lines(&text) {
            if let Some(heading) = line.strip_prefix("## ") {
                let id = anchor(heading);
                if heading != "Contents" && !linked.contains(&id) {
                    problems.push(format!("{name}: the contents do not list \"{heading}\""));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{}", problems.join("\n"));
}

#[test]
fn no_prose_line_is_longer_than_120_characters() {
    let mut problems = Vec::new();
    for Page { name, text, .. } in pages() {
        for (number, line) in prose_lines(&text) {
            let length = line.chars().count();
            if length > 120 && !line.starts_with('|') {
                problems.push(format!("{name}:{number}: {length} characters"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "wrap these lines:\n{}",
        problems.join("\n")
    );
}
