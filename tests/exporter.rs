//! `quorate serve` against a real 3-node Galera sandbox: /metrics, /probe for every node,
//! both exposition formats through promtool, concurrent scrapes, a stopped node and a frozen
//! node answering fast with `mysql_up 0`, and graceful shutdown; and (1-node sandbox) scrapes
//! reusing their MySQL connection without resetting it.

mod common;

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::{promtool_check_metrics, sample, PrometheusProcess, ServeProcess};
use quorate::sandbox::{self, SandboxGuard, UpOptions};

const OPENMETRICS_ACCEPT: &str =
    "application/openmetrics-text;version=1.0.0,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

fn probe(serve: &ServeProcess, node: &str, timeout_header: &str) -> (String, Duration) {
    let start = Instant::now();
    let r = serve.get_with(
        &format!("/probe?target={node}"),
        &[("X-Prometheus-Scrape-Timeout-Seconds", timeout_header)],
    );
    let elapsed = start.elapsed();
    assert_eq!(r.status, 200, "probe {node}: {}", r.body);
    (r.body, elapsed)
}

/// Now as Unix seconds.
fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

#[test]
fn exporter_against_a_real_three_node_cluster() {
    let started = unix_now();
    let dir = tempfile::tempdir().expect("temp dir");
    let sb_dir = dir.path().join("sb");
    let sb = SandboxGuard::new(
        sandbox::up(&UpOptions {
            dir: sb_dir.clone(),
            nodes: 3,
        })
        .expect("sandbox up"),
    );
    let serve = ServeProcess::start(&sb.config_path(), &[]);

    // /metrics is node1 (quorate.node in the sandbox config).
    let r = serve.get("/metrics");
    assert_eq!(r.status, 200);
    assert_eq!(
        r.header("content-type"),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    let body = r.body;
    // (metric, label fragments, expected value) on a healthy Synced node.
    let expected: &[(&str, &[&str], f64)] = &[
        ("mysql_up", &[], 1.0),
        ("mysql_global_status_wsrep_cluster_size", &[], 3.0),
        ("mysql_global_status_wsrep_local_state", &[], 4.0),
        ("mysql_global_status_wsrep_ready", &[], 1.0),
        ("mysql_global_status_wsrep_cluster_status", &[], 1.0),
        ("mysql_global_variables_wsrep_desync", &[], 0.0),
        (
            "mysql_galera_gcache_size_bytes",
            &[],
            32.0 * 1024.0 * 1024.0,
        ),
        (
            "mysql_galera_local_state_comment_info",
            &["wsrep_local_state_comment=\"Synced\""],
            1.0,
        ),
        ("mysql_global_status_wsrep_flow_control_active", &[], 0.0),
        ("mysql_galera_incoming_addresses", &[], 3.0),
        (
            "mysql_galera_variables_info",
            &["wsrep_cluster_name=\""],
            1.0,
        ),
        // A running node's grastate.dat says seqno -1.
        ("mysql_galera_grastate_seqno", &[], -1.0),
        ("quorate_collector_success", &["collector=\"galera\""], 1.0),
        (
            "quorate_collector_success",
            &["collector=\"grastate\""],
            1.0,
        ),
    ];
    for (metric, labels, value) in expected {
        assert_eq!(
            sample(&body, metric, labels),
            Some(*value),
            "{metric}{labels:?} in:\n{body}"
        );
    }
    assert!(sample(&body, "mysql_galera_grastate_info", &["uuid=\""]).is_some());
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"galera\""]
        ),
        Some(1.0)
    );
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"grastate\""]
        ),
        Some(1.0)
    );
    assert!(sample(
        &body,
        "quorate_collector_duration_seconds",
        &["collector=\"galera\""]
    )
    .is_some());
    // This scrape's own success: its time.
    for collector in ["galera", "grastate"] {
        let last = sample(
            &body,
            "quorate_collector_last_success_timestamp_seconds",
            &[&format!("collector=\"{collector}\"")],
        )
        .unwrap_or_else(|| panic!("no last success of {collector}:\n{body}"));
        assert!(
            last >= started && last <= unix_now(),
            "{collector}: {last} not within the test ({started}..)"
        );
    }
    assert_eq!(
        sample(
            &body,
            "quorate_build_info",
            &[&format!("version=\"{}\"", quorate::VERSION)]
        ),
        Some(1.0)
    );
    assert!(
        !body.contains("password"),
        "no secret-bearing variable is exported"
    );
    promtool_check_metrics(&body).unwrap();

    // OpenMetrics by negotiation, also valid for promtool.
    let r = serve.get_with("/metrics", &[("Accept", OPENMETRICS_ACCEPT)]);
    assert_eq!(
        r.header("content-type"),
        Some("application/openmetrics-text; version=1.0.0; charset=utf-8")
    );
    assert!(r.body.ends_with("# EOF\n"));
    // promtool (2.42) parses only the classic format, so the OpenMetrics output is checked
    // by what consumes it: a real Prometheus, which negotiates OpenMetrics, scraping every
    // node through /probe.
    let prometheus = PrometheusProcess::start(&format!(
        "  - job_name: galera\n    metrics_path: /probe\n    static_configs:\n      - targets: [node1, node2, node3]\n    relabel_configs:\n      - source_labels: [__address__]\n        target_label: __param_target\n      - source_labels: [__param_target]\n        target_label: instance\n      - target_label: __address__\n        replacement: {}\n",
        serve.addr
    ));
    prometheus.wait_for(
        "mysql_global_status_wsrep_cluster_size",
        Duration::from_secs(20),
        |r| r.len() == 3 && r.iter().all(|(_, v)| *v == 3.0),
    );
    let up = prometheus.query("up{job=\"galera\"}");
    assert!(up.len() == 3 && up.iter().all(|(_, v)| *v == 1.0), "{up:?}");
    let synced = prometheus
        .query("mysql_galera_local_state_comment_info{wsrep_local_state_comment=\"Synced\"}");
    assert_eq!(synced.len(), 3, "{synced:?}");
    drop(prometheus);

    // Every node through /probe agrees on the cluster.
    let mut uuids = Vec::new();
    for node in ["node1", "node2", "node3"] {
        let (body, _) = probe(&serve, node, "5");
        assert_eq!(sample(&body, "mysql_up", &[]), Some(1.0), "{node}: {body}");
        assert_eq!(
            sample(&body, "mysql_global_status_wsrep_cluster_size", &[]),
            Some(3.0),
            "{node}"
        );
        assert_eq!(
            sample(&body, "mysql_global_status_wsrep_local_state", &[]),
            Some(4.0),
            "{node}"
        );
        let uuid_line = body
            .lines()
            .find(|l| l.starts_with("mysql_galera_status_info"))
            .expect("status info")
            .to_string();
        let cluster_uuid = uuid_line
            .split("wsrep_cluster_state_uuid=\"")
            .nth(1)
            .and_then(|s| s.split('"').next())
            .expect("cluster uuid label")
            .to_string();
        assert_eq!(cluster_uuid.len(), 36, "{uuid_line}");
        uuids.push(cluster_uuid);
    }
    assert!(uuids.windows(2).all(|w| w[0] == w[1]), "{uuids:?}");

    // The same node over its unix socket instead of TCP.
    let socket_config = sb_dir.join("socket.yaml");
    let port = sb.mysql_port("node1").expect("node1 port");
    let text = std::fs::read_to_string(sb.config_path()).expect("sandbox config");
    let tcp_line = format!("mysql_address: \"127.0.0.1:{port}\"");
    assert!(text.contains(&tcp_line), "{text}");
    let socket_line = format!(
        "mysql_socket: \"{}\"",
        sb.socket("node1").expect("node1 socket").display()
    );
    std::fs::write(&socket_config, text.replace(&tcp_line, &socket_line)).expect("socket config");
    let over_socket = ServeProcess::start(&socket_config, &[]);
    let body = over_socket.get("/probe?target=node1").body;
    assert_eq!(sample(&body, "mysql_up", &[]), Some(1.0), "{body}");
    assert_eq!(
        sample(&body, "mysql_global_status_wsrep_cluster_size", &[]),
        Some(3.0)
    );
    drop(over_socket);

    // Bad targets are client errors that say what is wrong.
    let r = serve.get("/probe?target=nosuch");
    assert_eq!(r.status, 400);
    assert!(
        r.body.contains("nosuch") && r.body.contains("node1"),
        "{}",
        r.body
    );
    assert_eq!(serve.get("/probe").status, 400);
    let landing = serve.get("/");
    assert!(
        landing.body.contains("/probe?target=node2"),
        "{}",
        landing.body
    );

    // Concurrent scrapes of one node all succeed.
    let addr = serve.addr;
    let handles: Vec<_> = (0..12)
        .map(|_| {
            std::thread::spawn(move || {
                common::get(addr, "/probe?target=node2", &[]).map(|r| r.body)
            })
        })
        .collect();
    for h in handles {
        let body = h.join().expect("scrape thread").expect("scrape");
        assert_eq!(sample(&body, "mysql_up", &[]), Some(1.0));
    }

    // Stop node3 cleanly: it answers mysql_up 0 at once, its grastate.dat is still read (a
    // clean stop saves the real seqno), and the others see a cluster of two.
    let mut sb = sb;
    let stopped_at = unix_now();
    sb.stop_node("node3").expect("stop node3");
    let (body, elapsed) = probe(&serve, "node3", "5");
    assert_eq!(sample(&body, "mysql_up", &[]), Some(0.0), "{body}");
    assert!(
        elapsed < Duration::from_secs(5),
        "a refused connection must not wait: {elapsed:?}"
    );
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"galera\""]
        ),
        Some(0.0)
    );
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"grastate\""]
        ),
        Some(1.0)
    );
    // The failed scrape keeps the time of node3's last success (its probe while it ran).
    let last = sample(
        &body,
        "quorate_collector_last_success_timestamp_seconds",
        &["collector=\"galera\""],
    )
    .unwrap_or_else(|| panic!("no last success of node3:\n{body}"));
    assert!(
        last >= started && last <= stopped_at,
        "node3's last success {last} not between {started} and its stop {stopped_at}"
    );
    let seqno =
        sample(&body, "mysql_galera_grastate_seqno", &[]).expect("grastate of a stopped node");
    assert!(seqno >= 0.0, "clean shutdown saves the seqno, got {seqno}");
    promtool_check_metrics(&body).unwrap();
    for node in ["node1", "node2"] {
        let (body, _) = probe(&serve, node, "5");
        assert_eq!(sample(&body, "mysql_up", &[]), Some(1.0), "{node}");
        assert_eq!(
            sample(&body, "mysql_global_status_wsrep_cluster_size", &[]),
            Some(2.0),
            "{node}"
        );
    }

    // A frozen node (SIGSTOP) accepts TCP but never answers: the scrape still returns in time.
    // Prometheus' timeout header (1 s) is shorter than the configured galera timeout (2 s)
    // and wins.
    sb.freeze_node("node2").expect("freeze node2");
    let (body, elapsed) = probe(&serve, "node2", "1");
    let (again, elapsed_again) = probe(&serve, "node2", "1");
    sb.thaw_node("node2").expect("thaw node2");
    for (body, elapsed) in [(&body, elapsed), (&again, elapsed_again)] {
        assert_eq!(sample(body, "mysql_up", &[]), Some(0.0), "{body}");
        assert!(
            elapsed < Duration::from_secs(1),
            "scrape of a frozen node took {elapsed:?}"
        );
    }
    // Thawed, the node answers again on the next scrape.
    let (body, _) = probe(&serve, "node2", "5");
    assert_eq!(sample(&body, "mysql_up", &[]), Some(1.0), "{body}");

    // The exporter shuts down cleanly on SIGTERM.
    let status = serve.terminate();
    assert!(status.success(), "serve exit status {status}");
    sb.start_node("node3").expect("node3 rejoins");
    drop(sb);
    assert!(!sb_dir.exists(), "sandbox down removes its directory");
}

/// The server's count of administrative commands (COM_RESET_CONNECTION among them).
fn admin_commands(sb: &SandboxGuard) -> u64 {
    let rows = sb
        .sql("node1", "SHOW GLOBAL STATUS LIKE 'Com_admin_commands'")
        .expect("status query");
    rows.first()
        .and_then(|r| r.get(1))
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("no Com_admin_commands in {rows:?}"))
}

/// Scrapes reuse the pool's connection as it is: no COM_RESET_CONNECTION when it goes back to
/// the pool (a round trip per scrape, and a reset would drop the `SET SESSION
/// wsrep_sync_wait=0` made when the connection was opened, so later scrapes could wait on
/// causality checks).
#[test]
fn scrapes_reuse_the_connection_without_resetting_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = SandboxGuard::new(
        sandbox::up(&UpOptions {
            dir: dir.path().join("sb"),
            nodes: 1,
        })
        .expect("sandbox up"),
    );
    let serve = ServeProcess::start(&sb.config_path(), &[]);
    let scrape = || {
        let r = serve.get("/metrics");
        assert_eq!(r.status, 200, "{}", r.body);
        assert_eq!(sample(&r.body, "mysql_up", &[]), Some(1.0), "{}", r.body);
    };
    scrape();
    let before = admin_commands(&sb);
    for _ in 0..10 {
        scrape();
    }
    // The pool resets a returned connection in the background: give it time to show.
    std::thread::sleep(Duration::from_millis(300));
    let after = admin_commands(&sb);
    assert!(
        after - before < 3,
        "10 scrapes sent {} administrative commands (connection resets?)",
        after - before
    );
    drop(serve);
    sb.down().expect("sandbox down");
}
