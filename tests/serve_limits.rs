//! `quorate serve` under a flood of connections that never finish a request (half a request
//! head, or a TLS handshake that stalls), without a cluster: scrapes keep answering within their
//! timeout while the flood lasts, and the server's open descriptors (`/proc/PID/fd`) come back
//! to the baseline within a few seconds of `quorate.http.header_read_timeout` /
//! `tls_handshake_timeout`, although the flood's sockets stay open on the client side. Also at a
//! low open-file limit (RLIMIT_NOFILE 256 on the child), where a reload must still work.
//!
//! `POST /galera/apart` takes only a small, well-formed record from a peer holding the token,
//! and a body that stalls is answered, not waited for.
//!
//! The numbers measured are printed (`cargo test --test serve_limits -- --nocapture`).

mod common;

use std::io::Write;
use std::net::{SocketAddr, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{free_port, sample, ServeProcess};

/// The timeout every scrape must answer within, flood or not.
const SCRAPE_TIMEOUT: Duration = Duration::from_secs(3);

/// One controller on a port nothing listens on (its collection fails fast), the limits short
/// so that the test sees them act.
fn config(dir: &Path, extra: &str) -> std::path::PathBuf {
    let cfg = dir.join("quorate.yaml");
    let text = format!(
        "cluster:\n  name: limits\nnodes:\n  controllers:\n    - hostname: db1\n      ip_address: 127.0.0.1\n      services:\n        mariadb: true\nquorate:\n  node: db1\n  backup:\n    enabled: false\n  nodes:\n    db1:\n      mysql_address: \"127.0.0.1:{}\"\n  http:\n    header_read_timeout: 2s\n    tls_handshake_timeout: 2s\n{extra}",
        free_port()
    );
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

fn open_fds(pid: u32) -> usize {
    std::fs::read_dir(format!("/proc/{pid}/fd"))
        .map(|d| d.count())
        .unwrap_or(0)
}

/// Scrapes with `scrape` every 100 ms until stopped; returns each scrape's latency and error.
struct Scraper {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<Vec<(Duration, Option<String>)>>,
}

impl Scraper {
    fn start(scrape: impl Fn() -> Result<(), String> + Send + 'static) -> Scraper {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            let mut results = Vec::new();
            while !flag.load(Ordering::Relaxed) {
                let started = Instant::now();
                let outcome = scrape().err();
                results.push((started.elapsed(), outcome));
                std::thread::sleep(Duration::from_millis(100));
            }
            results
        });
        Scraper { stop, thread }
    }

    /// Stops and checks every scrape: answered, within [`SCRAPE_TIMEOUT`]. Returns (count, worst).
    fn finish(self, what: &str) -> (usize, Duration) {
        self.stop.store(true, Ordering::Relaxed);
        let results = self.thread.join().expect("scraper thread");
        let failed: Vec<_> = results
            .iter()
            .filter(|(t, e)| e.is_some() || *t > SCRAPE_TIMEOUT)
            .collect();
        assert!(
            failed.is_empty(),
            "{what}: {} of {} scrapes failed or were late: {failed:?}",
            failed.len(),
            results.len()
        );
        let worst = results.iter().map(|(t, _)| *t).max().unwrap_or_default();
        (results.len(), worst)
    }
}

fn http_scrape(addr: SocketAddr, path: &'static str) -> impl Fn() -> Result<(), String> {
    move || {
        let mut stream =
            TcpStream::connect_timeout(&addr, SCRAPE_TIMEOUT).map_err(|e| e.to_string())?;
        stream
            .set_read_timeout(Some(SCRAPE_TIMEOUT))
            .map_err(|e| e.to_string())?;
        let request = format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n");
        stream
            .write_all(request.as_bytes())
            .map_err(|e| e.to_string())?;
        let mut raw = Vec::new();
        std::io::Read::read_to_end(&mut stream, &mut raw).map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&raw);
        if text.starts_with("HTTP/1.1 200") || text.starts_with("HTTP/1.1 503") {
            Ok(())
        } else {
            Err(format!(
                "unexpected answer {:?}",
                &text[..text.len().min(80)]
            ))
        }
    }
}

/// Opens `n` connections to `addr` and writes `prefix` on each; keeps them open.
fn flood(addr: SocketAddr, n: usize, prefix: &[u8]) -> Vec<TcpStream> {
    let mut held = Vec::with_capacity(n);
    for _ in 0..n {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(2)) {
            Ok(mut s) => {
                let _ = s.write_all(prefix);
                held.push(s);
            }
            Err(_) => continue,
        }
    }
    held
}

/// Waits until the server's descriptors are back near `baseline`; returns how long it took.
fn back_to_baseline(serve: &ServeProcess, baseline: usize, within: Duration) -> Duration {
    let started = Instant::now();
    loop {
        let now = open_fds(serve.pid());
        if now <= baseline + 8 {
            return started.elapsed();
        }
        assert!(
            started.elapsed() < within,
            "{now} descriptors open {within:?} after the flood (baseline {baseline})\n{}",
            tail(&serve.log())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn tail(log: &str) -> String {
    let lines: Vec<&str> = log.lines().collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

const HALF_REQUEST: &[u8] = b"GET /metrics HTTP/1.1\r\nHost: flood\r\n";

#[test]
fn half_sent_requests_neither_block_scrapes_nor_hold_descriptors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), "");
    let serve = ServeProcess::start(&cfg, &[]);
    let addr = serve.addr;
    http_scrape(addr, "/metrics")().expect("first scrape");
    let baseline = open_fds(serve.pid());

    let metrics = Scraper::start(http_scrape(addr, "/metrics"));
    let health = Scraper::start(http_scrape(addr, "/health/galera"));
    let started = Instant::now();
    let held = flood(addr, 2000, HALF_REQUEST);
    let opened = started.elapsed();
    std::thread::sleep(Duration::from_millis(300));
    let peak = open_fds(serve.pid());
    // header_read_timeout is 2 s: every half-sent request is dropped by then.
    let recovered = back_to_baseline(&serve, baseline, Duration::from_secs(6));
    let (n_metrics, worst_metrics) = metrics.finish("/metrics");
    let (n_health, worst_health) = health.finish("/health/galera");
    eprintln!(
        "plain: {} half-sent requests opened in {opened:?}; server fds baseline {baseline}, peak {peak}, \
         back to baseline {recovered:?} after the peak with the flood's sockets still open; \
         /metrics {n_metrics} scrapes, worst {worst_metrics:?}; /health/galera {n_health} scrapes, worst {worst_health:?}",
        held.len()
    );
    assert!(held.len() >= 1900, "only {} connections opened", held.len());
    // Without a cap the server would hold one descriptor per flood connection.
    assert!(peak <= baseline + 1024 + 16, "peak {peak}");
    drop(held);
    assert!(serve.terminate().success());
}

#[test]
fn a_request_body_over_the_limit_is_refused() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), "    max_request_body: 1000\n");
    let serve = ServeProcess::start(&cfg, &[]);
    let response = common::get(
        serve.addr,
        "/galera/recover-position",
        &[("Content-Length", "1000000")],
    )
    .expect("answer");
    assert_eq!(response.status, 413, "{response:?}");
    assert!(
        response.body.contains("limit of 1000 bytes"),
        "{response:?}"
    );
    assert!(serve.terminate().success());
}

#[test]
fn at_a_low_open_file_limit_scrapes_and_reloads_keep_working() {
    let dir = tempfile::tempdir().expect("temp dir");
    let cfg = config(dir.path(), "");
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let limit_nofile = |command: &mut Command| {
        // SAFETY: setrlimit is async-signal-safe; runs in the child before exec.
        unsafe {
            command.pre_exec(|| {
                let lim = libc::rlimit {
                    rlim_cur: 256,
                    rlim_max: 256,
                };
                if libc::setrlimit(libc::RLIMIT_NOFILE, &lim) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    };
    let serve = ServeProcess::start_custom(&cfg, addr, &[], limit_nofile, |a| {
        common::get(a, "/healthz", &[]).is_ok_and(|r| r.status == 200)
    });
    let baseline = open_fds(serve.pid());
    let metrics = Scraper::start(http_scrape(addr, "/metrics"));
    let held = flood(addr, 400, HALF_REQUEST);
    std::thread::sleep(Duration::from_millis(300));
    let peak = open_fds(serve.pid());
    assert!(peak < 256, "peak {peak}");

    // A reload during the flood: reading the file needs a descriptor.
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replace("header_read_timeout: 2s", "header_read_timeout: 3s"),
    )
    .expect("rewrite config");
    let reloaded = Instant::now();
    while !serve.log().contains("configuration reloaded") {
        assert!(
            reloaded.elapsed() < Duration::from_secs(5),
            "no reload during the flood\n{}",
            tail(&serve.log())
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let body = common::get(addr, "/metrics", &[]).expect("scrape").body;
    assert_eq!(
        sample(&body, "quorate_config_last_reload_successful", &[]),
        Some(1.0),
        "{body}"
    );
    let recovered = back_to_baseline(&serve, baseline, Duration::from_secs(8));
    let (n, worst) = metrics.finish("/metrics at RLIMIT_NOFILE 256");
    eprintln!(
        "RLIMIT_NOFILE 256: {} half-sent requests; server fds baseline {baseline}, peak {peak}, \
         back to baseline {recovered:?} after the reload; {n} scrapes, worst {worst:?}",
        held.len()
    );
    let log = serve.log();
    let exhausted: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("Too many open files"))
        .collect();
    assert!(exhausted.is_empty(), "{exhausted:#?}");
    drop(held);
    assert!(serve.terminate().success());
}

/// A self-signed certificate for 127.0.0.1 (real `openssl`), as (cert, key).
fn self_signed(dir: &Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let out = Command::new("openssl")
        .current_dir(dir)
        .args([
            "req",
            "-x509",
            "-nodes",
            "-days",
            "2",
            "-newkey",
            "ec",
            "-pkeyopt",
            "ec_paramgen_curve:prime256v1",
            "-keyout",
            "server.key",
            "-out",
            "server.pem",
            "-subj",
            "/CN=127.0.0.1",
            "-addext",
            "subjectAltName=IP:127.0.0.1",
        ])
        .output()
        .expect("run openssl (Debian package openssl)");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let key = dir.join("server.key");
    std::fs::set_permissions(
        &key,
        <std::fs::Permissions as std::os::unix::fs::PermissionsExt>::from_mode(0o600),
    )
    .expect("chmod key");
    (dir.join("server.pem"), key)
}

#[test]
fn stalled_tls_handshakes_neither_block_scrapes_nor_hold_descriptors() {
    let dir = tempfile::tempdir().expect("temp dir");
    let (cert, key) = self_signed(dir.path());
    let cfg = config(
        dir.path(),
        &format!(
            "  tls:\n    cert_file: {}\n    key_file: {}\n  recovery:\n    ca_file: {}\n",
            cert.display(),
            key.display(),
            cert.display()
        ),
    );
    let addr: SocketAddr = format!("127.0.0.1:{}", free_port()).parse().expect("addr");
    let curl = move || {
        let out = Command::new("curl")
            .args(["-sk", "-o", "/dev/null", "-w", "%{http_code}", "--max-time"])
            .arg(SCRAPE_TIMEOUT.as_secs().to_string())
            .arg(format!("https://{addr}/metrics"))
            .output()
            .map_err(|e| e.to_string())?;
        let code = String::from_utf8_lossy(&out.stdout).into_owned();
        (code == "200")
            .then_some(())
            .ok_or_else(|| format!("curl: {code} {}", String::from_utf8_lossy(&out.stderr)))
    };
    let serve = ServeProcess::start_custom(&cfg, addr, &[], |_| {}, |_| curl().is_ok());
    let baseline = open_fds(serve.pid());
    let scraper = Scraper::start(curl);
    // Nothing sent (the server waits for a ClientHello), and a ClientHello cut short.
    let mut held = flood(addr, 1000, b"");
    held.extend(flood(addr, 1000, &[0x16, 0x03, 0x01, 0x02, 0x00, 0x01]));
    std::thread::sleep(Duration::from_millis(300));
    let peak = open_fds(serve.pid());
    let recovered = back_to_baseline(&serve, baseline, Duration::from_secs(6));
    let (n, worst) = scraper.finish("https /metrics");
    eprintln!(
        "TLS: {} stalled handshakes; server fds baseline {baseline}, peak {peak}, back to baseline \
         {recovered:?} after the peak with the flood's sockets still open; {n} scrapes (curl), worst {worst:?}",
        held.len()
    );
    drop(held);
    assert!(serve.terminate().success());
}

#[test]
fn at_the_connection_cap_idle_connections_make_room_for_scrapes() {
    let dir = tempfile::tempdir().expect("temp dir");
    // A long header timeout: only the cap keeps the flood from holding the server.
    let cfg = config(dir.path(), "    max_connections: 50\n")
        .to_string_lossy()
        .into_owned();
    let text = std::fs::read_to_string(&cfg).expect("config");
    std::fs::write(
        &cfg,
        text.replace("header_read_timeout: 2s", "header_read_timeout: 60s"),
    )
    .expect("rewrite config");
    let serve = ServeProcess::start(Path::new(&cfg), &[]);
    let addr = serve.addr;
    let baseline = open_fds(serve.pid());
    let held = flood(addr, 300, HALF_REQUEST);
    // While the burst itself arrives a new connection may be closed before its head is read
    // (50 newer ones came meanwhile); once the flood only holds its sockets, every scrape
    // gets room.
    let metrics = Scraper::start(http_scrape(addr, "/metrics"));
    std::thread::sleep(Duration::from_secs(2));
    let during = open_fds(serve.pid());
    let (n, worst) = metrics.finish("/metrics at max_connections 50");
    eprintln!(
        "max_connections 50: {} half-sent requests held by the client; server fds baseline {baseline}, \
         during the flood {during}; {n} scrapes, worst {worst:?}",
        held.len()
    );
    assert!(during <= baseline + 50 + 4, "{during} descriptors open");
    drop(held);
    assert!(serve.terminate().success());
}

#[test]
fn a_posted_apart_record_must_carry_the_token_be_small_well_formed_and_arrive_in_time() {
    let dir = tempfile::tempdir().expect("temp dir");
    let token = dir.path().join("token");
    std::fs::write(&token, "0123456789abcdef-apart\n").expect("token");
    let state = dir.path().join("state");
    let cfg = config(
        dir.path(),
        &format!(
            "  recovery:\n    token_file: {}\n    state_dir: {}\n",
            token.display(),
            state.display()
        ),
    );
    let serve = ServeProcess::start(&cfg, &[]);
    let record =
        br#"{"uuid":"6a3a757c-e627-11f1-8417-e7ac2a1d04b7","seqno":17,"found_at":1,"why":"ahead"}"#;
    let len = record.len().to_string();
    let post = |headers: &[(&str, &str)], body: &[u8]| {
        common::request(serve.addr, "POST", "/galera/apart", headers, body).expect("answer")
    };
    let auth = ("Authorization", "Bearer 0123456789abcdef-apart");
    let r = post(&[("Content-Length", &len)], record);
    assert_eq!(r.status, 401, "no token: {r:?}");
    let r = post(&[auth, ("Content-Length", "9")], b"{not json");
    assert_eq!(r.status, 400, "{r:?}");
    let r = post(&[auth, ("Content-Length", "1000000")], b"");
    assert_eq!(r.status, 413, "{r:?}");
    // Half a body, then nothing: answered within the body timeout, not held.
    let started = Instant::now();
    let r = post(&[auth, ("Content-Length", &len)], &record[..10]);
    assert_eq!(r.status, 408, "{r:?}");
    assert!(
        started.elapsed() < Duration::from_secs(15),
        "{:?}",
        started.elapsed()
    );
    let r = post(&[auth, ("Content-Length", &len)], record);
    assert_eq!(r.status, 201, "{r:?}\n{}", serve.log());
    let r = post(&[auth, ("Content-Length", &len)], record);
    assert_eq!(r.status, 200, "already recorded: {r:?}");
    let kept: serde_json::Value =
        serde_json::from_slice(&std::fs::read(state.join("apart/db1.json")).expect("record"))
            .expect("JSON");
    assert_eq!(kept["seqno"], 17, "{kept}");
    // Listed in the node's own report.
    let r = serve.get_with("/galera/state", &[auth]);
    assert_eq!(r.status, 200, "{r:?}");
    let report: serde_json::Value = serde_json::from_str(&r.body).expect("report JSON");
    assert_eq!(report["apart"]["seqno"], 17, "{report}");
    assert!(serve.terminate().success());
}
