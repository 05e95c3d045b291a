//! `quorate check` as a monitoring plugin, without a cluster: exit codes for --help,
//! --version and bad arguments, a refused port, a server that never answers, a file read that
//! would hang (a FIFO: refused at once), the not-yet-available checks, the output grammar and '.' decimals
//! under a German locale.

mod common;

use std::net::TcpListener;
use std::time::Duration;

use common::plugin::{run_quorate, validate_plugin_output, write_secret, PluginRun};

/// A loopback port with nothing listening on it.
fn closed_port() -> u16 {
    common::free_port()
}

/// A TCP server that accepts connections and never sends a byte (a SIGSTOPped mysqld, as a
/// client sees it). Lives as long as the returned listener's thread (the test process).
fn silent_server() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind loopback");
    let port = listener.local_addr().expect("local addr").port();
    std::thread::spawn(move || {
        let mut held = Vec::new();
        for stream in listener.incoming().flatten() {
            held.push(stream);
        }
    });
    port
}

/// `quorate check galera ARGS`, nothing in the environment.
fn galera(args: &[&str]) -> PluginRun {
    run_quorate(&[&["check", "galera"], args].concat(), &[])
}

/// `quorate check galera -H 127.0.0.1 -P PORT ARGS` with `env`.
fn galera_at(port: &str, args: &[&str], env: &[(&str, &str)]) -> PluginRun {
    run_quorate(
        &[&["check", "galera", "-H", "127.0.0.1", "-P", port], args].concat(),
        env,
    )
}

#[test]
fn output_validator_accepts_good_and_rejects_bad_output() {
    let ok = |s: &str, code| validate_plugin_output(s, code).is_ok();
    assert!(ok(
        "GALERA OK - fine | a=1;3:;2:;0 'b c'=0.5%;;;0;100 d=U e=1;@1:2;~:3\n",
        0
    ));
    assert!(ok("GALERA OK - fine\n", 0));
    assert!(!ok("GALERA OK - fine\n", 2));
    assert!(!ok("GALERA OK - x | a=Synced\n", 0));
    assert!(!ok("GALERA OK - x | a=1,5\n", 0));
    assert!(!ok("GALERA OK - x | a=1;abc\n", 0));
    assert!(!ok("GALERA OK - x | a b=1\n", 0));
    assert!(!ok("GALERA OK - x | a=1e5\n", 0));
    assert!(!ok("GALERA OK - x | a=1 a=2\n", 0));
    assert!(!ok("GALERA OK - x\nlong | line\n", 0));
    assert!(!ok(&format!("GALERA OK - {}\n", "x".repeat(1100)), 0));
}

#[test]
fn help_version_and_bad_arguments_exit_unknown() {
    let r = galera(&["--help"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains("--timeout <SECONDS[:STATE]>"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("--defaults-file"), "{}", r.stdout);
    let r = run_quorate(&["check", "--version"], &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains(env!("CARGO_PKG_VERSION")), "{}", r.stdout);
    let r = run_quorate(&["--log-level", "warn", "check", "galera", "-h"], &[]);
    assert_eq!(r.code, 3, "{r:?}");

    for args in [
        &["check", "galera", "-w", "1,5"][..],
        &["check", "galera", "-c", "10:5"],
        &["check", "galera", "-t", "0"],
        &["check", "galera", "-t", "10:sometimes"],
        &["check", "galera", "--donor", "maybe"],
        &["check", "galera", "--bogus"],
        &["check", "frobnicate"],
        &["check"],
    ] {
        let r = run_quorate(args, &[]);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(
            r.stdout.starts_with("UNKNOWN - ") || r.stdout.contains("Usage"),
            "{args:?}: {}",
            r.stdout
        );
    }
    let r = galera(&["-w", "1,5"]);
    assert!(r.stdout.contains("'.'"), "{}", r.stdout);

    // Outside check mode, clap's usual code 2 for usage errors stays.
    assert_eq!(run_quorate(&["serve", "--bogus"], &[]).code, 2);
    // --item needs the Zabbix format.
    let r = galera(&["-H", "127.0.0.1", "--item", "up"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains("--item needs --format zabbix"),
        "{}",
        r.stdout
    );
}

#[test]
fn backup_check_arguments_and_missing_configuration_are_unknown() {
    for (args, first) in [
        (
            &["check", "backup", "--config", "/nonexistent/quorate.yaml"][..],
            "BACKUP UNKNOWN - ",
        ),
        (
            &["check", "backup", "--backup-dir", "/tmp", "-w", "26x"],
            "UNKNOWN - invalid arguments: invalid value '26x' for '--warning <RANGE>'",
        ),
        (
            &[
                "check",
                "backup",
                "--backup-dir",
                "/tmp",
                "--min-size",
                "1XB",
            ],
            "UNKNOWN - invalid arguments: invalid value '1XB' for '--min-size <SIZE>'",
        ),
        (
            &[
                "check",
                "backup",
                "--backup-dir",
                "/tmp",
                "--type",
                "weekly",
            ],
            "UNKNOWN - invalid arguments: invalid value 'weekly' for '--type <TYPE>'",
        ),
    ] {
        let r = run_quorate(args, &[]);
        assert_eq!(r.code, 3, "{args:?}: {r:?}");
        assert!(r.stdout.starts_with(first), "{args:?}: {}", r.stdout);
        if first.starts_with("BACKUP") {
            validate_plugin_output(&r.stdout, r.code).unwrap();
        }
    }
    let r = run_quorate(
        &["check", "backup", "--config", "/nonexistent/quorate.yaml"],
        &[],
    );
    assert!(
        r.stdout.contains("/nonexistent/quorate.yaml"),
        "{}",
        r.stdout
    );
    // Discovery is not a plugin: exit 1 with the reason on stderr.
    let r = run_quorate(
        &[
            "discover",
            "backup",
            "--config",
            "/nonexistent/quorate.yaml",
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");
    assert!(
        r.stderr.contains("/nonexistent/quorate.yaml"),
        "{}",
        r.stderr
    );
}

#[test]
fn refused_connection_is_critical() {
    let port = closed_port().to_string();
    let r = galera_at(&port, &[], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(
        r.first_line()
            .starts_with(&format!("GALERA CRITICAL - 127.0.0.1:{port}: ")),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("Connection refused"), "{}", r.stdout);
    validate_plugin_output(&r.stdout, r.code).unwrap();
    // Zabbix: the state is in the value, the exit code is 0.
    let r = galera_at(&port, &["--format", "zabbix"], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(json["status"], 2);
    assert_eq!(json["up"], 0);
    let r = galera_at(&port, &["--format", "zabbix", "--item", "up"], &[]);
    assert_eq!((r.code, r.stdout.trim()), (0, "0"), "{r:?}");
}

#[test]
fn a_silent_server_times_out_with_the_chosen_state() {
    let port = silent_server().to_string();
    let r = galera_at(&port, &["-t", "1"], &[]);
    assert_eq!(r.code, 2, "{r:?}");
    assert!(r.stdout.contains("no answer within"), "{}", r.stdout);
    // Functional bound (not a performance goal): the plugin honours its own -t.
    assert!(r.elapsed < Duration::from_secs(3), "{:?}", r.elapsed);
    validate_plugin_output(&r.stdout, r.code).unwrap();

    let r = galera_at(&port, &["-t", "1:UNKNOWN"], &[]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.first_line().starts_with("GALERA UNKNOWN - "),
        "{}",
        r.stdout
    );
    let r = galera_at(&port, &["-t", "0.5:warning"], &[]);
    assert_eq!(r.code, 1, "{r:?}");
}

#[test]
fn a_file_read_that_would_hang_is_refused_at_once() {
    // A FIFO with no writer: reading the password file used to block forever, outside any
    // async timeout (the watchdog answered at -t). Files are now opened non-blocking and a FIFO
    // is refused by type: the plugin answers UNKNOWN at once, naming the file.
    let dir = tempfile::tempdir().expect("temp dir");
    let fifo = dir.path().join("password");
    let c_path = std::ffi::CString::new(fifo.to_str().expect("utf-8 path")).expect("path");
    // SAFETY: a valid NUL-terminated path; mkfifo only creates a file system node.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
    let fifo_arg = fifo.to_str().expect("utf-8");
    let r = galera(&["-H", "127.0.0.1", "--password-file", fifo_arg, "-t", "1"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(
        r.stdout.contains(&format!(
            "cannot read {fifo_arg}: it is a FIFO, not a regular file"
        )),
        "{}",
        r.stdout
    );
    assert!(r.elapsed < Duration::from_secs(1), "{:?}", r.elapsed);
    validate_plugin_output(&r.stdout, r.code).unwrap();
    let r = run_quorate(
        &[
            "check",
            "cluster",
            "--config",
            fifo_arg,
            "-t",
            "1:unknown",
            "--format",
            "zabbix",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(json["status"], 3, "{}", r.stdout);
}

#[test]
fn configuration_problems_are_unknown_and_name_the_file() {
    let dir = tempfile::tempdir().expect("temp dir");
    let missing = dir.path().join("missing.yaml");
    let r = galera(&["--config", missing.to_str().expect("utf-8")]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("missing.yaml"), "{}", r.stdout);

    // A config whose controllers do not include this host, and no --node.
    let cfg = dir.path().join("q.yaml");
    std::fs::write(
        &cfg,
        "cluster:\n  name: c\nnodes:\n  controllers:\n    - hostname: elsewhere-1\n      ip_address: 192.0.2.1\n      services:\n        mariadb: true\n",
    )
    .expect("write config");
    let cfg_arg = cfg.to_str().expect("utf-8");
    let r = galera(&["--config", cfg_arg]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("pass --node"), "{}", r.stdout);
    let r = galera(&["--config", cfg_arg, "--node", "nope"]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("\"nope\""), "{}", r.stdout);

    // An unreadable password file is UNKNOWN, naming it.
    let r = galera(&[
        "-H",
        "127.0.0.1",
        "--password-file",
        missing.to_str().expect("utf-8"),
    ]);
    assert_eq!(r.code, 3, "{r:?}");
    assert!(r.stdout.contains("missing.yaml"), "{}", r.stdout);

    // discover galera lists the MariaDB controllers.
    let r = run_quorate(&["discover", "galera", "--config", cfg_arg], &[]);
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("LLD JSON");
    assert_eq!(json[0]["{#NODE}"], "elsewhere-1");
    assert_eq!(json[0]["{#ENDPOINT}"], "192.0.2.1:3306");
    let r = run_quorate(
        &[
            "discover",
            "galera",
            "--config",
            missing.to_str().expect("utf-8"),
        ],
        &[],
    );
    assert_eq!(r.code, 1, "{r:?}");

    // A password file is read but never echoed.
    let pw = dir.path().join("pw");
    write_secret(&pw, "s3cr3t-in-file\n");
    let port = closed_port().to_string();
    let r = galera_at(
        &port,
        &["--password-file", pw.to_str().expect("utf-8"), "-v"],
        &[],
    );
    assert!(
        !r.stdout.contains("s3cr3t") && !r.stderr.contains("s3cr3t"),
        "{r:?}"
    );
}

/// A configuration whose gluster CLI is `command` (a list in YAML flow style).
fn gluster_config(dir: &std::path::Path, command: &str) -> std::path::PathBuf {
    let cfg = dir.join("g.yaml");
    std::fs::write(
        &cfg,
        format!(
            "cluster:\n  name: c\nnodes:\n  controllers:\n    - hostname: elsewhere-1\n      ip_address: 192.0.2.1\n      services:\n        glusterfs: true\nquorate:\n  gluster:\n    command: {command}\n"
        ),
    )
    .expect("write config");
    cfg
}

#[test]
fn check_gluster_with_a_failing_or_hanging_cli() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A gluster CLI that does not exist: UNKNOWN with the error.
    let cfg = gluster_config(dir.path(), "[/nonexistent/gluster]");
    let cfg_arg = cfg.to_str().expect("utf-8");
    let r = run_quorate(&["check", "gluster", "--config", cfg_arg], &[]);
    assert_eq!(r.code, 3, "{r:?}");
    validate_plugin_output(&r.stdout, r.code).expect("plugin output");
    assert!(
        r.stdout.starts_with("GLUSTER UNKNOWN - gluster CLI failed"),
        "{}",
        r.stdout
    );
    assert!(r.stdout.contains("/nonexistent/gluster"), "{}", r.stdout);
    assert!(r.stdout.contains("bricks_up=U"), "{}", r.stdout);
    assert!(r.stdout.contains("heal_unknown_bricks=U"), "{}", r.stdout);
    // Zabbix: a value, exit 0, unknown counts null.
    let r = run_quorate(
        &[
            "check", "gluster", "--config", cfg_arg, "--format", "zabbix",
        ],
        &[],
    );
    assert_eq!(r.code, 0, "{r:?}");
    let json: serde_json::Value = serde_json::from_str(r.stdout.trim()).expect("JSON");
    assert_eq!(json["status"], 3);
    assert_eq!(json["up"], 0);
    assert!(json["pending"].is_null());
    // discover gluster fails (exit 1) naming the command.
    let r = run_quorate(&["discover", "gluster", "--config", cfg_arg], &[]);
    assert_eq!(r.code, 1, "{r:?}");
    assert!(r.stderr.contains("/nonexistent/gluster"), "{r:?}");

    // A CLI that hangs: killed within -t, the timeout state reported.
    let hang = dir.path().join("hang.sh");
    std::fs::write(&hang, "#!/bin/sh\nexec sleep 60\n").expect("write script");
    std::fs::set_permissions(&hang, std::os::unix::fs::PermissionsExt::from_mode(0o755))
        .expect("chmod");
    let cfg = gluster_config(dir.path(), &format!("[{}]", hang.display()));
    let cfg_arg = cfg.to_str().expect("utf-8");
    let r = run_quorate(
        &["check", "gluster", "--config", cfg_arg, "-t", "2:unknown"],
        &[],
    );
    assert!(r.elapsed < Duration::from_secs(5), "{r:?}");
    assert_eq!(r.code, 3, "{r:?}");
    validate_plugin_output(&r.stdout, r.code).expect("plugin output");
    assert!(r.stdout.contains("did not finish"), "{}", r.stdout);
}

#[test]
fn decimals_use_a_dot_in_a_german_locale() {
    let port = silent_server().to_string();
    let r = galera_at(
        &port,
        &["-t", "0.5", "-w", "2.5:", "-c", "1.5:"],
        &[
            ("LC_ALL", "de_DE.UTF-8"),
            ("LANG", "de_DE.UTF-8"),
            ("LC_NUMERIC", "de_DE.UTF-8"),
        ],
    );
    assert_eq!(r.code, 2, "{r:?}");
    let perf = r
        .first_line()
        .split_once(" | ")
        .map(|(_, p)| p)
        .unwrap_or_default();
    assert!(perf.contains("cluster_size=U;2.5:;1.5:"), "{perf}");
    assert!(perf.contains("time=0."), "{perf}");
    assert!(!perf.contains(','), "{perf}");
    validate_plugin_output(&r.stdout, r.code).unwrap();
}

/// The backup scan's descriptors are bounded whatever the tree: 400 dated containers at an
/// open-file limit of 64 are all read (before: `Too many open files` from the 60th on).
#[test]
fn the_backup_scan_fits_a_low_open_file_limit() {
    use std::os::unix::process::CommandExt;
    let dir = tempfile::tempdir().expect("temp dir");
    for i in 0..400 {
        let backup = dir
            .path()
            .join(format!("host{i}/full/backup_20261122_020000"));
        std::fs::create_dir_all(&backup).expect("mkdir");
        std::fs::write(
            backup.join("xtrabackup_checkpoints"),
            "backup_type = full-backuped\nfrom_lsn = 0\nto_lsn = 100\n",
        )
        .expect("checkpoints");
    }
    let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_quorate"));
    command
        .args(["check", "backup", "--backup-dir"])
        .arg(dir.path());
    // SAFETY: setrlimit is async-signal-safe; runs in the child before exec.
    unsafe {
        command.pre_exec(|| {
            let lim = libc::rlimit {
                rlim_cur: 64,
                rlim_max: 64,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let out = command.output().expect("run quorate check backup");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(!stdout.contains("Too many open files"), "{stdout}");
    assert!(stdout.contains("(400 failed)"), "{stdout}");
}
