//! Running `quorate check …` as Nagios would, and validating its output against the
//! monitoring-plugins guidelines (first line, perfdata grammar, the 1024-byte limit).

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// One finished plugin run.
#[derive(Debug)]
pub struct PluginRun {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub elapsed: Duration,
}

impl PluginRun {
    pub fn first_line(&self) -> &str {
        self.stdout.lines().next().unwrap_or("")
    }
}

/// The value of perfdata `label` on the first line, without its unit (`U` stays `U`).
pub fn perf(r: &PluginRun, label: &str) -> Option<String> {
    let (_, perf) = r.first_line().split_once(" | ")?;
    let value = perf
        .split(' ')
        .find_map(|p| p.strip_prefix(&format!("{label}=")))?
        .split(';')
        .next()
        .unwrap_or("");
    Some(if value == "U" {
        value.to_string()
    } else {
        value
            .trim_end_matches(|c: char| c.is_ascii_alphabetic() || c == '%')
            .to_string()
    })
}

/// Runs the real binary with `args` and extra environment; the environment variables quorate
/// reads (password, state dir) are cleared first unless given.
pub fn run_quorate(args: &[&str], env: &[(&str, &str)]) -> PluginRun {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_quorate"));
    cmd.args(args).env("QUORATE_LOG", "warn");
    run(cmd, env)
}

/// Runs a shell command line (a Nagios or NRPE command after macro expansion).
pub fn run_shell(line: &str, env: &[(&str, &str)]) -> PluginRun {
    let mut cmd = Command::new("/bin/sh");
    cmd.arg("-c").arg(line);
    run(cmd, env)
}

/// Runs `cmd` to completion with a clean quorate environment plus `env`, timing it.
fn run(mut cmd: Command, env: &[(&str, &str)]) -> PluginRun {
    cmd.env_remove("QUORATE_MYSQL_PASSWORD")
        .env_remove("QUORATE_STATE_DIR")
        .env_remove("XDG_STATE_HOME")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in env {
        cmd.env(k, v);
    }
    let start = Instant::now();
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("running {cmd:?}: {e}"));
    PluginRun {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        elapsed: start.elapsed(),
    }
}

/// Checks plugin output against the guidelines; returns what is wrong.
///
/// - at most 1024 bytes;
/// - first line `SERVICE STATE - text[ | perfdata]` where STATE matches the exit code;
/// - perfdata items `'label'=value[UOM];[warn];[crit];[min];[max]`, value numeric or `U`,
///   a known UOM, warn/crit in range syntax, min/max numeric, '.' decimals, labels unique in
///   their first 19 characters.
pub fn validate_plugin_output(stdout: &str, code: i32) -> Result<(), String> {
    if stdout.len() > 1024 {
        return Err(format!("{} bytes (limit 1024)", stdout.len()));
    }
    let first = stdout.lines().next().ok_or("no output")?;
    let (text, perf) = match first.split_once(" | ") {
        Some((t, p)) => (t, Some(p)),
        None => (first, None),
    };
    let state = ["OK", "WARNING", "CRITICAL", "UNKNOWN"]
        .iter()
        .position(|s| text.contains(&format!(" {s} - ")))
        .ok_or_else(|| format!("no 'STATE - ' in {first:?}"))?;
    if state as i32 != code {
        return Err(format!("first line says state {state}, exit code {code}"));
    }
    if text.split(" - ").next().unwrap_or("").contains('|') {
        return Err("'|' before the perfdata".into());
    }
    for line in stdout.lines().skip(1) {
        if line.contains('|') {
            return Err(format!("long output line has '|': {line:?}"));
        }
    }
    let Some(perf) = perf else { return Ok(()) };
    let mut seen: Vec<String> = Vec::new();
    for item in perf_items(perf)? {
        let (label, rest) = item;
        let short: String = label.chars().take(19).collect();
        if seen.contains(&short) {
            return Err(format!("label {label:?} not unique in 19 chars"));
        }
        seen.push(short);
        let fields: Vec<&str> = rest.split(';').collect();
        if fields.is_empty() || fields.len() > 5 {
            return Err(format!("{label}: {} fields", fields.len()));
        }
        let value = fields[0];
        if value != "U" {
            let num_end = value
                .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-'))
                .unwrap_or(value.len());
            let (num, uom) = value.split_at(num_end);
            if !is_number(num) {
                return Err(format!("{label}: value {value:?} is not numeric"));
            }
            if !["", "s", "ms", "us", "%", "B", "KB", "MB", "TB", "c"].contains(&uom) {
                return Err(format!("{label}: unit {uom:?}"));
            }
        }
        for (i, f) in fields.iter().enumerate().skip(1) {
            let ok = match i {
                1 | 2 => f.is_empty() || is_range(f),
                _ => f.is_empty() || is_number(f),
            };
            if !ok {
                return Err(format!("{label}: field {i} {f:?} malformed"));
            }
        }
    }
    Ok(())
}

fn is_number(s: &str) -> bool {
    let s = s.strip_prefix('-').unwrap_or(s);
    let mut parts = s.split('.');
    let int = parts.next().unwrap_or("");
    let frac = parts.next();
    parts.next().is_none()
        && !int.is_empty()
        && int.chars().all(|c| c.is_ascii_digit())
        && frac.is_none_or(|f| !f.is_empty() && f.chars().all(|c| c.is_ascii_digit()))
}

fn is_range(s: &str) -> bool {
    let s = s.strip_prefix('@').unwrap_or(s);
    match s.split_once(':') {
        Some((start, end)) => {
            (start.is_empty() || start == "~" || is_number(start))
                && (end.is_empty() || is_number(end))
        }
        None => is_number(s),
    }
}

/// Splits perfdata into (label, rest) pairs, honouring quoted labels.
fn perf_items(perf: &str) -> Result<Vec<(String, String)>, String> {
    let mut items = Vec::new();
    let mut rest = perf.trim();
    while !rest.is_empty() {
        let (label, after) = if let Some(q) = rest.strip_prefix('\'') {
            let mut label = String::new();
            let mut chars = q.char_indices().peekable();
            let mut end = None;
            while let Some((i, c)) = chars.next() {
                if c == '\'' {
                    if chars.peek().map(|(_, c)| *c) == Some('\'') {
                        label.push('\'');
                        chars.next();
                    } else {
                        end = Some(i + 1);
                        break;
                    }
                } else {
                    label.push(c);
                }
            }
            let end = end.ok_or_else(|| format!("unterminated quote in {perf:?}"))?;
            (label, &q[end..])
        } else {
            let eq = rest
                .find('=')
                .ok_or_else(|| format!("no '=' in {rest:?}"))?;
            let label = &rest[..eq];
            if label.contains(' ') || label.contains('\'') {
                return Err(format!("unquoted label {label:?}"));
            }
            (label.to_string(), &rest[eq..])
        };
        let after = after
            .strip_prefix('=')
            .ok_or_else(|| format!("no '=' after label {label:?}"))?;
        let (value, next) = after.split_once(' ').unwrap_or((after, ""));
        items.push((label, value.to_string()));
        rest = next.trim_start();
    }
    Ok(items)
}

/// Writes `text` to `path` with mode 0600.
pub fn write_secret(path: &Path, text: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, text).expect("writing a secret file");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).expect("chmod 0600");
}
