//! Running the `gluster` CLI: each command in its own process group, under a hard timeout,
//! with its stdout streamed straight into a parser.
//!
//! Known failures of other exporters that this module exists to avoid: no timeout (a hung
//! `gluster` blocks collection forever) and zombie `gluster` processes. Here:
//!
//! - the child gets its own process group (`process_group(0)`), so `gluster` and the helpers it
//!   forks (`glfsheal` for heal info) can be killed together;
//! - a watchdog thread sends SIGKILL to the whole group when the timeout expires;
//! - stdout and stderr are read only until the same deadline (each read polls with the time
//!   left): a helper that left the group (setsid) and keeps the pipes open cannot hold the
//!   query past its timeout, which then reports a timeout; stdout past [`MAX_ANSWER`] bytes is
//!   refused;
//! - the child is waited for with `waitid(WNOWAIT)` first, so the watchdog is cancelled while
//!   the group id cannot yet have been reused, and only then reaped;
//! - "Another transaction is in progress" (glusterd's cluster lock is held) is retried a few
//!   times with a pause, then reported as [`CliError::Busy`].
//!
//! The command runs on a blocking thread (the parsers are synchronous and stream from the
//! pipe); callers are async.

use std::io::{BufReader, Read};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::parse::ParseError;
use super::CliError;

/// How much of stderr (and of unparseable stdout) is kept for error messages.
const OUTPUT_LIMIT: usize = 2048;

/// How long stderr is waited for when the deadline has passed already.
const STDERR_AFTER_EXIT: Duration = Duration::from_millis(200);

/// The largest answer read from the CLI (`volume status all detail` of a large pool is a few
/// MB). Past it the answer is refused and the pipe closed: an endless text node or an endless
/// list of volumes cannot fill memory.
pub const MAX_ANSWER: usize = 32 << 20;

/// Counters of what the CLI runner had to do, exported as metrics.
#[derive(Debug, Default)]
pub struct CliCounters {
    pub timeouts: AtomicU64,
    pub busy_retries: AtomicU64,
}

/// How to run gluster: an argv prefix (`["gluster"]`, or e.g. `["ip", "netns", "exec", "NS",
/// "gluster"]`), the busy-retry policy and shared counters.
#[derive(Debug, Clone)]
pub struct GlusterCli {
    prefix: Vec<String>,
    /// Attempts in all when glusterd answers "Another transaction is in progress".
    busy_attempts: u32,
    busy_pause: Duration,
    counters: Arc<CliCounters>,
    /// Process groups of the commands running now (leaders not yet reaped), so that
    /// [`GlusterCli::kill_running`] can end them when the collector stops.
    running: Arc<Mutex<Vec<libc::pid_t>>>,
}

impl GlusterCli {
    /// A runner for `prefix` (must not be empty; an empty prefix runs `gluster`).
    pub fn new(prefix: Vec<String>) -> GlusterCli {
        let prefix = if prefix.is_empty() {
            vec!["gluster".to_string()]
        } else {
            prefix
        };
        GlusterCli {
            prefix,
            busy_attempts: 3,
            busy_pause: Duration::from_secs(2),
            counters: Arc::new(CliCounters::default()),
            running: Arc::new(Mutex::new(Vec::new())),
        }
    }

    /// Kills the process groups of every command this runner (and its clones) is running, so
    /// that stopping the collector or the server does not wait for a hung gluster.
    pub fn kill_running(&self) {
        for &pgid in lock(&self.running).iter() {
            // SAFETY: a group we created whose leader is not reaped yet (removed from the list
            // under this lock before it is reaped), so the id cannot be anyone else's.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
        }
    }

    /// Changes the busy-retry policy (attempts in all, at least 1).
    pub fn with_busy_retry(mut self, attempts: u32, pause: Duration) -> GlusterCli {
        self.busy_attempts = attempts.max(1);
        self.busy_pause = pause;
        self
    }

    pub fn counters(&self) -> &Arc<CliCounters> {
        &self.counters
    }

    /// The command line for `args`, for messages: `gluster --mode=script volume info --xml`.
    pub fn describe(&self, args: &[&str]) -> String {
        let mut words: Vec<&str> = self.prefix.iter().map(String::as_str).collect();
        words.push("--mode=script");
        words.extend_from_slice(args);
        words.push("--xml");
        words.join(" ")
    }

    /// Runs `gluster --mode=script ARGS --xml` and parses its stdout with `parse`, retrying
    /// while glusterd is busy. Each attempt is bounded by `timeout`.
    pub async fn query<T, P>(
        &self,
        args: &[&str],
        timeout: Duration,
        parse: P,
    ) -> Result<T, CliError>
    where
        T: Send + 'static,
        P: Fn(&mut dyn std::io::BufRead) -> Result<T, ParseError> + Send + Sync + Clone + 'static,
    {
        let command = self.describe(args);
        let argv: Vec<String> = self
            .prefix
            .iter()
            .cloned()
            .chain(std::iter::once("--mode=script".to_string()))
            .chain(args.iter().map(|a| a.to_string()))
            .chain(std::iter::once("--xml".to_string()))
            .collect();
        let mut attempt = 1;
        loop {
            let argv = argv.clone();
            let parse = parse.clone();
            let command_for_thread = command.clone();
            let running = Arc::clone(&self.running);
            let outcome = tokio::task::spawn_blocking(move || {
                run_once(&command_for_thread, &argv, timeout, &parse, &running)
            })
            .await
            .unwrap_or_else(|e| {
                Err(CliError::Spawn {
                    command: command.clone(),
                    message: format!("runner thread failed: {e}"),
                })
            });
            match outcome {
                Err(CliError::Answer { source, .. }) if source.is_busy() => {
                    if attempt >= self.busy_attempts {
                        return Err(CliError::Busy {
                            command,
                            attempts: attempt,
                        });
                    }
                    self.counters.busy_retries.fetch_add(1, Ordering::Relaxed);
                    tracing::debug!(%command, attempt, "glusterd busy; retrying");
                    attempt += 1;
                    tokio::time::sleep(self.busy_pause).await;
                }
                Err(e @ CliError::Timeout { .. }) => {
                    self.counters.timeouts.fetch_add(1, Ordering::Relaxed);
                    return Err(e);
                }
                other => return other,
            }
        }
    }
}

/// One attempt, on a blocking thread.
fn run_once<T>(
    command: &str,
    argv: &[String],
    timeout: Duration,
    parse: &dyn Fn(&mut dyn std::io::BufRead) -> Result<T, ParseError>,
    running: &Mutex<Vec<libc::pid_t>>,
) -> Result<T, CliError> {
    let spawn_error = |message: String| CliError::Spawn {
        command: command.to_string(),
        message,
    };
    let (program, rest) = argv
        .split_first()
        .ok_or_else(|| spawn_error("empty command".into()))?;
    let mut child = Command::new(program)
        .args(rest)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        // Its own group: the watchdog kills gluster and everything it forked at once.
        .process_group(0)
        .spawn()
        .map_err(|e| spawn_error(e.to_string()))?;
    // Reading stops here too: a helper that left the group may hold the pipes open for ever.
    let deadline = Instant::now() + timeout;
    let pid = child.id();
    let Ok(pgid) = libc::pid_t::try_from(pid) else {
        return Err(spawn_error(format!("pid {pid} out of range")));
    };
    lock(running).push(pgid);

    // The watchdog: kills the group at the deadline unless cancelled first. It is cancelled
    // only while the leader is still unreaped, so the group id cannot belong to anyone else.
    let (cancel, cancelled) = mpsc::channel::<()>();
    let watchdog = std::thread::Builder::new()
        .name("gluster-watchdog".into())
        .spawn(move || match cancelled.recv_timeout(timeout) {
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // SAFETY: killpg with a group we created whose leader we have not reaped.
                unsafe {
                    libc::killpg(pgid, libc::SIGKILL);
                }
                true
            }
            _ => false,
        });
    let watchdog = match watchdog {
        Ok(w) => w,
        Err(e) => {
            // Without a watchdog we must not wait unboundedly: kill and reap now.
            // SAFETY: as above; the leader is not reaped yet.
            unsafe {
                libc::killpg(pgid, libc::SIGKILL);
            }
            lock(running).retain(|&p| p != pgid);
            let _ = child.wait();
            return Err(spawn_error(format!("cannot start the watchdog: {e}")));
        }
    };

    // stderr is drained on its own thread so a chatty child cannot block on a full pipe; it is
    // waited for only until the deadline (a process outside the group may keep it open).
    let (stderr_tx, stderr_rx) = mpsc::channel::<String>();
    if let Some(mut err) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut kept = Vec::new();
            let mut chunk = [0u8; 4096];
            while let Ok(n) = err.read(&mut chunk) {
                if n == 0 {
                    break;
                }
                let room = OUTPUT_LIMIT.saturating_sub(kept.len());
                kept.extend_from_slice(&chunk[..n.min(room)]);
            }
            let _ = stderr_tx.send(String::from_utf8_lossy(&kept).into_owned());
        });
    }

    // Parse straight from the pipe: reads until every writer (the whole group) closed it.
    let mut echo = Echo::default();
    let parsed = match child.stdout.take() {
        Some(out) => {
            let mut reader = BufReader::new(EchoReader {
                fd: out.as_raw_fd(),
                inner: out,
                echo: &mut echo,
                read: 0,
                deadline,
            });
            let result = parse(&mut reader);
            // Drain what the parser left, so the child never blocks on a full pipe; an answer
            // past the cap is not drained: closing the pipe ends the writer (EPIPE).
            let _ = std::io::copy(&mut reader, &mut std::io::sink());
            result
        }
        None => Err(ParseError::NotXml {
            snippet: String::new(),
        }),
    };

    // The deadline passed while reading: the group ends now, whether or not the watchdog
    // (racing with this) has fired yet.
    if echo.past_deadline {
        // SAFETY: killpg with a group we created whose leader we have not reaped.
        unsafe {
            libc::killpg(pgid, libc::SIGKILL);
        }
    }
    // Wait for the exit without reaping, cancel the watchdog, forget the group, then reap.
    wait_exit_no_reap(pid);
    let _ = cancel.send(());
    let timed_out = watchdog.join().unwrap_or(false);
    lock(running).retain(|&p| p != pgid);
    let status = child.wait();
    let stderr = stderr_rx
        .recv_timeout(
            deadline
                .saturating_duration_since(Instant::now())
                .max(STDERR_AFTER_EXIT),
        )
        .unwrap_or_default();

    if echo.too_large {
        return Err(CliError::TooLarge {
            command: command.to_string(),
            limit: MAX_ANSWER,
        });
    }
    if timed_out || echo.past_deadline {
        return Err(CliError::Timeout {
            command: command.to_string(),
            timeout,
        });
    }
    let status_text = match &status {
        Ok(s) => s.to_string(),
        Err(e) => format!("wait failed: {e}"),
    };
    let success = status.as_ref().is_ok_and(|s| s.success());
    match parsed {
        Ok(value) => Ok(value),
        // No XML answer with a non-zero exit, or with something on stderr (some helpers exit 0
        // after a failure): report what it said.
        Err(ParseError::NotXml { .. } | ParseError::Truncated { .. })
            if !success || !stderr.trim().is_empty() =>
        {
            let mut output = stderr.trim().to_string();
            let stdout_text = echo.text();
            if !stdout_text.is_empty() {
                if !output.is_empty() {
                    output.push_str(" / ");
                }
                output.push_str(&stdout_text);
            }
            if output.is_empty() {
                output = "(no output)".into();
            }
            Err(CliError::Failed {
                command: command.to_string(),
                status: status_text,
                output,
            })
        }
        Err(source) => Err(CliError::Answer {
            command: command.to_string(),
            source,
        }),
    }
}

fn lock(m: &Mutex<Vec<libc::pid_t>>) -> std::sync::MutexGuard<'_, Vec<libc::pid_t>> {
    match m.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Blocks until process `pid` (our child) has exited, leaving it unreaped (`WNOWAIT`).
fn wait_exit_no_reap(pid: u32) {
    // id_t is u32 on Linux.
    let id: libc::id_t = pid;
    loop {
        // SAFETY: waitid on our own child with a zeroed siginfo buffer it fills in.
        let rc = unsafe {
            let mut info: libc::siginfo_t = std::mem::zeroed();
            libc::waitid(libc::P_PID, id, &mut info, libc::WEXITED | libc::WNOWAIT)
        };
        if rc == 0 {
            return;
        }
        if std::io::Error::last_os_error().kind() != std::io::ErrorKind::Interrupted {
            return;
        }
    }
}

/// The first bytes of stdout, kept for an error message when it is not XML.
#[derive(Default)]
struct Echo {
    head: Vec<u8>,
    /// Stdout went past [`MAX_ANSWER`].
    too_large: bool,
    /// Stdout had not ended by the deadline.
    past_deadline: bool,
}

impl Echo {
    fn text(&self) -> String {
        String::from_utf8_lossy(&self.head).trim().to_string()
    }
}

struct EchoReader<'a, R> {
    inner: R,
    /// `inner`'s descriptor, polled with the time left before each read.
    fd: std::os::fd::RawFd,
    echo: &'a mut Echo,
    /// Bytes read so far; past [`MAX_ANSWER`] reading fails.
    read: usize,
    /// Reading fails once this has passed (the watchdog has killed the group by then; what
    /// still holds the pipe is outside it).
    deadline: Instant,
}

impl<R: Read> Read for EchoReader<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.read > MAX_ANSWER {
            self.echo.too_large = true;
            return Err(std::io::Error::other(format!(
                "the answer is larger than {MAX_ANSWER} bytes"
            )));
        }
        loop {
            let left = self.deadline.saturating_duration_since(Instant::now());
            let mut pfd = libc::pollfd {
                fd: self.fd,
                events: libc::POLLIN,
                revents: 0,
            };
            let ms = libc::c_int::try_from(left.as_millis()).unwrap_or(libc::c_int::MAX);
            // SAFETY: one valid pollfd for a descriptor `inner` keeps open.
            let rc = unsafe { libc::poll(&mut pfd, 1, ms) };
            if rc > 0 {
                break;
            }
            if rc == 0 {
                self.echo.past_deadline = true;
                return Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    "the output did not end by the deadline",
                ));
            }
            let e = std::io::Error::last_os_error();
            if e.kind() != std::io::ErrorKind::Interrupted {
                return Err(e);
            }
        }
        let n = self.inner.read(buf)?;
        self.read += n;
        let room = OUTPUT_LIMIT.saturating_sub(self.echo.head.len());
        self.echo.head.extend_from_slice(&buf[..n.min(room)]);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::gluster::parse::{parse_peer_status, parse_volume_info};
    use std::os::unix::fs::PermissionsExt;
    use std::path::Path;
    use std::time::Instant;

    const VOLUME_INFO: &str = include_str!("../../tests/fixtures/gluster/volume-info-healthy.xml");
    const BUSY: &str = include_str!("../../tests/fixtures/gluster/volume-status-busy.xml");

    /// A stand-in for gluster: a shell script in `dir`.
    fn script(dir: &Path, name: &str, body: &str) -> String {
        let path = dir.join(name);
        std::fs::write(&path, format!("#!/bin/sh\n{body}\n")).expect("write script");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path.display().to_string()
    }

    fn runtime() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime")
    }

    fn info_parser(r: &mut dyn std::io::BufRead) -> Result<usize, ParseError> {
        parse_volume_info(r).map(|v| v.len())
    }

    #[test]
    fn streams_a_real_answer_and_passes_the_arguments() {
        let dir = tempfile::tempdir().expect("tempdir");
        let fixture = dir.path().join("out.xml");
        std::fs::write(&fixture, VOLUME_INFO).expect("fixture");
        let args_file = dir.path().join("args");
        let s = script(
            dir.path(),
            "gluster",
            &format!(
                "echo \"$@\" > {}\ncat {}",
                args_file.display(),
                fixture.display()
            ),
        );
        let cli = GlusterCli::new(vec![s]);
        let n = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_secs(10), info_parser))
            .expect("parsed");
        assert_eq!(n, 2);
        let args = std::fs::read_to_string(&args_file).expect("args");
        assert_eq!(args.trim(), "--mode=script volume info --xml");
    }

    /// A helper that leaves the process group (setsid) and keeps stdout and stderr open: the
    /// group kill does not end it, yet the query ends at its timeout, as a timeout.
    #[test]
    fn a_helper_outside_the_group_holding_the_pipes_does_not_outlast_the_timeout() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pid_file = dir.path().join("helper.pid");
        let s = script(
            dir.path(),
            "gluster",
            &format!(
                "setsid sleep 300 &\necho $! > {}\nprintf '<cliOutput><opRet>0</opRet>'",
                pid_file.display()
            ),
        );
        let cli = GlusterCli::new(vec![s]);
        let started = Instant::now();
        let e = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_secs(1), info_parser))
            .expect_err("timeout");
        let took = started.elapsed();
        if let Some(pid) = std::fs::read_to_string(&pid_file)
            .ok()
            .and_then(|t| t.trim().parse::<i32>().ok())
        {
            // SAFETY: kill(2) on the helper this test started.
            unsafe {
                libc::kill(pid, libc::SIGKILL);
            }
        }
        assert!(e.is_timeout(), "{e}");
        assert!(took < Duration::from_secs(3), "{took:?}");
    }

    /// A command that exits 0 with only a message on stderr: the message is reported.
    #[test]
    fn a_success_exit_with_only_stderr_keeps_the_message() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = script(
            dir.path(),
            "gluster",
            "echo 'Connection failed. Please check if gluster daemon is operational.' >&2",
        );
        let cli = GlusterCli::new(vec![s]);
        let e = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_secs(10), info_parser))
            .expect_err("no answer");
        let text = e.to_string();
        assert!(
            text.contains("Connection failed. Please check if gluster daemon is operational."),
            "{text}"
        );
        assert!(text.contains("exit status: 0"), "{text}");
    }

    /// An endless answer (a text node that never ends) is refused at the cap, quickly, and the
    /// command is ended by the closed pipe.
    #[test]
    fn an_endless_answer_is_refused_at_the_cap() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = script(
            dir.path(),
            "gluster",
            "printf '<cliOutput><opRet>0</opRet><volInfo><volumes><volume><name>'\nexec yes",
        );
        let cli = GlusterCli::new(vec![s]);
        let started = Instant::now();
        let e = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_secs(20), info_parser))
            .expect_err("too large");
        assert!(e.to_string().contains("larger than 33554432 bytes"), "{e}");
        assert!(
            started.elapsed() < Duration::from_secs(15),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn hung_command_is_killed_with_its_group_and_reaped() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        // The script forks a helper (like gluster forks glfsheal) and both hang.
        let s = script(
            dir.path(),
            "gluster",
            &format!("sleep 300 &\necho $$ $! > {}\nwait", pids.display()),
        );
        let cli = GlusterCli::new(vec![s]);
        let started = Instant::now();
        let err = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_millis(500), info_parser))
            .expect_err("must time out");
        assert!(err.is_timeout(), "{err}");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(cli.counters().timeouts.load(Ordering::Relaxed), 1);
        let text = std::fs::read_to_string(&pids).expect("pids");
        let ids: Vec<u32> = text
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect();
        assert_eq!(ids.len(), 2, "{text}");
        // The leader is reaped by us: no zombie child of this process.
        assert!(!Path::new(&format!("/proc/{}", ids[0])).exists() || !is_our_zombie(ids[0]));
        // The helper was killed with the group: gone, or at most a zombie awaiting init.
        let deadline = Instant::now() + Duration::from_secs(5);
        while Path::new(&format!("/proc/{}", ids[1])).exists() && !is_zombie(ids[1]) {
            assert!(
                Instant::now() < deadline,
                "helper {} survived the group kill",
                ids[1]
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    fn stat_fields(pid: u32) -> Option<(char, u32)> {
        let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
        let after = stat.rsplit_once(')')?.1;
        let mut it = after.split_whitespace();
        let state = it.next()?.chars().next()?;
        let ppid = it.next()?.parse().ok()?;
        Some((state, ppid))
    }

    fn is_zombie(pid: u32) -> bool {
        stat_fields(pid).is_some_and(|(s, _)| s == 'Z')
    }

    fn is_our_zombie(pid: u32) -> bool {
        stat_fields(pid).is_some_and(|(s, ppid)| s == 'Z' && ppid == std::process::id())
    }

    #[test]
    fn kill_running_ends_a_hung_command_at_once() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = script(dir.path(), "gluster", "sleep 300");
        let cli = GlusterCli::new(vec![s]);
        let rt = runtime();
        let killer = cli.clone();
        let started = Instant::now();
        let err = rt
            .block_on(async {
                let query = cli.query(&["volume", "info"], Duration::from_secs(60), info_parser);
                let kill = async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    killer.kill_running();
                    std::future::pending::<()>().await
                };
                tokio::select! {
                    r = query => r,
                    () = kill => unreachable!(),
                }
            })
            .expect_err("killed");
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
        assert!(matches!(err, CliError::Failed { .. }), "{err}");
        assert!(cli.running.lock().map(|r| r.is_empty()).unwrap_or(false));
    }

    #[test]
    fn busy_is_retried_then_succeeds() {
        let dir = tempfile::tempdir().expect("tempdir");
        let busy = dir.path().join("busy.xml");
        let ok = dir.path().join("ok.xml");
        std::fs::write(&busy, BUSY).expect("busy");
        std::fs::write(&ok, VOLUME_INFO).expect("ok");
        let counter = dir.path().join("count");
        // Busy on the first two calls, then the real answer.
        let s = script(
            dir.path(),
            "gluster",
            &format!(
                "echo x >> {c}\nif [ $(wc -l < {c}) -le 2 ]; then cat {b}; else cat {o}; fi",
                c = counter.display(),
                b = busy.display(),
                o = ok.display()
            ),
        );
        let cli = GlusterCli::new(vec![s.clone()]).with_busy_retry(3, Duration::from_millis(10));
        let n = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_secs(10), info_parser))
            .expect("third attempt answers");
        assert_eq!(n, 2);
        assert_eq!(cli.counters().busy_retries.load(Ordering::Relaxed), 2);

        // Always busy: reported as Busy after the attempts.
        std::fs::write(&ok, BUSY).expect("busy again");
        std::fs::remove_file(&counter).expect("reset");
        let cli = GlusterCli::new(vec![s]).with_busy_retry(2, Duration::from_millis(10));
        let err = runtime()
            .block_on(cli.query(&["volume", "info"], Duration::from_secs(10), info_parser))
            .expect_err("busy");
        assert!(matches!(err, CliError::Busy { attempts: 2, .. }), "{err}");
        assert!(err.to_string().contains("volume info"), "{err}");
    }

    #[test]
    fn non_xml_failure_reports_the_message_and_status() {
        let dir = tempfile::tempdir().expect("tempdir");
        let s = script(
            dir.path(),
            "gluster",
            "echo 'Connection failed. Please check if gluster daemon is operational.'\nexit 1",
        );
        let cli = GlusterCli::new(vec![s]);
        let err = runtime()
            .block_on(
                cli.query(&["peer", "status"], Duration::from_secs(10), |r| {
                    parse_peer_status(r)
                }),
            )
            .expect_err("fails");
        match &err {
            CliError::Failed { output, status, .. } => {
                assert!(output.contains("Connection failed"), "{output}");
                assert!(status.contains('1'), "{status}");
            }
            other => panic!("unexpected {other}"),
        }
    }

    #[test]
    fn missing_program_is_a_spawn_error() {
        let cli = GlusterCli::new(vec!["/nonexistent/gluster".into()]);
        let err = runtime()
            .block_on(cli.query(&["peer", "status"], Duration::from_secs(1), |r| {
                parse_peer_status(r)
            }))
            .expect_err("no such program");
        assert!(matches!(err, CliError::Spawn { .. }), "{err}");
        assert!(err.to_string().contains("/nonexistent/gluster"), "{err}");
    }
}
