//! `quorate check gluster` and `quorate discover gluster` against a real glusterd pool (a
//! GlusterFS-only sandbox: two peered glusterds in network namespaces of their own and a
//! replica-3 volume across them; a crashed peer is tested in `tests/gluster.rs`): healthy →
//! OK; a killed brick plus writes → CRITICAL with the pending entries counted and the dead
//! brick's count reported unknown; restart and heal; a real split-brain → CRITICAL. Every
//! output is checked against the plugin grammar. The real `zabbix_agentd -t` runs our gluster
//! keys.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::plugin::{perf, run_quorate, run_shell, validate_plugin_output, PluginRun};
use quorate::sandbox::{self, SandboxGuard, UpOptions};

fn check(config: &str, args: &[&str]) -> PluginRun {
    let r = run_quorate(
        &[&["check", "gluster", "--config", config, "-t", "30"], args].concat(),
        &[],
    );
    if !args.contains(&"zabbix") {
        validate_plugin_output(&r.stdout, r.code).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    }
    r
}

/// Runs the check until `ok` accepts it; panics with the last output after `timeout`.
fn wait_check(
    config: &str,
    what: &str,
    timeout: Duration,
    ok: impl Fn(&PluginRun) -> bool,
) -> PluginRun {
    let start = Instant::now();
    loop {
        let r = check(config, &["-v"]);
        if ok(&r) {
            return r;
        }
        assert!(
            start.elapsed() < timeout,
            "{what}: not seen within {timeout:?}; last output:\n{}",
            r.stdout
        );
        std::thread::sleep(Duration::from_millis(500));
    }
}

#[test]
fn check_gluster_on_a_real_volume() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = SandboxGuard::new(
        sandbox::up_gluster(&UpOptions {
            dir: dir.path().join("sb"),
            nodes: 0,
        })
        .expect("sandbox up --gluster"),
    );
    let g = sb.gluster().expect("sandbox has a volume");
    let config = sb.config_path();
    let config = config.to_str().expect("utf-8");

    // Healthy: OK, every count in the perfdata.
    let r = wait_check(config, "healthy", Duration::from_secs(30), |r| r.code == 0);
    assert!(r.stdout.starts_with("GLUSTER OK - "), "{}", r.stdout);
    for (label, value) in [
        ("bricks_up", "3"),
        ("bricks_total", "3"),
        ("bricks_min_per_set", "3"),
        ("pending", "0"),
        ("split_brain", "0"),
        ("possibly_healing", "0"),
        ("heal_unknown_bricks", "0"),
    ] {
        assert_eq!(
            perf(&r, label).as_deref(),
            Some(value),
            "{label}: {}",
            r.stdout
        );
    }
    assert_eq!(
        perf(&r, "peers_connected").as_deref(),
        Some("1"),
        "{}",
        r.stdout
    );
    assert!(perf(&r, "time").is_some(), "{}", r.stdout);

    // Zabbix: the same values as JSON, exit 0.
    let r = check(config, &["--format", "zabbix", "--volume", "gv"]);
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(json["status"], 0, "{json}");
    assert_eq!(json["bricks_up"], 3);
    assert_eq!(json["replica_count"], 3);

    // Discovery: the volume, and its bricks.
    let r = run_quorate(&["discover", "gluster", "--config", config], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("LLD");
    assert_eq!(json[0]["{#VOLUME}"], "gv", "{json}");
    let r = run_quorate(
        &["discover", "gluster", "--config", config, "--bricks"],
        &[],
    );
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("LLD");
    let bricks: Vec<String> = (0..3).map(|i| g.brick_name(i).expect("brick")).collect();
    assert_eq!(json.as_array().map(Vec::len), Some(3), "{json}");
    assert!(bricks.iter().all(|b| json
        .as_array()
        .is_some_and(|rows| rows.iter().any(|r| r["{#BRICK}"] == b.as_str()))));

    zabbix_agent_runs_our_gluster_items(dir.path(), config, &bricks);
    shipped_nagios_and_nrpe_gluster_lines_run(config);

    // Without `storage.glusterfs.volume_name` every volume is watched (`volume status all
    // detail`, heal info per volume listed): the same volume, found by itself.
    let mut every: serde_yaml_ng::Value =
        serde_yaml_ng::from_str(&std::fs::read_to_string(config).expect("config")).expect("yaml");
    every["storage"]["glusterfs"]
        .as_mapping_mut()
        .expect("storage.glusterfs")
        .remove("volume_name");
    let every_config = dir.path().join("every-volume.yaml");
    std::fs::write(
        &every_config,
        serde_yaml_ng::to_string(&every).expect("yaml"),
    )
    .expect("write config");
    let every_config = every_config.to_str().expect("utf-8");
    let r = check(every_config, &["-v"]);
    assert_eq!(r.code, 0, "{}", r.stdout);
    assert!(
        r.stdout.starts_with("GLUSTER OK - gv: 3/3 bricks up"),
        "{}",
        r.stdout
    );
    let r = run_quorate(&["discover", "gluster", "--config", every_config], &[]);
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("LLD");
    assert_eq!(json[0]["{#VOLUME}"], "gv", "{json}");
    assert_eq!(json.as_array().map(Vec::len), Some(1), "{json}");

    // Kill brick 3 and write: CRITICAL (brick down), pending counted on the live bricks, the
    // dead brick's count unknown (reported, never 0).
    g.kill_brick(2).expect("kill brick 3");
    for i in 0..5 {
        std::fs::write(g.mount().join(format!("f{i}")), format!("x{i}\n")).expect("write");
    }
    let r = wait_check(
        config,
        "brick down, pending",
        Duration::from_secs(30),
        |r| {
            perf(r, "pending")
                .and_then(|p| p.parse::<u64>().ok())
                .is_some_and(|p| p >= 5)
        },
    );
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.stdout.starts_with("GLUSTER CRITICAL - "), "{}", r.stdout);
    assert!(
        r.first_line()
            .contains(&format!("brick {} down", bricks[2])),
        "{}",
        r.stdout
    );
    assert_eq!(perf(&r, "bricks_up").as_deref(), Some("2"));
    assert_eq!(perf(&r, "bricks_min_per_set").as_deref(), Some("2"));
    assert_eq!(perf(&r, "heal_unknown_bricks").as_deref(), Some("1"));
    assert!(
        r.stdout.contains("heal counts unknown on 1 brick"),
        "{}",
        r.stdout
    );
    // With a brick down only warning, the replica ranges decide: 2 of 3 is WARNING.
    let r = check(config, &["--brick-down", "warning"]);
    assert_eq!(r.code, 1, "{}", r.stdout);

    // Restart and heal: OK again.
    g.start_bricks().expect("restart bricks");
    g.heal().expect("heal");
    wait_check(config, "healed", Duration::from_secs(90), |r| r.code == 0);

    // A real split-brain: CRITICAL.
    g.make_split_brain("sb").expect("split-brain");
    let r = wait_check(config, "split-brain", Duration::from_secs(30), |r| {
        perf(r, "split_brain").as_deref() == Some("1")
    });
    assert_eq!(r.code, 2, "{}", r.stdout);
    assert!(r.first_line().contains("in split-brain"), "{}", r.stdout);

    sb.down().expect("sandbox down");
}

/// `zabbix_agentd -t KEY` with our UserParameter file pointed at the sandbox's configuration.
fn zabbix(dir: &Path, config: &str, key: &str) -> String {
    common::zabbix::agent_item(
        &dir.join("zabbix"),
        &[("/etc/quorate/quorate.yaml", config)],
        &[("QUORATE_LOG", std::ffi::OsStr::new("warn"))],
        key,
    )
}

/// The gluster keys of our UserParameter file through the real agent, against the healthy
/// volume; every field the template's dependent items read has a value.
fn zabbix_agent_runs_our_gluster_items(dir: &Path, config: &str, bricks: &[String]) {
    let lld: serde_json::Value =
        serde_json::from_str(&zabbix(dir, config, "quorate.gluster.discovery")).expect("LLD");
    assert_eq!(lld[0]["{#VOLUME}"], "gv", "{lld}");
    assert_eq!(lld[0]["{#REPLICA}"], 3, "{lld}");
    let lld: serde_json::Value =
        serde_json::from_str(&zabbix(dir, config, "quorate.gluster.bricks.discovery"))
            .expect("LLD");
    let found: Vec<&str> = lld
        .as_array()
        .expect("array")
        .iter()
        .filter_map(|r| r["{#BRICK}"].as_str())
        .collect();
    assert_eq!(found, bricks, "{lld}");

    let fields = common::zabbix::dependent_fields();
    let wanted = &fields["quorate.gluster[{#VOLUME}]"];
    assert!(wanted.contains(&"split_brain".to_string()), "{wanted:?}");
    for key in ["quorate.gluster[gv]", "quorate.gluster[]"] {
        let json: serde_json::Value =
            serde_json::from_str(&zabbix(dir, config, key)).expect("item JSON");
        assert_eq!(json["status"], 0, "{key}: {json}");
        assert_eq!(json["volume"], "gv", "{key}: {json}");
        for f in wanted {
            assert!(
                json.get(f).is_some_and(|v| !v.is_null()),
                "{key}: template field {f} missing or null in {json}"
            );
        }
    }
}

/// The shipped Nagios command `check_quorate_gluster` and the NRPE command `check_gluster`,
/// macros expanded as Nagios would, run against the healthy volume.
fn shipped_nagios_and_nrpe_gluster_lines_run(config: &str) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_quorate");
    let expand = |line: &str| {
        line.replace("/usr/local/bin/quorate", bin)
            .replace("/etc/quorate/quorate.yaml", config)
            .replace("$ARG1$", "--volume gv")
    };
    let commands =
        std::fs::read_to_string(root.join("nagios/quorate-commands.cfg")).expect("commands file");
    let line = commands
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("command_line")
                .filter(|rest| rest.contains("quorate check gluster"))
        })
        .expect("a check gluster command line");
    let nrpe = std::fs::read_to_string(root.join("nagios/nrpe/quorate.cfg")).expect("nrpe file");
    let nrpe_line = nrpe
        .lines()
        .find_map(|l| l.strip_prefix("command[check_gluster]="))
        .expect("NRPE check_gluster");
    for line in [line.trim(), nrpe_line] {
        let r = run_shell(&expand(line), &[]);
        assert_eq!(r.code, 0, "{line}\n{}{}", r.stdout, r.stderr);
        assert!(
            r.stdout.starts_with("GLUSTER OK - "),
            "{line}: {}",
            r.stdout
        );
        validate_plugin_output(&r.stdout, r.code).unwrap();
    }
}
