//! Tests of the whole file: decoding, expansion, validation and secrets, through [`parse`] and
//! [`load`] as callers see them.

use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use super::expand::ENV;
use super::validate::parse_mysql_address;
use super::*;

fn env(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn parse_text(text: &str, pairs: &[(&str, &str)]) -> Result<Settings, ConfigError> {
    let mut warnings = Vec::new();
    parse(
        Path::new("/etc/quorate/test.yaml"),
        text,
        &env(pairs),
        &mut warnings,
    )
}

const MINIMAL: &str = "cluster:\n  name: c1\nnodes:\n  controllers:\n    - hostname: a\n      ip_address: 10.0.0.1\n      services:\n        mariadb: true\n";

#[test]
fn example_file_in_repo_is_valid() {
    let text = include_str!("../../examples/quorate.yaml");
    let s = parse_text(text, &[]).unwrap_err();
    // The example names a password file that does not exist on a build machine.
    assert!(s.to_string().contains("/etc/quorate/mysql.password"), "{s}");
}

#[test]
fn example_file_with_literal_password_loads() {
    let text = include_str!("../../examples/quorate.yaml").replace(
        "password_file: /etc/quorate/mysql.password",
        "password: ${QUORATE_MYSQL_PASSWORD}",
    );
    let s = parse_text(&text, &[("QUORATE_MYSQL_PASSWORD", "s3cret")]).unwrap();
    assert_eq!(s.cluster_name, "my_multihead_cluster");
    assert_eq!(s.nodes.len(), 3);
    assert_eq!(s.nodes[0].name, "server1");
    assert_eq!(
        s.nodes[0].mysql,
        MysqlEndpoint::Socket("/run/mysqld/mysqld.sock".into())
    );
    assert_eq!(
        s.nodes[0].datadir.as_deref(),
        Some(Path::new("/var/lib/mysql"))
    );
    assert_eq!(
        s.nodes[1].mysql,
        MysqlEndpoint::Tcp {
            host: "192.168.1.102".into(),
            port: 3306
        }
    );
    assert_eq!(s.mysql.user, "quorate");
    assert_eq!(
        s.mysql.password.as_ref().map(Secret::expose),
        Some("s3cret")
    );
    assert_eq!(s.galera_timeout, Duration::from_secs(3));
    assert_eq!(s.backup_rescan_interval, Duration::from_secs(300));
    assert!(s.backup_enabled);
    assert_eq!(s.backup_timezone, None);
    assert_eq!(s.listen, "0.0.0.0:9878".parse().unwrap());
    let g = s.gluster.unwrap();
    assert_eq!(g.volume_name.as_deref(), Some("shared_data"));
    assert_eq!(g.replica_count, None);
}

#[test]
fn seed_layouts_parse_without_a_quorate_section() {
    // The two YAML blocks of the seeds (000 and 003), unmodified.
    let seed_000 = "cluster:\n  name: my_multihead_cluster\n\ndatabase:\n  mariadb:\n    root_password: ${MARIADB_ROOT_PASSWORD}  # Environment variable\n    sst_user: sstuser\n    sst_password: ${MARIADB_SST_PASSWORD}    # Environment variable\n\nnodes:\n  controllers:\n    - hostname: server1\n      ip_address: 192.168.1.101\n      services:\n        mariadb: true    # Enable MariaDB on this controller\n";
    let s = parse_text(seed_000, &[]).unwrap();
    assert_eq!(
        s.nodes[0].mysql,
        MysqlEndpoint::Tcp {
            host: "192.168.1.101".into(),
            port: 3306
        }
    );
    assert!(s.nodes[0].mariadb);
    assert_eq!(s.mysql.password, None);

    let seed_003 = "cluster:\n  name: x\nstorage:\n  glusterfs:\n    volume_name: shared_data          # Volume name\n    replica_count: auto\n    brick_path: /data/glusterfs/shared\n    mount_point: /mnt/gluster\n\nnodes:\n  controllers:\n    - hostname: server1\n      ip_address: 192.168.1.101\n      priority: 100\n      services:\n        glusterfs: true\n        mariadb: true\n        redis: true\n        slurm: true\n        web: true\n        keepalived: true\n      vip_owner: true\n";
    let s = parse_text(seed_003, &[]).unwrap();
    assert_eq!(s.nodes[0].priority, Some(100));
    assert!(s.nodes[0].glusterfs);
    assert_eq!(
        s.gluster.unwrap().brick_path,
        Some(PathBuf::from("/data/glusterfs/shared"))
    );
}

#[test]
fn unknown_key_names_key_and_line() {
    let text = format!("{MINIMAL}quorate:\n  listen: 127.0.0.1:1\n  mysql:\n    usr: x\n");
    let err = parse_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("usr"), "{err}");
    assert!(err.contains("line 12"), "{err}");
    assert!(err.contains("/etc/quorate/test.yaml"), "{err}");
}

#[test]
fn unknown_service_is_an_error() {
    let text = MINIMAL.replace("mariadb: true", "mariabd: true");
    let err = parse_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("mariabd") && err.contains("line 8"), "{err}");
}

#[test]
fn env_expansion_and_missing_variable() {
    let text = format!(
        "{MINIMAL}quorate:\n  mysql:\n    user: ${{MON_USER}}\n    password: \"p${{PW}}q\"\n"
    );
    let s = parse_text(&text, &[("MON_USER", "mon"), ("PW", "a:b#c")]).unwrap();
    assert_eq!(s.mysql.user, "mon");
    assert_eq!(s.mysql.password.unwrap().expose(), "pa:b#cq");
    let err = parse_text(&text, &[("MON_USER", "mon")])
        .unwrap_err()
        .to_string();
    assert!(err.contains("environment variable PW is not set"), "{err}");
    assert!(err.contains("line 12"), "{err}");
}

#[test]
fn unused_seed_secrets_are_not_expanded() {
    let text = "cluster:\n  name: c\ndatabase:\n  mariadb:\n    root_password: ${NOT_SET_ANYWHERE}\nnodes:\n  controllers:\n    - hostname: a\n      ip_address: 10.0.0.1\n";
    assert!(parse_text(text, &[]).is_ok());
}

#[test]
fn expand_edge_cases() {
    ENV.set(&env(&[("A", "1")]), || {
        assert_eq!(expand("x${A}y$A$${A}").unwrap(), "x1y$A${A}");
        assert!(expand("${A")
            .unwrap_err()
            .to_string()
            .contains("unterminated"));
        assert!(expand("${}").unwrap_err().to_string().contains("invalid"));
        assert!(expand("${A-B}")
            .unwrap_err()
            .to_string()
            .contains("invalid"));
        assert_eq!(
            expand("${NOPE}"),
            Err(ExpandError::Unset {
                name: "NOPE".into()
            })
        );
    });
}

#[test]
fn durations() {
    assert_eq!(parse_duration("3s").unwrap(), Duration::from_secs(3));
    assert_eq!(parse_duration("250ms").unwrap(), Duration::from_millis(250));
    assert_eq!(parse_duration("1.5m").unwrap(), Duration::from_secs(90));
    assert_eq!(parse_duration("2h").unwrap(), Duration::from_secs(7200));
    assert_eq!(parse_duration("1d").unwrap(), Duration::from_secs(86400));
    assert_eq!(parse_duration("7").unwrap(), Duration::from_secs(7));
    assert!(parse_duration("0s").is_err());
    assert!(parse_duration("-1s").is_err());
    assert!(parse_duration("3 weeks").is_err());
    assert!(parse_duration("s").is_err());
    // Rounds to (next to) zero: a collector with that interval would spin.
    for tiny in ["0.0000000001", "0.0000001s", "0.5ms"] {
        let e = parse_duration(tiny).unwrap_err().to_string();
        assert!(e.contains("shorter than 1ms"), "{e}");
    }
    assert_eq!(parse_duration("1ms").unwrap(), Duration::from_millis(1));
    let text = format!("{MINIMAL}quorate:\n  timeouts:\n    galera: 2x\n");
    let err = parse_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("\"x\"") && err.contains("line 11"), "{err}");
    let text = format!("{MINIMAL}quorate:\n  timeouts:\n    galera: 1.5\n");
    assert_eq!(
        parse_text(&text, &[]).unwrap().galera_timeout,
        Duration::from_millis(1500)
    );
}

#[test]
fn invalid_values_name_their_key() {
    let cases = [
        (MINIMAL.replace("10.0.0.1", "not-an-ip"), "nodes.controllers[0].ip_address"),
        (format!("{MINIMAL}quorate:\n  listen: nowhere\n"), "quorate.listen"),
        (format!("{MINIMAL}quorate:\n  node: b\n"), "quorate.node"),
        (format!("{MINIMAL}quorate:\n  nodes:\n    b:\n      datadir: /x\n"), "quorate.nodes.b"),
        (
            format!("{MINIMAL}quorate:\n  nodes:\n    a:\n      mysql_address: h:99999\n"),
            "quorate.nodes.a.mysql_address",
        ),
        (
            format!("{MINIMAL}quorate:\n  nodes:\n    a:\n      mysql_address: h:1\n      mysql_socket: /s\n"),
            "quorate.nodes.a",
        ),
        (
            format!("{MINIMAL}quorate:\n  mysql:\n    password: x\n    password_file: /y\n"),
            "quorate.mysql",
        ),
        (format!("{MINIMAL}storage:\n  glusterfs:\n    replica_count: lots\n"), "storage.glusterfs.replica_count"),
        (
            format!("{MINIMAL}    - hostname: a\n      ip_address: 10.0.0.2\n"),
            "nodes.controllers[1].hostname",
        ),
    ];
    for (text, key) in cases {
        let err = parse_text(&text, &[]).unwrap_err().to_string();
        assert!(err.contains(key), "expected {key} in: {err}");
    }
}

#[test]
fn backup_keys() {
    let s = parse_text(
        &format!("{MINIMAL}quorate:\n  backup:\n    directories: [bk, /abs]\n    enabled: false\n    timezone: Europe/Berlin\n"),
        &[],
    )
    .unwrap();
    assert_eq!(
        s.backup_dirs,
        vec![PathBuf::from("/etc/quorate/bk"), PathBuf::from("/abs")]
    );
    assert!(!s.backup_enabled);
    assert_eq!(s.backup_timezone.as_deref(), Some("Europe/Berlin"));
    let err = parse_text(
        &format!("{MINIMAL}quorate:\n  backup:\n    timezone: Mars/Olympus\n"),
        &[],
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("quorate.backup.timezone"), "{err}");
}

#[test]
fn garbage_and_empty_files_are_errors_not_panics() {
    for text in [
        "",
        ":",
        "[1, 2]",
        "cluster: 5",
        "\u{0}\u{1}",
        "nodes: {controllers: []}\ncluster: {name: x}",
    ] {
        let err = parse_text(text, &[]).unwrap_err();
        assert!(
            err.to_string().starts_with("/etc/quorate/test.yaml"),
            "{err}"
        );
    }
}

#[test]
fn mysql_addresses() {
    let t = |s| parse_mysql_address(s, 3306).unwrap();
    assert_eq!(
        t("10.0.0.1:3307"),
        MysqlEndpoint::Tcp {
            host: "10.0.0.1".into(),
            port: 3307
        }
    );
    assert_eq!(
        t("10.0.0.1"),
        MysqlEndpoint::Tcp {
            host: "10.0.0.1".into(),
            port: 3306
        }
    );
    assert_eq!(
        t("[::1]:3307"),
        MysqlEndpoint::Tcp {
            host: "::1".into(),
            port: 3307
        }
    );
    assert_eq!(
        t("::1"),
        MysqlEndpoint::Tcp {
            host: "::1".into(),
            port: 3306
        }
    );
    assert_eq!(
        t("db1.example:3310"),
        MysqlEndpoint::Tcp {
            host: "db1.example".into(),
            port: 3310
        }
    );
    assert_eq!(t("db1").to_string(), "db1:3306");
    assert!(parse_mysql_address("db:x", 3306).is_err());
}

#[test]
fn defaults_file_groups_and_quotes() {
    let text = "[mysqld]\nuser=mysql\n[client]\nuser = mon\npassword=\"p w\"\n# comment\n[mysql]\npassword=other\n[client-mariadb]\npassword='final'\n";
    assert_eq!(
        parse_defaults_file(text),
        Ok(ClientDefaults {
            user: Some("mon".into()),
            password: Some("final".into())
        })
    );
    assert_eq!(
        parse_defaults_file("garbage\n[client\n=\n"),
        Ok(ClientDefaults::default())
    );
    // [client-server] is read too, and a loose- prefix names the same option: neither may be
    // skipped silently (the password would be the wrong one).
    assert_eq!(
        parse_defaults_file(
            "[client-server]\nloose-user=mon\nloose_password=p\n[server]\npassword=x\n"
        ),
        Ok(ClientDefaults {
            user: Some("mon".into()),
            password: Some("p".into())
        })
    );
}

/// Trailing comments, quotes and escapes as the MariaDB client reads them; `!include` and
/// `!includedir` are refused with the line (never skipped: the password may be there).
#[test]
fn defaults_file_comments_escapes_and_includes() {
    let read = |body: &str| parse_defaults_file(&format!("[client] # ours\n{body}\n"));
    let password = |body: &str| read(body).unwrap().password.unwrap();
    assert_eq!(password("password = secret # trailing"), "secret");
    assert_eq!(
        password("password = \"pa ss#word\" # comment"),
        "pa ss#word"
    );
    assert_eq!(password("password='it\\'s'"), "it's");
    assert_eq!(password("password=a\\sb\\tc\\\\d\\xe"), "a b\tc\\d\\xe");
    assert_eq!(password("password="), "");
    assert!(read("password # ask")
        .unwrap_err()
        .to_string()
        .contains("line 2: password without a value"));
    assert_eq!(
        read("user = mon#itor").unwrap().user.as_deref(),
        Some("mon")
    );
    for directive in [
        "!include /etc/mysql/other.cnf",
        "!includedir /etc/mysql/conf.d/",
    ] {
        let e = parse_defaults_file(&format!("[client]\nuser=a\n{directive}\n")).unwrap_err();
        assert_eq!(e.line, 3, "{e}");
        assert!(
            e.to_string().contains(directive.split(' ').next().unwrap()),
            "{e}"
        );
    }
    let dir = tempfile::tempdir().unwrap();
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "!includedir /etc/mysql/conf.d/\n").unwrap();
    std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let text = format!(
        "{MINIMAL}quorate:\n  mysql:\n    defaults_file: {}\n",
        cnf.display()
    );
    let err = parse_text(&text, &[]).unwrap_err().to_string();
    assert!(
        err.contains("quorate.mysql.defaults_file") && err.contains("line 1: !includedir"),
        "{err}"
    );
    let err = CredentialOverrides {
        defaults_file: Some(&cnf),
        ..Default::default()
    }
    .apply(None)
    .unwrap_err()
    .to_string();
    assert!(
        err.starts_with(&format!("{}: line 1: !includedir", cnf.display())),
        "{err}"
    );
}

#[test]
fn secret_files_and_world_readable_warning() {
    let dir = tempfile::tempdir().unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "hunter2\nignored\n").unwrap();
    std::fs::set_permissions(&pw, std::fs::Permissions::from_mode(0o644)).unwrap();
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "[client]\nuser=mon\npassword=fromcnf\n").unwrap();
    std::fs::set_permissions(&cnf, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.path().join("q.yaml");

    let mut warnings = Vec::new();
    let text = format!("{MINIMAL}quorate:\n  mysql:\n    password_file: pw\n");
    let s = parse(&cfg, &text, &env(&[]), &mut warnings).unwrap();
    assert_eq!(s.mysql.password.unwrap().expose(), "hunter2");
    assert_eq!(warnings.len(), 1);
    assert!(warnings[0].contains("readable by every user") && warnings[0].contains("pw"));

    let mut warnings = Vec::new();
    let text = format!(
        "{MINIMAL}quorate:\n  mysql:\n    defaults_file: {}\n",
        cnf.display()
    );
    let s = parse(&cfg, &text, &env(&[]), &mut warnings).unwrap();
    assert_eq!(s.mysql.user, "mon");
    assert_eq!(s.mysql.password.unwrap().expose(), "fromcnf");
    assert!(warnings.is_empty());

    let text = format!("{MINIMAL}quorate:\n  mysql:\n    password_file: missing\n");
    let err = parse(&cfg, &text, &env(&[]), &mut Vec::new())
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("quorate.mysql.password_file") && err.contains("missing"),
        "{err}"
    );
}

#[test]
fn literal_password_in_a_world_readable_file_warns() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("q.yaml");
    let write = |password: &str, mode: u32| {
        std::fs::write(
            &cfg,
            format!("{MINIMAL}quorate:\n  mysql:\n    password: {password}\n"),
        )
        .unwrap();
        std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(mode)).unwrap();
    };
    write("literal", 0o644);
    let loaded = load(&cfg).unwrap();
    assert_eq!(loaded.warnings.len(), 1, "{:?}", loaded.warnings);
    assert!(loaded.warnings[0].contains("quorate.mysql.password"));
    assert!(
        !loaded.warnings[0].contains("literal"),
        "the warning never shows the secret"
    );
    write("literal", 0o640);
    assert!(load(&cfg).unwrap().warnings.is_empty());
    // A ${VAR} reference keeps the secret out of the file: no warning.
    write("${PATH}", 0o644);
    assert!(load(&cfg).unwrap().warnings.is_empty());
}

#[test]
fn health_and_check_sections() {
    let s = parse_text(MINIMAL, &[]).unwrap();
    assert_eq!(s.health, HealthSettings::default());
    assert_eq!(s.health.timeout, Duration::from_secs(2));
    assert_eq!(s.check.state_dir, None);
    let text = format!(
        "{MINIMAL}quorate:\n  health:\n    maintenance_file: maint\n    allow_donor: true\n    allow_read_only: true\n    timeout: 500ms\n  check:\n    state_dir: ${{STATE}}\n    maintenance_state: warning\n"
    );
    let s = parse_text(&text, &[("STATE", "/var/tmp/q")]).unwrap();
    assert_eq!(
        s.health.maintenance_file,
        Some(PathBuf::from("/etc/quorate/maint"))
    );
    assert!(s.health.allow_donor && s.health.allow_read_only);
    assert_eq!(s.health.timeout, Duration::from_millis(500));
    assert_eq!(s.check.state_dir, Some(PathBuf::from("/var/tmp/q")));
    assert_eq!(s.check.maintenance_state, crate::config::StateName::Warning);
    let text = format!("{MINIMAL}quorate:\n  check:\n    maintenance_state: fine\n");
    let err = parse_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("quorate.check.maintenance_state"), "{err}");
    let text = format!("{MINIMAL}quorate:\n  health:\n    allow_doner: true\n");
    let err = parse_text(&text, &[]).unwrap_err().to_string();
    assert!(err.contains("allow_doner"), "{err}");
}

#[test]
fn secret_never_prints() {
    let s = Secret::new("topsecret");
    assert_eq!(format!("{s} {s:?}"), "<redacted> <redacted>");
    let auth = MysqlAuth {
        user: "u".into(),
        password: Some(s),
    };
    assert!(!format!("{auth:?}").contains("topsecret"));
}

#[test]
fn gluster_cli_section() {
    let base =
        "cluster: {name: c}\nnodes:\n  controllers:\n    - {hostname: a, ip_address: 10.0.0.1}\n";
    let s = parse_text(base, &[]).expect("no section");
    assert_eq!(s.gluster_cli, GlusterCliSettings::default());
    assert!(!s.gluster_cli.explicit);
    let s = parse_text(
        &format!("{base}quorate:\n  gluster:\n    command: [ip, netns, exec, \"${{NS}}\", gluster]\n    timeout: 3s\n    heal_timeout: 2m\n    interval: 5s\n"),
        &[("NS", "qsb-1")],
    )
    .expect("full section");
    assert_eq!(
        s.gluster_cli.command,
        ["ip", "netns", "exec", "qsb-1", "gluster"]
    );
    assert_eq!(s.gluster_cli.timeout, Duration::from_secs(3));
    assert_eq!(s.gluster_cli.heal_timeout, Duration::from_secs(120));
    assert_eq!(s.gluster_cli.interval, Duration::from_secs(5));
    assert!(s.gluster_cli.explicit);
    let s = parse_text(&format!("{base}quorate:\n  gluster: {{}}\n"), &[]).expect("empty");
    assert!(s.gluster_cli.explicit);
    assert_eq!(s.gluster_cli.command, ["gluster"]);
    let err = parse_text(
        &format!("{base}quorate:\n  gluster:\n    command: []\n"),
        &[],
    )
    .expect_err("empty command");
    assert!(err.to_string().contains("quorate.gluster.command"), "{err}");
    let err = parse_text(
        &format!("{base}quorate:\n  gluster:\n    comand: [x]\n"),
        &[],
    )
    .expect_err("unknown key");
    assert!(err.to_string().contains("comand"), "{err}");
}

#[test]
fn local_node_resolution() {
    let text = format!("{MINIMAL}    - hostname: b\n      ip_address: 10.0.0.2\n");
    let s = parse_text(&text, &[]).unwrap();
    let host = HostIdentity {
        names: vec!["B".into()],
        addresses: vec![],
    };
    assert_eq!(
        s.resolve_local_node(None, &host).unwrap().unwrap().name,
        "b"
    );
    let host = HostIdentity {
        names: vec!["z".into()],
        addresses: vec!["10.0.0.1".parse().unwrap()],
    };
    assert_eq!(
        s.resolve_local_node(None, &host).unwrap().unwrap().name,
        "a"
    );
    assert_eq!(
        s.resolve_local_node(Some("b"), &host)
            .unwrap()
            .unwrap()
            .name,
        "b"
    );
    assert!(s.resolve_local_node(Some("nope"), &host).is_err());
    assert!(s
        .resolve_local_node(None, &HostIdentity::default())
        .unwrap()
        .is_none());
    assert!(!HostIdentity::current().addresses.is_empty());
}

#[test]
fn credential_overrides_apply_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let cnf = dir.path().join("my.cnf");
    std::fs::write(&cnf, "[client]\nuser=fromcnf\npassword=cnfpw\n").unwrap();
    let pw = dir.path().join("pw");
    std::fs::write(&pw, "filepw\r\nignored\n").unwrap();
    let empty = dir.path().join("empty");
    std::fs::write(&empty, "\nsecond\n").unwrap();

    let none = CredentialOverrides::default();
    assert_eq!(none.apply(None).unwrap(), MysqlAuth::default());
    assert_eq!(MysqlAuth::default().user, DEFAULT_USER);

    // An empty environment password counts as unset.
    let configured = MysqlAuth {
        user: "mon".into(),
        password: Some(Secret::new("conf")),
    };
    let env_empty = CredentialOverrides {
        password: Some(String::new()),
        ..Default::default()
    };
    assert_eq!(env_empty.apply(Some(&configured)).unwrap(), configured);

    let all = CredentialOverrides {
        password: Some("envpw".into()),
        defaults_file: Some(&cnf),
        password_file: Some(&pw),
        user: None,
    };
    let auth = all.apply(Some(&configured)).unwrap();
    assert_eq!(auth.user, "fromcnf");
    assert_eq!(auth.password.unwrap().expose(), "filepw");

    let user = CredentialOverrides {
        defaults_file: Some(&cnf),
        user: Some("cli"),
        ..Default::default()
    };
    let auth = user.apply(None).unwrap();
    assert_eq!(auth.user, "cli");
    assert_eq!(auth.password.unwrap().expose(), "cnfpw");

    let err = CredentialOverrides {
        password_file: Some(&empty),
        ..Default::default()
    }
    .apply(None)
    .unwrap_err();
    assert_eq!(
        err.to_string(),
        format!("{}: the first line is empty", empty.display())
    );
    let missing = dir.path().join("missing");
    let err = CredentialOverrides {
        password_file: Some(&missing),
        ..Default::default()
    }
    .apply(None)
    .unwrap_err();
    assert!(
        err.to_string()
            .starts_with(&format!("cannot read {}: ", missing.display())),
        "{err}"
    );
}

/// A secret or defaults file that is a FIFO, a device or huge gives a clear error at once
/// instead of blocking (a FIFO without a writer) or filling memory (`/dev/zero`).
#[test]
fn secret_files_that_are_fifos_devices_or_huge_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pw.fifo");
    crate::bounded::test_files::fifo(&fifo);
    let huge = dir.path().join("my.cnf");
    crate::bounded::test_files::sparse(&huge, 2 << 30);
    std::fs::set_permissions(&huge, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cfg = dir.path().join("q.yaml");
    let cases = [
        ("password_file", fifo.clone(), "is a FIFO"),
        (
            "password_file",
            PathBuf::from("/dev/zero"),
            "is a character device",
        ),
        (
            "defaults_file",
            huge.clone(),
            "larger than the limit of 1048576 bytes",
        ),
    ];
    for (key, file, expected) in cases {
        let text = format!(
            "{MINIMAL}quorate:\n  mysql:\n    {key}: {}\n",
            file.display()
        );
        let (tx, rx) = std::sync::mpsc::channel();
        let cfg = cfg.clone();
        std::thread::spawn(move || {
            let _ = tx.send(parse(&cfg, &text, &env(&[]), &mut Vec::new()).map(|_| ()));
        });
        let err = rx
            .recv_timeout(Duration::from_secs(2))
            .expect("no answer within 2 s")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("quorate.mysql.{key}"))
                && err.contains(&file.display().to_string())
                && err.contains(expected),
            "{err}"
        );
    }
    for file in [&fifo, &PathBuf::from("/dev/zero"), &huge] {
        let err = CredentialOverrides {
            password_file: Some(file),
            ..Default::default()
        }
        .apply(None)
        .unwrap_err()
        .to_string();
        assert!(
            err.starts_with(&format!("cannot read {}: ", file.display())),
            "{err}"
        );
    }
}

/// Deeply nested flow collections are refused quickly, naming the line, before the YAML parser
/// (whose time grows with the square of the depth) sees them; quoted brackets, comments and
/// apostrophes are text.
#[test]
fn deep_nesting_is_refused_quickly() {
    let deep = format!("{MINIMAL}quorate:\n  listen: {}\n", "[".repeat(40_000));
    let started = std::time::Instant::now();
    let err = parse_text(&deep, &[]).unwrap_err().to_string();
    assert!(
        started.elapsed() < Duration::from_millis(500),
        "{:?}",
        started.elapsed()
    );
    assert!(
        err.contains("line 10") && err.contains("nested deeper than 64 levels"),
        "{err}"
    );
    let balanced = format!(
        "{MINIMAL}quorate:\n  gluster:\n    command: {}{}\n",
        "[".repeat(65),
        "]".repeat(65)
    );
    assert!(parse_text(&balanced, &[])
        .unwrap_err()
        .to_string()
        .contains("nested deeper"));
    let text_not_nesting = format!(
        "{MINIMAL}quorate:\n  # {}\n  mysql:\n    user: \"{}\"\n    password: it's[\n  gluster:\n    command: ['[[[', \"{{{{\", ok]\n",
        "[".repeat(100),
        "[".repeat(100),
    );
    let s = parse_text(&text_not_nesting, &[]).unwrap();
    assert_eq!(s.mysql.user, "[".repeat(100));
    assert_eq!(s.gluster_cli.command, ["[[[", "{{", "ok"]);
}

#[test]
fn web_config_file_key_and_its_quorate_tls_alias() {
    let dir = tempfile::tempdir().expect("tempdir");
    let key = dir.path().join("server.key");
    std::fs::write(&key, "key\n").expect("key");
    std::fs::set_permissions(&key, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    let hash = "$2y$10$X0h1gDsPszWURQaxFh.zoubFi6DXncSjhoQNJgRrnGs7EsimhC7zG";
    std::fs::write(
        dir.path().join("web.yml"),
        format!("tls_server_config:\n  cert_file: server.pem\n  key_file: server.key\n  client_auth_type: VerifyClientCertIfGiven\n  client_ca_file: ca.pem\nbasic_auth_users:\n  prom: '{hash}'\n"),
    )
    .expect("web.yml");
    let config = dir.path().join("quorate.yaml");
    let load_text = |extra: &str| {
        std::fs::write(&config, format!("{MINIMAL}quorate:\n{extra}")).expect("config");
        load(&config)
    };
    let s = load_text("  web_config_file: web.yml\n")
        .expect("valid")
        .settings;
    let tls = s.tls.as_ref().expect("tls");
    assert_eq!(tls.client_auth, ClientAuth::VerifyClientCertIfGiven);
    assert_eq!(tls.cert_file, dir.path().join("server.pem"));
    assert!(tls.verifies_clients());
    assert_eq!(s.web.basic_auth_users.len(), 1);
    // Peers default to https; watched for reloads: the web file and the client CA.
    assert!(s
        .recovery
        .node("a")
        .expect("a")
        .endpoint
        .starts_with("https://"));
    assert!(s.secret_files.contains(&dir.path().join("web.yml")));
    assert!(s.secret_files.contains(&dir.path().join("ca.pem")));
    // The same file through --web.config.file (relative to the current directory).
    let web = dir.path().join("web.yml");
    let s = load::load_with_web_config(&config, Some(&web)).expect("flag");
    assert_eq!(s.settings.web.file.as_deref(), Some(web.as_path()));
    // quorate.tls is the certificate-only alias; both naming a certificate is refused.
    let s = load_text("  tls:\n    cert_file: c.pem\n    key_file: server.key\n")
        .expect("alias")
        .settings;
    assert_eq!(
        s.tls,
        Some(ServerTls::certificate_only(
            dir.path().join("c.pem"),
            dir.path().join("server.key")
        ))
    );
    let e = load_text(
        "  web_config_file: web.yml\n  tls:\n    cert_file: c.pem\n    key_file: server.key\n",
    )
    .expect_err("both");
    assert!(e.to_string().contains("quorate.tls"), "{e}");
    assert!(e.to_string().contains("web.yml"), "{e}");
    // A missing web file is named.
    let e = load_text("  web_config_file: nowhere.yml\n").expect_err("missing");
    assert!(e.to_string().contains("nowhere.yml"), "{e}");
    // The recovery client certificate needs its key.
    let e = load_text("  recovery:\n    client_cert_file: c.pem\n").expect_err("no key");
    assert!(
        e.to_string().contains("quorate.recovery.client_key_file"),
        "{e}"
    );
}
