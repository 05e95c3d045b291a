//! `quorate serve` without a cluster: a node that refuses connections, configuration errors at
//! start, hot reload (good and bad files), secrets kept out of output, and the CLI edges.

mod common;

use std::os::unix::fs::PermissionsExt;
use std::process::Command;
use std::time::{Duration, Instant};

use common::{free_port, sample, ServeProcess};

fn config(nodes: &[(&str, u16)], extra: &str) -> String {
    let mut text = String::from("cluster:\n  name: reload_test\nnodes:\n  controllers:\n");
    for (name, _) in nodes {
        text.push_str(&format!(
            "    - hostname: {name}\n      ip_address: 127.0.0.1\n      services:\n        mariadb: true\n"
        ));
    }
    text.push_str("quorate:\n  node: db1\n  mysql:\n    user: quorate\n    password_file: pw\n  timeouts:\n    galera: 2s\n  nodes:\n");
    for (name, port) in nodes {
        text.push_str(&format!(
            "    {name}:\n      mysql_address: \"127.0.0.1:{port}\"\n"
        ));
    }
    text.push_str(extra);
    text
}

fn wait_for(what: &str, serve: &ServeProcess, mut ok: impl FnMut() -> bool) {
    let start = Instant::now();
    while !ok() {
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "timed out waiting for {what}\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn down_node_answers_fast_and_config_reloads() {
    let dir = tempfile::tempdir().expect("temp dir");
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "not-the-real-secret-4711\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cfg = dir.path().join("quorate.yaml");
    // Nothing listens on these ports: connections are refused.
    let closed = free_port();
    std::fs::write(&cfg, config(&[("db1", closed)], "")).unwrap();

    let serve = ServeProcess::start(&cfg, &[]);
    let start = Instant::now();
    let body = serve.get("/metrics").body;
    assert!(
        start.elapsed() < Duration::from_secs(2),
        "refused connection took {:?}",
        start.elapsed()
    );
    assert_eq!(sample(&body, "mysql_up", &[]), Some(0.0), "{body}");
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"galera\""]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(&body, "quorate_config_last_reload_successful", &[]),
        Some(1.0)
    );
    assert!(!body.contains("4711"));
    common::promtool_check_metrics(&body).unwrap();
    assert!(
        serve.log().contains("readable by every user"),
        "warning for a world-readable secret file"
    );

    // A bad file: logged with the key and line, old configuration stays in force.
    std::fs::write(&cfg, config(&[("db1", closed)], "  bogus_key: 1\n")).unwrap();
    wait_for("reload failure", &serve, || {
        sample(
            &serve.get("/metrics").body,
            "quorate_config_last_reload_successful",
            &[],
        ) == Some(0.0)
    });
    let log = serve.log();
    assert!(log.contains("bogus_key") && log.contains("line"), "{log}");
    assert_eq!(serve.get("/probe?target=db1").status, 200);

    // A good file with a new node: it becomes probe-able.
    let closed2 = free_port();
    std::fs::write(&cfg, config(&[("db1", closed), ("db2", closed2)], "")).unwrap();
    wait_for("reload success", &serve, || {
        serve.get("/probe?target=db2").status == 200
    });
    let body = serve.get("/metrics").body;
    assert_eq!(
        sample(&body, "quorate_config_last_reload_successful", &[]),
        Some(1.0)
    );
    assert!(
        !serve.log().contains("4711"),
        "the password never reaches the log"
    );
    assert!(serve.terminate().success());
}

#[test]
fn bad_config_at_start_names_key_and_line() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = dir.path().join("q.yaml");
    std::fs::write(
        &cfg,
        "cluster:\n  name: x\n  nmae: y\nnodes:\n  controllers: []\n",
    )
    .unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["serve", "--config"])
        .arg(&cfg)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("nmae") && err.contains("line 3") && err.contains("q.yaml"),
        "{err}"
    );

    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["serve", "--config", "/nonexistent/quorate.yaml"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("/nonexistent/quorate.yaml"));
}

#[test]
fn version_and_unconfigured_checks() {
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .arg("--version")
        .output()
        .unwrap();
    assert!(out.status.success());
    assert_eq!(
        String::from_utf8_lossy(&out.stdout).trim(),
        format!("quorate {}", quorate::LONG_VERSION)
    );
    // The build facts are there (each "unknown" only when build.rs could not learn it).
    assert!(quorate::LONG_VERSION.starts_with(&format!("{} (revision ", quorate::VERSION)));
    assert!(
        quorate::RUSTC_VERSION.starts_with("rustc "),
        "{}",
        quorate::RUSTC_VERSION
    );
    assert_eq!(
        quorate::BUILD_DATE.len(),
        "YYYY-MM-DD".len(),
        "{}",
        quorate::BUILD_DATE
    );
    // `recover` is available: an unknown recover subcommand is a usage error.
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["recover", "galera"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    for args in [&["check", "gluster"][..], &["check", "backup"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(3), "{args:?}");
        assert!(
            String::from_utf8_lossy(&out.stdout).contains("UNKNOWN - "),
            "{args:?}"
        );
    }
}

/// `quorate serve` on a configuration in `dir` with one node whose port nothing listens on and
/// a password file `pw` (0600); returns the configuration's path and that port.
fn serve_one_down_node(dir: &std::path::Path) -> (std::path::PathBuf, u16, ServeProcess) {
    let pw = dir.join("pw");
    std::fs::write(&pw, "secret-pw-0815\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.join("quorate.yaml");
    let closed = free_port();
    std::fs::write(&cfg, config(&[("db1", closed)], "")).unwrap();
    let serve = ServeProcess::start(&cfg, &[]);
    (cfg, closed, serve)
}

/// Scrapes `serve` every 100 ms while `during` runs; every answer must come within 2 s.
fn scraped_while<T>(serve: &ServeProcess, during: impl FnOnce() -> T) -> (T, Duration) {
    let addr = serve.addr;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = std::sync::Arc::clone(&stop);
    let scraper = std::thread::spawn(move || {
        let mut worst = Duration::ZERO;
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            for path in ["/healthz", "/metrics", "/health/galera"] {
                let started = Instant::now();
                let answer = common::get(addr, path, &[]);
                let took = started.elapsed();
                assert!(
                    answer.is_ok() && took < Duration::from_secs(2),
                    "{path}: {answer:?} after {took:?}"
                );
                worst = worst.max(took);
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        worst
    });
    let result = during();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let worst = scraper.join().expect("every scrape answered within 2 s");
    (result, worst)
}

fn reload_failed(serve: &ServeProcess) -> bool {
    sample(
        &serve.get("/metrics").body,
        "quorate_config_last_reload_successful",
        &[],
    ) == Some(0.0)
}

/// A password file replaced by a FIFO (no writer) and a deeply nested configuration: the reload
/// fails with a clear error, quickly, and every endpoint keeps answering meanwhile.
#[test]
fn reloads_of_fifos_and_deep_nesting_fail_fast_and_never_stall_endpoints() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cfg, closed, serve) = serve_one_down_node(dir.path());
    let pw = dir.path().join("pw");

    // The password file becomes a FIFO: its change alone triggers a reload.
    let ((), worst) = scraped_while(&serve, || {
        std::fs::remove_file(&pw).unwrap();
        let c = std::ffi::CString::new(pw.as_os_str().as_encoded_bytes()).unwrap();
        // SAFETY: a valid NUL-terminated path.
        assert_eq!(unsafe { libc::mkfifo(c.as_ptr(), 0o600) }, 0);
        wait_for("reload failure on the FIFO", &serve, || {
            reload_failed(&serve)
        });
    });
    let log = serve.log();
    assert!(log.contains("is a FIFO, not a regular file"), "{log}");
    eprintln!("password_file FIFO: worst answer during the reload {worst:?}");

    // A 120 KB configuration of nested brackets.
    std::fs::remove_file(&pw).unwrap();
    std::fs::write(&pw, "secret-pw-0815\n").unwrap();
    std::fs::write(&cfg, config(&[("db1", closed)], "")).unwrap();
    wait_for("reload success", &serve, || !reload_failed(&serve));
    let deep = format!("cluster: {}\n", "[".repeat(120_000));
    let (took, worst) = scraped_while(&serve, || {
        let started = Instant::now();
        std::fs::write(&cfg, &deep).unwrap();
        wait_for("reload failure on deep nesting", &serve, || {
            reload_failed(&serve)
        });
        started.elapsed()
    });
    let log = serve.log();
    assert!(log.contains("nested deeper than 64 levels"), "{log}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    eprintln!("deep nesting: refused {took:?} after the write; worst answer {worst:?}");
    assert!(serve.terminate().success());
}

/// A log file written next to the configuration triggers no reload, not even while the file is
/// bad (each failed reload used to log, and the log's change triggered the next one).
#[test]
fn other_files_in_the_configuration_directory_trigger_no_reload() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cfg, port, serve) = serve_one_down_node(dir.path());
    std::fs::write(&cfg, config(&[("db1", port)], "  bogus_key: 1\n")).unwrap();
    wait_for("reload failure", &serve, || reload_failed(&serve));
    std::thread::sleep(Duration::from_millis(500));
    let failures = || serve.log().matches("configuration reload failed").count();
    let before = failures();
    let log_file = dir.path().join("quorate.log");
    for i in 0..20 {
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_file)
            .unwrap();
        std::io::Write::write_all(&mut f, format!("line {i}\n").as_bytes()).unwrap();
        std::thread::sleep(Duration::from_millis(50));
    }
    std::fs::write(dir.path().join(".quorate.yaml.swp"), "x").unwrap();
    std::thread::sleep(Duration::from_millis(800));
    assert_eq!(failures(), before, "{}", serve.log());
    // The configuration itself still is watched.
    std::fs::write(&cfg, config(&[("db1", free_port())], "")).unwrap();
    wait_for("reload", &serve, || {
        serve.log().contains("configuration reloaded")
    });
    assert!(serve.terminate().success());
}

/// An unknown `/probe` target is echoed cut short and escaped, never at any length.
#[test]
fn unknown_probe_targets_are_echoed_bounded() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (_, _, serve) = serve_one_down_node(dir.path());
    let long = "x".repeat(10_000);
    let answer = serve.get(&format!("/probe?target={long}%1B%5B31m"));
    assert_eq!(answer.status, 400);
    assert!(answer.body.len() < 400, "{} bytes", answer.body.len());
    assert!(
        answer.body.contains("(10005 characters)"),
        "{}",
        answer.body
    );
    let answer = serve.get("/probe?target=db9%1B%5B31m");
    assert!(
        answer
            .body
            .starts_with("target \"db9\\u{1b}[31m\" is not a MariaDB controller"),
        "{}",
        answer.body
    );
    assert!(serve.terminate().success());
}

/// `/sd` against the real Prometheus: an `http_sd_configs` job with no relabelling discovers
/// every configured node and scrapes it through `/probe` (the nodes are down: `mysql_up 0`).
#[test]
fn prometheus_discovers_and_probes_every_node_through_sd() {
    let dir = tempfile::tempdir().expect("temp dir");
    std::fs::write(dir.path().join("pw"), "secret-pw-0815\n").unwrap();
    let cfg = dir.path().join("quorate.yaml");
    std::fs::write(
        &cfg,
        config(&[("db1", free_port()), ("db2", free_port())], ""),
    )
    .unwrap();
    let serve = ServeProcess::start(&cfg, &[]);
    let sd = serve.get("/sd");
    assert_eq!(sd.header("content-type"), Some("application/json"));
    let groups: serde_json::Value = serde_json::from_str(&sd.body).expect("JSON");
    assert_eq!(groups.as_array().map(Vec::len), Some(2), "{}", sd.body);
    assert_eq!(groups[1]["labels"]["__param_target"], "db2", "{}", sd.body);
    assert_eq!(groups[1]["labels"]["cluster"], "reload_test", "{}", sd.body);
    assert_eq!(
        groups[0]["targets"][0],
        serve.addr.to_string(),
        "{}",
        sd.body
    );

    let prometheus = common::PrometheusProcess::start(&format!(
        "  - job_name: galera\n    http_sd_configs:\n      - url: http://{}/sd\n        refresh_interval: 1s\n",
        serve.addr
    ));
    let result = prometheus.wait_for("mysql_up", Duration::from_secs(30), |r| r.len() == 2);
    let mut nodes: Vec<(String, String, f64)> = result
        .iter()
        .map(|(labels, value)| {
            (
                labels["node"].as_str().unwrap_or("").to_string(),
                labels["instance"].as_str().unwrap_or("").to_string(),
                *value,
            )
        })
        .collect();
    nodes.sort_by(|a, b| a.0.cmp(&b.0));
    assert_eq!(
        nodes,
        [
            ("db1".to_string(), "db1".to_string(), 0.0),
            ("db2".to_string(), "db2".to_string(), 0.0)
        ]
    );
    drop(prometheus);
    assert!(serve.terminate().success());
}
