//! The GlusterFS source against a real glusterd pool (sandbox `--gluster`: two glusterds, each
//! in a network namespace of its own, and a replica-3 volume across them): healthy volume, a
//! killed brick with pending heals, restart and heal, a crashed peer (disconnected, its brick
//! down, the check CRITICAL) and its return, a real split-brain, the volume stopped; a gluster
//! CLI that hangs (a stand-in script serving captured answers, then sleeping); and
//! `quorate sandbox up --gluster --netns` / `down` through the binary.
//!
//! Every sandbox has its own namespaces, glusterd state, /run and log directories, so these
//! tests run in parallel with each other and never touch the machine's own glusterd.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant, SystemTime};

use common::plugin::{run_quorate, validate_plugin_output};
use common::{promtool_check_metrics, sample, ServeProcess};
use quorate::gluster::collector::{collect_once, split_brain_files};
use quorate::gluster::{reading, GlusterCli, GlusterConfig};
use quorate::sandbox::{self, SandboxGuard, UpOptions};

/// Polls `/metrics` until `ok` accepts the body; panics with the last body after `timeout`.
fn wait_metrics(
    serve: &ServeProcess,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&str) -> bool,
) -> String {
    let start = Instant::now();
    loop {
        let body = serve.get("/metrics").body;
        if ok(&body) {
            return body;
        }
        assert!(
            start.elapsed() < timeout,
            "{what}: not seen within {timeout:?}; last scrape:\n{}\nserve log:\n{}",
            body.lines()
                .filter(|l| l.starts_with("gluster"))
                .collect::<Vec<_>>()
                .join("\n"),
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

fn brick(name: &str) -> String {
    format!("brick=\"{name}\"")
}

fn gluster_config(config_path: &Path) -> GlusterConfig {
    let settings = quorate::config::load(config_path)
        .expect("sandbox config loads")
        .settings;
    GlusterConfig {
        // The mount probe re-executes quorate, not this test binary.
        probe_program: env!("CARGO_BIN_EXE_quorate").into(),
        ..GlusterConfig::from_settings(&settings, Some("node1")).expect("GlusterFS source enabled")
    }
}

/// A copy of the sandbox's configuration in `dir` whose mount point is not probed: a test that
/// counts pending heals while a brick is down must not have the probe's writes in them.
fn without_mount_probe(config: &Path, dir: &Path) -> std::path::PathBuf {
    let text = std::fs::read_to_string(config).expect("sandbox config");
    let edited = text.replacen(
        "  gluster:\n",
        "  gluster:\n    probe_mount_point: false\n",
        1,
    );
    assert_ne!(
        edited, text,
        "the sandbox config has a quorate.gluster section"
    );
    let path = dir.join("quorate-no-mount-probe.yaml");
    std::fs::write(&path, edited).expect("write config");
    path
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime")
}

/// A GlusterFS-only sandbox (`--nodes 0 --gluster`) in `DIR/sb`, torn down on drop.
fn gluster_sandbox(dir: &Path) -> SandboxGuard {
    SandboxGuard::new(
        sandbox::up_gluster(&UpOptions {
            dir: dir.join("sb"),
            nodes: 0,
        })
        .expect("sandbox up --gluster"),
    )
}

#[test]
fn real_pool_brick_loss_peer_crash_heal_and_split_brain() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = gluster_sandbox(dir.path());
    let g = sb.gluster().expect("sandbox has a volume");
    let names: Vec<String> = (0..3).map(|i| g.brick_name(i).expect("brick")).collect();
    let config_path = without_mount_probe(&sb.config_path(), dir.path());
    let config = gluster_config(&config_path);
    let serve = ServeProcess::start(&config_path, &[]);

    // Healthy: every brick up, 0 pending everywhere.
    let body = wait_metrics(&serve, "healthy volume", Duration::from_secs(30), |b| {
        sample(b, "gluster_up", &[]) == Some(1.0)
            && names
                .iter()
                .all(|n| sample(b, "gluster_heal_pending_entries", &[&brick(n)]) == Some(0.0))
    });
    for n in &names {
        assert_eq!(
            sample(&body, "gluster_brick_up", &[&brick(n)]),
            Some(1.0),
            "{n}"
        );
        assert_eq!(
            sample(&body, "gluster_heal_split_brain_entries", &[&brick(n)]),
            Some(0.0)
        );
        assert!(sample(&body, "gluster_brick_size_bytes", &[&brick(n)]).is_some_and(|s| s > 0.0));
    }
    assert_eq!(
        sample(&body, "gluster_volume_up", &["volume=\"gv\""]),
        Some(1.0)
    );
    assert_eq!(
        sample(&body, "gluster_volume_replicas", &["volume=\"gv\""]),
        Some(3.0)
    );
    assert_eq!(
        sample(&body, "gluster_volume_bricks", &["volume=\"gv\""]),
        Some(3.0)
    );
    let peer = g.peer_address().expect("the sandbox's peer").to_string();
    let peer_label = format!("peer=\"{peer}\"");
    assert_eq!(
        sample(&body, "gluster_peer_connected", &[&peer_label]),
        Some(1.0)
    );
    assert!(!body.contains("pid="), "no pid labels");
    promtool_check_metrics(&body).expect("healthy scrape lints clean");

    // Kill brick 3, write through the mount: pending on the two live bricks, unknown on the
    // dead one (no series), which is down.
    g.kill_brick(2).expect("kill brick 3");
    for i in 0..5 {
        std::fs::write(g.mount().join(format!("f{i}")), format!("x{i}\n")).expect("write");
    }
    let body = wait_metrics(
        &serve,
        "pending heals after a brick loss",
        Duration::from_secs(30),
        |b| {
            sample(b, "gluster_brick_up", &[&brick(&names[2])]) == Some(0.0)
                && names[..2].iter().all(|n| {
                    sample(b, "gluster_heal_pending_entries", &[&brick(n)])
                        .is_some_and(|p| p >= 5.0)
                })
                && sample(b, "gluster_heal_brick_connected", &[&brick(&names[2])]) == Some(0.0)
        },
    );
    assert_eq!(
        sample(&body, "gluster_heal_pending_entries", &[&brick(&names[2])]),
        None,
        "a dead brick's count is unknown, never 0"
    );
    assert_eq!(
        sample(&body, "gluster_volume_bricks_up", &["volume=\"gv\""]),
        Some(2.0)
    );
    assert_eq!(
        sample(
            &body,
            "gluster_volume_replica_set_min_bricks_up",
            &["volume=\"gv\""]
        ),
        Some(2.0)
    );
    promtool_check_metrics(&body).expect("degraded scrape lints clean");

    // The judgement input a check evaluates, collected once (as `quorate check` would).
    let snapshot = runtime().block_on(collect_once(&config));
    let r = reading(&snapshot, SystemTime::now(), Some("gv"));
    assert!(r.up, "{:?}", r.error);
    let v = r.volume("gv").expect("gv");
    assert_eq!(
        (v.replica_count, v.bricks_down(), v.min_bricks_up_per_set()),
        (3, 1, 2)
    );
    let pending = v.heal_pending();
    assert_eq!(pending.unknown_bricks, 1);
    assert!(pending.max.is_some_and(|p| p >= 5), "{pending:?}");
    assert_eq!(v.split_brain().max, Some(0));

    // Restart the brick and heal: back to 0 everywhere.
    g.start_bricks().expect("restart bricks");
    g.heal().expect("heal");
    wait_metrics(&serve, "healed", Duration::from_secs(90), |b| {
        names.iter().all(|n| {
            sample(b, "gluster_brick_up", &[&brick(n)]) == Some(1.0)
                && sample(b, "gluster_heal_pending_entries", &[&brick(n)]) == Some(0.0)
        })
    });

    // A crashed peer (its glusterd and brick killed): disconnected, its brick down and its
    // heal count unknown, the other bricks still exported; the check is CRITICAL naming both.
    // Through the CLI an operator rehearses with (which calls the same library).
    let sandbox_dir = sb.dir().display().to_string();
    let fault = |what: &str| {
        let r = run_quorate(&["sandbox", "gluster", "--dir", &sandbox_dir, what], &[]);
        assert_eq!(r.code, 0, "sandbox gluster {what}: {r:?}");
        r.stdout
    };
    let refused = run_quorate(
        &["sandbox", "gluster", "--dir", &sandbox_dir, "kill-brick"],
        &[],
    );
    assert!(
        refused.code == 1 && refused.stderr.contains("kill-brick needs --brick N"),
        "{refused:?}"
    );
    assert!(fault("crash-peer").starts_with(&format!("peer {peer} crashed")));
    let body = wait_metrics(&serve, "peer disconnected", Duration::from_secs(30), |b| {
        sample(b, "gluster_peer_connected", &[&peer_label]) == Some(0.0)
            && sample(b, "gluster_brick_up", &[&brick(&names[2])]) == Some(0.0)
            && sample(b, "gluster_heal_brick_connected", &[&brick(&names[2])]) == Some(0.0)
    });
    for n in &names[..2] {
        assert_eq!(
            sample(&body, "gluster_brick_up", &[&brick(n)]),
            Some(1.0),
            "{n}"
        );
        assert_eq!(
            sample(&body, "gluster_heal_pending_entries", &[&brick(n)]),
            Some(0.0),
            "{n}"
        );
    }
    assert_eq!(
        sample(&body, "gluster_heal_pending_entries", &[&brick(&names[2])]),
        None,
        "an unreachable brick's count is unknown, never 0"
    );
    assert_eq!(sample(&body, "gluster_up", &[]), Some(1.0));
    promtool_check_metrics(&body).expect("peer-down scrape lints clean");
    let config_arg = config_path.display().to_string();
    let check = run_quorate(&["check", "gluster", "--config", &config_arg], &[]);
    validate_plugin_output(&check.stdout, check.code)
        .unwrap_or_else(|e| panic!("{e}: {}", check.stdout));
    assert_eq!(check.code, 2, "{}", check.stdout);
    assert!(
        check.first_line().starts_with(&format!(
            "GLUSTER CRITICAL - peer {peer} disconnected; gv: brick {} down",
            names[2]
        )),
        "{}",
        check.stdout
    );
    assert!(fault("start-peer").starts_with(&format!("peer {peer} started")));
    wait_metrics(&serve, "peer back", Duration::from_secs(60), |b| {
        sample(b, "gluster_peer_connected", &[&peer_label]) == Some(1.0)
            && names
                .iter()
                .all(|n| sample(b, "gluster_brick_up", &[&brick(n)]) == Some(1.0))
    });

    // A real split-brain: split-brain count 1 on every brick.
    g.make_split_brain("sb").expect("split-brain");
    let body = wait_metrics(&serve, "split-brain", Duration::from_secs(30), |b| {
        names
            .iter()
            .all(|n| sample(b, "gluster_heal_split_brain_entries", &[&brick(n)]) == Some(1.0))
    });
    assert_eq!(sample(&body, "gluster_up", &[]), Some(1.0));
    let snapshot = runtime().block_on(collect_once(&config));
    let v = reading(&snapshot, SystemTime::now(), None)
        .volumes
        .into_iter()
        .find(|v| v.name == "gv")
        .expect("gv");
    assert_eq!(v.split_brain().max, Some(1));
    assert_eq!(v.split_brain().unknown_bricks, 0);
    // The file list, on request.
    let cli = GlusterCli::new(config.command.clone());
    let listed = runtime()
        .block_on(split_brain_files(&cli, "gv", Duration::from_secs(30), 10))
        .expect("info split-brain");
    assert_eq!(listed.len(), 3);
    // One entry per brick; a brick whose copy glfsheal cannot resolve to a path lists the
    // entry by gfid (seen on the brick that was written alone).
    assert!(
        listed
            .iter()
            .all(|b| b.files.len() == 1 && b.entries == Some(1)),
        "{listed:?}"
    );
    assert!(listed.iter().any(|b| b.files == ["/sb"]), "{listed:?}");

    // The volume stopped: still collected (gluster_up 1), the volume and every brick down,
    // the check CRITICAL. Teardown copes with a stopped volume.
    g.cli(&["volume", "stop", "gv"]).expect("volume stop");
    let body = wait_metrics(&serve, "volume stopped", Duration::from_secs(30), |b| {
        sample(b, "gluster_volume_up", &["volume=\"gv\""]) == Some(0.0)
    });
    assert_eq!(sample(&body, "gluster_up", &[]), Some(1.0));
    for n in &names {
        assert_eq!(
            sample(&body, "gluster_brick_up", &[&brick(n)]),
            Some(0.0),
            "{n}"
        );
    }
    let check = run_quorate(&["check", "gluster", "--config", &config_arg], &[]);
    assert_eq!(check.code, 2, "{}", check.stdout);
    assert!(
        check
            .first_line()
            .starts_with("GLUSTER CRITICAL - volume gv is not started"),
        "{}",
        check.stdout
    );

    assert!(serve.terminate().success());
    let namespaces: Vec<String> = g.namespaces().iter().map(|n| n.to_string()).collect();
    assert_eq!(namespaces.len(), 2, "{namespaces:?}");
    sb.down().expect("sandbox down");
    for namespace in &namespaces {
        assert!(
            !Path::new("/run/netns").join(namespace).exists(),
            "namespace {namespace} removed"
        );
    }
    assert!(!dir.path().join("sb").exists());
}

/// State of `pid` and its parent, from /proc/PID/stat.
fn proc_state(pid: u32) -> Option<(char, u32)> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let mut it = after.split_whitespace();
    Some((it.next()?.chars().next()?, it.next()?.parse().ok()?))
}

fn zombie_children_of(parent: u32) -> Vec<u32> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .filter(|&pid| proc_state(pid).is_some_and(|(s, pp)| s == 'Z' && pp == parent))
                .collect()
        })
        .unwrap_or_default()
}

/// Ends the stand-in processes recorded in `DIR/pids` that are still running (checked by
/// command line: the script's path or the `sleep 1000` it forks), when the test ends.
struct StandInReaper(std::path::PathBuf);

impl Drop for StandInReaper {
    fn drop(&mut self) {
        let script = self.0.join("gluster").display().to_string();
        let pids = std::fs::read_to_string(self.0.join("pids")).unwrap_or_default();
        for pid in pids
            .split_whitespace()
            .filter_map(|p| p.parse::<u32>().ok())
        {
            let cmdline = std::fs::read(format!("/proc/{pid}/cmdline"))
                .map(|c| String::from_utf8_lossy(&c).replace('\0', " "))
                .unwrap_or_default();
            if cmdline.contains(&script) || cmdline.trim() == "sleep 1000" {
                common::signal(pid, libc::SIGKILL);
            }
        }
    }
}

#[test]
fn hanging_cli_times_out_without_zombies_and_last_data_is_served() {
    let dir = tempfile::tempdir().expect("temp dir");
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/gluster");
    let d = dir.path();
    // A stand-in for gluster: answers from captured fixtures until `hang` exists, then hangs
    // together with a child it forks (as gluster forks glfsheal).
    let script = d.join("gluster");
    std::fs::write(
        &script,
        format!(
            r#"#!/bin/sh
echo $$ >> {d}/pids
if [ -e {d}/hang ]; then
    sleep 1000 &
    echo $! >> {d}/pids
    wait
fi
case "$*" in
    *"volume info"*) cat {f}/volume-info-healthy.xml ;;
    *"volume status"*) cat {f}/volume-status-gv-detail-healthy.xml ;;
    *"peer status"*) cat {f}/peer-status-connected.xml ;;
    *"info summary"*) cat {f}/heal-summary-brick-killed.xml ;;
    *) exit 2 ;;
esac
"#,
            d = d.display(),
            f = fixtures.display()
        ),
    )
    .expect("script");
    std::fs::set_permissions(&script, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    // Whatever happens (a failing assertion kills serve with SIGKILL), no stand-in survives.
    let _reaper = StandInReaper(d.to_path_buf());
    let config = d.join("quorate.yaml");
    std::fs::write(
        &config,
        format!(
            "cluster: {{name: t}}\nstorage:\n  glusterfs: {{volume_name: gv}}\nnodes:\n  controllers:\n    - {{hostname: node1, ip_address: 127.0.0.1, services: {{glusterfs: true}}}}\nquorate:\n  node: node1\n  gluster:\n    command: [{}]\n    timeout: 1s\n    heal_timeout: 1s\n    interval: 1s\n  intervals:\n    gluster_heal: 1s\n",
            script.display()
        ),
    )
    .expect("config");
    let serve = ServeProcess::start(&config, &[]);
    let b2 = "brick=\"10.254.0.1:/tmp/qgcap/a/b2\"";
    let b1 = "brick=\"10.254.0.1:/tmp/qgcap/a/b1\"";
    let body = wait_metrics(
        &serve,
        "answers from the stand-in",
        Duration::from_secs(20),
        |b| {
            sample(b, "gluster_up", &[]) == Some(1.0)
                && sample(b, "gluster_heal_pending_entries", &[b1]).is_some()
        },
    );
    let last_success =
        sample(&body, "gluster_last_success_timestamp_seconds", &[]).expect("timestamp");
    assert_eq!(sample(&body, "gluster_heal_pending_entries", &[b2]), None);

    // Now every gluster call hangs: /metrics keeps answering at once with the last good data.
    std::fs::write(d.join("hang"), b"").expect("hang flag");
    let start = Instant::now();
    let mut slowest = Duration::ZERO;
    let body = loop {
        let t = Instant::now();
        let body = serve.get("/metrics").body;
        slowest = slowest.max(t.elapsed());
        if sample(&body, "gluster_up", &[]) == Some(0.0)
            && sample(&body, "gluster_cli_timeouts_total", &[]).is_some_and(|n| n >= 2.0)
        {
            break body;
        }
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "never timed out:\n{body}\n{}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    };
    assert!(
        slowest < Duration::from_millis(500),
        "a scrape waited on gluster: {slowest:?}"
    );
    assert_eq!(
        sample(&body, "gluster_last_success_timestamp_seconds", &[]),
        Some(last_success),
        "the last good data and its age are kept"
    );
    assert_eq!(sample(&body, "gluster_brick_up", &[b1]), Some(1.0));
    assert!(sample(&body, "gluster_heal_pending_entries", &[b1]).is_some());
    assert_eq!(
        sample(
            &body,
            "quorate_collector_success",
            &["collector=\"gluster\""]
        ),
        Some(0.0)
    );
    promtool_check_metrics(&body).expect("stale scrape lints clean");
    assert!(
        serve.log().contains("did not finish within"),
        "{}",
        serve.log()
    );

    // Unhang; collection recovers. Then every process the stand-in ever ran is gone and the
    // exporter has no zombie children.
    std::fs::remove_file(d.join("hang")).expect("unhang");
    wait_metrics(&serve, "recovery", Duration::from_secs(20), |b| {
        sample(b, "gluster_up", &[]) == Some(1.0)
    });
    std::thread::sleep(Duration::from_millis(500));
    assert_eq!(zombie_children_of(serve.pid()), Vec::<u32>::new());

    // Hang again with a long timeout (a reload restarts the collector, which kills the command
    // in flight), then stop the exporter: it must not wait for the hung command.
    std::fs::write(d.join("hang"), b"").expect("hang flag");
    let long = std::fs::read_to_string(&config)
        .expect("config")
        .replace("timeout: 1s", "timeout: 60s");
    std::fs::write(&config, long).expect("config with long timeouts");
    let start = Instant::now();
    while !serve.log().contains("configuration reloaded") {
        assert!(
            start.elapsed() < Duration::from_secs(20),
            "no reload: {}",
            serve.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    // The new collector's first state command (60 s timeout) starts at once and hangs.
    std::thread::sleep(Duration::from_secs(1));
    let serve_pid = serve.pid();
    let start = Instant::now();
    assert!(serve.terminate().success());
    assert!(
        start.elapsed() < Duration::from_secs(5),
        "shutdown waited {:?} for a hung gluster",
        start.elapsed()
    );

    // Every process the stand-in ever ran is gone (at most a zombie awaiting init, never one
    // of the exporter's).
    let pids: Vec<u32> = std::fs::read_to_string(d.join("pids"))
        .expect("pids")
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    assert!(pids.len() > 4, "{pids:?}");
    let deadline = Instant::now() + Duration::from_secs(10);
    for pid in pids {
        while let Some((state, parent)) = proc_state(pid) {
            if state == 'Z' && parent != serve_pid {
                break;
            }
            assert!(
                Instant::now() < deadline,
                "stand-in process {pid} still {state} (parent {parent})"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

#[test]
fn sandbox_cli_up_gluster_with_netns_galera_and_down() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb_dir = dir.path().join("sb");
    let quorate = env!("CARGO_BIN_EXE_quorate");
    let up = Command::new(quorate)
        .args([
            "sandbox",
            "up",
            "--nodes",
            "1",
            "--gluster",
            "--netns",
            "--dir",
        ])
        .arg(&sb_dir)
        .output()
        .expect("run quorate sandbox up");
    // Whatever happens below, the sandbox is torn down.
    let guard = sandbox::open(&sb_dir).map(SandboxGuard::new);
    assert!(
        up.status.success(),
        "sandbox up --gluster failed: {}{}",
        String::from_utf8_lossy(&up.stdout),
        String::from_utf8_lossy(&up.stderr)
    );
    let sb = guard.expect("sandbox.json written");
    let stdout = String::from_utf8_lossy(&up.stdout);
    assert!(
        stdout.contains("volume gv in network namespace qsb-"),
        "{stdout}"
    );
    // --netns: node1 in a namespace of its own, on the whole network's bridge.
    assert!(stdout.contains("10.77.0.1    segment qbr0"), "{stdout}");
    let namespaces: Vec<String> = sb
        .gluster()
        .expect("gluster part")
        .namespaces()
        .iter()
        .map(|n| n.to_string())
        .collect();

    let yaml = std::fs::read_to_string(sb.config_path()).expect("quorate.yaml");
    for part in [
        "volume_name: gv",
        "glusterfs: true",
        "gluster:",
        "command: [",
    ] {
        assert!(yaml.contains(part), "{part} missing from\n{yaml}");
    }
    let serve = ServeProcess::start(&sb.config_path(), &[]);
    let body = wait_metrics(&serve, "both sources", Duration::from_secs(30), |b| {
        sample(b, "gluster_up", &[]) == Some(1.0) && sample(b, "mysql_up", &[]) == Some(1.0)
    });
    assert!(sample(&body, "gluster_heal_pending_entries", &["volume=\"gv\""]).is_some());
    // /probe is about MariaDB nodes only.
    let probe = serve.get("/probe?target=node1").body;
    assert!(!probe.contains("gluster_up"), "{probe}");
    assert!(serve.terminate().success());

    let _ = sb.into_inner();
    let down = Command::new(quorate)
        .args(["sandbox", "down", "--dir"])
        .arg(&sb_dir)
        .output()
        .expect("run quorate sandbox down");
    assert!(
        down.status.success(),
        "{}",
        String::from_utf8_lossy(&down.stderr)
    );
    assert!(!sb_dir.exists());
    for namespace in &namespaces {
        assert!(
            !Path::new("/run/netns").join(namespace).exists(),
            "{namespace}"
        );
    }

    // --nodes 0 without --gluster is refused before anything starts.
    let refused = Command::new(quorate)
        .args(["sandbox", "up", "--nodes", "0", "--dir"])
        .arg(dir.path().join("none"))
        .output()
        .expect("run");
    assert_eq!(refused.status.code(), Some(1));
    assert!(!dir.path().join("none").exists());
}

/// The value of `reason` in the mount's `gluster_mount_probe_failure_info` series, if any.
fn mount_failure_reason(body: &str, mount_label: &str) -> Option<String> {
    body.lines()
        .filter(|l| l.starts_with("gluster_mount_probe_failure_info{") && l.contains(mount_label))
        .find_map(|l| {
            let after = l.split("reason=\"").nth(1)?;
            Some(after.split('"').next()?.to_string())
        })
}

/// The live `quorate probe-mount` children of `parent` and their states.
fn probe_children(parent: u32) -> Vec<(u32, char)> {
    std::fs::read_dir("/proc")
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .filter_map(|pid| {
                    let (state, pp) = proc_state(pid)?;
                    let cmdline = std::fs::read(format!("/proc/{pid}/cmdline")).ok()?;
                    let is_probe = String::from_utf8_lossy(&cmdline).contains("probe-mount");
                    (pp == parent && is_probe && state != 'Z').then_some((pid, state))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Threads of `pid` in uninterruptible sleep (`D`).
fn threads_in_d_state(pid: u32) -> Vec<u32> {
    std::fs::read_dir(format!("/proc/{pid}/task"))
        .map(|entries| {
            entries
                .flatten()
                .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
                .filter(|tid| {
                    std::fs::read_to_string(format!("/proc/{pid}/task/{tid}/stat"))
                        .ok()
                        .and_then(|s| Some(s.rsplit_once(')')?.1.trim_start().starts_with('D')))
                        .unwrap_or(false)
                })
                .collect()
        })
        .unwrap_or_default()
}

/// Processes stopped with SIGSTOP, continued on drop (even when an assertion fails, so the
/// sandbox's teardown never meets a frozen mount).
struct Frozen(Vec<u32>);

impl Frozen {
    fn freeze(pids: Vec<u32>) -> Frozen {
        for &pid in &pids {
            common::signal(pid, libc::SIGSTOP);
        }
        Frozen(pids)
    }
}

impl Drop for Frozen {
    fn drop(&mut self) {
        for &pid in &self.0 {
            common::signal(pid, libc::SIGCONT);
        }
    }
}

/// Scrapes every 200 ms for `how_long` (or until `done` says so): the distinct reason classes
/// in order, the slowest scrape, the most probe children at once and whether one was seen in
/// uninterruptible sleep.
struct Watched {
    reasons: Vec<String>,
    slowest: Duration,
    most_in_flight: usize,
    saw_d_state: bool,
}

fn watch(
    serve: &ServeProcess,
    label: &str,
    how_long: Duration,
    done: impl Fn(&[String]) -> bool,
) -> Watched {
    let since = Instant::now();
    let mut w = Watched {
        reasons: Vec::new(),
        slowest: Duration::ZERO,
        most_in_flight: 0,
        saw_d_state: false,
    };
    while since.elapsed() < how_long && !done(&w.reasons) {
        let asked = Instant::now();
        let body = serve.get("/metrics").body;
        w.slowest = w.slowest.max(asked.elapsed());
        let children = probe_children(serve.pid());
        w.most_in_flight = w.most_in_flight.max(children.len());
        w.saw_d_state |= children.iter().any(|(_, state)| *state == 'D');
        if let Some(r) = mount_failure_reason(&body, label) {
            if w.reasons.last() != Some(&r) {
                w.reasons.push(r);
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    w
}

/// After a mount came back: no probe child is left (one just started may finish), no zombie
/// stays unreaped, no thread of the exporter sleeps uninterruptibly, no probe file is left.
fn nothing_left_behind(
    serve: &ServeProcess,
    leftovers: &dyn Fn() -> Vec<String>,
    probe_timeout: Duration,
) {
    let settle = Instant::now();
    while !probe_children(serve.pid()).is_empty() && settle.elapsed() < probe_timeout {
        std::thread::sleep(Duration::from_millis(100));
    }
    assert_eq!(probe_children(serve.pid()), Vec::new());
    // A child just exiting is a zombie until its reaper polls; one that stays is a leak.
    let zombies = zombie_children_of(serve.pid());
    std::thread::sleep(Duration::from_secs(1));
    let lasting: Vec<u32> = zombie_children_of(serve.pid())
        .into_iter()
        .filter(|z| zombies.contains(z))
        .collect();
    assert_eq!(lasting, Vec::<u32>::new(), "zombies that were not reaped");
    assert_eq!(threads_in_d_state(serve.pid()), Vec::<u32>::new());
    assert_eq!(leftovers(), Vec::<String>::new());
}

#[test]
fn mount_probe_healthy_bricks_killed_client_and_bricks_frozen() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = gluster_sandbox(dir.path());
    let g = sb.gluster().expect("sandbox has a volume");
    let mount = g.mount().to_path_buf();
    let label = format!("mount=\"{}\"", mount.display());
    let config = sb.config_path();
    let config_arg = config.display().to_string();
    // Stopped bricks are given up after 8 s instead of 42 (the client then answers the stuck
    // probe's request with an error); the option switches the client's graph, so wait for it.
    g.set_option("network.ping-timeout", "8")
        .expect("set network.ping-timeout");
    let switched = Instant::now();
    while !(0..3).all(|i| g.client_connected(i)) {
        assert!(
            switched.elapsed() < Duration::from_secs(30),
            "the client did not reconnect"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    let serve = ServeProcess::start(&config, &[]);
    let leftovers = || -> Vec<String> {
        std::fs::read_dir(&mount)
            .expect("list the mount")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|n| n.starts_with(".quorate-probe-"))
            .collect()
    };
    // The sandbox's settings: probe every 2 s, killed after 3 s.
    let (interval, probe_timeout) = (Duration::from_secs(2), Duration::from_secs(3));

    // Healthy: up, a last success, no failure series, no file left behind.
    let body = wait_metrics(&serve, "the mount probed", Duration::from_secs(20), |b| {
        sample(b, "gluster_mount_up", &[&label]) == Some(1.0)
    });
    assert!(sample(
        &body,
        "gluster_mount_last_success_timestamp_seconds",
        &[&label]
    )
    .is_some());
    assert!(
        sample(&body, "gluster_mount_probe_duration_seconds", &[&label])
            .is_some_and(|d| d < probe_timeout.as_secs_f64())
    );
    assert_eq!(mount_failure_reason(&body, &label), None);
    promtool_check_metrics(&body).expect("scrape with mount series lints clean");
    assert_eq!(leftovers(), Vec::<String>::new());
    let check = run_quorate(&["check", "gluster", "--config", &config_arg], &[]);
    assert_eq!(check.code, 0, "{}{}", check.stdout, check.stderr);
    assert!(check.stdout.contains("writable"), "{}", check.stdout);

    // Every brick killed: the next probe fails (within one interval plus its timeout) and
    // `check gluster` names the mount.
    g.kill_bricks(&[0, 1, 2]).expect("kill every brick");
    let killed = Instant::now();
    let body = wait_metrics(
        &serve,
        "the probe failing with every brick dead",
        interval + probe_timeout + Duration::from_secs(3),
        |b| sample(b, "gluster_mount_up", &[&label]) == Some(0.0),
    );
    let reason = mount_failure_reason(&body, &label).expect("a failure reason");
    eprintln!(
        "bricks killed: mount down after {:?} ({reason})",
        killed.elapsed()
    );
    assert!(
        ["stat_failed", "write_failed", "read_failed"].contains(&reason.as_str()),
        "{reason}"
    );
    let check = run_quorate(&["check", "gluster", "--config", &config_arg], &[]);
    assert_eq!(check.code, 2, "{}", check.stdout);
    assert!(
        check
            .stdout
            .contains(&format!("mount {} down ({reason})", mount.display())),
        "{}",
        check.stdout
    );
    g.start_bricks().expect("bricks back");
    let back = Instant::now();
    wait_metrics(
        &serve,
        "the probe passing again",
        interval + probe_timeout + Duration::from_secs(10),
        |b| {
            sample(b, "gluster_mount_up", &[&label]) == Some(1.0)
                && mount_failure_reason(b, &label).is_none()
        },
    );
    eprintln!("bricks back: mount up after {:?}", back.elapsed());

    // The FUSE client frozen: probes time out (or stay stuck), never more than one in flight,
    // while /metrics answers at once.
    let client = g.client_pid().expect("the FUSE client's pid");
    let frozen = Frozen::freeze(vec![client]);
    let w = watch(&serve, &label, interval * 2 + probe_timeout * 2, |_| false);
    eprintln!(
        "client frozen: reasons {:?}, slowest scrape {:?}, at most {} probe(s) in flight",
        w.reasons, w.slowest, w.most_in_flight
    );
    assert!(
        w.reasons.iter().any(|r| r == "timeout" || r == "stuck"),
        "{:?}\n{}",
        w.reasons,
        serve.log()
    );
    assert!(
        w.reasons.iter().all(|r| r == "timeout" || r == "stuck"),
        "{:?}",
        w.reasons
    );
    assert!(
        w.slowest < Duration::from_secs(1),
        "a scrape took {:?}",
        w.slowest
    );
    assert!(w.most_in_flight <= 1, "{} probes at once", w.most_in_flight);
    assert!(
        serve.log().contains("GlusterFS mount probe failed"),
        "{}",
        serve.log()
    );

    // Thawed: the probe passes again, nothing is left stuck, no probe file is left behind.
    drop(frozen);
    let thawed = Instant::now();
    wait_metrics(
        &serve,
        "the probe passing after the thaw",
        interval + probe_timeout * 2 + Duration::from_secs(5),
        |b| sample(b, "gluster_mount_up", &[&label]) == Some(1.0),
    );
    eprintln!("client thawed: mount up after {:?}", thawed.elapsed());
    nothing_left_behind(&serve, &leftovers, probe_timeout);

    // Every brick stopped (SIGSTOP): the client has taken the probe's request and waits for the
    // bricks, so the killed probe sleeps uninterruptibly until the client gives up on them
    // (network.ping-timeout, 8 s here). It is reported stuck and no second probe starts.
    let bricks = g.brick_pids().expect("brick pids");
    assert_eq!(bricks.len(), 3, "{bricks:?}");
    let frozen = Frozen::freeze(bricks);
    let w = watch(&serve, &label, Duration::from_secs(25), |r| {
        r.iter().any(|x| x == "stuck") && r.last().is_some_and(|x| x != "stuck")
    });
    eprintln!(
        "bricks frozen: reasons {:?}, slowest scrape {:?}, at most {} probe(s) in flight, D state seen: {}",
        w.reasons, w.slowest, w.most_in_flight, w.saw_d_state
    );
    assert!(
        w.reasons.iter().any(|r| r == "stuck"),
        "{:?}\n{}",
        w.reasons,
        serve.log()
    );
    assert!(w.saw_d_state, "the stuck probe was never seen in D state");
    assert!(
        w.slowest < Duration::from_secs(1),
        "a scrape took {:?}",
        w.slowest
    );
    assert!(w.most_in_flight <= 1, "{} probes at once", w.most_in_flight);
    drop(frozen);
    let thawed = Instant::now();
    wait_metrics(
        &serve,
        "the probe passing after the bricks continue",
        Duration::from_secs(30),
        |b| sample(b, "gluster_mount_up", &[&label]) == Some(1.0),
    );
    eprintln!("bricks thawed: mount up after {:?}", thawed.elapsed());
    nothing_left_behind(&serve, &leftovers, probe_timeout);
    assert!(serve.log().contains("GlusterFS mount probe passed again"));
    assert!(serve.terminate().success());
    sb.down().expect("sandbox down");
}
