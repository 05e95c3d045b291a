//! `quorate config check` against configuration files written by the test (no cluster): a
//! valid file exits 0 and prints the resolved settings with every secret redacted; a file with
//! a problem that is only a warning still passes; a bad or missing file exits 1 naming it.
//! Also `--log-format json`, whose warnings these files provoke.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::Path;
use std::process::{Command, Output};

const PASSWORD: &str = "s3cr3t-never-printed";
const TOKEN: &str = "t0ken-never-printed";

fn config_check(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["config", "check"])
        .args(args)
        .env_remove("QUORATE_LOG_FORMAT")
        .output()
        .expect("run quorate config check")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A small valid file whose MySQL password is in a 0600 file and whose recovery token is
/// literal.
fn write_config(dir: &Path, extra: &str) -> String {
    let password = dir.join("mysql.password");
    fs::write(&password, format!("{PASSWORD}\n")).expect("password file");
    fs::set_permissions(&password, fs::Permissions::from_mode(0o600)).expect("chmod");
    let file = dir.join("quorate.yaml");
    fs::write(
        &file,
        format!(
            "cluster:\n  name: prod\nnodes:\n  controllers:\n    - hostname: server1\n      \
             ip_address: 192.0.2.1\n      services: {{mariadb: true}}\nquorate:\n  \
             listen: \"127.0.0.1:9878\"\n  mysql:\n    password_file: mysql.password\n  \
             recovery:\n    token: {TOKEN}\n{extra}"
        ),
    )
    .expect("config");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o640)).expect("chmod");
    file.display().to_string()
}

#[test]
fn a_valid_file_prints_resolved_settings_with_secrets_redacted() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(dir.path(), "");
    let out = config_check(&["--config", &file]);
    let (stdout, stderr) = (text(&out.stdout), text(&out.stderr));
    assert_eq!(out.status.code(), Some(0), "{stdout}{stderr}");
    assert!(stdout.contains("configuration valid"), "{stdout}");
    assert!(stdout.contains("cluster_name: \"prod\""), "{stdout}");
    assert!(stdout.contains("127.0.0.1:9878"), "{stdout}");
    assert!(stdout.contains("<redacted>"), "{stdout}");
    for secret in [PASSWORD, TOKEN] {
        assert!(
            !stdout.contains(secret) && !stderr.contains(secret),
            "a secret was printed:\n{stdout}{stderr}"
        );
    }

    let quiet = config_check(&["--config", &file, "--quiet"]);
    assert_eq!(quiet.status.code(), Some(0));
    let quiet = text(&quiet.stdout);
    assert_eq!(quiet.trim(), format!("{file}: configuration valid"));
}

#[test]
fn warnings_are_printed_and_do_not_fail_the_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(dir.path(), "");
    // A world-readable password file is a warning, not an error.
    let password = dir.path().join("mysql.password");
    fs::set_permissions(&password, fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = config_check(&["--config", &file, "-q"]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(stdout.contains("warning: "), "{stdout}");
    assert!(stdout.contains("mysql.password"), "{stdout}");
    assert!(!stdout.contains(PASSWORD), "{stdout}");
}

#[test]
fn an_invalid_or_missing_file_exits_1_naming_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = write_config(dir.path(), "  colour: blue\n");
    let out = config_check(&["--config", &file]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("quorate.yaml"), "{stderr}");
    assert!(stderr.contains("colour"), "{stderr}");
    assert!(!text(&out.stdout).contains("configuration valid"));

    // A password file the service cannot read is a failure (as the service's user would meet it).
    let file = write_config(dir.path(), "");
    fs::remove_file(dir.path().join("mysql.password")).expect("rm");
    let out = config_check(&["--config", &file]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).contains("mysql.password"),
        "{}",
        text(&out.stderr)
    );

    let missing = dir.path().join("nonexistent.yaml");
    let out = config_check(&["--config", &missing.display().to_string()]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("nonexistent.yaml"));
}

/// `--log-format json` (here through its environment variable, as /etc/default/quorate sets
/// it): each log line is one JSON object with the level and the message.
#[test]
fn log_format_json_writes_one_object_per_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("quorate.yaml");
    // A literal password in a world-readable file is logged as a warning by every command.
    fs::write(
        &file,
        "cluster:\n  name: prod\nnodes:\n  controllers:\n    - hostname: server1\n      \
         ip_address: 192.0.2.1\n      services: {mariadb: true}\nquorate:\n  mysql:\n    \
         password: literal\n",
    )
    .expect("config");
    fs::set_permissions(&file, fs::Permissions::from_mode(0o644)).expect("chmod");
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args(["discover", "galera", "--config"])
        .arg(&file)
        .env("QUORATE_LOG_FORMAT", "json")
        .output()
        .expect("run quorate discover");
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    let line = stderr
        .lines()
        .find(|l| l.contains("every user can read"))
        .unwrap_or_else(|| panic!("no warning logged: {stderr}"));
    let event: serde_json::Value = serde_json::from_str(line).expect("a JSON object per line");
    assert_eq!(event["level"], "WARN", "{line}");
    assert!(event["fields"]["message"].is_string(), "{line}");
    assert!(!line.contains("\u{1b}["), "colour codes in JSON: {line}");
}
