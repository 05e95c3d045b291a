//! The Debian package, built and installed for real on this machine (CI: root, a fresh
//! machine; it installs and purges the package `quorate`, and purges it again on failure):
//!
//! 1. build it with scripts/build-deb from the binary cargo built for this test run (it
//!    generates the man pages and completions with that binary and runs `cargo deb --no-build`),
//!    and run `lintian` on it: no errors;
//! 2. `dpkg -i`: the files, owners and modes; the `quorate` system user, in group mysql; the
//!    conffiles; `systemd-analyze verify` of the unit (also with the shipped drop-in of the
//!    sudo path); `man -l` renders every page; the bash completion loads and completes
//!    `quorate check g<TAB>`;
//! 3. start the service as systemd would, without systemd: the unit's `ExecStartPre` and
//!    `ExecStart` lines with `/etc/default/quorate`'s `ARGS`, as the `quorate` user (its groups
//!    and no new privileges), with a datadir made like MariaDB's (grastate.dat readable only
//!    through group mysql) and a recovery token file (root:quorate 0640); `/metrics` exports
//!    grastate.dat, `/galera/state` answers with the token (401 without), `/health/galera`
//!    answers;
//! 4. the shipped privilege path, live (the sudo rule, the privileged drop-in, the documented
//!    `recover_command` and gluster `command`): first asked with `sudo -l` what it allows the
//!    quorate user; then `quorate serve` runs as the quorate user with the drop-in's
//!    capability bounding set, no `no_new_privs`, every file system read-only but the unit's
//!    and the drop-in's writable paths and a private /tmp, in a mount namespace standing in
//!    for a MariaDB host: a real stopped Galera node (bootstrapped once, one write-set) as
//!    /var/lib/mysql with its my.cnf, and a real glusterd (no volume) on its default socket.
//!    `/metrics` shows `gluster_up 1` (the CLI answers only root), `POST
//!    /galera/recover-position` answers 200 with grastate.dat's uuid and seqno (mariadbd, run
//!    as mysql through sudo, found them in InnoDB) and the datadir keeps only mysql's files;
//!    `/galera/state` and `/health/galera` answer; with the rule removed the recovery fails at
//!    once with sudo's refusal;
//! 5. `dpkg -r` (binary gone, conffiles kept) and `dpkg --purge` (conffiles, state and logs
//!    gone; the user is kept, as adduser(8) advises), with no quorate process left.
//!
//! Not covered here: this machine has no booted systemd (PID 1 is not systemd), so the real
//! unit is not started, stop-on-remove is checked in the generated prerm, not by watching
//! systemd stop the unit, and of the unit's sandboxing only what the sudo path depends on is
//! applied (by the test, as described in 4; `SystemCallFilter`, `PrivateDevices`, the
//! `Protect*` settings other than `ProtectSystem` are only `systemd-analyze verify`'d). The
//! per-volume gluster queries through sudo are only asked with `sudo -l` (glusterd here has
//! no volume). Without MariaDB and Galera (or GlusterFS) installed, 4 is reduced to `sudo -l`
//! (or skips glusterd), with a message.
//!
//! Skipped (with a message) when not root or when dpkg, cargo-deb or lintian is missing
//! (`scripts/install-deps --tests` installs them).

use std::fs;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

const PACKAGE: &str = "quorate";
const CONFIG: &str = "/etc/quorate/quorate.yaml";
/// The recovery token of the serve check (at least 16 characters, as the loader demands).
const TOKEN: &str = "package-test-token-0123456789";

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn run(program: &str, args: &[&str]) -> Output {
    Command::new(program)
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run {program}: {e}"))
}

/// Runs a command that must succeed; returns its stdout.
fn ok(program: &str, args: &[&str]) -> String {
    let out = run(program, args);
    assert!(
        out.status.success(),
        "{program} {args:?} failed ({}):\n{}{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn available(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Why this machine cannot run the test, if it cannot.
fn missing_tool() -> Option<&'static str> {
    if ok("id", &["-u"]).trim() != "0" {
        return Some("not root (dpkg -i needs root)");
    }
    if !available("dpkg", &["--version"]) {
        return Some("dpkg is missing");
    }
    if !available("cargo", &["deb", "--version"]) {
        return Some("cargo-deb is missing (cargo install cargo-deb --locked)");
    }
    if !available("lintian", &["--version"]) {
        return Some("lintian is missing (apt-get install lintian)");
    }
    None
}

/// Purges the package when dropped (also when the test fails), and ends the processes the
/// test started.
struct Installed {
    children: Vec<Child>,
}

/// Where the sudo check installs the shipped rule and unit drop-in (removed again by
/// [`Installed`]).
const SUDOERS: &str = "/etc/sudoers.d/quorate";
const DROP_IN_DIR: &str = "/etc/systemd/system/quorate.service.d";
/// The sudo rule (which also documents the commands) and the unit drop-in, as shipped.
const SUDOERS_EXAMPLE: &str = "/usr/share/doc/quorate/examples/sudoers.quorate";
const DROP_IN_EXAMPLE: &str = "/usr/share/doc/quorate/examples/quorate.service.d-privileged.conf";
/// The recovery token the serve check adds, as an administrator would (not a package file).
const TOKEN_FILE: &str = "/etc/quorate/recovery.token";

impl Drop for Installed {
    fn drop(&mut self) {
        for child in &mut self.children {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = fs::remove_file(SUDOERS);
        let _ = fs::remove_dir_all(DROP_IN_DIR);
        let _ = Command::new("dpkg").args(["--purge", PACKAGE]).output();
        let _ = fs::remove_file(TOKEN_FILE);
        let _ = fs::remove_dir("/etc/quorate");
    }
}

/// The shipped sudo rule (docs/install.md, "Least privilege"): valid, and it lets the quorate
/// user run exactly the commands quorate builds with the documented configuration
/// (`[sudo, -n, /usr/sbin/gluster]` plus `--mode=script ARGS --xml`; the recover_command plus
/// `--wsrep-recover --disable-log-error`), nothing else, and only without NoNewPrivileges.
/// `sudo -l COMMAND` answers whether a command is allowed without running it.
fn check_sudo_rule() {
    if !available("visudo", &["--version"]) {
        eprintln!("sudo is not installed: the shipped sudo rule is not checked");
        return;
    }
    ok("install", &["-m", "0440", SUDOERS_EXAMPLE, SUDOERS]);
    ok("visudo", &["-c", "-f", SUDOERS]);
    let may = |user: &str, argv: &[&str], no_new_privs: bool| -> bool {
        let mut command = Command::new("setpriv");
        command.args(["--reuid=quorate", "--regid=quorate", "--init-groups"]);
        if no_new_privs {
            command.arg("--no-new-privs");
        }
        command
            .args(["--", "sudo", "-n", "-u", user, "-l"])
            .args(argv)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .expect("sudo -l")
            .success()
    };
    let gluster = |args: &str| -> Vec<String> {
        ["/usr/sbin/gluster", "--mode=script"]
            .into_iter()
            .map(str::to_string)
            .chain(args.split_whitespace().map(str::to_string))
            .chain(["--xml".to_string()])
            .collect()
    };
    for query in [
        "volume info",
        "peer status",
        "volume status all detail",
        "volume status gv0 detail",
        "volume heal gv0 info summary",
        "volume heal gv0 info split-brain",
    ] {
        let argv = gluster(query);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert!(may("root", &argv, false), "sudo refuses {argv:?}");
    }
    for refused in ["volume stop gv0", "volume heal gv0", "volume set gv0 a b"] {
        let argv = gluster(refused);
        let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
        assert!(!may("root", &argv, false), "sudo allows {argv:?}");
    }
    let recover = [
        "/usr/sbin/mariadbd",
        "--user=mysql",
        "--wsrep-recover",
        "--disable-log-error",
    ];
    assert!(may("mysql", &recover, false), "sudo refuses {recover:?}");
    assert!(!may("root", &recover, false), "sudo runs mariadbd as root");
    assert!(
        !may("mysql", &["/usr/sbin/mariadbd", "--user=mysql"], false),
        "sudo allows mariadbd without --wsrep-recover"
    );
    // Under the shipped unit's NoNewPrivileges=yes sudo cannot work: hence the drop-in.
    assert!(
        !may("mysql", &recover, true),
        "sudo worked under no_new_privs"
    );
    fs::remove_file(SUDOERS).expect("remove the sudo rule");
}

fn installed_status() -> String {
    let out = run("dpkg-query", &["-W", "-f=${Status}", PACKAGE]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Builds the .deb into `work`/debian with scripts/build-deb, from this test run's binary
/// (no compilation: cargo holds the build directory's lock while tests run). The binary is
/// copied to where cargo-deb looks for a release build, in a target directory of our own.
fn build_deb(work: &Path) -> PathBuf {
    let target = work.join("target");
    fs::create_dir_all(target.join("release")).expect("mkdir");
    let binary = target.join("release/quorate");
    fs::copy(env!("CARGO_BIN_EXE_quorate"), &binary).expect("copy the binary");
    let out_dir = work.join("debian");
    let out = Command::new(repo().join("scripts/build-deb"))
        .args(["--fast", "--output"])
        .arg(&out_dir)
        .env("QUORATE_BINARY", &binary)
        // No quorate-dbgsym .ddeb: splitting the debug build's debug info costs ~30 s.
        .env("QUORATE_DEB_DEBUG", "strip")
        .env("CARGO_TARGET_DIR", &target)
        .output()
        .expect("run scripts/build-deb");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "scripts/build-deb failed:\n{log}");
    fs::read_dir(&out_dir)
        .expect("output dir")
        .map(|e| e.expect("entry").path())
        .find(|p| p.extension().is_some_and(|e| e == "deb"))
        .unwrap_or_else(|| {
            panic!(
                "scripts/build-deb wrote no .deb into {}: {log}",
                out_dir.display()
            )
        })
}

fn mode_owner(path: &str) -> (u32, String, String) {
    let meta = fs::metadata(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let user = ok("stat", &["-c", "%U", path]).trim().to_string();
    let group = ok("stat", &["-c", "%G", path]).trim().to_string();
    (meta.permissions().mode() & 0o7777, user, group)
}

fn unit_path() -> &'static str {
    [
        "/usr/lib/systemd/system/quorate.service",
        "/lib/systemd/system/quorate.service",
    ]
    .into_iter()
    .find(|p| Path::new(p).exists())
    .expect("quorate.service is installed")
}

/// The value of `key=` in the unit's lines (every occurrence, in order).
fn unit_values(unit: &str, key: &str) -> Vec<String> {
    unit.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(str::to_string)
        .collect()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port()
}

fn http_get(port: u16, path: &str, bearer: Option<&str>) -> Option<String> {
    http(port, "GET", path, bearer, Duration::from_secs(5))
}

/// One request on a fresh connection; the whole answer (status line, headers, body), or `None`
/// when the server cannot be reached or does not answer within `timeout`.
fn http(
    port: u16,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    timeout: Duration,
) -> Option<String> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    let authorization = bearer.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: localhost\r\n{authorization}Content-Length: 0\r\n\
         Connection: close\r\n\r\n"
    )
    .ok()?;
    let mut body = String::new();
    stream.read_to_string(&mut body).ok()?;
    Some(body)
}

/// A unit command line with the unit's environment as systemd expands it: `${CONFIG}` as one
/// word, `$ARGS` split on whitespace.
fn expand(line: &str, config: &str, args: &str) -> Vec<String> {
    line.split_whitespace()
        .flat_map(|word| match word {
            "$ARGS" => args.split_whitespace().map(str::to_string).collect(),
            w => vec![w.replace("${CONFIG}", config)],
        })
        .collect()
}

/// Runs argv as the quorate user, with its groups and no new privileges (as the unit does).
fn as_service_user(argv: &[String]) -> Command {
    let mut command = Command::new("setpriv");
    command
        .args([
            "--reuid=quorate",
            "--regid=quorate",
            "--init-groups",
            "--no-new-privs",
            "--",
        ])
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
    command
}

/// man's output without its bold and underline (a character, backspace, a character).
fn without_overstrike(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
        } else {
            out.push(c);
        }
    }
    out
}

fn quorate_processes() -> String {
    let out = run("pgrep", &["-a", "-u", "quorate"]);
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn debian_package_builds_lints_installs_serves_and_purges() {
    if let Some(why) = missing_tool() {
        eprintln!("SKIPPED tests/package.rs: {why}");
        return;
    }
    assert!(
        !installed_status().contains("installed"),
        "the package {PACKAGE} is already installed on this machine; this test installs and \
         purges it, so it refuses to touch an existing installation"
    );
    assert!(
        !Path::new("/etc/quorate").exists(),
        "/etc/quorate exists (a from-source installation?); this test refuses to touch it"
    );
    let started = Instant::now();
    let work = tempfile::tempdir().expect("tempdir");

    // 1. Build and lint.
    let deb = build_deb(work.path());
    let deb = deb.display().to_string();
    lint(&deb);
    let man_pages = fs::read_dir(repo().join("target/deb-assets/man"))
        .expect("generated man pages")
        .count();
    assert!(man_pages >= 20, "too few man pages: {man_pages}");

    // 2. Install and look.
    let mut installed = Installed {
        children: Vec::new(),
    };
    ok("dpkg", &["-i", &deb]);
    assert!(installed_status().contains("install ok installed"));
    check_files_and_user();
    check_man_pages(man_pages);
    check_completions();
    let unit = check_unit();

    // 3. Start it as systemd would.
    serve_as_systemd_would(&unit, work.path(), &mut installed);

    // 4. The privilege path: what the sudo rule allows, then the service using it.
    check_sudo_rule();
    serve_through_sudo(&unit, work.path(), &mut installed);

    // 5. Remove, then purge.
    remove_and_purge();
    eprintln!("package test took {:?}", started.elapsed());
}

/// `lintian` finds no error (the explained overrides are in packaging/debian/).
fn lint(deb: &str) {
    let lintian = run(
        "lintian",
        &["--fail-on", "error", "--tag-display-limit", "0", deb],
    );
    let text = String::from_utf8_lossy(&lintian.stdout).into_owned();
    eprintln!("lintian:\n{text}");
    assert!(
        lintian.status.success() && !text.lines().any(|l| l.starts_with("E: ")),
        "lintian reports errors:\n{text}{}",
        String::from_utf8_lossy(&lintian.stderr)
    );
}

/// Owners and modes, `/etc/default/quorate`, the conffiles, the shared files, and the
/// `quorate` system user in group mysql.
fn check_files_and_user() {
    for (path, mode, user, group) in [
        ("/usr/bin/quorate", 0o755, "root", "root"),
        ("/etc/quorate/quorate.yaml", 0o640, "root", "quorate"),
        ("/etc/quorate", 0o750, "root", "quorate"),
        ("/etc/default/quorate", 0o644, "root", "root"),
        ("/var/lib/quorate", 0o750, "quorate", "quorate"),
        ("/var/log/quorate", 0o750, "quorate", "quorate"),
    ] {
        assert_eq!(
            mode_owner(path),
            (mode, user.to_string(), group.to_string()),
            "{path}: mode, owner, group"
        );
    }
    let default = fs::read_to_string("/etc/default/quorate").expect("/etc/default/quorate");
    assert!(default.lines().any(|l| l.starts_with("ARGS=")), "{default}");
    let conffiles = ok("dpkg-query", &["-W", "-f=${Conffiles}", PACKAGE]);
    for conffile in ["/etc/quorate/quorate.yaml", "/etc/default/quorate"] {
        assert!(conffiles.contains(conffile), "{conffile}: {conffiles}");
    }
    for file in [
        "/usr/share/doc/quorate/README.md",
        "/usr/share/doc/quorate/docs/install.md",
        "/usr/share/doc/quorate/copyright",
        "/usr/share/doc/quorate/examples/quorate.yaml",
        "/usr/share/quorate/dashboards/quorate-galera-overview.json",
        "/usr/share/quorate/alerts/galera.rules.yml",
        "/usr/share/quorate/nagios/quorate-commands.cfg",
        "/usr/share/quorate/nagios/zabbix/template_galera_quorate.yaml",
    ] {
        assert!(Path::new(file).is_file(), "{file} is not installed");
    }
    // The shipped monitoring files name the packaged binary.
    let commands = fs::read_to_string("/usr/share/quorate/nagios/quorate-commands.cfg")
        .expect("quorate-commands.cfg");
    assert!(
        commands.contains("/usr/bin/quorate check") && !commands.contains("/usr/local/bin"),
        "{commands}"
    );

    let passwd = ok("getent", &["passwd", "quorate"]);
    let fields: Vec<&str> = passwd.trim().split(':').collect();
    let uid: u32 = fields[2].parse().expect("uid");
    assert!(uid < 1000, "quorate is not a system user: {passwd}");
    assert_eq!(fields[6], "/usr/sbin/nologin", "{passwd}");
    if run("getent", &["group", "mysql"]).status.success() {
        let groups = ok("id", &["-nG", "quorate"]);
        assert!(
            groups.split_whitespace().any(|g| g == "mysql"),
            "quorate is not in group mysql: {groups}"
        );
    }
}

/// Every generated page is installed compressed and `man -l` renders it without a warning.
fn check_man_pages(expected: usize) {
    let installed = fs::read_dir("/usr/share/man/man1")
        .expect("man1")
        .map(|e| e.expect("entry").path())
        .filter(|p| {
            p.file_name()
                .is_some_and(|n| n.to_string_lossy().starts_with("quorate"))
        })
        .collect::<Vec<_>>();
    assert_eq!(installed.len(), expected, "{installed:?}");
    for page in &installed {
        assert!(page.extension().is_some_and(|e| e == "gz"), "{page:?}");
        let out = Command::new("man")
            .arg("-l")
            .arg(page)
            .env("MANWIDTH", "80")
            .output()
            .expect("man");
        let text = without_overstrike(&String::from_utf8_lossy(&out.stdout));
        let warnings = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success()
                && text.contains("NAME")
                && text.contains("SYNOPSIS")
                && warnings.trim().is_empty(),
            "man -l {} failed:\n{text}{warnings}",
            page.display(),
        );
    }
}

/// The bash completion loads and completes `quorate check g<TAB>`; no completion offers the
/// build step `quorate generate`.
fn check_completions() {
    let completion = ok(
        "bash",
        &[
            "-c",
            "source /usr/share/bash-completion/completions/quorate && \
             COMP_WORDS=(quorate check g) COMP_CWORD=2 COMP_LINE='quorate check g' \
             COMP_POINT=15 && _quorate quorate g check && printf '%s\\n' \"${COMPREPLY[@]}\"",
        ],
    );
    let mut words: Vec<&str> = completion.split_whitespace().collect();
    words.sort_unstable();
    assert_eq!(words, ["galera", "gluster"], "{completion}");
    for file in [
        "/usr/share/bash-completion/completions/quorate",
        "/usr/share/zsh/vendor-completions/_quorate",
        "/usr/share/fish/vendor_completions.d/quorate.fish",
    ] {
        let text = fs::read_to_string(file).unwrap_or_else(|e| panic!("{file}: {e}"));
        assert!(!text.contains("generate"), "{file} offers `generate`");
    }
}

/// `systemd-analyze verify` (it needs no running systemd) finds nothing to say about `unit`;
/// it exits 0 even on unknown keys, so its messages are read.
fn verify(unit: &str) {
    let out = run("systemd-analyze", &["verify", unit]);
    let text = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(
        out.status.success() && !text.contains("quorate.service"),
        "systemd-analyze verify {unit}:\n{text}"
    );
}

/// The unit verifies, alone and with the shipped drop-in of the sudo path, has the settings
/// the issue asks for, and is stopped by the prerm. Returns its text.
fn check_unit() -> String {
    let unit_file = unit_path();
    verify(unit_file);
    let unit = fs::read_to_string(unit_file).expect("unit");
    for (key, value) in [
        ("User", "quorate"),
        ("Restart", "on-failure"),
        ("LimitNOFILE", "65536"),
        ("NoNewPrivileges", "yes"),
        ("ProtectSystem", "strict"),
        ("ProtectHome", "yes"),
        ("PrivateTmp", "yes"),
        ("PrivateDevices", "yes"),
        ("SystemCallFilter", "@system-service"),
        ("CapabilityBoundingSet", ""),
    ] {
        assert!(
            unit_values(&unit, key).iter().any(|v| v == value),
            "quorate.service lacks {key}={value}"
        );
    }
    for key in ["ExecStartPre", "ExecReload"] {
        let lines = unit_values(&unit, key);
        assert!(
            lines
                .first()
                .is_some_and(|l| l.contains("quorate config check")),
            "{key}: {lines:?}"
        );
    }

    fs::create_dir_all(DROP_IN_DIR).expect("drop-in dir");
    fs::copy(
        DROP_IN_EXAMPLE,
        Path::new(DROP_IN_DIR).join("privileged.conf"),
    )
    .expect("install the drop-in");
    verify("quorate.service");
    fs::remove_dir_all(DROP_IN_DIR).expect("remove the drop-in");

    let prerm = ok("dpkg-query", &["--control-show", PACKAGE, "prerm"]);
    assert!(
        prerm.contains("deb-systemd-invoke stop") && prerm.contains("quorate.service"),
        "the prerm does not stop the service:\n{prerm}"
    );
    unit
}

/// The unit's `ExecStartPre` then `ExecStart`, with `/etc/default/quorate`'s `ARGS` (set here
/// to a free loopback port), as the quorate user. The configuration is changed as an
/// administrator would: the node's datadir is one made like MariaDB's (mysql:mysql 0750, its
/// grastate.dat mysql:mysql 0660, so group mysql is the only way in) and a recovery token file
/// (root:quorate 0640) enables `/galera/state`. `/metrics` (grastate.dat read), `/galera/state`
/// (with and without the token) and `/health/galera` answer.
fn serve_as_systemd_would(unit: &str, work: &Path, installed: &mut Installed) {
    let with_mysql = run("getent", &["group", "mysql"]).status.success();
    let datadir = work.join("datadir");
    if with_mysql {
        // Others may pass through the work directory, as through /var/lib.
        fs::set_permissions(work, fs::Permissions::from_mode(0o711)).expect("chmod work");
        fs::create_dir(&datadir).expect("datadir");
        let grastate = datadir.join("grastate.dat");
        fs::copy(
            repo().join("tests/fixtures/wsrep/grastate/clean-last-stopped.dat"),
            &grastate,
        )
        .expect("grastate.dat");
        let (datadir_s, grastate_s) = (
            datadir.display().to_string(),
            grastate.display().to_string(),
        );
        ok("chown", &["-R", "mysql:mysql", &datadir_s]);
        ok("chmod", &["0750", &datadir_s]);
        ok("chmod", &["0660", &grastate_s]);
        let config = fs::read_to_string(CONFIG).expect("config");
        assert!(config.contains("datadir: /var/lib/mysql"), "{config}");
        let config = config.replace("datadir: /var/lib/mysql", &format!("datadir: {datadir_s}"));
        fs::write(
            CONFIG,
            format!("{config}  recovery:\n    token_file: {TOKEN_FILE}\n"),
        )
        .expect("write the configuration");
        fs::write(TOKEN_FILE, format!("{TOKEN}\n")).expect("token");
        ok("chown", &["root:quorate", TOKEN_FILE]);
        ok("chmod", &["0640", TOKEN_FILE]);
        assert_eq!(mode_owner(CONFIG), (0o640, "root".into(), "quorate".into()));
    } else {
        eprintln!("no group mysql on this machine: grastate.dat and /galera/state not checked");
    }

    let port = free_port();
    let args = listen_on(port);
    let start_pre = unit_values(unit, "ExecStartPre");
    let check = as_service_user(&expand(&start_pre[0], CONFIG, &args))
        .output()
        .expect("ExecStartPre");
    assert!(
        check.status.success(),
        "ExecStartPre failed:\n{}{}",
        String::from_utf8_lossy(&check.stdout),
        String::from_utf8_lossy(&check.stderr)
    );
    let exec_start = unit_values(unit, "ExecStart");
    let child = as_service_user(&expand(&exec_start[0], CONFIG, &args))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("ExecStart");
    installed.children.push(child);
    let metrics = wait_for_metrics(port, "any", |_| true, None);
    // (LimitNOFILE is systemd's to apply: setpriv keeps this test's limit.)
    let mut expected = vec![
        "quorate_build_info{",
        "process_open_fds ",
        "process_max_fds ",
        "process_resident_memory_bytes ",
        "quorate_config_last_reload_successful 1",
    ];
    if with_mysql {
        // Read through group mysql: the seqno of the fixture.
        expected.extend([
            "mysql_galera_grastate_seqno 35",
            "collector=\"grastate\"} 1",
        ]);
    }
    for needle in expected {
        assert!(
            metrics.contains(needle),
            "/metrics lacks {needle}:\n{metrics}"
        );
    }
    if with_mysql {
        let state = http_get(port, "/galera/state", Some(TOKEN)).unwrap_or_default();
        assert!(
            state.starts_with("HTTP/1.1 200") && state.contains("\"seqno\": 35"),
            "/galera/state with the token:\n{state}"
        );
        let refused = http_get(port, "/galera/state", None).unwrap_or_default();
        assert!(
            refused.starts_with("HTTP/1.1 401"),
            "/galera/state without: {refused}"
        );
    }
    // The HAProxy endpoint answers as the service user too (503 here: no MariaDB to read).
    let health = http_get(port, "/health/galera", None).unwrap_or_default();
    assert!(
        health.starts_with("HTTP/1.1 200") || health.starts_with("HTTP/1.1 503"),
        "/health/galera: {health}"
    );
    for mut child in installed.children.drain(..) {
        let _ = child.kill();
        let _ = child.wait();
    }
}

/// Where Debian and other distributions install the Galera provider.
const GALERA_PROVIDERS: [&str; 5] = [
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/lib/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",
    "/usr/lib64/galera/libgalera_smm.so",
    "/usr/lib/galera-4/libgalera_smm.so",
];

/// A process the test started, killed and reaped when dropped (also when the test fails).
struct Process(Child);

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Why the sudo path cannot be exercised live on this machine, if it cannot: it needs sudo,
/// MariaDB with Galera (the server, its client, mariadb-install-db, the host's
/// /etc/mysql/my.cnf and /var/lib/mysql to stand in for) and util-linux.
fn sudo_path_missing() -> Option<String> {
    for (program, args) in [
        ("visudo", &["--version"][..]),
        ("mariadb-install-db", &["--version"][..]),
        ("mariadb", &["--version"][..]),
        ("nsenter", &["--version"][..]),
        ("unshare", &["--version"][..]),
        ("findmnt", &["--version"][..]),
    ] {
        if !available(program, args) {
            return Some(format!("{program} is missing"));
        }
    }
    for file in ["/usr/sbin/mariadbd", "/etc/mysql/my.cnf"] {
        if !Path::new(file).is_file() {
            return Some(format!("{file} is missing"));
        }
    }
    if !Path::new("/var/lib/mysql").is_dir() {
        return Some("/var/lib/mysql is missing".into());
    }
    if !GALERA_PROVIDERS.iter().any(|p| Path::new(p).is_file()) {
        return Some("the Galera provider (libgalera_smm.so) is missing".into());
    }
    if !run("getent", &["group", "mysql"]).status.success() {
        return Some("there is no group mysql".into());
    }
    None
}

/// `key=` of the sudo example's comment that documents it (`#   quorate.gluster.command: [..]`),
/// parsed as the YAML flow list it is.
fn documented_command(sudoers: &str, key: &str) -> Vec<String> {
    let line = sudoers
        .lines()
        .find_map(|l| {
            l.trim_start_matches(['#', ' '])
                .strip_prefix(key)?
                .strip_prefix(':')
        })
        .unwrap_or_else(|| panic!("{SUDOERS_EXAMPLE} does not document {key}"));
    line.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|w| w.trim().to_string())
        .collect()
}

/// A stopped Galera node's datadir, owned by mysql like a real one: made by
/// mariadb-install-db, bootstrapped once as a one-node cluster that commits one write-set (so
/// that `--wsrep-recover` has a real position to find in InnoDB), then shut down cleanly.
/// Returns the datadir and grastate.dat's `uuid` and `seqno`, the position a recovery must
/// report.
fn stopped_galera_node(dir: &Path, provider: &str) -> (PathBuf, String, i64) {
    fs::create_dir(dir).expect("mkdir");
    fs::set_permissions(dir, fs::Permissions::from_mode(0o755)).expect("chmod");
    let data = dir.join("data");
    let run_dir = dir.join("run");
    fs::create_dir(&run_dir).expect("mkdir run");
    let data_s = data.display().to_string();
    let run_s = run_dir.display().to_string();
    ok(
        "mariadb-install-db",
        &[
            "--no-defaults",
            "--user=mysql",
            "--skip-test-db",
            &format!("--datadir={data_s}"),
            "--auth-root-authentication-method=normal",
        ],
    );
    // mariadb-install-db leaves a root-owned file or two; a packaged datadir is mysql's.
    ok("chown", &["-R", "mysql:mysql", &data_s, &run_s]);
    let socket = run_dir.join("sock").display().to_string();
    let log = run_dir.join("error.log");
    let mut server = Process(
        Command::new("/usr/sbin/mariadbd")
            .args([
                "--no-defaults".to_string(),
                "--user=mysql".into(),
                format!("--datadir={data_s}"),
                format!("--socket={socket}"),
                format!("--pid-file={run_s}/mariadbd.pid"),
                format!("--log-error={}", log.display()),
                "--skip-networking".into(),
                "--innodb-buffer-pool-size=16M".into(),
                "--binlog-format=ROW".into(),
                "--innodb-autoinc-lock-mode=2".into(),
                "--wsrep-on=ON".into(),
                format!("--wsrep-provider={provider}"),
                "--wsrep-cluster-address=gcomm://".into(),
                // Galera's group port on loopback, any free one; nothing connects to it.
                "--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:0;gcache.size=1M"
                    .into(),
                "--wsrep-new-cluster".into(),
            ])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("mariadbd"),
    );
    let deadline = Instant::now() + Duration::from_secs(60);
    // One DDL statement is one write-set: the node commits seqno 1 or more.
    while !Command::new("mariadb")
        .args(["--no-defaults", "-uroot", "-S", &socket])
        .args(["-e", "CREATE DATABASE package_test"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        let exited = server.0.try_wait().expect("try_wait").is_some();
        assert!(
            !exited && Instant::now() < deadline,
            "the Galera node did not come up:\n{}",
            fs::read_to_string(&log).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    ok("kill", &["-TERM", &server.0.id().to_string()]);
    let deadline = Instant::now() + Duration::from_secs(60);
    while server.0.try_wait().expect("try_wait").is_none() {
        assert!(
            Instant::now() < deadline,
            "the Galera node did not shut down"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let grastate = fs::read_to_string(data.join("grastate.dat")).expect("grastate.dat");
    let field = |key: &str| -> String {
        grastate
            .lines()
            .find_map(|l| l.strip_prefix(key))
            .unwrap_or_else(|| panic!("grastate.dat lacks {key}:\n{grastate}"))
            .trim()
            .to_string()
    };
    let seqno: i64 = field("seqno:").parse().expect("seqno");
    assert!(seqno >= 1, "the node committed nothing:\n{grastate}");
    (data, field("uuid:"), seqno)
}

/// The paths `unit` (with the drop-in `drop_in`) may write under `ProtectSystem=strict`:
/// `ReadWritePaths=` (a leading `-` kept: missing is fine) and the directories systemd makes
/// for `StateDirectory=`, `LogsDirectory=` and `RuntimeDirectory=`.
fn writable_paths(unit: &str, drop_in: &str) -> Vec<String> {
    let mut paths: Vec<String> = [unit, drop_in]
        .iter()
        .flat_map(|text| unit_values(text, "ReadWritePaths"))
        .flat_map(|v| v.split_whitespace().map(str::to_string).collect::<Vec<_>>())
        .collect();
    for (key, root) in [
        ("StateDirectory", "/var/lib"),
        ("LogsDirectory", "/var/log"),
        ("RuntimeDirectory", "/run"),
    ] {
        paths.extend(unit_values(unit, key).iter().map(|d| format!("{root}/{d}")));
    }
    paths
}

/// `quorate serve` as the packaged service with the shipped privilege path (the sudo rule,
/// the privileged drop-in, the documented commands), against a real stopped Galera node and,
/// when GlusterFS is installed, a real glusterd (see [`host_namespace`] and
/// [`as_privileged_service`] for how the host and systemd are stood in for).
///
/// `/metrics` shows the gluster collector succeeding (the CLI answers only root: through
/// sudo); `POST /galera/recover-position` answers 200 with the node's position (grastate.dat's
/// uuid and seqno, found in InnoDB by mariadbd run as mysql through sudo) and the datadir holds
/// only mysql's files afterwards; `/galera/state` and `/health/galera` answer; without the
/// sudo rule the recovery fails at once with sudo's refusal.
fn serve_through_sudo(unit: &str, work: &Path, installed: &mut Installed) {
    if let Some(why) = sudo_path_missing() {
        eprintln!("{why}: the sudo path is not exercised live (only `sudo -l` checked it)");
        return;
    }
    let started = Instant::now();
    let provider = GALERA_PROVIDERS
        .into_iter()
        .find(|p| Path::new(p).is_file())
        .expect("a provider");
    let (data, uuid, seqno) = stopped_galera_node(&work.join("galera"), provider);
    eprintln!("the stopped Galera node took {:?}", started.elapsed());
    let (namespace, with_gluster) = host_namespace(work, &data, provider, installed);

    // The documented configuration of the sudo path, and the shipped rule.
    let sudoers = fs::read_to_string(SUDOERS_EXAMPLE).expect("the sudo example");
    let flow = |key: &str| format!("[{}]", documented_command(&sudoers, key).join(", "));
    let config = fs::read_to_string(CONFIG).expect("config");
    let first = format!("datadir: {}", work.join("datadir").display());
    let recovery = format!("  recovery:\n    token_file: {TOKEN_FILE}\n");
    assert!(
        config.contains(&first) && config.contains(&recovery),
        "{config}"
    );
    let mut config = config.replace(&first, "datadir: /var/lib/mysql").replace(
        &recovery,
        &format!(
            "{recovery}    recover_command: {}\n",
            flow("quorate.recovery.recover_command")
        ),
    );
    if with_gluster {
        config.push_str(&format!(
            "  gluster:\n    command: {}\n",
            flow("quorate.gluster.command")
        ));
    }
    fs::write(CONFIG, config).expect("write the configuration");
    ok("install", &["-m", "0440", SUDOERS_EXAMPLE, SUDOERS]);

    let port = free_port();
    let args = listen_on(port);
    let exec_start = expand(&unit_values(unit, "ExecStart")[0], CONFIG, &args);
    let log = work.join("serve-sudo.log");
    let serve_log = fs::File::create(&log).expect("log");
    let child = as_privileged_service(unit, &namespace, &exec_start)
        .stdout(serve_log.try_clone().expect("log"))
        .stderr(serve_log)
        .spawn()
        .expect("ExecStart");
    installed.children.push(child);
    let log_text = || fs::read_to_string(&log).unwrap_or_default();

    if with_gluster {
        wait_for_metrics(
            port,
            "gluster_up 1",
            |m| m.contains("\ngluster_up 1") && m.contains("collector=\"gluster\"} 1"),
            Some(&log),
        );
    } else {
        eprintln!("GlusterFS is not installed: the gluster CLI through sudo is not exercised");
        wait_for_metrics(port, "any", |_| true, Some(&log));
    }

    let mysql_uid = ok("id", &["-u", "mysql"]).trim().to_string();
    let data_s = data.display().to_string();
    let not_mysqls = || ok("find", &[&data_s, "!", "-uid", &mysql_uid]);
    assert_eq!(not_mysqls(), "", "the datadir holds files not mysql's");
    let recover = || {
        http(
            port,
            "POST",
            "/galera/recover-position",
            Some(TOKEN),
            Duration::from_secs(120),
        )
        .unwrap_or_default()
    };
    let answer = recover();
    let (head, body) = answer.split_once("\r\n\r\n").unwrap_or((&answer, ""));
    assert!(
        head.starts_with("HTTP/1.1 200"),
        "recover-position through sudo:\n{answer}\nserve's log:\n{}",
        log_text()
    );
    let recovered: serde_json::Value = serde_json::from_str(body).expect("JSON");
    let outcome = &recovered["outcome"];
    assert_eq!(
        (
            outcome["kind"].as_str(),
            outcome["uuid"].as_str(),
            outcome["seqno"].as_i64()
        ),
        (Some("position"), Some(uuid.as_str()), Some(seqno)),
        "{body}"
    );
    // mariadbd ran as mysql: nothing it wrote in the datadir is root's (or quorate's).
    assert_eq!(not_mysqls(), "", "recover-position left files not mysql's");
    assert_eq!(
        mode_owner("/var/lib/quorate/localhost.position.json").1,
        "quorate",
        "the recovered position is cached by the service user"
    );
    let state = http_get(port, "/galera/state", Some(TOKEN)).unwrap_or_default();
    assert!(
        state.starts_with("HTTP/1.1 200") && state.contains(&uuid),
        "/galera/state: {state}"
    );
    let health = http_get(port, "/health/galera", None).unwrap_or_default();
    assert!(
        health.starts_with("HTTP/1.1 200") || health.starts_with("HTTP/1.1 503"),
        "/health/galera: {health}"
    );

    // Without the sudo rule, sudo -n refuses at once and the answer says so.
    fs::remove_file(SUDOERS).expect("remove the sudo rule");
    let asked = Instant::now();
    let refused = recover();
    assert!(
        refused.starts_with("HTTP/1.1 500") && refused.contains("sudo: a password is required"),
        "recover-position without the sudo rule:\n{refused}"
    );
    assert!(
        asked.elapsed() < Duration::from_secs(10),
        "the refusal took {:?}",
        asked.elapsed()
    );
    for mut child in installed.children.drain(..) {
        let _ = child.kill();
        let _ = child.wait();
    }
    eprintln!("the sudo path took {:?}", started.elapsed());
}

/// A private mount namespace that stands in for a MariaDB (and GlusterFS) host without
/// touching this one; returns the pid that holds it and whether glusterd runs in it:
///
/// - the node's datadir is its /var/lib/mysql and a my.cnf naming that (wsrep on) its
///   /etc/mysql/my.cnf, as a packaged MariaDB has them;
/// - its /run is the test's, with what a booted host's holds: /run/sudo (sudo's tmpfiles.d),
///   /run/mysqld (MariaDB's) and /run/quorate (the unit's RuntimeDirectory);
/// - glusterd (on 127.0.0.1, a free port, no volume) runs in it with its own
///   /var/log/glusterfs and /var/lib/glusterd, so the CLI's default socket
///   /run/glusterd.socket reaches it and nothing lands in the host's directories.
fn host_namespace(
    work: &Path,
    data: &Path,
    provider: &str,
    installed: &mut Installed,
) -> (String, bool) {
    let my_cnf = work.join("my.cnf");
    fs::write(
        &my_cnf,
        format!(
            "# The host's MariaDB configuration, as the test stands it in for /etc/mysql/my.cnf.\n\
             [mysqld]\ndatadir=/var/lib/mysql\nsocket=/run/mysqld/mysqld.sock\n\
             pid-file=/run/mysqld/mysqld.pid\nskip-networking\ninnodb_buffer_pool_size=16M\n\
             binlog_format=ROW\ninnodb_autoinc_lock_mode=2\nwsrep_on=ON\n\
             wsrep_provider={provider}\nwsrep_cluster_address=gcomm://\n"
        ),
    )
    .expect("my.cnf");
    fs::set_permissions(&my_cnf, fs::Permissions::from_mode(0o644)).expect("chmod my.cnf");
    let host = work.join("host");
    let with_gluster = ["glusterd", "gluster"]
        .iter()
        .all(|p| Path::new("/usr/sbin").join(p).is_file())
        && Path::new("/var/lib/glusterd").is_dir()
        && Path::new("/var/log/glusterfs").is_dir();
    for sub in ["glusterfs", "glusterd", "glusterd-wd"] {
        fs::create_dir_all(host.join(sub)).expect("mkdir");
    }
    for (dir, owner, mode) in [
        ("run/sudo", "root:root", 0o711),
        ("run/mysqld", "mysql:root", 0o755),
        ("run/quorate", "quorate:quorate", 0o750),
    ] {
        let dir = host.join(dir);
        fs::create_dir_all(&dir).expect("mkdir");
        ok("chown", &[owner, &dir.display().to_string()]);
        fs::set_permissions(&dir, fs::Permissions::from_mode(mode)).expect("chmod");
    }
    let volfile = host.join("glusterd.vol");
    fs::write(
        &volfile,
        format!(
            "volume management\n    type mgmt/glusterd\n    option working-directory {}\n    \
             option transport-type socket\n    option transport.socket.bind-address 127.0.0.1\n    \
             option transport.socket.listen-port {}\n    option ping-timeout 0\n    \
             option event-threads 1\nend-volume\n",
            host.join("glusterd-wd").display(),
            free_port()
        ),
    )
    .expect("glusterd.vol");
    let holder = Command::new("unshare")
        .args(["--mount", "--propagation", "private", "--", "sh", "-euc"])
        .arg(
            "mount --bind \"$1/run\" /run; mount --bind \"$2\" /var/lib/mysql; \
             mount --bind \"$3\" /etc/mysql/my.cnf; \
             if [ \"$4\" = gluster ]; then mount --bind \"$1/glusterfs\" /var/log/glusterfs; \
             mount --bind \"$1/glusterd\" /var/lib/glusterd; exec glusterd -N --volfile=\"$5\"; \
             fi; exec sleep 3600",
        )
        .arg("sh")
        .args([&host, data, &my_cnf])
        .arg(if with_gluster { "gluster" } else { "none" })
        .arg(&volfile)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("unshare");
    let namespace = holder.id().to_string();
    installed.children.push(holder);
    let ready: &[&str] = match with_gluster {
        true => &["gluster", "--mode=script", "volume", "info", "--xml"],
        false => &["findmnt", "/etc/mysql/my.cnf"],
    };
    let deadline = Instant::now() + Duration::from_secs(30);
    while !Command::new("nsenter")
        .args(["--target", &namespace, "--mount", "--"])
        .args(ready)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
    {
        assert!(
            Instant::now() < deadline,
            "the host's namespace is not ready ({ready:?} fails); glusterd's log:\n{}",
            fs::read_to_string(host.join("glusterfs/glusterd.log")).unwrap_or_default()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    (namespace, with_gluster)
}

/// `argv` in the host's `namespace` as systemd would run the unit with the privileged
/// drop-in, for the parts that matter to the sudo path: the quorate user with its groups, the
/// drop-in's capability bounding set and no `no_new_privs` (sudo is setuid root); every file
/// system read-only but the unit's and the drop-in's writable paths (ProtectSystem=strict:
/// what sudo, the gluster CLI and mariadbd write must be listed there), in a mount namespace
/// of its own; a private /tmp. Both files are read as installed.
fn as_privileged_service(unit: &str, namespace: &str, argv: &[String]) -> Command {
    let drop_in = fs::read_to_string(DROP_IN_EXAMPLE).expect("the drop-in");
    assert_eq!(
        unit_values(&drop_in, "NoNewPrivileges"),
        ["no"],
        "{drop_in}"
    );
    let bounding: Vec<String> = unit_values(&drop_in, "CapabilityBoundingSet")
        .iter()
        .flat_map(|v| v.split_whitespace())
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
        .collect();
    assert!(!bounding.is_empty(), "{drop_in}");
    let writable: Vec<String> = writable_paths(unit, &drop_in)
        .iter()
        .map(|p| {
            assert!(!p.contains('\''), "{p}");
            format!("'{p}'")
        })
        .collect();
    // Mounts that are not reachable (hidden under the namespace's /run) are left alone; the
    // API file systems stay writable, as under systemd.
    let script = format!(
        "for m in $(findmnt -rn -o TARGET -O rw); do [ -e \"$m\" ] || continue; \
         case \"$m\" in /proc|/proc/*|/sys|/sys/*|/dev|/dev/*) ;; \
         *) mount -o remount,bind,ro \"$m\" ;; esac; \
         done; mount -t tmpfs -o mode=1777 tmpfs /tmp; \
         for p in {}; do case \"$p\" in -*) p=\"${{p#-}}\"; [ -e \"$p\" ] || continue ;; esac; \
         mount --bind \"$p\" \"$p\"; mount -o remount,bind,rw \"$p\"; done; exec \"$@\"",
        writable.join(" ")
    );
    let mut command = Command::new("nsenter");
    command
        .args(["--target", namespace, "--mount", "--"])
        .args(["unshare", "--mount", "--propagation", "private", "--"])
        .args(["sh", "-euc", &script, "sh", "setpriv"])
        .args(["--reuid=quorate", "--regid=quorate", "--init-groups"])
        .arg(format!("--bounding-set=-all,{}", bounding.join(",")))
        .arg("--")
        .args(argv)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .stdin(Stdio::null());
    command
}

/// Sets `/etc/default/quorate`'s `ARGS` to listen on `port`, as an administrator would, and
/// returns `ARGS` as the unit reads it.
fn listen_on(port: u16) -> String {
    let default = fs::read_to_string("/etc/default/quorate").expect("/etc/default/quorate");
    let edited: String = default
        .lines()
        .map(|l| match l.starts_with("ARGS=") {
            true => format!("ARGS=\"--listen 127.0.0.1:{port}\"\n"),
            false => format!("{l}\n"),
        })
        .collect();
    fs::write("/etc/default/quorate", edited).expect("write /etc/default/quorate");
    let default = fs::read_to_string("/etc/default/quorate").expect("read");
    default
        .lines()
        .find_map(|l| l.strip_prefix("ARGS="))
        .expect("ARGS=")
        .trim_matches('"')
        .to_string()
}

/// Polls `/metrics` on `port` until it answers 200 with a body `until` accepts (20 s);
/// `what` names the awaited content and `log` the server's output for the failure message.
fn wait_for_metrics(
    port: u16,
    what: &str,
    until: impl Fn(&str) -> bool,
    log: Option<&Path>,
) -> String {
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut last = None;
    loop {
        last = http_get(port, "/metrics", None)
            .filter(|b| b.contains(" 200 "))
            .or(last);
        if let Some(body) = last.as_ref().filter(|b| until(b)) {
            return body.clone();
        }
        if Instant::now() >= deadline {
            let log = log.map(|p| fs::read_to_string(p).unwrap_or_default());
            panic!(
                "quorate serve (as user quorate) did not answer /metrics with {what} on port \
                 {port}:\n{}\nits log:\n{}",
                last.unwrap_or_default(),
                log.unwrap_or_default()
            );
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `dpkg -r` keeps the conffiles; `dpkg --purge` removes them, the state and the logs; no
/// process of the quorate user is left after either.
fn remove_and_purge() {
    ok("dpkg", &["-r", PACKAGE]);
    assert!(!Path::new("/usr/bin/quorate").exists());
    assert!(
        Path::new("/etc/quorate/quorate.yaml").exists(),
        "dpkg -r must keep the conffiles"
    );
    assert_eq!(
        quorate_processes(),
        "",
        "a quorate process outlived dpkg -r"
    );
    ok("dpkg", &["--purge", PACKAGE]);
    // A file the administrator added (the token) is theirs: kept, and with it /etc/quorate.
    if Path::new(TOKEN_FILE).exists() {
        fs::remove_file(TOKEN_FILE).expect("remove the token");
        fs::remove_dir("/etc/quorate").expect("/etc/quorate holds only the token after purge");
    }
    for gone in [
        "/etc/quorate",
        "/etc/default/quorate",
        "/var/lib/quorate",
        "/var/log/quorate",
    ] {
        assert!(!Path::new(gone).exists(), "{gone} survived dpkg --purge");
    }
    assert_eq!(
        quorate_processes(),
        "",
        "a quorate process outlived dpkg --purge"
    );
    assert!(
        !installed_status().contains("installed"),
        "{}",
        installed_status()
    );
}
