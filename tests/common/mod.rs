//! Helpers shared by the integration tests: run the real `quorate` binary as a child process
//! (ended by its pid when the guard drops, even when a test fails), a minimal HTTP/1.1 client
//! for loopback, and promtool.

#![allow(dead_code)]

pub mod docs;
pub mod mariabackup;
pub mod plugin;
pub mod recover;
pub mod tls;
pub mod zabbix;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A real 3-node Galera sandbox in `dir/sb`, torn down (processes by pid, directory removed)
/// when the guard drops, even if the test panics.
pub fn three_node_sandbox(dir: &Path) -> quorate::sandbox::SandboxGuard {
    quorate::sandbox::SandboxGuard::new(
        quorate::sandbox::up(&quorate::sandbox::UpOptions {
            dir: dir.join("sb"),
            nodes: 3,
        })
        .expect("sandbox up"),
    )
}

/// A free TCP port on 127.0.0.1 (bound then released).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("binding an ephemeral loopback port")
}

/// A response from [`get`].
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl HttpResponse {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// GET `path` from `addr` with extra request headers; `Connection: close`.
pub fn get(
    addr: SocketAddr,
    path: &str,
    headers: &[(&str, &str)],
) -> std::io::Result<HttpResponse> {
    request(addr, "GET", path, headers, b"")
}

/// One HTTP/1.1 request (`Connection: close`) with `body` sent as it is after the head: give a
/// `Content-Length` header for a body (a shorter body than announced is a stalled one).
pub fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<HttpResponse> {
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    stream.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    for (k, v) in headers {
        request.push_str(&format!("{k}: {v}\r\n"));
    }
    request.push_str("\r\n");
    stream.write_all(request.as_bytes())?;
    stream.write_all(body)?;
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text
        .split_once("\r\n\r\n")
        .ok_or_else(|| std::io::Error::other(format!("no header end in {text:?}")))?;
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("bad status line in {head:?}")))?;
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .collect::<Vec<_>>();
    let chunked = headers
        .iter()
        .any(|(k, v)| k.eq_ignore_ascii_case("transfer-encoding") && v.contains("chunked"));
    let body = if chunked {
        dechunk(body)
    } else {
        body.to_string()
    };
    Ok(HttpResponse {
        status,
        headers,
        body,
    })
}

fn dechunk(mut body: &str) -> String {
    let mut out = String::new();
    while let Some((size, rest)) = body.split_once("\r\n") {
        let Ok(n) = usize::from_str_radix(size.trim(), 16) else {
            break;
        };
        if n == 0 || rest.len() < n {
            break;
        }
        out.push_str(&rest[..n]);
        body = rest[n..].trim_start_matches("\r\n");
    }
    out
}

/// The value of the first sample line `name{...} value` or `name value` whose label part
/// contains every string in `label_parts`.
pub fn sample(body: &str, name: &str, label_parts: &[&str]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .filter_map(|l| {
            let (series, value) = l.rsplit_once(' ')?;
            let metric = series.split('{').next()?;
            (metric == name && label_parts.iter().all(|p| series.contains(p)))
                .then(|| value.parse::<f64>().ok())
                .flatten()
        })
        .next()
}

/// `quorate serve` running as a child process; killed by pid and reaped on drop.
pub struct ServeProcess {
    child: Child,
    pub addr: SocketAddr,
    stderr_path: std::path::PathBuf,
    _logdir: tempfile::TempDir,
}

impl ServeProcess {
    /// Starts `quorate serve --config CONFIG --listen 127.0.0.1:<free>` plus `extra` args and
    /// waits until /healthz answers.
    pub fn start(config: &Path, extra: &[&str]) -> ServeProcess {
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}")
            .parse()
            .expect("loopback address");
        ServeProcess::start_at(config, addr, extra)
    }

    /// Like [`ServeProcess::start`] on a given address (e.g. a node's recovery endpoint).
    pub fn start_at(config: &Path, addr: SocketAddr, extra: &[&str]) -> ServeProcess {
        ServeProcess::start_ready(config, addr, extra, |a| {
            get(a, "/healthz", &[]).is_ok_and(|r| r.status == 200)
        })
    }

    /// Starts `quorate serve` and waits until `ready(addr)` (e.g. an HTTPS probe).
    pub fn start_ready(
        config: &Path,
        addr: SocketAddr,
        extra: &[&str],
        ready: impl Fn(SocketAddr) -> bool,
    ) -> ServeProcess {
        ServeProcess::start_custom(config, addr, extra, |_| {}, ready)
    }

    /// [`ServeProcess::start_ready`], with `customize` applied to the command first (e.g. a
    /// resource limit set in `pre_exec`).
    pub fn start_custom(
        config: &Path,
        addr: SocketAddr,
        extra: &[&str],
        customize: impl FnOnce(&mut Command),
        ready: impl Fn(SocketAddr) -> bool,
    ) -> ServeProcess {
        let logdir = tempfile::tempdir().expect("temp dir for serve logs");
        let stderr_path = logdir.path().join("serve.stderr");
        let stderr = std::fs::File::create(&stderr_path).expect("serve log file");
        let mut command = Command::new(env!("CARGO_BIN_EXE_quorate"));
        customize(&mut command);
        let child = command
            .args(["serve", "--config"])
            .arg(config)
            .args(["--listen", &addr.to_string()])
            .args(extra)
            .env("QUORATE_LOG", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(stderr)
            .spawn()
            .expect("spawning quorate serve");
        let mut serve = ServeProcess {
            child,
            addr,
            stderr_path,
            _logdir: logdir,
        };
        let start = Instant::now();
        loop {
            if ready(addr) {
                break;
            }
            if let Ok(Some(status)) = serve.child.try_wait() {
                panic!("quorate serve exited with {status}: {}", serve.log());
            }
            assert!(
                start.elapsed() < Duration::from_secs(20),
                "quorate serve did not become ready: {}",
                serve.log()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        serve
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    pub fn get(&self, path: &str) -> HttpResponse {
        self.get_with(path, &[])
    }

    pub fn get_with(&self, path: &str, headers: &[(&str, &str)]) -> HttpResponse {
        get(self.addr, path, headers).unwrap_or_else(|e| panic!("GET {path}: {e}\n{}", self.log()))
    }

    /// What the server logged so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.stderr_path).unwrap_or_default()
    }

    /// Sends SIGTERM and waits for a clean exit; returns the exit status.
    pub fn terminate(mut self) -> std::process::ExitStatus {
        signal(self.child.id(), libc::SIGTERM);
        let start = Instant::now();
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "serve ignored SIGTERM"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServeProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

pub fn signal(pid: u32, sig: i32) {
    // SAFETY: kill(2) with a pid we spawned ourselves and still own (not yet reaped).
    unsafe {
        libc::kill(pid as i32, sig);
    }
}

/// Runs `promtool check metrics` on `exposition`; returns its combined output on failure.
pub fn promtool_check_metrics(exposition: &str) -> Result<(), String> {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| format!("cannot run promtool (install the Debian package prometheus): {e}"))?;
    child
        .stdin
        .take()
        .ok_or("no stdin")?
        .write_all(exposition.as_bytes())
        .map_err(|e| e.to_string())?;
    let out = child.wait_with_output().map_err(|e| e.to_string())?;
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    if out.status.success() && text.trim().is_empty() {
        Ok(())
    } else {
        Err(format!("promtool check metrics ({}): {text}", out.status))
    }
}

/// A real Prometheus server (Debian package `prometheus`) on loopback, scraping the given
/// jobs every second; killed by pid and its data directory removed on drop.
pub struct PrometheusProcess {
    child: Child,
    pub addr: SocketAddr,
    dir: tempfile::TempDir,
}

impl PrometheusProcess {
    /// `scrape_configs` is the YAML list under `scrape_configs:` (indented by two spaces).
    pub fn start(scrape_configs: &str) -> PrometheusProcess {
        PrometheusProcess::start_with_rules(scrape_configs, |_| Vec::new())
    }

    /// Like [`PrometheusProcess::start`], also evaluating rule files every second.
    /// `rule_files` is given Prometheus' own directory (removed on drop) to write them into and
    /// returns their paths.
    pub fn start_with_rules(
        scrape_configs: &str,
        rule_files: impl FnOnce(&Path) -> Vec<std::path::PathBuf>,
    ) -> PrometheusProcess {
        let dir = tempfile::tempdir().expect("temp dir for prometheus");
        let config = dir.path().join("prometheus.yml");
        let rules: String = rule_files(dir.path())
            .iter()
            .map(|f| format!("  - {:?}\n", f.display().to_string()))
            .collect();
        let rules = if rules.is_empty() {
            String::new()
        } else {
            format!("rule_files:\n{rules}")
        };
        std::fs::write(
            &config,
            format!("global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n  evaluation_interval: 1s\n{rules}scrape_configs:\n{scrape_configs}"),
        )
        .expect("writing prometheus.yml");
        let port = free_port();
        let addr: SocketAddr = format!("127.0.0.1:{port}")
            .parse()
            .expect("loopback address");
        let log = std::fs::File::create(dir.path().join("prometheus.log")).expect("log file");
        let child = Command::new("prometheus")
            .arg(format!("--config.file={}", config.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address={addr}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("spawning prometheus (install the Debian package prometheus)");
        let prom = PrometheusProcess { child, addr, dir };
        let start = Instant::now();
        while get(addr, "/-/ready", &[]).map(|r| r.status).ok() != Some(200) {
            assert!(
                start.elapsed() < Duration::from_secs(30),
                "prometheus not ready: {}",
                prom.log()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        prom
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.path().join("prometheus.log")).unwrap_or_default()
    }

    /// Runs an instant query; returns each result's labels and value.
    pub fn query(&self, promql: &str) -> Vec<(serde_json::Value, f64)> {
        let path = format!("/api/v1/query?query={}", url_encode(promql));
        let r = get(self.addr, &path, &[]).expect("prometheus query");
        let json: serde_json::Value = serde_json::from_str(&r.body).expect("prometheus JSON");
        assert_eq!(json["status"], "success", "{}", r.body);
        json["data"]["result"]
            .as_array()
            .map(|results| {
                results
                    .iter()
                    .map(|res| {
                        let value = res["value"][1]
                            .as_str()
                            .and_then(|v| v.parse().ok())
                            .unwrap_or(f64::NAN);
                        (res["metric"].clone(), value)
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Polls `promql` until `ok` accepts the result (at most `timeout`).
    pub fn wait_for(
        &self,
        promql: &str,
        timeout: Duration,
        ok: impl Fn(&[(serde_json::Value, f64)]) -> bool,
    ) -> Vec<(serde_json::Value, f64)> {
        let start = Instant::now();
        loop {
            let result = self.query(promql);
            if ok(&result) {
                return result;
            }
            assert!(
                start.elapsed() < timeout,
                "{promql} never satisfied the test, last {result:?}\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

impl Drop for PrometheusProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

fn url_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}
