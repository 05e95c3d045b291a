//! `quorate check backup` and `quorate discover backup` on real mariabackup backups: a 1-node
//! sandbox, a real full + incremental in a temporary root laid out like the seed's → OK; copies
//! of that tree aged (times in the info and metadata files, mtimes) → WARNING then CRITICAL,
//! with the chain broken → CRITICAL, with a newest run killed midway → WARNING; an empty root
//! → CRITICAL; a root that cannot be read → UNKNOWN naming it. The real `zabbix_agentd -t`
//! runs our backup keys, and the shipped Nagios and NRPE command lines run as they are.
//! Every plugin output is checked against the guidelines' grammar.
//!
//! The sandbox and the one pair of backups are shared by every step: variants are copies.

mod common;

use std::ffi::OsStr;
use std::fs;
use std::path::{Path, PathBuf};

use common::mariabackup::{
    age_backup, config_with_backup_root, copy_tree, sandbox_with_data, seed_name, to_lsn,
    BackupPair, RunningBackup,
};
use common::plugin::{perf, run_quorate, run_shell, validate_plugin_output, PluginRun};
use jiff::tz::TimeZone;
use jiff::{Timestamp, ToSpan};

/// `quorate check backup ARGS`, its output checked against the plugin grammar (unless Zabbix).
fn check(args: &[&str]) -> PluginRun {
    let r = run_quorate(&[&["check", "backup", "-t", "20"], args].concat(), &[]);
    if !args.contains(&"zabbix") {
        validate_plugin_output(&r.stdout, r.code).unwrap_or_else(|e| panic!("{e}: {}", r.stdout));
    }
    r
}

fn check_dir(root: &Path, args: &[&str]) -> PluginRun {
    check(&[&["--backup-dir", path_str(root)], args].concat())
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

fn perf_f64(r: &PluginRun, label: &str) -> f64 {
    perf(r, label)
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("perfdata {label} in {}", r.stdout))
}

fn expect(r: &PluginRun, code: i32, first_line_starts: &str) {
    assert_eq!(r.code, code, "{}{}", r.stdout, r.stderr);
    assert!(
        r.first_line().starts_with(first_line_starts),
        "expected {first_line_starts:?}:\n{}",
        r.stdout
    );
}

/// The same backup inside another root.
fn moved(path: &Path, from_root: &Path, to_root: &Path) -> PathBuf {
    to_root.join(path.strip_prefix(from_root).expect("under the root"))
}

fn zabbix(dir: &Path, config: &Path, key: &str) -> String {
    common::zabbix::agent_item(
        &dir.join("zabbix"),
        &[("/etc/quorate/quorate.yaml", path_str(config))],
        &[("QUORATE_LOG", OsStr::new("warn"))],
        key,
    )
}

#[test]
fn check_backup_on_real_mariabackup_backups() {
    let tz = TimeZone::system();
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = sandbox_with_data(dir.path());
    let socket = sb.socket("node1").expect("socket");
    let root = dir.path().join("backups");
    let pair = BackupPair::take_with_rows(&sb, &root, &tz, 1000);

    // The sandbox's configuration with quorate.backup.directories pointing at the root.
    let config = dir.path().join("quorate.yaml");
    let yaml = config_with_backup_root(&sb.config_path(), &root);
    fs::write(&config, serde_yaml_ng::to_string(&yaml).expect("yaml")).expect("write config");
    let config_arg = path_str(&config);

    // 1. Fresh full + incremental: OK, from the configuration or from --backup-dir.
    let r = check(&["--config", config_arg]);
    expect(&r, 0, "BACKUP OK - newest incremental incremental_");
    assert!(perf_f64(&r, "age") < 120.0, "{}", r.stdout);
    assert!(perf_f64(&r, "full_age") < 180.0, "{}", r.stdout);
    let full_size = perf_f64(&r, "full_size");
    assert!(full_size > 20e6, "{}", r.stdout);
    assert!(perf_f64(&r, "incremental_size") < full_size);
    assert_eq!(perf(&r, "count").as_deref(), Some("2"));
    assert_eq!(perf(&r, "chain_breaks").as_deref(), Some("0"));
    assert!(r.first_line().contains(";93600;180000 "), "{}", r.stdout);
    let r = check_dir(&root, &["--type", "full", "-w", "1h", "-c", "2h", "-v"]);
    expect(&r, 0, "BACKUP OK - newest full backup_");
    assert!(r.first_line().contains(";3600;7200 "), "{}", r.stdout);
    assert!(!r.first_line().contains("incremental_age"), "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("newest full: {}", pair.full.display())),
        "{}",
        r.stdout
    );
    assert_eq!(perf_f64(&r, "size"), full_size);
    // --min-size in SI and binary units; WARNING by default, CRITICAL when asked.
    expect(
        &check_dir(&root, &["--type", "full", "--min-size", "10MiB"]),
        0,
        "BACKUP OK",
    );
    let r = check_dir(&root, &["--type", "full", "--min-size", "1TB"]);
    expect(&r, 1, "BACKUP WARNING - newest full backup_");
    assert!(
        r.first_line().contains("smaller than --min-size 1.0 TB"),
        "{}",
        r.stdout
    );
    let r = check_dir(
        &root,
        &[
            "--type",
            "full",
            "--min-size",
            "1TB",
            "--too-small",
            "critical",
        ],
    );
    expect(&r, 2, "BACKUP CRITICAL - ");
    // Zabbix values: exit 0, the verdict in `status`.
    let r = check_dir(&root, &["--type", "incremental", "--format", "zabbix"]);
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(json["status"], 0, "{json}");
    assert_eq!(json["newest"], path_str(&pair.inc));
    assert_eq!(json["chain_intact"], 1);

    // Discovery: the two types, and the root.
    let r = run_quorate(&["discover", "backup", "--config", config_arg], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    assert_eq!(
        r.stdout.trim(),
        r#"[{"{#TYPE}":"full"},{"{#TYPE}":"incremental"}]"#
    );
    let r = run_quorate(
        &["discover", "backup", "--config", config_arg, "--dirs"],
        &[],
    );
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("LLD");
    assert_eq!(json[0]["{#DIR}"], path_str(&root), "{json}");

    zabbix_agent_runs_our_backup_items(dir.path(), &config, &root);
    shipped_nagios_and_nrpe_command_lines_run(&config);

    // 2. Aged (a copy): 30 h → WARNING, 60 h → CRITICAL; the age follows.
    let aged = dir.path().join("aged");
    copy_tree(&root, &aged);
    let (aged_full, aged_inc) = (
        moved(&pair.full, &root, &aged),
        moved(&pair.inc, &root, &aged),
    );
    for (hours, code, state) in [(30, 1, "WARNING"), (60, 2, "CRITICAL")] {
        age_backup(&aged_full, (hours + 1).hours(), &tz);
        age_backup(&aged_inc, hours.hours(), &tz);
        let r = check_dir(&aged, &[]);
        expect(&r, code, &format!("BACKUP {state} - newest incremental"));
        let age = perf_f64(&r, "age");
        let expected = f64::from(hours) * 3600.0;
        assert!((age - expected).abs() < 120.0, "{hours} h: {}", r.stdout);
        assert!(
            (perf_f64(&r, "full_age") - expected - 3600.0).abs() < 120.0,
            "{}",
            r.stdout
        );
    }
    // Weekly-full style ranges for the full alone: 61 h is fine below 8 days.
    expect(
        &check_dir(&aged, &["--type", "full", "-w", "8d", "-c", "15d"]),
        0,
        "BACKUP OK - newest full",
    );

    // 3. The chain broken (a copy): the incremental does not start where the full ends.
    let broken = dir.path().join("broken");
    copy_tree(&root, &broken);
    let cp = moved(&pair.inc, &root, &broken).join("xtrabackup_checkpoints");
    let from = to_lsn(&pair.full);
    let gap = from + 12345;
    let text = fs::read_to_string(&cp).expect("checkpoints");
    assert!(text.contains(&format!("from_lsn = {from}")), "{text}");
    fs::write(
        &cp,
        text.replace(&format!("from_lsn = {from}"), &format!("from_lsn = {gap}")),
    )
    .expect("break the chain");
    let r = check_dir(&broken, &[]);
    expect(&r, 2, "BACKUP CRITICAL - chain broken: incremental ");
    assert!(
        r.first_line().contains(&format!("starts at LSN {gap}")),
        "{}",
        r.stdout
    );
    assert_eq!(perf(&r, "chain_breaks").as_deref(), Some("1"));
    // A full-only check does not judge incrementals' links.
    expect(&check_dir(&broken, &["--type", "full"]), 0, "BACKUP OK");

    // 4. An empty root (the seed's directories, no backup): CRITICAL, naming the root.
    let empty = dir.path().join("empty");
    fs::create_dir_all(empty.join("full")).expect("mkdir");
    let r = check_dir(&empty, &[]);
    expect(
        &r,
        2,
        &format!(
            "BACKUP CRITICAL - no complete backup in {}",
            empty.display()
        ),
    );
    assert_eq!(perf(&r, "age").as_deref(), Some("U"));

    // 5. Roots that cannot be read: UNKNOWN naming them. Tests run as root, for whom mode 000
    //    changes nothing, so the unreadable roots are a file and a path that does not exist.
    let file = dir.path().join("not-a-directory");
    fs::write(&file, "x").expect("file");
    let r = check_dir(&file, &[]);
    expect(
        &r,
        3,
        &format!(
            "BACKUP UNKNOWN - {}: cannot read directory: Not a directory",
            file.display()
        ),
    );
    let missing = dir.path().join("missing");
    let r = check(&[
        "--backup-dir",
        path_str(&root),
        "--backup-dir",
        path_str(&missing),
    ]);
    expect(
        &r,
        3,
        &format!(
            "BACKUP UNKNOWN - {}: cannot read directory",
            missing.display()
        ),
    );
    let r = run_quorate(
        &["discover", "backup", "--backup-dir", path_str(&missing)],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains(path_str(&missing)), "{}", r.stderr);

    // 6. A newest run killed midway (a copy of the fresh tree): WARNING, naming it; the newest
    //    success is still the complete full.
    let killed_root = dir.path().join("killed");
    copy_tree(&root, &killed_root);
    let killed = killed_root.join("full").join(seed_name(
        "backup",
        Timestamp::now().checked_add(2.seconds()).expect("t"),
        &tz,
    ));
    let run = RunningBackup::start_and_stop(&socket, &killed);
    // While it runs it is no failure.
    expect(&check_dir(&killed_root, &[]), 0, "BACKUP OK");
    run.kill();
    let r = check_dir(&killed_root, &[]);
    expect(
        &r,
        1,
        &format!(
            "BACKUP WARNING - newest full attempt {} failed",
            killed.display()
        ),
    );
    let r = check_dir(&killed_root, &["--type", "full", "--format", "zabbix"]);
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(json["last_attempt_failed"], 1, "{json}");
    assert_eq!(json["failed_count"], 1, "{json}");
    assert_eq!(
        json["newest"],
        path_str(&moved(&pair.full, &root, &killed_root))
    );
    let r = check_dir(&killed_root, &["--failed-attempt", "critical"]);
    expect(&r, 2, "BACKUP CRITICAL - newest full attempt");

    // 8. `quorate sandbox backup` into the sandbox's own root, which its quorate.yaml names:
    //    empty at first (CRITICAL), an incremental with no full to base it on refused, then a
    //    real full and an incremental on it: OK, the chain intact.
    let sandbox_config = sb.config_path();
    let sandbox_config = path_str(&sandbox_config);
    let r = check(&["--config", sandbox_config]);
    expect(&r, 2, "BACKUP CRITICAL - no complete backup");
    let sandbox_backup = |extra: &[&str]| {
        run_quorate(
            &[&["sandbox", "backup", "--dir", path_str(sb.dir())], extra].concat(),
            &[],
        )
    };
    let refused = sandbox_backup(&["--incremental"]);
    assert_eq!(refused.code, 1, "{refused:?}");
    assert!(
        refused.stderr.contains("no complete backup under")
            && refused.stderr.contains("full backup first"),
        "{refused:?}"
    );
    let full = sandbox_backup(&[]);
    assert_eq!(full.code, 0, "{full:?}");
    assert!(
        full.stdout.starts_with("full backup of node1 in "),
        "{full:?}"
    );
    let inc = sandbox_backup(&["--incremental", "--node", "node1"]);
    assert_eq!(inc.code, 0, "{inc:?}");
    assert!(
        inc.stdout.starts_with("incremental backup of node1 in "),
        "{inc:?}"
    );
    let r = check(&["--config", sandbox_config, "-v"]);
    expect(&r, 0, "BACKUP OK - newest incremental incremental_");
    assert_eq!(perf(&r, "count").as_deref(), Some("2"), "{}", r.stdout);
    assert_eq!(
        perf(&r, "chain_breaks").as_deref(),
        Some("0"),
        "{}",
        r.stdout
    );
    assert!(perf_f64(&r, "full_size") > 20e6, "{}", r.stdout);
    assert!(
        r.stdout
            .contains(&format!("under {}", sb.backup_root().display())),
        "{}",
        r.stdout
    );

    sb.down().expect("sandbox down");
}

/// The backup keys of our UserParameter file through the real agent.
fn zabbix_agent_runs_our_backup_items(dir: &Path, config: &Path, root: &Path) {
    let lld: serde_json::Value =
        serde_json::from_str(&zabbix(dir, config, "quorate.backup.discovery")).expect("LLD");
    assert_eq!(
        lld,
        serde_json::json!([{"{#TYPE}": "full"}, {"{#TYPE}": "incremental"}])
    );
    let lld: serde_json::Value =
        serde_json::from_str(&zabbix(dir, config, "quorate.backup.dirs.discovery")).expect("LLD");
    assert_eq!(lld[0]["{#DIR}"], path_str(root), "{lld}");

    // Every field the template's dependent items read is there, with a value.
    let fields = common::zabbix::dependent_fields();
    let per_type = fields
        .iter()
        .find(|(k, _)| k.starts_with("quorate.backup[{#TYPE},"))
        .map(|(_, v)| v)
        .expect("template's per-type backup master item");
    let per_dir = fields
        .iter()
        .find(|(k, _)| k.starts_with("quorate.backup.dir[{#DIR},"))
        .map(|(_, v)| v)
        .expect("template's per-root backup master item");
    for (key, wanted) in [
        ("quorate.backup[full,26h,50h]", per_type),
        ("quorate.backup[incremental,26h,50h]", per_type),
        (
            &format!("quorate.backup.dir[{},1d,2d]", root.display()),
            per_dir,
        ),
    ] {
        let json: serde_json::Value =
            serde_json::from_str(&zabbix(dir, config, key)).expect("item JSON");
        assert_eq!(json["status"], 0, "{key}: {json}");
        for f in wanted {
            assert!(
                json.get(f).is_some_and(|v| !v.is_null()),
                "{key}: template field {f} missing or null in {json}"
            );
        }
    }
    // Parameters left out: every type, default ranges.
    let json: serde_json::Value =
        serde_json::from_str(&zabbix(dir, config, "quorate.backup[]")).expect("item JSON");
    assert_eq!(json["status"], 0, "{json}");
    assert_eq!(json["type"], "");
    // Ranges from the key are used: a 1-second warning age turns the verdict.
    let json: serde_json::Value =
        serde_json::from_str(&zabbix(dir, config, "quorate.backup[full,1s,1d]")).expect("JSON");
    assert_eq!(json["status"], 1, "{json}");
}

/// The shipped Nagios command definitions and the NRPE command for backups, macros expanded
/// as Nagios would, run against the fresh backups.
fn shipped_nagios_and_nrpe_command_lines_run(config: &Path) {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let bin = env!("CARGO_BIN_EXE_quorate");
    let expand = |line: &str| {
        line.replace("/usr/local/bin/quorate", bin)
            .replace("/etc/quorate/quorate.yaml", path_str(config))
            .replace("$ARG1$", "--type full --min-size 1MB")
    };
    let commands =
        fs::read_to_string(root.join("nagios/quorate-commands.cfg")).expect("commands file");
    let line = commands
        .lines()
        .map(str::trim)
        .find_map(|l| {
            l.strip_prefix("command_line")
                .filter(|rest| rest.contains("quorate check backup"))
        })
        .expect("a check backup command line");
    let r = run_shell(&expand(line.trim()), &[]);
    assert_eq!(r.code, 0, "{line}\n{}{}", r.stdout, r.stderr);
    assert!(
        r.stdout.starts_with("BACKUP OK - newest full"),
        "{}",
        r.stdout
    );
    validate_plugin_output(&r.stdout, r.code).unwrap();

    let nrpe = fs::read_to_string(root.join("nagios/nrpe/quorate.cfg")).expect("nrpe file");
    let line = nrpe
        .lines()
        .find_map(|l| l.strip_prefix("command[check_backup]="))
        .expect("NRPE check_backup");
    let r = run_shell(&expand(line), &[]);
    assert_eq!(r.code, 0, "{line}\n{}{}", r.stdout, r.stderr);
    validate_plugin_output(&r.stdout, r.code).unwrap();
}
