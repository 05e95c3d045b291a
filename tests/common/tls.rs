//! Helpers of the TLS tests (`tests/tls.rs`, `tests/web_config.rs`): certificates made with
//! the real `openssl` CLI, and `quorate recover plan` run against a configuration whose peers
//! are reached over TLS.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;

/// `openssl ARGS` in `dir`; panics with its stderr when it fails.
pub fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `openssl req` options for a P-256 key.
pub const EC: [&str; 4] = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

/// The extensions of a server certificate for 127.0.0.1.
pub const SERVER_EXT: &str = "basicConstraints=CA:FALSE\nsubjectAltName=IP:127.0.0.1\n";

/// A CA in `dir`: `PREFIX-ca.pem` and its key `PREFIX-ca.key`; returns the certificate's path.
pub fn make_ca(dir: &Path, prefix: &str) -> PathBuf {
    let (ca, ca_key) = (format!("{prefix}-ca.pem"), format!("{prefix}-ca.key"));
    let subject = format!("/CN=quorate test CA {prefix}");
    let mut args = vec!["req", "-x509", "-nodes", "-days", "2"];
    args.extend(EC);
    args.extend(["-keyout", &ca_key, "-out", &ca, "-subj", &subject]);
    openssl(dir, &args);
    dir.join(ca)
}

/// A certificate `NAME.pem` (key `NAME.key`, 0600) with common name `cn` and `extensions`
/// (an openssl extension file's text), signed by the CA `CA_PREFIX-ca.pem` of [`make_ca`].
pub fn issue(
    dir: &Path,
    ca_prefix: &str,
    name: &str,
    cn: &str,
    extensions: &str,
) -> (PathBuf, PathBuf) {
    let (ca, ca_key) = (format!("{ca_prefix}-ca.pem"), format!("{ca_prefix}-ca.key"));
    let (key, csr, cert, ext) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.pem"),
        format!("{name}.ext"),
    );
    let subject = format!("/CN={cn}");
    let mut args = vec!["req", "-nodes"];
    args.extend(EC);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", &subject]);
    openssl(dir, &args);
    fs::write(dir.join(&ext), extensions).expect("write ext");
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &cert,
            "-days",
            "2",
            "-extfile",
            &ext,
        ],
    );
    fs::set_permissions(dir.join(&key), fs::Permissions::from_mode(0o600)).expect("chmod key");
    (dir.join(cert), dir.join(key))
}

/// `quorate recover plan --node node1 --format json --config CONFIG`: (exit code, the plan).
pub fn plan(config: &Path) -> (i32, Value) {
    let out = Command::new(env!("CARGO_BIN_EXE_quorate"))
        .args([
            "recover", "plan", "--node", "node1", "--format", "json", "--config",
        ])
        .arg(config)
        .env("QUORATE_LOG", "warn")
        .output()
        .expect("run quorate recover plan");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let value = serde_json::from_str(&stdout).unwrap_or_else(|e| {
        panic!(
            "plan JSON: {e}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (out.status.code().unwrap_or(-1), value)
}

/// The `state` of each node in a plan's evidence.
pub fn evidence_states(plan: &Value) -> Vec<&str> {
    plan["evidence"]
        .as_array()
        .expect("evidence")
        .iter()
        .filter_map(|e| e["state"].as_str())
        .collect()
}

/// `quorate serve --config CONFIG --node N` for every sandbox node on its recovery endpoint's
/// address, each started once `ready(address)` holds (e.g. an HTTPS probe with the CA).
pub fn serve_every_node(
    sb: &quorate::sandbox::SandboxGuard,
    config: &Path,
    ready: impl Fn(std::net::SocketAddr) -> bool,
) -> Vec<super::ServeProcess> {
    sb.node_names()
        .iter()
        .map(|n| {
            let addr = sb
                .serve_address(n)
                .expect("serve address")
                .parse()
                .expect("addr");
            super::ServeProcess::start_ready(config, addr, &["--node", n], &ready)
        })
        .collect()
}

/// Asserts that `recover plan` with `config` finds the 3-node sandbox healthy, every node
/// read (the peers through their endpoints) and Primary, Synced.
pub fn assert_plan_healthy(config: &Path) {
    let (code, p) = plan(config);
    assert_eq!(code, 0, "{p}");
    assert_eq!(p["verdict"]["kind"].as_str(), Some("healthy"), "{p}");
    let states = evidence_states(&p);
    assert_eq!(states.len(), 3, "{p}");
    assert!(
        states.iter().all(|s| s.starts_with("Primary, Synced")),
        "{p}"
    );
}
