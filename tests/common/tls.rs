//! Helpers of the TLS tests (`tests/tls.rs`, `tests/web_config.rs`): certificates made with
//! the real `openssl` CLI, and `quorate recover plan` run against a configuration whose peers
//! are reached over TLS.

use std::path::Path;
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
