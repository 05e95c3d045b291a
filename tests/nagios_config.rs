//! The shipped monitoring configuration, checked by the real tools where they exist:
//! `nagios4 -v` (Debian nagios4-core) on a configuration that includes our Nagios objects, and
//! the structure of the Zabbix 6.0 template (uuids, master items, trigger keys, value maps,
//! JSONPath fields that quorate really emits). The Zabbix agent itself is exercised against a
//! live cluster in tests/check_galera.rs.

mod common;

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::zabbix::{collect, dependent_fields, items_of, template};

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join(path)
}

/// Runs a configuration checker; returns (success, stdout + stderr). A missing program fails
/// the test naming the Debian package(s) that provide it.
fn run_tool(cmd: &mut Command, packages: &str) -> (bool, String) {
    let out = cmd.output().unwrap_or_else(|e| {
        panic!("cannot run {cmd:?} ({e}): install the Debian package(s) {packages} (scripts/install-deps)")
    });
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

/// Runs `nagios4 -v` on a main configuration that includes Debian's stock object files, our
/// two files and a few hosts; returns (success, output).
fn nagios_verify(commands: &Path, services: &Path) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    std::fs::create_dir(d.join("spool")).expect("spool dir");
    std::fs::write(
        d.join("hosts.cfg"),
        "define command {\n    command_name check-host-alive\n    command_line /bin/true\n}\n\
         define host {\n    use linux-server\n    host_name server1\n    address 192.0.2.1\n    hostgroups galera-nodes,galera-cluster,mariadb-backup\n}\n\
         define host {\n    use linux-server\n    host_name server2\n    address 192.0.2.2\n    hostgroups galera-nodes\n}\n",
    )
    .expect("hosts.cfg");
    std::fs::write(
        d.join("resource.cfg"),
        "$USER1$=/usr/lib/nagios/plugins\n$USER10$=/etc/nagios4/quorate.cnf\n",
    )
    .expect("resource.cfg");
    // SAFETY: getuid/getgid cannot fail.
    let (uid, gid) = unsafe { (libc::getuid(), libc::getgid()) };
    let p = |name: &str| d.join(name).display().to_string();
    let main = format!(
        "cfg_file=/etc/nagios4/objects/commands.cfg\n\
         cfg_file=/etc/nagios4/objects/contacts.cfg\n\
         cfg_file=/etc/nagios4/objects/timeperiods.cfg\n\
         cfg_file=/etc/nagios4/objects/templates.cfg\n\
         cfg_file={commands}\ncfg_file={services}\ncfg_file={hosts}\n\
         resource_file={resource}\ncheck_result_path={spool}\nlock_file={lock}\n\
         temp_file={tmp}\ntemp_path={dir}\nlog_file={log}\nstatus_file={status}\n\
         object_cache_file={cache}\nprecached_object_file={precache}\n\
         state_retention_file={retention}\ncommand_file={cmd}\n\
         nagios_user={uid}\nnagios_group={gid}\n\
         illegal_macro_output_chars=`~$&|'\"<>\n",
        commands = commands.display(),
        services = services.display(),
        hosts = p("hosts.cfg"),
        resource = p("resource.cfg"),
        spool = p("spool"),
        lock = p("nagios.lock"),
        tmp = p("nagios.tmp"),
        dir = d.display(),
        log = p("nagios.log"),
        status = p("status.dat"),
        cache = p("objects.cache"),
        precache = p("objects.precache"),
        retention = p("retention.dat"),
        cmd = p("nagios.cmd"),
    );
    std::fs::write(d.join("nagios.cfg"), main).expect("nagios.cfg");
    run_tool(
        Command::new("nagios4").arg("-v").arg(d.join("nagios.cfg")),
        "nagios4-core",
    )
}

#[test]
fn nagios4_accepts_our_objects() {
    let (ok, text) = nagios_verify(
        &repo("nagios/quorate-commands.cfg"),
        &repo("nagios/quorate-services.cfg"),
    );
    assert!(ok, "nagios4 -v rejected our files:\n{text}");
    assert!(text.contains("Total Errors:   0"), "{text}");
    assert!(text.contains("Total Warnings: 0"), "{text}");
    // Our commands and services were read: the gluster one on the cluster host, the backup
    // one on the backup host.
    assert!(text.contains("Checked 3 host groups"), "{text}");
    assert!(text.contains("Checked 5 services"), "{text}");
}

#[test]
fn nagios4_rejects_a_service_whose_command_is_missing() {
    // The same services without our command definitions: proves the check above can fail.
    let dir = tempfile::tempdir().expect("temp dir");
    let empty = dir.path().join("no-commands.cfg");
    std::fs::write(&empty, "# nothing\n").expect("write");
    let (ok, text) = nagios_verify(&empty, &repo("nagios/quorate-services.cfg"));
    assert!(!ok, "{text}");
    assert!(text.contains("check_quorate_galera"), "{text}");
}

#[test]
fn no_secret_on_any_shipped_command_line() {
    for file in [
        "nagios/quorate-commands.cfg",
        "nagios/nrpe/quorate.cfg",
        "nagios/icinga2/quorate.conf",
        "nagios/zabbix/userparameter_quorate.conf",
    ] {
        let text = std::fs::read_to_string(repo(file)).expect(file);
        for line in text.lines().filter(|l| {
            let t = l.trim_start();
            !(t.starts_with('#') || t.starts_with("/*") || t.starts_with('*'))
        }) {
            for bad in ["--password ", "--password=", " -p", "MYSQL_PWD"] {
                assert!(!line.contains(bad), "{file}: {line}");
            }
        }
    }
}

#[test]
fn zabbix_template_is_consistent() {
    let t = template();
    assert_eq!(t["zabbix_export"]["version"].as_str(), Some("6.0"));
    let tpl = &t["zabbix_export"]["templates"][0];
    let name = tpl["template"].as_str().expect("template name");

    let mut uuids = Vec::new();
    collect(&t, "uuid", &mut uuids);
    let mut seen = BTreeSet::new();
    for u in &uuids {
        let u = u.as_str().expect("uuid string");
        assert!(
            u.len() == 32
                && u.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase()),
            "uuid {u}"
        );
        assert!(seen.insert(u.to_string()), "duplicate uuid {u}");
    }

    let items = items_of(tpl, "items");
    let prototypes = items_of(tpl, "item_prototypes");
    let keys: BTreeSet<String> = items
        .iter()
        .chain(prototypes.iter())
        .map(|i| i["key"].as_str().expect("key").to_string())
        .collect();
    let valuemaps: BTreeSet<&str> = tpl["valuemaps"]
        .as_sequence()
        .expect("valuemaps")
        .iter()
        .map(|m| m["name"].as_str().expect("valuemap name"))
        .collect();

    for item in items.iter().chain(prototypes.iter()) {
        let key = item["key"].as_str().expect("key");
        if item["type"].as_str() == Some("DEPENDENT") {
            let master = item["master_item"]["key"].as_str().expect("master key");
            assert!(keys.contains(master), "{key}: master {master} missing");
        }
        if let Some(vm) = item["valuemap"]["name"].as_str() {
            assert!(valuemaps.contains(vm), "{key}: value map {vm} missing");
        }
    }
    let mut expressions = Vec::new();
    collect(tpl, "expression", &mut expressions);
    assert!(expressions.len() >= 8, "{expressions:?}");
    for e in expressions {
        let e = e.as_str().expect("expression");
        let prefix = format!("/{name}/");
        let mut rest = e;
        let mut refs = 0;
        while let Some(i) = rest.find(&prefix) {
            let after = &rest[i + prefix.len()..];
            let end = after.find([',', ')']).expect("end of item reference");
            let key = &after[..end];
            assert!(keys.contains(key), "trigger {e} refers to missing {key}");
            refs += 1;
            rest = &after[end..];
        }
        assert!(refs > 0, "trigger {e} refers to no item of {name}");
    }
    // The discovery rule's key is one our UserParameter file defines.
    let up = std::fs::read_to_string(repo("nagios/zabbix/userparameter_quorate.conf"))
        .expect("userparameters");
    let defined: Vec<&str> = up
        .lines()
        .filter_map(|l| l.strip_prefix("UserParameter="))
        .filter_map(|l| l.split(',').next())
        .collect();
    let rules = tpl["discovery_rules"]
        .as_sequence()
        .expect("discovery rules");
    for rule in rules {
        let rule_key = rule["key"].as_str().expect("rule key");
        assert!(defined.contains(&rule_key), "{rule_key} not in {defined:?}");
    }
    let rule_keys: Vec<&str> = rules.iter().filter_map(|r| r["key"].as_str()).collect();
    for key in [
        "quorate.galera.discovery",
        "quorate.gluster.discovery",
        "quorate.backup.discovery",
        "quorate.backup.dirs.discovery",
    ] {
        assert!(rule_keys.contains(&key), "{key} missing from {rule_keys:?}");
    }
    for item in items.iter().chain(prototypes.iter()) {
        if item["type"].as_str().is_none() {
            // An agent item: its key must be served by a UserParameter.
            let key = item["key"].as_str().expect("key");
            let base = key.split('[').next().expect("key");
            assert!(
                defined.iter().any(|d| d.split('[').next() == Some(base)),
                "{key} has no UserParameter"
            );
        }
    }
}

/// Both shipped templates import into one Zabbix: their UUIDs are version 4 (Zabbix refuses
/// others) and none is shared; in the HTTP template every item but its HTTP master, and every
/// discovery rule, is dependent on that master, and its triggers name its own items.
#[test]
fn zabbix_http_template_is_consistent() {
    let http: serde_yaml_ng::Value = serde_yaml_ng::from_str(
        &std::fs::read_to_string(repo("nagios/zabbix/template_galera_quorate_http.yaml"))
            .expect("HTTP template"),
    )
    .expect("YAML");
    let agent = template();
    let (mut uuids, mut agent_uuids) = (Vec::new(), Vec::new());
    collect(&http, "uuid", &mut uuids);
    collect(&agent, "uuid", &mut agent_uuids);
    let agent_uuids: BTreeSet<&str> = agent_uuids.iter().filter_map(|u| u.as_str()).collect();
    let mut seen = BTreeSet::new();
    // The shared template group is the one uuid both may hold.
    let group = http["zabbix_export"]["groups"][0]["uuid"]
        .as_str()
        .expect("group uuid");
    for u in &uuids {
        let u = u.as_str().expect("uuid string");
        let b = u.as_bytes();
        assert!(
            u.len() == 32
                && u.chars()
                    .all(|c| c.is_ascii_hexdigit() && !c.is_ascii_uppercase())
                && b[12] == b'4'
                && b"89ab".contains(&b[16]),
            "not a version 4 uuid: {u}"
        );
        if u != group {
            assert!(seen.insert(u.to_string()), "duplicate uuid {u}");
            assert!(
                !agent_uuids.contains(u),
                "uuid {u} also in the agent template"
            );
        }
    }
    let tpl = &http["zabbix_export"]["templates"][0];
    let name = tpl["template"].as_str().expect("name");
    let items = items_of(tpl, "items");
    let prototypes = items_of(tpl, "item_prototypes");
    let rules = items_of(tpl, "discovery_rules");
    let keys: BTreeSet<&str> = items
        .iter()
        .chain(prototypes.iter())
        .filter_map(|i| i["key"].as_str())
        .collect();
    for i in items.iter().chain(prototypes.iter()).chain(rules.iter()) {
        let key = i["key"].as_str().expect("key");
        if key == "quorate.metrics" {
            assert_eq!(i["type"].as_str(), Some("HTTP_AGENT"), "{key}");
            continue;
        }
        assert_eq!(i["type"].as_str(), Some("DEPENDENT"), "{key}");
        assert_eq!(
            i["master_item"]["key"].as_str(),
            Some("quorate.metrics"),
            "{key}"
        );
        let step = i["preprocessing"][0]["type"].as_str();
        assert!(
            matches!(step, Some("PROMETHEUS_PATTERN" | "PROMETHEUS_TO_JSON")),
            "{key}: {step:?}"
        );
    }
    let mut expressions = Vec::new();
    collect(tpl, "expression", &mut expressions);
    assert!(expressions.len() >= 15, "{}", expressions.len());
    for e in expressions {
        let e = e.as_str().expect("expression");
        let prefix = format!("/{name}/");
        let mut rest = e;
        while let Some(i) = rest.find(&prefix) {
            let after = &rest[i + prefix.len()..];
            let end = after.find([',', ')']).expect("end of item reference");
            // A key with a parameter list ends at its closing bracket.
            let end = match after[..end].find('[') {
                Some(_) => after.find(']').map_or(end, |b| b + 1),
                None => end,
            };
            assert!(
                keys.contains(&after[..end]),
                "trigger {e} names {}",
                &after[..end]
            );
            rest = &after[end..];
        }
    }
}

#[test]
fn every_dependent_field_is_one_quorate_emits() {
    let fields = dependent_fields();
    let galera = &fields["quorate.galera[{#NODE}]"];
    for f in galera {
        assert!(
            quorate::check::galera::ZABBIX_ITEMS.contains(&f.as_str())
                || ["status", "state", "summary"].contains(&f.as_str()),
            "{f}"
        );
    }
    assert!(fields["quorate.cluster"].contains(&"primary_components".to_string()));
    let emitted = |module_items: &[&str], f: &str| {
        module_items.contains(&f) || ["status", "state", "summary"].contains(&f)
    };
    let mut masters = 0;
    for (master, list) in &fields {
        let items = if master.starts_with("quorate.gluster[") {
            quorate::check::gluster::ZABBIX_ITEMS
        } else if master.starts_with("quorate.backup") {
            quorate::check::backup::ZABBIX_ITEMS
        } else {
            continue;
        };
        masters += 1;
        for f in list {
            assert!(
                emitted(items, f),
                "{master}: {f} is not a value quorate emits"
            );
        }
    }
    assert_eq!(
        masters, 3,
        "gluster, backup per type, backup per root: {fields:?}"
    );
}

/// The name of the current user and group, for daemons that drop privileges.
fn user_and_group() -> (String, String) {
    let id = |flag: &str| {
        let out = Command::new("id").arg(flag).output().expect("id");
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    };
    (id("-un"), id("-gn"))
}

/// Runs `icinga2 daemon -C` on a configuration including the ITL, `check_commands` and a host
/// with services using both CheckCommands; returns (success, output).
fn icinga2_validate(check_commands: &Path) -> (bool, String) {
    let dir = tempfile::tempdir().expect("temp dir");
    let main = dir.path().join("icinga2.conf");
    std::fs::write(
        &main,
        format!(
            "include <itl>\ninclude \"{}\"\n\
             object Host \"galera1\" {{\n  address = \"192.0.2.1\"\n  check_command = \"dummy\"\n  vars.galera = true\n}}\n\
             apply Service \"galera\" {{\n  check_command = \"quorate-galera\"\n  vars.quorate_allow_desync = true\n  vars.quorate_size_warning = \"3:\"\n  vars.quorate_password = \"from-a-secret-store\"\n  assign where host.vars.galera\n}}\n\
             apply Service \"galera-cluster\" {{\n  check_command = \"quorate-galera-cluster\"\n  assign where host.name == \"galera1\"\n}}\n\
             apply Service \"backups\" {{\n  check_command = \"quorate-backup\"\n  vars.quorate_backup_warning = \"26h\"\n  vars.quorate_backup_dirs = [ \"/var/backups/mariadb\" ]\n  assign where host.name == \"galera1\"\n}}\n",
            check_commands.display()
        ),
    )
    .expect("icinga2.conf");
    let (user, group) = user_and_group();
    run_tool(
        Command::new("icinga2")
            .args(["daemon", "-C", "-c"])
            .arg(&main)
            // Keep its caches in the temp dir, as this user, instead of /var/cache/icinga2.
            .arg(format!("-DCacheDir={}", dir.path().display()))
            .arg(format!("-DRunAsUser={user}"))
            .arg(format!("-DRunAsGroup={group}")),
        "icinga2-bin icinga2-common",
    )
}

#[test]
fn icinga2_accepts_our_check_commands() {
    let (ok, text) = icinga2_validate(&repo("nagios/icinga2/quorate.conf"));
    assert!(ok, "icinga2 daemon -C rejected our CheckCommands:\n{text}");
    assert!(text.contains("Instantiated 3 Services"), "{text}");
    // A broken copy is rejected: the check above can fail.
    let dir = tempfile::tempdir().expect("temp dir");
    let broken = dir.path().join("broken.conf");
    let text = std::fs::read_to_string(repo("nagios/icinga2/quorate.conf"))
        .expect("icinga2 file")
        .replace(
            "object CheckCommand \"quorate-galera-cluster\" {",
            "object CheckCommand \"quorate-galera-cluster\" {{",
        );
    std::fs::write(&broken, text).expect("write");
    let (ok, text) = icinga2_validate(&broken);
    assert!(!ok, "{text}");
}

#[test]
fn icinga2_arguments_are_options_quorate_accepts() {
    let conf = std::fs::read_to_string(repo("nagios/icinga2/quorate.conf")).expect("icinga2 file");
    // (CheckCommand, subcommand, whether it talks to MariaDB and so takes the password).
    for (name, sub, mysql) in [
        ("quorate-galera", "galera", true),
        ("quorate-galera-cluster", "cluster", true),
        ("quorate-backup", "backup", false),
        ("quorate-gluster", "gluster", false),
    ] {
        let start = conf
            .find(&format!("object CheckCommand \"{name}\""))
            .expect("CheckCommand");
        let body = &conf[start..];
        let end = body[1..]
            .find("object CheckCommand")
            .map_or(body.len(), |i| i + 1);
        let body = &body[..end];
        let help = Command::new(env!("CARGO_BIN_EXE_quorate"))
            .args(["check", sub, "--help"])
            .output()
            .expect("quorate --help");
        let help = String::from_utf8_lossy(&help.stdout).into_owned();
        let mut checked = 0;
        for line in body.lines().map(str::trim) {
            let Some(rest) = line.strip_prefix('"') else {
                continue;
            };
            let Some((option, _)) = rest.split_once("\" =") else {
                continue;
            };
            if !option.starts_with('-') {
                continue;
            }
            let known = help.contains(&format!("{option} "))
                || help.contains(&format!("{option},"))
                || help.contains(&format!("{option}\n"));
            assert!(
                known,
                "{name}: {option} is not an option of quorate check {sub}"
            );
            checked += 1;
        }
        assert!(checked >= 8, "{name}: only {checked} options found");
        // The password goes through the environment only, and only where it is needed.
        assert_eq!(
            body.contains("\"QUORATE_MYSQL_PASSWORD\" = \"$quorate_password$\""),
            mysql,
            "{name}"
        );
    }
}
