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
