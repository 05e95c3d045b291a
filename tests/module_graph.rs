//! The library's module graph, read from its source text, and the two rules the layout in
//! `src/lib.rs` promises about it:
//!
//! 1. **No cycle between top-level modules** (`config`, `galera`, `gluster`, `backup`,
//!    `metrics`, `check`, `recover`, `server`, ...): dependencies point one way.
//! 2. **No backward arrow**: a pure module ([`PURE`]: parsing, readings, threshold evaluation,
//!    the recovery decision, metric encoding) imports no I/O module ([`IO`]: clients,
//!    collectors, command runners, the server, the sandbox) and uses no I/O API ([`IO_APIS`]:
//!    `tokio::`, `std::fs`, `std::process`, sockets, ...). Pure modules may import data types
//!    from anywhere else.
//!
//! How the graph is read, deliberately simple: every `.rs` file under `src/` is a module named
//! by its path (`src/gluster/reading.rs` is `gluster::reading`, `src/galera/mod.rs` is
//! `galera`). Its edges are the `crate::…`, `super::…` and `self::…` paths in its code (in `use`
//! declarations and inline, `{a, b::c}` groups expanded), each resolved to the longest module
//! path it starts with. Comment lines are skipped. Test code is left out: files declared
//! `#[cfg(test)] mod x;` and, in every file, an inline `#[cfg(test)] mod x { … }` and what
//! follows it (test modules come last in this code base). The binary's edge (`src/main.rs`,
//! `src/cli.rs`, `src/commands/`) may import anything and is not part of the library graph.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// Modules (and everything below them) that must stay pure.
const PURE: &[&str] = &[
    "galera::parse",
    "gluster::parse",
    "gluster::snapshot",
    "gluster::reading",
    "gluster::mount",
    "backup::parse",
    "backup::record",
    "backup::chain",
    "backup::snapshot",
    "backup::summary",
    "backup::reading",
    "backup::verify::plan",
    "backup::verify::record",
    "collected",
    "unix_time",
    "check::range",
    "check::output",
    "check::flow",
    "check::galera",
    "check::cluster",
    "check::gluster",
    "check::backup",
    "check::maintenance",
    "metrics",
    "recover::decide",
    "recover::report",
    "recover::transfer",
    "process_stats::parse",
    "maintenance::record",
];

/// Modules (and everything below them) that do I/O.
const IO: &[&str] = &[
    "bounded",
    "galera::client",
    "galera::collector",
    "gluster::cli",
    "gluster::collector",
    "gluster::mount_probe",
    "backup::scan",
    "backup::monitor",
    "backup::verify::run",
    "backup::verify::server",
    "check::state",
    "process",
    "process_stats",
    "sandbox",
    "server",
    "health",
    "tls",
    "recover::act",
    "recover::gather",
    "recover::peer",
    "recover::position",
    "recover::sys",
    "recover::http",
    "maintenance::store",
    "maintenance::switch",
];

/// Top-level edges that close a cycle today and are being removed elsewhere, each with why. A
/// listed edge is left out of the cycle search; once it is gone from the code, the test fails
/// until it is taken off this list, so the list only ever shrinks.
const KNOWN_CYCLE_EDGES: &[(&str, &str, &str)] = &[];

/// Text that means I/O in a pure module's code.
const IO_APIS: &[&str] = &[
    "tokio::",
    "std::fs",
    "fs::read",
    "fs::write",
    "File::open",
    "File::create",
    "std::process",
    "Command::new",
    "std::net",
    "TcpStream",
    "rustix::",
    "mysql_async",
    "hyper::",
    "axum::",
    "notify::",
    "std::thread::spawn",
];

/// Files of the binary, outside the library graph.
fn is_binary(relative: &Path) -> bool {
    relative == Path::new("main.rs")
        || relative == Path::new("cli.rs")
        || relative.starts_with("commands")
}

/// One module's file, its code without comments and tests, and its edges.
struct Module {
    file: PathBuf,
    code: Vec<(usize, String)>,
}

/// `a::b` for `src/a/b.rs` and `src/a/b/mod.rs`; "" for `src/lib.rs`.
fn module_path(relative: &Path) -> String {
    let mut parts: Vec<String> = relative
        .iter()
        .map(|p| p.to_string_lossy().into_owned())
        .collect();
    let last = parts.pop().unwrap_or_default();
    let stem = last.trim_end_matches(".rs");
    if stem != "mod" && stem != "lib" {
        parts.push(stem.to_string());
    }
    parts.join("::")
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("cannot list {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|x| x == "rs") {
            out.push(path);
        }
    }
}

/// The code lines (numbered from 1) that count: no comment lines, nothing from the first
/// inline `#[cfg(test)] mod … {` on. Also returns the names of `#[cfg(test)] mod x;` children.
fn code_lines(text: &str) -> (Vec<(usize, String)>, Vec<String>) {
    let lines: Vec<&str> = text.lines().collect();
    let mut code = Vec::new();
    let mut test_children = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        if line == "#[cfg(test)]" {
            let next = lines.get(i + 1).map_or("", |l| l.trim());
            let declared = next
                .trim_start_matches("pub(crate) ")
                .trim_start_matches("pub ")
                .strip_prefix("mod ");
            if let Some(rest) = declared {
                if let Some(name) = rest.strip_suffix(';') {
                    test_children.push(name.trim().to_string());
                    i += 2;
                    continue;
                }
                // An inline test module: it and the rest of the file are test code.
                break;
            }
        }
        if !line.starts_with("//") {
            let without_trailing = match lines[i].find(" // ") {
                Some(at) => &lines[i][..at],
                None => lines[i],
            };
            code.push((i + 1, without_trailing.to_string()));
        }
        i += 1;
    }
    (code, test_children)
}

/// Every path starting at `crate`, `super` or `self` in `line`, `{…}` groups expanded, as
/// segment lists (the first segment is the keyword).
fn paths_in(line: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let bytes = line.as_bytes();
    for keyword in ["crate::", "super::", "self::"] {
        let mut from = 0;
        while let Some(at) = line[from..].find(keyword) {
            let start = from + at;
            from = start + keyword.len();
            // A whole path: not `$crate::`, not inside an identifier, not the second `super`
            // of `super::super::` (read with the first).
            if line[..start].ends_with("::") {
                continue;
            }
            if start > 0 {
                let before = bytes[start - 1];
                if before.is_ascii_alphanumeric() || before == b'_' || before == b'$' {
                    continue;
                }
            }
            let head = vec![keyword.trim_end_matches("::").to_string()];
            expand(&line[start + keyword.len()..], head, &mut out);
        }
    }
    out
}

/// Expands the path text after `prefix::` (`a::b::C`, `{a, b::{c, d}}`) into `out`.
fn expand(text: &str, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    if let Some(group) = text.strip_prefix('{') {
        let mut depth = 0;
        let mut item_start = 0;
        for (i, c) in group.char_indices() {
            match c {
                '{' => depth += 1,
                '}' if depth == 0 => {
                    expand_item(&group[item_start..i], &prefix, out);
                    return;
                }
                '}' => depth -= 1,
                ',' if depth == 0 => {
                    expand_item(&group[item_start..i], &prefix, out);
                    item_start = i + 1;
                }
                _ => {}
            }
        }
        // A group continued on the next lines: what is on this line still counts.
        expand_item(&group[item_start..], &prefix, out);
        return;
    }
    let mut path = prefix;
    let mut rest = text;
    loop {
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        if end == 0 {
            break;
        }
        path.push(rest[..end].to_string());
        rest = &rest[end..];
        match rest.strip_prefix("::") {
            Some(more) if more.starts_with('{') => return expand(more, path, out),
            Some(more) => rest = more,
            None => break,
        }
    }
    out.push(path);
}

fn expand_item(item: &str, prefix: &[String], out: &mut Vec<Vec<String>>) {
    let item = item.trim();
    if item.is_empty() || item == "self" || item == "*" {
        out.push(prefix.to_vec());
        return;
    }
    expand(item, prefix.to_vec(), out);
}

/// The module a path names: `crate`/`super`/`self` resolved against `here`, then the longest
/// known module path it starts with.
fn resolve(path: &[String], here: &str, modules: &BTreeSet<String>) -> Option<String> {
    let mut base: Vec<&str> = if here.is_empty() {
        Vec::new()
    } else {
        here.split("::").collect()
    };
    let mut segments = path.iter().map(String::as_str).peekable();
    match segments.next() {
        Some("crate") => base.clear(),
        Some("self") => {}
        Some("super") => {
            base.pop()?;
            while segments.peek() == Some(&"super") {
                segments.next();
                base.pop()?;
            }
        }
        _ => return None,
    }
    let mut full: Vec<&str> = base;
    full.extend(segments);
    (0..=full.len())
        .rev()
        .map(|n| full[..n].join("::"))
        .find(|candidate| modules.contains(candidate))
}

/// Whether `module` is `list`'s entry or below one.
fn within<'a>(module: &str, list: &[&'a str]) -> Option<&'a str> {
    list.iter().copied().find(|entry| {
        module == *entry
            || module
                .strip_prefix(entry)
                .is_some_and(|rest| rest.starts_with("::"))
    })
}

fn top(module: &str) -> &str {
    module.split("::").next().unwrap_or("")
}

struct Graph {
    modules: BTreeMap<String, Module>,
    /// (from, to) → the first `file:line` that makes the edge.
    edges: BTreeMap<(String, String), String>,
}

fn read_graph() -> Graph {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    let mut modules = BTreeMap::new();
    let mut test_only = BTreeSet::new();
    for file in files {
        let relative = file.strip_prefix(&src).expect("under src").to_path_buf();
        if is_binary(&relative) {
            continue;
        }
        let name = module_path(&relative);
        let text = fs::read_to_string(&file)
            .unwrap_or_else(|e| panic!("cannot read {}: {e}", file.display()));
        let (code, test_children) = code_lines(&text);
        for child in test_children {
            test_only.insert(if name.is_empty() {
                child
            } else {
                format!("{name}::{child}")
            });
        }
        modules.insert(
            name,
            Module {
                file: relative,
                code,
            },
        );
    }
    // Test-only modules and everything below them.
    modules.retain(|name, _| {
        !test_only
            .iter()
            .any(|t| name == t || name.starts_with(&format!("{t}::")))
    });
    let names: BTreeSet<String> = modules.keys().cloned().collect();
    let mut edges = BTreeMap::new();
    for (name, module) in &modules {
        for (number, line) in &module.code {
            for path in paths_in(line) {
                let Some(target) = resolve(&path, name, &names) else {
                    continue;
                };
                if &target != name {
                    edges
                        .entry((name.clone(), target))
                        .or_insert_with(|| format!("src/{}:{number}", module.file.display()));
                }
            }
        }
    }
    Graph { modules, edges }
}

#[test]
fn the_graph_is_read() {
    let graph = read_graph();
    // A few edges the layout is built on; if these vanish, the reader is broken, not the code.
    for (from, to) in [
        ("metrics::galera", "galera"),
        ("gluster::reading", "gluster::snapshot"),
        ("server", "metrics"),
        ("check::backup", "check::range"),
    ] {
        assert!(
            graph
                .edges
                .contains_key(&(from.to_string(), to.to_string())),
            "no edge {from} -> {to} found; edges: {:?}",
            graph.edges.keys().collect::<Vec<_>>()
        );
    }
    for list in [PURE, IO] {
        for entry in list {
            assert!(
                graph.modules.contains_key(*entry),
                "{entry} is listed but no such module exists"
            );
        }
    }
}

#[test]
fn no_cycle_between_top_level_modules() {
    let graph = read_graph();
    let mut next: BTreeMap<&str, BTreeMap<&str, &str>> = BTreeMap::new();
    for ((from, to), at) in &graph.edges {
        let (a, b) = (top(from), top(to));
        if a != b && !a.is_empty() && !b.is_empty() {
            next.entry(a).or_default().entry(b).or_insert(at.as_str());
        }
    }
    for (from, to, why) in KNOWN_CYCLE_EDGES {
        let removed = next.get_mut(from).and_then(|targets| targets.remove(to));
        assert!(
            removed.is_some(),
            "{from} -> {to} no longer exists: take it off KNOWN_CYCLE_EDGES ({why})"
        );
    }
    // A depth-first search from every module; a path back to its start is a cycle.
    let mut cycles = Vec::new();
    for &start in next.keys() {
        let mut stack = vec![(start, vec![start])];
        let mut seen = BTreeSet::new();
        while let Some((at, path)) = stack.pop() {
            for (&to, &evidence) in next.get(at).into_iter().flatten() {
                if to == start {
                    let mut shown: Vec<String> = path
                        .windows(2)
                        .map(|w| format!("{} -> {} ({})", w[0], w[1], next[w[0]][w[1]]))
                        .collect();
                    shown.push(format!("{at} -> {to} ({evidence})"));
                    cycles.push(shown.join(", "));
                } else if to > start && seen.insert(to) {
                    // Only cycles through modules after `start` in name order: each cycle is
                    // reported once, from its first module.
                    let mut longer = path.clone();
                    longer.push(to);
                    stack.push((to, longer));
                }
            }
        }
    }
    assert!(
        cycles.is_empty(),
        "top-level modules import each other:\n{}",
        cycles.join("\n")
    );
}

#[test]
fn pure_modules_import_no_io() {
    let graph = read_graph();
    let mut backward = Vec::new();
    for ((from, to), at) in &graph.edges {
        if let (Some(pure), Some(io)) = (within(from, PURE), within(to, IO)) {
            if within(to, PURE).is_none() {
                backward.push(format!(
                    "{from} (pure, under {pure}) imports {to} (I/O, under {io}) at {at}"
                ));
            }
        }
    }
    for (name, module) in &graph.modules {
        let Some(pure) = within(name, PURE) else {
            continue;
        };
        for (number, line) in &module.code {
            for api in IO_APIS {
                if line.contains(api) {
                    backward.push(format!(
                        "{name} (pure, under {pure}) uses {api} at src/{}:{number}",
                        module.file.display()
                    ));
                }
            }
        }
    }
    assert!(
        backward.is_empty(),
        "backward arrows:\n{}",
        backward.join("\n")
    );
}

#[test]
fn the_reader_understands_groups_and_relative_paths() {
    let names: BTreeSet<String> = ["", "a", "a::b", "a::b::c", "d"]
        .into_iter()
        .map(String::from)
        .collect();
    let found = |line: &str, here: &str| -> Vec<String> {
        paths_in(line)
            .iter()
            .filter_map(|p| resolve(p, here, &names))
            .collect()
    };
    assert_eq!(found("use crate::a::b::Thing;", "d"), ["a::b"]);
    assert_eq!(
        found("use crate::{a::b::{c, X}, d::Y};", ""),
        ["a::b::c", "a::b", "d"]
    );
    assert_eq!(
        found("use super::{c, Family};", "a::b::c"),
        ["a::b::c", "a::b"]
    );
    assert_eq!(found("let x = super::super::d::f();", "a::b::c"), ["a"]);
    assert_eq!(found("$crate::a::b::f()", "d"), Vec::<String>::new());
    assert_eq!(module_path(Path::new("a/b/mod.rs")), "a::b");
    assert_eq!(module_path(Path::new("a/b.rs")), "a::b");
    assert_eq!(module_path(Path::new("lib.rs")), "");
    let (code, tests) = code_lines(concat!(
        "use crate::a;\n// use crate::d;\n#[cfg(test)]\nmod t;\nfn f() {}\n",
        "#[cfg(test)]\nmod tests {\n    use crate::d;\n}\n",
    ));
    assert_eq!(tests, ["t"]);
    assert_eq!(
        code.iter().map(|(n, _)| *n).collect::<Vec<_>>(),
        [1, 5],
        "{code:?}"
    );
}
