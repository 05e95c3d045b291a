//! The web configuration file (`--web.config.file`, `quorate.web_config_file`, the Prometheus
//! exporter-toolkit format) against real components: certificates made with the real `openssl`
//! CLI at test time, a bcrypt hash made with the `bcrypt` crate, the file accepted by the real
//! `promtool check web-config`, the real Prometheus scraping `quorate serve` with `basic_auth`
//! and a client certificate (`up == 1`), a wrong password refused (401, and `up == 0` for a job
//! using it), a client without a certificate refused at the handshake (real `curl`), the
//! recovery endpoint taking a verified certificate instead of a token and outside basic auth, a
//! changed web file reloaded (new password; TLS 1.3 only, checked with `openssl s_client`;
//! optional client certificates), and `quorate recover plan` reading every sandbox node over
//! mutual TLS without a token.

mod common;

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use common::tls::{
    assert_plan_healthy, evidence_states, issue, make_ca, plan, serve_every_node, SERVER_EXT,
};
use common::{PrometheusProcess, ServeProcess};

const QUORATE: &str = env!("CARGO_BIN_EXE_quorate");
const PASSWORD: &str = "scrape-password-1";

/// Test certificates: a CA, a server certificate for 127.0.0.1 and a client certificate.
struct Certs {
    ca: PathBuf,
    server: (PathBuf, PathBuf),
    client: (PathBuf, PathBuf),
}

fn make_certs(dir: &Path) -> Certs {
    Certs {
        ca: make_ca(dir, "web"),
        server: issue(
            dir,
            "web",
            "server",
            "127.0.0.1",
            &format!("{SERVER_EXT}extendedKeyUsage=serverAuth\n"),
        ),
        client: issue(
            dir,
            "web",
            "client",
            "quorate-peer",
            "basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n",
        ),
    }
}

/// The exporter-toolkit web configuration: TLS requiring a client certificate from the CA,
/// one basic-auth user, one response header.
fn web_yml(certs: &Certs, client_auth: &str, users: &str) -> String {
    format!(
        "tls_server_config:\n  cert_file: {:?}\n  key_file: {:?}\n  client_auth_type: {client_auth}\n  client_ca_file: {:?}\n  min_version: TLS12\nhttp_server_config:\n  headers:\n    X-Content-Type-Options: nosniff\n{users}",
        certs.server.0.display().to_string(),
        certs.server.1.display().to_string(),
        certs.ca.display().to_string(),
    )
}

/// `curl` against `url` with `args`: (exit code, HTTP status or 0, what it printed).
fn curl(args: &[&str], url: &str) -> (i32, u16, String) {
    let out = Command::new("curl")
        .args(["-sS", "-i", "--max-time", "10", "-w", "\n%{http_code}"])
        .args(args)
        .arg(url)
        .output()
        .expect("run curl");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let status = stdout
        .lines()
        .last()
        .and_then(|l| l.trim().parse().ok())
        .unwrap_or(0);
    (
        out.status.code().unwrap_or(-1),
        status,
        format!("{stdout}{}", String::from_utf8_lossy(&out.stderr)),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().expect("utf-8 path")
}

#[test]
fn prometheus_scrapes_with_basic_auth_and_a_client_certificate() {
    let dir = tempfile::tempdir().expect("temp dir");
    let certs = make_certs(dir.path());
    // Cost 10, as `htpasswd -nBC 10` and the exporter-toolkit docs make them.
    let hash = bcrypt::hash(PASSWORD, 10).expect("bcrypt");
    let web = dir.path().join("web.yml");
    fs::write(
        &web,
        web_yml(
            &certs,
            "RequireAndVerifyClientCert",
            &format!("basic_auth_users:\n  prometheus: '{hash}'\n"),
        ),
    )
    .expect("write web.yml");

    // The same file passes the real promtool.
    let out = Command::new("promtool")
        .args(["check", "web-config"])
        .arg(&web)
        .output()
        .expect("run promtool (Debian package prometheus)");
    assert!(
        out.status.success(),
        "promtool check web-config: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // A cluster file with one node whose MariaDB is not there: /metrics still answers.
    let config = dir.path().join("quorate.yaml");
    fs::write(
        &config,
        "cluster:\n  name: web\nnodes:\n  controllers:\n    - hostname: n1\n      ip_address: 127.0.0.1\n      services:\n        mariadb: true\nquorate:\n  node: n1\n  mysql:\n    port: 1\n    password: x\n  backup:\n    enabled: false\n",
    )
    .expect("write config");

    let ca = path_str(&certs.ca);
    let (cert, key) = (path_str(&certs.client.0), path_str(&certs.client.1));
    let good_auth = format!("prometheus:{PASSWORD}");
    let with_cert = ["--cacert", ca, "--cert", cert, "--key", key];
    let serve = ServeProcess::start_ready(
        &config,
        format!("127.0.0.1:{}", common::free_port())
            .parse()
            .expect("addr"),
        &["--web.config.file", path_str(&web)],
        |a| {
            let mut args = with_cert.to_vec();
            args.extend(["-u", &good_auth]);
            curl(&args, &format!("https://{a}/healthz")).1 == 200
        },
    );
    let url = format!("https://{}/metrics", serve.addr);

    // Right password and certificate: the metrics, with the configured header.
    let mut args = with_cert.to_vec();
    args.extend(["-u", &good_auth]);
    let (_, status, text) = curl(&args, &url);
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("quorate_build_info"), "{text}");
    assert!(
        text.to_lowercase()
            .contains("x-content-type-options: nosniff"),
        "{text}"
    );
    // A wrong password, or none: 401 (with the header too).
    let mut args = with_cert.to_vec();
    args.extend(["-u", "prometheus:wrong"]);
    let (_, status, text) = curl(&args, &url);
    assert_eq!(status, 401, "{text}");
    assert!(!text.contains("quorate_build_info"), "{text}");
    assert!(
        text.to_lowercase().contains("www-authenticate: basic"),
        "{text}"
    );
    let (_, status, text) = curl(&with_cert, &url);
    assert_eq!(status, 401, "{text}");
    // No client certificate: refused in the TLS handshake, no HTTP answer at all.
    let (code, status, text) = curl(&["--cacert", ca, "-u", &good_auth], &url);
    assert_ne!(code, 0, "{text}");
    assert_eq!(status, 0, "{text}");
    assert!(!text.contains("quorate_build_info"), "{text}");
    // The server logs the failed handshake after the client has already given up: read again
    // for a moment rather than race it.
    let logged = Instant::now();
    while !serve.log().contains("TLS handshake failed") && logged.elapsed() < Duration::from_secs(5)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        serve.log().contains("TLS handshake failed"),
        "{}",
        serve.log()
    );

    // The recovery endpoints are not behind basic auth: the verified client certificate
    // stands in for the token (none is configured here).
    let (_, status, text) = curl(&with_cert, &format!("https://{}/galera/state", serve.addr));
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"node\": \"n1\""), "{text}");

    // The real Prometheus: basic_auth + tls_config scrape (up 1); a wrong password (up 0).
    let job = |name: &str, password: &str| {
        format!(
            "  - job_name: {name}\n    scheme: https\n    basic_auth:\n      username: prometheus\n      password: {password}\n    tls_config:\n      ca_file: {ca}\n      cert_file: {cert}\n      key_file: {key}\n    static_configs:\n      - targets: ['{}']\n",
            serve.addr
        )
    };
    let prom = PrometheusProcess::start(&format!(
        "{}{}",
        job("quorate", PASSWORD),
        job("wrong", "not-the-password")
    ));
    prom.wait_for("up", Duration::from_secs(30), |r| {
        let up = |job: &str| {
            r.iter()
                .find(|(labels, _)| labels["job"] == job)
                .map(|(_, v)| *v)
        };
        up("quorate") == Some(1.0) && up("wrong") == Some(0.0)
    });
    let built = prom.query("quorate_build_info");
    assert_eq!(built.len(), 1, "{built:?}");
    drop(prom);

    // A reload (the web file changed): a new password, TLS 1.3 only and client certificates
    // optional, without a restart.
    let rotated = "rotated-password-2";
    let web_text = web_yml(
        &certs,
        "VerifyClientCertIfGiven",
        &format!(
            "basic_auth_users:\n  prometheus: '{}'\n",
            bcrypt::hash(rotated, 10).expect("bcrypt")
        ),
    )
    .replace("min_version: TLS12", "min_version: TLS13");
    fs::write(&web, web_text).expect("rewrite web.yml");
    let new_auth = format!("prometheus:{rotated}");
    let mut args = with_cert.to_vec();
    args.extend(["-u", &new_auth]);
    let deadline = std::time::Instant::now() + Duration::from_secs(15);
    while curl(&args, &url).1 != 200 {
        assert!(std::time::Instant::now() < deadline, "{}", serve.log());
        std::thread::sleep(Duration::from_millis(200));
    }
    let mut args = with_cert.to_vec();
    args.extend(["-u", &good_auth]);
    assert_eq!(
        curl(&args, &url).1,
        401,
        "the old password after the reload"
    );
    let s_client = |version: &str| {
        Command::new("openssl")
            .args(["s_client", "-connect", &serve.addr.to_string(), version])
            .args(["-CAfile", ca, "-cert", cert, "-key", key])
            .stdin(std::process::Stdio::null())
            .output()
            .expect("run openssl s_client")
    };
    let tls12 = s_client("-tls1_2");
    assert!(
        !tls12.status.success(),
        "TLS 1.2 accepted after min_version TLS13: {}",
        String::from_utf8_lossy(&tls12.stdout)
    );
    assert!(s_client("-tls1_3").status.success(), "TLS 1.3 refused");
    // Certificates optional now: the password alone scrapes; the recovery endpoint wants the
    // certificate (or a token, none here).
    let (_, status, text) = curl(&["--cacert", ca, "-u", &new_auth], &url);
    assert_eq!(status, 200, "{text}");
    let state = format!("https://{}/galera/state", serve.addr);
    let (_, status, text) = curl(&["--cacert", ca, "-u", &new_auth], &state);
    assert_eq!(status, 401, "{text}");
    assert_eq!(curl(&with_cert, &state).1, 200);

    // A file with a key quorate does not know: refused, naming the file and the key.
    let bad = dir.path().join("bad-web.yml");
    fs::write(&bad, "tls_server_config:\n  cert_fil: x\n").expect("write");
    let out = Command::new(QUORATE)
        .args([
            "serve",
            "--config",
            path_str(&config),
            "--listen",
            "127.0.0.1:0",
        ])
        .args(["--web.config.file", path_str(&bad)])
        .output()
        .expect("run quorate serve");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(stderr.contains("bad-web.yml"), "{stderr}");
    assert!(stderr.contains("cert_fil"), "{stderr}");
    drop(serve);
}

/// The sandbox's quorate.yaml with the web configuration file set, peers at https, and the
/// recovery section's token replaced by `recovery` (the CA and client certificate lines).
fn mtls_config(sandbox_yaml: &str, web: &Path, recovery: &str) -> String {
    let mut out = String::new();
    for line in sandbox_yaml.lines() {
        if line.trim_start().starts_with("token_file:") {
            continue;
        }
        out.push_str(&line.replace("endpoint: \"http://", "endpoint: \"https://"));
        out.push('\n');
        if line == "quorate:" {
            out.push_str(&format!("  web_config_file: {:?}\n", path_str(web)));
        }
        if line == "  recovery:" {
            out.push_str(recovery);
        }
    }
    out
}

#[test]
fn recover_plan_reads_the_peers_over_mutual_tls_without_a_token() {
    let dir = tempfile::tempdir().expect("temp dir");
    let sb = common::three_node_sandbox(dir.path());
    sb.write_config(Path::new(QUORATE)).expect("config");
    let certdir = tempfile::tempdir().expect("cert dir");
    let certs = make_certs(certdir.path());
    let web = certdir.path().join("web.yml");
    fs::write(&web, web_yml(&certs, "RequireAndVerifyClientCert", "")).expect("write web.yml");
    let yaml = fs::read_to_string(sb.config_path()).expect("sandbox yaml");
    let ca_line = format!("    ca_file: {:?}\n", path_str(&certs.ca));
    let client_lines = format!(
        "{ca_line}    client_cert_file: {:?}\n    client_key_file: {:?}\n",
        path_str(&certs.client.0),
        path_str(&certs.client.1)
    );
    let config = certdir.path().join("quorate-mtls.yaml");
    fs::write(&config, mtls_config(&yaml, &web, &client_lines)).expect("write config");

    let ca = path_str(&certs.ca);
    let (cert, key) = (path_str(&certs.client.0), path_str(&certs.client.1));
    let serves = serve_every_node(&sb, &config, |a| {
        curl(
            &["--cacert", ca, "--cert", cert, "--key", key],
            &format!("https://{a}/healthz"),
        )
        .1 == 200
    });

    // The recovery endpoint takes the verified certificate instead of the token.
    let (_, status, text) = curl(
        &["--cacert", ca, "--cert", cert, "--key", key],
        &format!("https://{}/galera/state", serves[1].addr),
    );
    assert_eq!(status, 200, "{text}");
    assert!(text.contains("\"node\": \"node2\""), "{text}");

    // recover plan: node2 and node3 read over mutual TLS, no token anywhere.
    assert_plan_healthy(&config);

    // Without the client certificate the peers refuse the handshake: not trusted, not healthy.
    let token_file = certdir.path().join("recovery.token");
    fs::write(&token_file, "0123456789abcdef0123\n").expect("token");
    fs::set_permissions(&token_file, fs::Permissions::from_mode(0o600)).expect("chmod");
    let no_cert = certdir.path().join("quorate-no-cert.yaml");
    let token_lines = format!("{ca_line}    token_file: {:?}\n", path_str(&token_file));
    fs::write(&no_cert, mtls_config(&yaml, &web, &token_lines)).expect("write config");
    let (_, p) = plan(&no_cert);
    assert_ne!(p["verdict"]["kind"].as_str(), Some("healthy"), "{p}");
    let synced = evidence_states(&p)
        .iter()
        .filter(|s| s.starts_with("Primary, Synced"))
        .count();
    assert_eq!(synced, 1, "only the local node is known: {p}");
    drop(serves);
}
