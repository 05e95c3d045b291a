//! Benchmark: wall time of `quorate check galera` against a bash + mysql CLI check doing what
//! check_galera_cluster does (bench/check_galera_shell.sh: one `mysql` process per status
//! variable), on the same node of a real 3-node Galera sandbox. Not a test: it measures and
//! writes `bench/results/check.md`; the goal (at least 5x faster) is judged by reading it.
//!
//! Run: `cargo bench --bench check` (needs the packages of scripts/install-deps).

#[path = "../tests/common/mod.rs"]
mod common;

use std::fmt::Write as _;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const WARMUP: usize = 10;
const RUNS: usize = 200;

fn time_run(cmd: &mut Command) -> Duration {
    let start = Instant::now();
    let out = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .output()
        .expect("running a check");
    let elapsed = start.elapsed();
    assert!(
        out.status.code() == Some(0),
        "check failed ({:?}): {}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    elapsed
}

fn percentile(sorted: &[Duration], p: f64) -> Duration {
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[idx.min(sorted.len() - 1)]
}

fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1000.0)
}

fn main() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = common::three_node_sandbox(dir.path());
    let password = std::fs::read_to_string(sb.password_file()).expect("password file");
    let cnf = dir.path().join("monitor.cnf");
    std::fs::write(
        &cnf,
        format!("[client]\nuser=quorate\npassword={}\n", password.trim()),
    )
    .expect("defaults file");
    std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let state = dir.path().join("state");
    let port = sb.mysql_port("node1").expect("port").to_string();
    let config = sb.config_path();
    let quorate = env!("CARGO_BIN_EXE_quorate");
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/check_galera_shell.sh");

    let quorate_config = || {
        let mut c = Command::new(quorate);
        c.args(["check", "galera", "--config"])
            .arg(&config)
            .env("QUORATE_STATE_DIR", &state);
        c
    };
    let quorate_direct = || {
        let mut c = Command::new(quorate);
        c.args([
            "check",
            "galera",
            "-H",
            "127.0.0.1",
            "-P",
            &port,
            "--defaults-file",
        ])
        .arg(&cnf)
        .env("QUORATE_STATE_DIR", &state);
        c
    };
    let shell = || {
        let mut c = Command::new("bash");
        c.arg(&script).arg(&cnf).args(["127.0.0.1", &port]);
        c
    };

    for _ in 0..WARMUP {
        time_run(&mut quorate_config());
        time_run(&mut quorate_direct());
        time_run(&mut shell());
    }
    // Interleaved, so load changes on the machine hit all three alike.
    let mut t_config = Vec::with_capacity(RUNS);
    let mut t_direct = Vec::with_capacity(RUNS);
    let mut t_shell = Vec::with_capacity(RUNS);
    for _ in 0..RUNS {
        t_config.push(time_run(&mut quorate_config()));
        t_direct.push(time_run(&mut quorate_direct()));
        t_shell.push(time_run(&mut shell()));
    }
    for t in [&mut t_config, &mut t_direct, &mut t_shell] {
        t.sort();
    }
    let median_shell = percentile(&t_shell, 0.5);

    let mut report = String::new();
    let _ = writeln!(
        report,
        "# quorate check galera vs a bash + mysql CLI check\n"
    );
    let _ = writeln!(
        report,
        "Node1 of a 3-node MariaDB Galera sandbox on loopback, {RUNS} runs of each command \
         (interleaved, after {WARMUP} warm-up runs each), wall time of the whole process as the \
         monitoring system sees it, measured by `cargo bench --bench check` (release build) on \
         {} CPU(s). The shell check is `bench/check_galera_shell.sh`: six `mysql` processes, one \
         per status variable, as check_galera_cluster does.\n",
        std::thread::available_parallelism().map_or(0, |n| n.get())
    );
    let _ = writeln!(
        report,
        "| command | p50 | p90 | max | median speed-up vs shell |"
    );
    let _ = writeln!(report, "|---|---|---|---|---|");
    for (name, t) in [
        ("`quorate check galera --config quorate.yaml`", &t_config),
        (
            "`quorate check galera -H 127.0.0.1 -P PORT --defaults-file F`",
            &t_direct,
        ),
        ("`check_galera_shell.sh` (bash + 6 × mysql)", &t_shell),
    ] {
        let p50 = percentile(t, 0.5);
        let _ = writeln!(
            report,
            "| {name} | {} | {} | {} | {:.1}x |",
            ms(p50),
            ms(percentile(t, 0.9)),
            ms(t[t.len() - 1]),
            median_shell.as_secs_f64() / p50.as_secs_f64()
        );
    }
    let _ = writeln!(
        report,
        "\nGoal: at least 5x faster than the shell check (median ratio)."
    );
    print!("{report}");
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/results");
    std::fs::create_dir_all(&out).expect("bench/results");
    std::fs::write(out.join("check.md"), report).expect("writing bench/results/check.md");
    sb.down().expect("sandbox down");
}
