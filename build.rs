//! Build facts for `quorate --version` and `quorate_build_info`: the git revision, the rustc
//! version and the build date, passed to the compiler as `QUORATE_GIT_REVISION`,
//! `QUORATE_RUSTC_VERSION` and `QUORATE_BUILD_DATE`.
//!
//! Each falls back to "unknown" rather than fail the build: a crate tarball or a Debian source
//! package has no `.git`, and a build host may have no git. The date honours
//! `SOURCE_DATE_EPOCH` (reproducible builds, as Debian's tooling sets it).

use std::path::PathBuf;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

fn main() {
    println!("cargo:rerun-if-changed=build.rs");
    println!("cargo:rerun-if-env-changed=SOURCE_DATE_EPOCH");
    println!("cargo:rerun-if-env-changed=QUORATE_GIT_REVISION");

    let revision = std::env::var("QUORATE_GIT_REVISION")
        .ok()
        .filter(|r| !r.is_empty())
        .or_else(git_revision)
        .unwrap_or_else(|| "unknown".to_string());
    println!("cargo:rustc-env=QUORATE_GIT_REVISION={revision}");

    let rustc = std::env::var("RUSTC").unwrap_or_else(|_| "rustc".to_string());
    let rustc_version = output_of(&rustc, &["--version"]).unwrap_or_else(|| "unknown".into());
    println!("cargo:rustc-env=QUORATE_RUSTC_VERSION={rustc_version}");

    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.trim().parse::<i64>().ok())
        .or_else(|| {
            let now = SystemTime::now().duration_since(UNIX_EPOCH).ok()?;
            i64::try_from(now.as_secs()).ok()
        });
    let date = epoch.map_or_else(|| "unknown".to_string(), utc_date);
    println!("cargo:rustc-env=QUORATE_BUILD_DATE={date}");

    link_hot_functions_together(&rustc);
}

/// Release builds only: asks the linker to place the functions listed in
/// `packaging/symbol-order.txt` (what start-up, `check galera` and `quorate serve` run; written
/// by `scripts/symbol-order`) first and together. With the default layout that code is spread
/// over the whole text segment and a scraped exporter maps most of the binary in; together it
/// maps half as much of it (bench/results/binary.md). Only linkers with `--symbol-ordering-file`
/// (lld, rustc's default on x86_64 Linux since 1.90) take it, so a tiny program is linked with
/// the option first; without it the build goes on with the default layout and says so.
/// `QUORATE_SYMBOL_ORDER=off` leaves it out (to measure the difference).
fn link_hot_functions_together(rustc: &str) {
    println!("cargo:rerun-if-changed=packaging/symbol-order.txt");
    println!("cargo:rerun-if-env-changed=QUORATE_SYMBOL_ORDER");
    let release = std::env::var("PROFILE").is_ok_and(|p| p == "release");
    let off = std::env::var("QUORATE_SYMBOL_ORDER").is_ok_and(|v| v == "off");
    let order = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default())
        .join("packaging/symbol-order.txt");
    if !release || off || !order.is_file() {
        return;
    }
    let args = [
        format!("-Wl,--symbol-ordering-file={}", order.display()),
        // Names the binary no longer has (renamed functions, other crate versions) are
        // expected; they would otherwise be a warning each.
        "-Wl,--no-warn-symbol-ordering".to_string(),
    ];
    if linker_takes(rustc, &args) {
        for arg in args {
            println!("cargo:rustc-link-arg-bin=quorate={arg}");
        }
    } else {
        println!(
            "cargo:warning=the linker does not take --symbol-ordering-file: the release binary \
             keeps the default function layout (more resident memory, see packaging/symbol-order.txt)"
        );
    }
}

/// Whether a program links with `args` given to the linker, with the flags and linker cargo
/// uses for this target.
fn linker_takes(rustc: &str, args: &[String]) -> bool {
    let (Some(out), Ok(target)) = (std::env::var_os("OUT_DIR"), std::env::var("TARGET")) else {
        return false;
    };
    let dir = PathBuf::from(out).join("linker-probe");
    let source = dir.join("probe.rs");
    if std::fs::create_dir_all(&dir).is_err() || std::fs::write(&source, "fn main() {}\n").is_err()
    {
        return false;
    }
    let mut probe = Command::new(rustc);
    probe
        .arg("--target")
        .arg(&target)
        .arg("-o")
        .arg(dir.join("probe"))
        .arg(&source);
    let flags = std::env::var("CARGO_ENCODED_RUSTFLAGS").unwrap_or_default();
    probe.args(flags.split('\x1f').filter(|f| !f.is_empty()));
    if let Some(linker) = std::env::var_os("RUSTC_LINKER") {
        probe
            .arg("-C")
            .arg(format!("linker={}", linker.to_string_lossy()));
    }
    for arg in args {
        probe.arg("-C").arg(format!("link-arg={arg}"));
    }
    probe
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// The short revision of HEAD, if this is a git checkout; also asks cargo to rerun when HEAD
/// moves (the files differ in a worktree, hence `--git-path`).
fn git_revision() -> Option<String> {
    let revision = output_of("git", &["rev-parse", "--short=12", "HEAD"])?;
    for file in ["HEAD", "packed-refs"] {
        if let Some(path) = output_of("git", &["rev-parse", "--git-path", file]) {
            rerun_if_exists(PathBuf::from(path));
        }
    }
    if let Some(branch) = output_of("git", &["symbolic-ref", "-q", "HEAD"]) {
        if let Some(path) = output_of("git", &["rev-parse", "--git-path", &branch]) {
            rerun_if_exists(PathBuf::from(path));
        }
    }
    Some(revision)
}

fn rerun_if_exists(path: PathBuf) {
    if path.exists() {
        println!("cargo:rerun-if-changed={}", path.display());
    }
}

/// The trimmed standard output of a command that succeeded with non-empty output.
fn output_of(program: &str, args: &[&str]) -> Option<String> {
    let out = Command::new(program).args(args).output().ok()?;
    let text = String::from_utf8(out.stdout).ok()?;
    let text = text.trim();
    (out.status.success() && !text.is_empty()).then(|| text.to_string())
}

/// `YYYY-MM-DD` of a Unix time, in UTC (the civil-from-days conversion of the proleptic
/// Gregorian calendar; no date crate is worth a build dependency for this).
fn utc_date(epoch: i64) -> String {
    let days = epoch.div_euclid(86_400);
    // Shift the epoch to 0000-03-01 so that leap days fall at the end of a 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let day_of_era = z.rem_euclid(146_097);
    let year_of_era =
        (day_of_era - day_of_era / 1_460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_index = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_index + 2) / 5 + 1;
    let month = if month_index < 10 {
        month_index + 3
    } else {
        month_index - 9
    };
    let year = year_of_era + era * 400 + i64::from(month <= 2);
    format!("{year:04}-{month:02}-{day:02}")
}
