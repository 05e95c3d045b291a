//! `quorate.tls` and `quorate.recovery.ca_file` against a real sandbox: each node's
//! `quorate serve` speaks HTTPS with a certificate from a test CA (made with the real `openssl`
//! CLI), Prometheus-style scrapes work with that CA (real `curl`), plain HTTP gets nothing, and
//! `quorate recover plan` reads every peer's /galera/state over TLS — and refuses to trust a
//! peer whose certificate chains to another CA.

mod common;

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::tls::{assert_plan_healthy, issue, make_ca, plan, serve_every_node, SERVER_EXT};

const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");

/// A CA (`NAME-ca.pem`, key `NAME-ca.key`) and a server certificate for 127.0.0.1 signed by it
/// (`NAME-server.pem`, key `NAME-server.key`, 0600).
fn make_ca_and_server(dir: &Path, name: &str) -> (PathBuf, PathBuf, PathBuf) {
    let ca = make_ca(dir, name);
    let (cert, key) = issue_server(dir, name, name, "127.0.0.1");
    (ca, cert, key)
}

/// A server certificate for 127.0.0.1 with common name `cn`, signed by CA `ca_name`, written
/// to `NAME-server.pem` and `NAME-server.key` (0600).
fn issue_server(dir: &Path, name: &str, ca_name: &str, cn: &str) -> (PathBuf, PathBuf) {
    issue(dir, ca_name, &format!("{name}-server"), cn, SERVER_EXT)
}

/// The subject of the certificate the server at `addr` presents (real `openssl s_client`).
fn served_subject(addr: std::net::SocketAddr, ca: &Path) -> String {
    let out = Command::new("openssl")
        .args(["s_client", "-connect", &addr.to_string(), "-CAfile"])
        .arg(ca)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("run openssl s_client");
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .find(|l| l.trim_start().starts_with("0 s:"))
        .unwrap_or_default()
        // `0 s:CN = 127.0.0.1` (OpenSSL 3): compared without the spaces.
        .replace(' ', "")
}

/// The sandbox's quorate.yaml with HTTPS on every node and `ca` trusted for the peers.
fn tls_config(sandbox_yaml: &str, cert: &Path, key: &Path, ca: &Path) -> String {
    let mut out = String::new();
    for line in sandbox_yaml.lines() {
        out.push_str(&line.replace("endpoint: \"http://", "endpoint: \"https://"));
        out.push('\n');
        if line == "quorate:" {
            out.push_str(&format!(
                "  tls:\n    cert_file: {:?}\n    key_file: {:?}\n",
                cert.display().to_string(),
                key.display().to_string()
            ));
        }
        if line == "  recovery:" {
            out.push_str(&format!("    ca_file: {:?}\n", ca.display().to_string()));
        }
    }
    out
}

/// `curl --cacert CA https://ADDR/PATH`: (exit code, body).
fn curl(ca: &Path, url: &str) -> (i32, String) {
    let out = Command::new("curl")
        .args(["-sS", "--max-time", "5", "--cacert"])
        .arg(ca)
        .arg(url)
        .output()
        .expect("run curl");
    (
        out.status.code().unwrap_or(-1),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn serve_and_recovery_peers_over_tls() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = common::three_node_sandbox(dir.path());
    sb.write_config(Path::new(QUORATE)).expect("config");
    let certs = tempfile::tempdir().expect("cert dir");
    let (ca, cert, key) = make_ca_and_server(certs.path(), "good");
    let (other_ca, _, _) = make_ca_and_server(certs.path(), "other");
    let yaml = fs::read_to_string(sb.config_path()).expect("sandbox yaml");
    let config = certs.path().join("quorate-tls.yaml");
    fs::write(&config, tls_config(&yaml, &cert, &key, &ca)).expect("write config");

    let serves = serve_every_node(&sb, &config, |a| {
        curl(&ca, &format!("https://{a}/healthz")).0 == 0
    });

    // A scrape over HTTPS with the CA (what Prometheus' tls_config.ca_file does).
    let addr = serves[1].addr;
    let (code, body) = curl(&ca, &format!("https://{addr}/metrics"));
    assert_eq!(code, 0, "{body}");
    assert!(body.contains("mysql_up 1"), "{body}");
    // Not served in clear: a plain HTTP request gets no HTTP answer.
    if let Ok(r) = common::get(addr, "/metrics", &[]) {
        assert_ne!(r.status, 200, "plain HTTP answered: {}", r.body);
    }
    // A client that does not trust the CA gets no data either.
    let (code, body) = curl(&other_ca, &format!("https://{addr}/metrics"));
    assert_ne!(code, 0, "{body}");

    // recover plan: node2 and node3 are read over TLS.
    assert_plan_healthy(&config);

    // Peers whose certificate chains to another CA are not trusted: unknown, with the reason.
    let wrong = certs.path().join("quorate-wrong-ca.yaml");
    fs::write(&wrong, tls_config(&yaml, &cert, &key, &other_ca)).expect("write config");
    let (_, p) = plan(&wrong);
    let text = p.to_string();
    assert!(text.contains("TLS handshake"), "{p}");
    assert!(text.to_lowercase().contains("certificate"), "{p}");
    assert_ne!(p["verdict"]["kind"].as_str(), Some("healthy"), "{p}");

    // A renewed certificate (same CA, same files) is served after SIGHUP, without a restart.
    let node2 = &serves[1];
    assert!(served_subject(node2.addr, &ca).contains("CN=127.0.0.1"));
    issue_server(certs.path(), "good", "good", "quorate-renewed");
    let hangup = |pid: u32| {
        let status = Command::new("kill")
            .args(["-HUP", &pid.to_string()])
            .status()
            .expect("kill -HUP");
        assert!(status.success());
    };
    hangup(node2.pid());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !served_subject(node2.addr, &ca).contains("CN=quorate-renewed") {
        assert!(
            std::time::Instant::now() < deadline,
            "the renewed certificate was not served: {}",
            node2.log()
        );
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    // A broken key on the next reload: the last good certificate stays in use.
    fs::write(&key, "not a key\n").expect("break key");
    hangup(node2.pid());
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
    while !node2.log().contains("not reloaded") {
        assert!(std::time::Instant::now() < deadline, "{}", node2.log());
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    let (code, body) = curl(&ca, &format!("https://{}/metrics", node2.addr));
    assert_eq!(code, 0, "{body}");
    assert!(served_subject(node2.addr, &ca).contains("CN=quorate-renewed"));
    drop(serves);
}
