//! Running commands: the PATH they get ([`search_path`]), and finishing a child within a
//! deadline: feed its stdin and drain its stdout and stderr on threads (a full pipe either way
//! would otherwise block the child and turn into a false timeout), wait until it exits or the
//! deadline passes, then kill and reap it.
//!
//! [`run`] and [`run_checked`] are the one way quorate runs a short command (the sandbox's
//! `ip`, `gluster`, `mariabackup` and `mariadb` client, recovery's `--wsrep-recover` and SQL
//! steps); callers only word the [`RunFailure`] as their own error. Callers that need more
//! (the gluster CLI's streaming parser, a start command's process group) spawn the child
//! themselves and call [`finish`] or [`finish_group`].
//!
//! Outputs are bounded in bytes and in time: each stream is kept up to [`MAX_OUTPUT`] bytes, past
//! which the child is killed and the run fails with [`RunFailure::TooLarge`] (an endless
//! `yes`-like output cannot fill memory); and the readers poll, so the run's answer never waits
//! past its deadline for a writer that may never go. Once a run is over, a reader whose child
//! was killed closes its end (what still writes there is a stray that left the group); after a
//! normal exit it keeps draining into the void until the writers close: a server the command
//! started with our pipes as its output must neither block on a full pipe nor die of SIGPIPE.
//!
//! [`finish_group`] is for commands that must not be half-killed (a node's start or bootstrap
//! command): the child leads its own process group, and on a timeout or an interruption the
//! whole group gets SIGTERM, a grace period to run its clean-up (e.g. `galera_new_cluster`'s
//! `trap` that removes the `--wsrep-new-cluster` flag it set for systemd), then SIGKILL for
//! what is left. Killing only the leader with SIGKILL skipped that clean-up, and the next plain
//! start bootstrapped a second cluster.

use std::ffi::OsString;
use std::fmt;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicU8, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// sbin directories are often missing from a non-login PATH, yet mariadbd, ip and gluster live
/// there (and mariadbd runs `wsrep_sst_rsync`, which needs rsync and friends).
const EXTRA_PATH: &[&str] = &[
    "/usr/local/sbin",
    "/usr/local/bin",
    "/usr/sbin",
    "/usr/bin",
    "/sbin",
    "/bin",
];

/// The PATH every command quorate runs gets: the caller's PATH, then the usual bin and sbin
/// directories it lacks.
pub(crate) fn search_path() -> OsString {
    let mut dirs: Vec<PathBuf> = std::env::var_os("PATH")
        .map(|p| std::env::split_paths(&p).collect())
        .unwrap_or_default();
    for extra in EXTRA_PATH {
        if !dirs.iter().any(|d| d == Path::new(extra)) {
            dirs.push(PathBuf::from(extra));
        }
    }
    std::env::join_paths(dirs).unwrap_or_else(|_| OsString::from(EXTRA_PATH.join(":")))
}

/// The first of `names` found in the directories of `path` (e.g. [`search_path`]) as an
/// executable file.
pub(crate) fn find_program_in(names: &[&str], path: &std::ffi::OsStr) -> Option<PathBuf> {
    use std::os::unix::fs::PermissionsExt;
    let executable = |p: &Path| {
        std::fs::metadata(p).is_ok_and(|m| m.is_file() && m.permissions().mode() & 0o111 != 0)
    };
    names.iter().find_map(|name| {
        std::env::split_paths(path)
            .map(|dir| dir.join(name))
            .find(|candidate| executable(candidate))
    })
}

/// How often [`run`] looks whether the child exited.
const RUN_POLL: Duration = Duration::from_millis(10);

/// The most bytes kept of a child's stdout, and of its stderr. The largest expected is
/// mariabackup's log (a line per file copied: tens of MB for a hundred thousand tables); past
/// the cap the child is killed and the run fails ([`RunFailure::TooLarge`]).
pub(crate) const MAX_OUTPUT: usize = 64 << 20;

/// How often a reader whose stream is quiet looks whether it should stop.
const READER_POLL: Duration = Duration::from_millis(50);

/// Which output of a child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stream {
    Stdout,
    Stderr,
}

impl fmt::Display for Stream {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Stream::Stdout => "stdout",
            Stream::Stderr => "stderr",
        })
    }
}

/// Why [`run`] or [`run_checked`] has no successful answer. The child, if it started, has been
/// reaped (and killed, if it outlived its deadline).
#[derive(Debug)]
pub(crate) enum RunFailure {
    /// It could not be started.
    Spawn(std::io::Error),
    /// It did not exit within this bound.
    TimedOut(Duration),
    /// Waiting for it failed.
    Wait(std::io::Error),
    /// It exited unsuccessfully ([`run_checked`] only).
    Exit(Finished),
    /// This output went past `limit` bytes ([`MAX_OUTPUT`]); the child was killed.
    TooLarge { stream: Stream, limit: usize },
}

impl fmt::Display for RunFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            RunFailure::Spawn(e) => write!(f, "cannot start it: {e}"),
            RunFailure::TimedOut(t) => write!(f, "did not finish within {t:?}"),
            RunFailure::Wait(e) => write!(f, "waiting for it failed: {e}"),
            RunFailure::Exit(done) => write!(f, "exited with {}", done.status),
            RunFailure::TooLarge { stream, limit } => {
                write!(
                    f,
                    "its output ({stream}) exceeds {limit} bytes; it was killed"
                )
            }
        }
    }
}

/// Runs `command` with [`search_path`], its stdout and stderr piped and `stdin` fed in (closed
/// when `None`), and waits at most `timeout`. With [`Kill::Group`] the child leads a process
/// group of its own, all of which is killed on a timeout.
pub(crate) fn run(
    command: &mut Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    kill: Kill,
) -> Result<Finished, RunFailure> {
    command
        .env("PATH", search_path())
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    if kill == Kill::Group {
        command.process_group(0);
    }
    let child = command.spawn().map_err(RunFailure::Spawn)?;
    finish(child, stdin, timeout, RUN_POLL, kill).map_err(|unfinished| match unfinished {
        Unfinished::TimedOut => RunFailure::TimedOut(timeout),
        Unfinished::Wait(e) => RunFailure::Wait(e),
        Unfinished::TooLarge(stream) => RunFailure::TooLarge {
            stream,
            limit: MAX_OUTPUT,
        },
    })
}

/// [`run`], failing with [`RunFailure::Exit`] unless the command exits 0.
pub(crate) fn run_checked(
    command: &mut Command,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    kill: Kill,
) -> Result<Finished, RunFailure> {
    let done = run(command, stdin, timeout, kill)?;
    if done.status.success() {
        Ok(done)
    } else {
        Err(RunFailure::Exit(done))
    }
}

/// What a child that exited in time left behind.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a child did not exit in time, or its output was refused. It has been killed (unless it
/// had exited) and reaped either way.
#[derive(Debug)]
pub(crate) enum Unfinished {
    TimedOut,
    Wait(std::io::Error),
    /// This output went past [`MAX_OUTPUT`] bytes.
    TooLarge(Stream),
}

/// How to kill a child that outlives its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kill {
    /// The child alone.
    Child,
    /// Its whole process group (the child was spawned as a group leader, `process_group(0)`).
    Group,
}

/// Feeds `stdin` (when the child's stdin is piped), drains its piped outputs, and waits at
/// most `timeout`, polling every `poll`. An output past [`MAX_OUTPUT`] ends the child like a
/// timeout does.
pub(crate) fn finish(
    mut child: Child,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    poll: Duration,
    kill: Kill,
) -> Result<Finished, Unfinished> {
    let io = ChildIo::start(&mut child, stdin);
    let deadline = Instant::now() + timeout;
    let outcome = loop {
        if let Some(stream) = io.overflowed() {
            break Err(Unfinished::TooLarge(stream));
        }
        match child.try_wait() {
            Ok(Some(status)) => break Ok(status),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(poll),
            Ok(None) => break Err(Unfinished::TimedOut),
            Err(e) => break Err(Unfinished::Wait(e)),
        }
    };
    let status = match outcome {
        Ok(status) => status,
        Err(unfinished) => {
            match kill {
                Kill::Group => {
                    if let Ok(pgid) = libc::pid_t::try_from(child.id()) {
                        // SAFETY: our own child's group; the leader is not reaped yet.
                        unsafe {
                            libc::killpg(pgid, libc::SIGKILL);
                        }
                    }
                }
                Kill::Child => {
                    let _ = child.kill();
                }
            }
            let _ = child.wait();
            // The readers are not joined: a grandchild outside the killed process may still
            // hold a pipe open. Told to, they close their ends within a poll.
            io.close();
            return Err(unfinished);
        }
    };
    io.exited(status, deadline)
        .map_err(|(_, stream)| Unfinished::TooLarge(stream))
}

/// The threads that feed a child's stdin and drain its stdout and stderr.
struct ChildIo {
    writer: Option<std::thread::JoinHandle<()>>,
    stdout: Option<Collector>,
    stderr: Option<Collector>,
}

/// The least time the readers get once the leader exited, even at the deadline: what is
/// already in the pipes is read at once.
const READERS_AT_LEAST: Duration = Duration::from_millis(100);

impl ChildIo {
    /// Takes the child's piped streams: writes `stdin` (if piped) and collects the outputs.
    fn start(child: &mut Child, stdin: Option<Vec<u8>>) -> ChildIo {
        let writer = child.stdin.take().map(|mut w| {
            let input = stdin.unwrap_or_default();
            // A child that exits early closes the pipe; its stderr says why.
            std::thread::spawn(move || {
                let _ = w.write_all(&input);
            })
        });
        ChildIo {
            writer,
            stdout: child.stdout.take().map(|r| Collector::start(r, MAX_OUTPUT)),
            stderr: child.stderr.take().map(|r| Collector::start(r, MAX_OUTPUT)),
        }
    }

    /// The first output that went past its cap.
    fn overflowed(&self) -> Option<Stream> {
        let over = |c: &Option<Collector>| c.as_ref().is_some_and(Collector::overflowed);
        if over(&self.stdout) {
            Some(Stream::Stdout)
        } else if over(&self.stderr) {
            Some(Stream::Stderr)
        } else {
            None
        }
    }

    /// Tells the readers to close their ends (they are not waited for).
    fn close(&self) {
        for c in [&self.stdout, &self.stderr].into_iter().flatten() {
            c.mode.store(CLOSE, Ordering::SeqCst);
        }
    }

    /// The child exited with `status`. A process it left behind (outside a killed group, or
    /// a daemon) may hold the pipes open for ever: the output is waited for only a little
    /// ([`READERS_AFTER_EXIT`], and no later than `deadline` unless that leaves less than
    /// [`READERS_AT_LEAST`]); the readers then drain into the void until the writers close.
    /// Fails with what was read when an output went past its cap.
    fn exited(self, status: ExitStatus, deadline: Instant) -> Result<Finished, (Finished, Stream)> {
        if let Some(w) = self.writer {
            // The writer ends when the child's stdin closes, which its exit did (unless a
            // descendant holds it: then it is not waited for).
            let until = Instant::now() + READERS_AT_LEAST;
            while !w.is_finished() && Instant::now() < until {
                std::thread::sleep(Duration::from_millis(5));
            }
        }
        let now = Instant::now();
        let until = (now + READERS_AFTER_EXIT).min(deadline.max(now + READERS_AT_LEAST));
        let (stdout, stdout_over) = Collector::take(self.stdout, until, DISCARD);
        let (stderr, stderr_over) = Collector::take(self.stderr, until, DISCARD);
        let done = Finished {
            status,
            stdout,
            stderr,
        };
        match (stdout_over, stderr_over) {
            (true, _) => Err((done, Stream::Stdout)),
            (_, true) => Err((done, Stream::Stderr)),
            _ => Ok(done),
        }
    }
}

/// Why a process group was stopped before its leader exited (or, for [`Stop::TooLarge`],
/// why its run failed).
#[derive(Debug)]
pub(crate) enum Stop {
    TimedOut,
    /// This output went past [`MAX_OUTPUT`] bytes.
    TooLarge(Stream),
    /// `cancel` was set to this signal number (this process received it).
    Interrupted(i32),
    Wait(std::io::Error),
}

/// A process group stopped by [`finish_group`]: why, how, and what it printed until then.
#[derive(Debug)]
pub(crate) struct GroupStopped {
    pub why: Stop,
    /// The signals sent and their effect, e.g. `SIGTERM to process group 123; every process
    /// exited within 0.05s`.
    pub how: String,
    /// Processes of the group still alive after SIGKILL (a process in uninterruptible sleep
    /// dies only when its I/O returns); empty when the group is gone.
    pub survivors: Vec<u32>,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// How long the output readers are waited for once the leader exited: a background process
/// the command started (a daemon) may keep the pipes open for ever.
const READERS_AFTER_EXIT: Duration = Duration::from_secs(2);
/// How long SIGKILLed processes are waited for.
const AFTER_KILL: Duration = Duration::from_secs(5);

/// Like [`finish`] for a child spawned as a process-group leader (`process_group(0)`), with
/// `timeout` and an interruption (`cancel` set to a signal number by a signal handler) both
/// ending the whole group: SIGTERM, up to `grace` for it to exit, then SIGKILL. The leader is
/// reaped only after the group is gone, so its pid (the group id) cannot be reused meanwhile
/// and no signal can reach an unrelated process.
///
/// A child that exits by itself is not followed further: what it started in the background
/// (a server) is meant to outlive it.
pub(crate) fn finish_group(
    mut child: Child,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    poll: Duration,
    grace: Duration,
    cancel: &AtomicI32,
) -> Result<Finished, GroupStopped> {
    let io = ChildIo::start(&mut child, stdin);
    let deadline = Instant::now() + timeout;
    let why = loop {
        if let Some(stream) = io.overflowed() {
            break Stop::TooLarge(stream);
        }
        match child.try_wait() {
            Ok(Some(status)) => {
                // What it started in the background is left running (see above); only the
                // answer is refused.
                return io
                    .exited(status, deadline)
                    .map_err(|(done, stream)| GroupStopped {
                        why: Stop::TooLarge(stream),
                        how: "it had exited; nothing was signalled".into(),
                        survivors: Vec::new(),
                        stdout: done.stdout,
                        stderr: done.stderr,
                    });
            }
            Ok(None) => {}
            Err(e) => break Stop::Wait(e),
        }
        match cancel.load(Ordering::SeqCst) {
            0 => {}
            sig => break Stop::Interrupted(sig),
        }
        if Instant::now() >= deadline {
            break Stop::TimedOut;
        }
        std::thread::sleep(poll);
    };
    let (how, survivors) = match libc::pid_t::try_from(child.id()) {
        Ok(pgid) => end_group(pgid, grace, poll),
        Err(_) => {
            let _ = child.kill();
            (
                format!("pid {} out of range: SIGKILL to it alone", child.id()),
                Vec::new(),
            )
        }
    };
    // Reaping the leader last: until now its zombie kept the group id reserved.
    let _ = child.wait();
    let now = Instant::now();
    Err(GroupStopped {
        why,
        how,
        survivors,
        stdout: Collector::take(io.stdout, now, CLOSE).0,
        stderr: Collector::take(io.stderr, now, CLOSE).0,
    })
}

/// SIGTERM to the group, up to `grace` for every member to exit, then SIGKILL. Returns what
/// was done and the pids that survived even SIGKILL.
fn end_group(pgid: libc::pid_t, grace: Duration, poll: Duration) -> (String, Vec<u32>) {
    let started = Instant::now();
    // SAFETY: kill(2) on a process group that is ours: its leader is our unreaped child.
    unsafe {
        libc::killpg(pgid, libc::SIGTERM);
    }
    let mut how = format!("SIGTERM to process group {pgid}");
    while started.elapsed() < grace {
        if group_members(pgid).is_empty() {
            how.push_str(&format!(
                "; every process exited within {:.2}s",
                started.elapsed().as_secs_f64()
            ));
            return (how, Vec::new());
        }
        std::thread::sleep(poll);
    }
    let left = group_members(pgid);
    if left.is_empty() {
        how.push_str(&format!("; every process exited within {grace:?}"));
        return (how, Vec::new());
    }
    // SAFETY: as above; the leader is still unreaped.
    unsafe {
        libc::killpg(pgid, libc::SIGKILL);
    }
    how.push_str(&format!(
        "; SIGKILL after {grace:?} to the {} process(es) left ({})",
        left.len(),
        join_pids(&left)
    ));
    let killed = Instant::now();
    loop {
        let left = group_members(pgid);
        if left.is_empty() {
            return (how, Vec::new());
        }
        if killed.elapsed() >= AFTER_KILL {
            how.push_str(&format!(
                "; still alive {AFTER_KILL:?} after SIGKILL: {}",
                join_pids(&left)
            ));
            return (how, left);
        }
        std::thread::sleep(poll);
    }
}

fn join_pids(pids: &[u32]) -> String {
    pids.iter()
        .map(u32::to_string)
        .collect::<Vec<_>>()
        .join(" ")
}

/// The live (not zombie) processes whose process group is `pgid`, from /proc.
pub(crate) fn group_members(pgid: libc::pid_t) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
                // After the parenthesised name: state, ppid, pgrp.
                let Some(i) = stat.rfind(')') else {
                    return false;
                };
                let mut fields = stat[i + 1..].split_whitespace();
                let state = fields.next();
                let pgrp = fields.nth(1).and_then(|p| p.parse::<libc::pid_t>().ok());
                pgrp == Some(pgid) && !matches!(state, Some("Z" | "X"))
            })
        })
        .collect();
    out.sort_unstable();
    out
}

/// What a [`Collector`]'s thread does with what it reads: keep it (up to its cap), drain it
/// into the void (the run is over; a writer the command left running must not block or get
/// SIGPIPE), or close its end (the run's child was killed: what still writes is a stray).
const COLLECT: u8 = 0;
const DISCARD: u8 = 1;
const CLOSE: u8 = 2;

/// A reader thread whose output so far can be taken without waiting for its end. It keeps at
/// most its cap (then marks the overflow and closes its end: the writer gets EPIPE), and its
/// mode ([`COLLECT`], [`DISCARD`], [`CLOSE`]) is changed when the run is over.
struct Collector {
    buf: Arc<Mutex<Vec<u8>>>,
    overflow: Arc<AtomicBool>,
    mode: Arc<AtomicU8>,
    handle: JoinHandle<()>,
}

impl Collector {
    fn start<R: Read + AsRawFd + Send + 'static>(mut r: R, cap: usize) -> Collector {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let overflow = Arc::new(AtomicBool::new(false));
        let mode = Arc::new(AtomicU8::new(COLLECT));
        let (shared, over, mode_seen) =
            (Arc::clone(&buf), Arc::clone(&overflow), Arc::clone(&mode));
        let handle = std::thread::spawn(move || {
            let mut chunk = vec![0u8; 64 * 1024];
            loop {
                let mode = mode_seen.load(Ordering::SeqCst);
                if mode == CLOSE {
                    break;
                }
                if !readable(r.as_raw_fd(), READER_POLL) {
                    continue;
                }
                let n = match r.read(&mut chunk) {
                    Ok(0) => break,
                    Ok(n) => n,
                    Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
                    Err(_) => break,
                };
                if mode == DISCARD {
                    continue;
                }
                let Ok(mut b) = shared.lock() else { break };
                if b.len() + n > cap {
                    let room = cap - b.len();
                    b.extend_from_slice(&chunk[..room]);
                    over.store(true, Ordering::SeqCst);
                    break;
                }
                b.extend_from_slice(&chunk[..n]);
            }
        });
        Collector {
            buf,
            overflow,
            mode,
            handle,
        }
    }

    fn overflowed(&self) -> bool {
        self.overflow.load(Ordering::SeqCst)
    }

    /// What was read and whether it went past the cap, waiting for the end of the stream at
    /// most until `until`; the reader then goes on in `then` mode ([`DISCARD`] or [`CLOSE`]).
    fn take(c: Option<Collector>, until: Instant, then: u8) -> (Vec<u8>, bool) {
        let Some(c) = c else {
            return (Vec::new(), false);
        };
        while !c.handle.is_finished() && Instant::now() < until {
            std::thread::sleep(Duration::from_millis(10));
        }
        c.mode.store(then, Ordering::SeqCst);
        let out = c.buf.lock().map(|b| b.clone()).unwrap_or_default();
        (out, c.overflowed())
    }
}

/// Whether `fd` has something to read (or its end: EOF and errors count) within `wait`.
fn readable(fd: RawFd, wait: Duration) -> bool {
    let mut pfd = libc::pollfd {
        fd,
        events: libc::POLLIN,
        revents: 0,
    };
    let ms = libc::c_int::try_from(wait.as_millis()).unwrap_or(libc::c_int::MAX);
    // SAFETY: one valid pollfd for a descriptor the caller keeps open.
    unsafe { libc::poll(&mut pfd, 1, ms) > 0 }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_captures_output_and_times_out() {
        let done = run(
            &mut Command::new("cat"),
            Some(b"hello".to_vec()),
            Duration::from_secs(5),
            Kill::Child,
        )
        .expect("cat");
        assert!(done.status.success());
        assert_eq!(done.stdout, b"hello");
        let err = run(
            Command::new("sleep").arg("5"),
            None,
            Duration::from_millis(200),
            Kill::Group,
        )
        .expect_err("timeout");
        assert!(err.to_string().contains("did not finish"), "{err}");
        assert!(matches!(
            run(
                &mut Command::new("/nonexistent/x"),
                None,
                Duration::from_secs(1),
                Kill::Child
            ),
            Err(RunFailure::Spawn(_))
        ));
        let failed = run_checked(
            Command::new("sh").args(["-c", "echo out; echo err >&2; exit 3"]),
            None,
            Duration::from_secs(5),
            Kill::Child,
        );
        match failed {
            Err(RunFailure::Exit(done)) => {
                assert_eq!(done.status.code(), Some(3));
                assert_eq!(
                    (done.stdout.as_slice(), done.stderr.as_slice()),
                    (&b"out\n"[..], &b"err\n"[..])
                );
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn search_path_adds_the_sbin_directories() {
        let path = search_path();
        let dirs: Vec<PathBuf> = std::env::split_paths(&path).collect();
        for extra in EXTRA_PATH {
            let n = dirs.iter().filter(|d| d == &Path::new(extra)).count();
            assert!(n >= 1, "{extra} missing from {path:?}");
        }
    }

    fn alive(pid: u32) -> bool {
        std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|s| {
            s.rfind(')')
                .is_some_and(|i| !matches!(s[i + 1..].trim_start().chars().next(), Some('Z' | 'X')))
        })
    }

    /// `sh -c SCRIPT sh ARGS...` as the leader of its own process group.
    fn group_leader(script: &str, args: &[&std::path::Path]) -> Child {
        Command::new("sh")
            .arg("-c")
            .arg(script)
            .arg("sh")
            .args(args)
            .process_group(0)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn sh")
    }

    fn pids_in(path: &std::path::Path) -> Vec<u32> {
        std::fs::read_to_string(path)
            .unwrap_or_default()
            .split_whitespace()
            .filter_map(|p| p.parse().ok())
            .collect()
    }

    /// Ends by pid whatever a failed assertion would otherwise leave running.
    fn kill_all(pids: &[u32]) {
        for &p in pids {
            if alive(p) {
                // SAFETY: kill(2) on a pid this test started and recorded.
                unsafe {
                    libc::kill(p as libc::pid_t, libc::SIGKILL);
                }
            }
        }
    }

    #[test]
    fn a_timed_out_group_gets_term_and_its_cleanup_trap_runs() {
        let dir = tempfile::tempdir().expect("tempdir");
        let (flag, pids) = (dir.path().join("flag"), dir.path().join("pids"));
        std::fs::write(&flag, "_WSREP_NEW_CLUSTER=--wsrep-new-cluster").expect("flag");
        // Like galera_new_cluster: set a flag, clean it up in a trap, wait for a child; plus a
        // background grandchild that is not waited for by name.
        let script = r#"trap 'rm -f "$1"' EXIT; trap 'exit 1' TERM
            sleep 100 & echo $! >> "$2"; sleep 100 & echo $! >> "$2"; echo $$ >> "$2"
            echo started; wait"#;
        let child = group_leader(script, &[&flag, &pids]);
        let leader = child.id();
        let never = AtomicI32::new(0);
        let started = Instant::now();
        let r = finish_group(
            child,
            None,
            Duration::from_millis(800),
            Duration::from_millis(10),
            Duration::from_secs(10),
            &never,
        );
        let recorded = pids_in(&pids);
        kill_all(&recorded);
        let stopped = r.expect_err("must time out");
        assert!(matches!(stopped.why, Stop::TimedOut), "{stopped:?}");
        assert_eq!(recorded.len(), 3, "the script did not start: {stopped:?}");
        assert!(recorded.contains(&leader));
        for p in &recorded {
            assert!(!alive(*p), "pid {p} of the group survived: {}", stopped.how);
        }
        assert!(group_members(leader as libc::pid_t).is_empty());
        assert!(
            !flag.exists(),
            "the clean-up trap did not run: {}",
            stopped.how
        );
        assert!(stopped.how.contains("SIGTERM") && !stopped.how.contains("SIGKILL"));
        assert!(stopped.survivors.is_empty());
        assert_eq!(stopped.stdout, b"started\n");
        // TERM was enough: no grace period was waited out.
        assert!(
            started.elapsed() < Duration::from_secs(5),
            "{:?}",
            started.elapsed()
        );
    }

    #[test]
    fn an_interrupted_group_that_ignores_term_is_killed_after_the_grace() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        // SIG_IGN is inherited across fork and exec: the background sleep ignores TERM too.
        let script = r#"trap '' TERM; sleep 100 & echo $! >> "$1"; echo $$ >> "$1"; wait"#;
        let child = group_leader(script, &[&pids]);
        let cancel = Arc::new(AtomicI32::new(0));
        let setter = {
            let (cancel, pids) = (Arc::clone(&cancel), pids.clone());
            std::thread::spawn(move || {
                let until = Instant::now() + Duration::from_secs(10);
                while pids_in(&pids).len() < 2 && Instant::now() < until {
                    std::thread::sleep(Duration::from_millis(10));
                }
                cancel.store(libc::SIGINT, Ordering::SeqCst);
            })
        };
        let grace = Duration::from_millis(300);
        let r = finish_group(
            child,
            None,
            Duration::from_secs(60),
            Duration::from_millis(10),
            grace,
            &cancel,
        );
        let _ = setter.join();
        let recorded = pids_in(&pids);
        kill_all(&recorded);
        let stopped = r.expect_err("must be interrupted");
        assert!(
            matches!(stopped.why, Stop::Interrupted(libc::SIGINT)),
            "{stopped:?}"
        );
        assert_eq!(recorded.len(), 2, "the script did not start: {stopped:?}");
        for p in &recorded {
            assert!(!alive(*p), "pid {p} survived: {}", stopped.how);
        }
        assert!(
            stopped.how.contains("SIGKILL after 300ms"),
            "{}",
            stopped.how
        );
        assert!(stopped.survivors.is_empty());
    }

    /// `finish` of a command whose helper left the group (setsid) and holds stdout: the exit
    /// is reported within the readers' grace, not when the helper ends.
    #[test]
    fn finish_does_not_wait_for_a_helper_holding_the_output() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let child = group_leader(r#"setsid sleep 100 & echo $! >> "$1"; echo done"#, &[&pids]);
        let started = Instant::now();
        let r = finish(
            child,
            None,
            Duration::from_secs(30),
            Duration::from_millis(10),
            Kill::Group,
        );
        let took = started.elapsed();
        kill_all(&pids_in(&pids));
        let f = r.expect("exits 0");
        assert!(f.status.success());
        assert_eq!(f.stdout, b"done\n");
        assert!(
            took < READERS_AFTER_EXIT + Duration::from_secs(3),
            "{took:?}"
        );
    }

    #[test]
    fn a_command_that_leaves_a_daemon_holding_its_output_still_finishes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        // The background loop keeps stdout open after the leader exits 0, like a server
        // started by a start script without redirecting its output; it writes there after a
        // second and on: once the answer is taken, the reader must drain into the void, not
        // close the pipe (SIGPIPE would kill the server) nor stop reading (a full pipe would
        // block it).
        let script = r#"(sleep 1; while :; do echo tick; sleep 0.01; done) & echo $! >> "$1"
            echo up"#;
        let child = group_leader(script, &[&pids]);
        let never = AtomicI32::new(0);
        let started = Instant::now();
        let r = finish_group(
            child,
            None,
            Duration::from_secs(30),
            Duration::from_millis(10),
            Duration::from_secs(1),
            &never,
        );
        let took = started.elapsed();
        // Well after the answer: by now a closed pipe would have killed it.
        std::thread::sleep(Duration::from_millis(800));
        let recorded = pids_in(&pids);
        // A process the command left running on success is not ours to end; the test ends it.
        let daemon_alive = recorded.iter().all(|p| alive(*p));
        kill_all(&recorded);
        let f = r.expect("exits 0");
        assert!(f.status.success());
        assert!(
            f.stdout.starts_with(b"up\n"),
            "{:?}",
            String::from_utf8_lossy(&f.stdout)
        );
        assert_eq!(recorded.len(), 1);
        assert!(
            daemon_alive,
            "a successful command's background process died once the answer was taken"
        );
        assert!(
            took >= READERS_AFTER_EXIT && took < READERS_AFTER_EXIT + Duration::from_secs(5),
            "{took:?}"
        );
    }

    /// An endless output (`yes`) is refused at the cap, quickly, the child killed.
    #[test]
    fn an_endless_output_is_refused_at_the_cap() {
        for (script, stream) in [
            ("exec yes", Stream::Stdout),
            ("exec yes >&2", Stream::Stderr),
        ] {
            let started = Instant::now();
            let err = run(
                Command::new("sh").args(["-c", script]),
                None,
                Duration::from_secs(60),
                Kill::Group,
            )
            .expect_err("too large");
            assert!(
                matches!(err, RunFailure::TooLarge { stream: s, limit: MAX_OUTPUT } if s == stream),
                "{err:?}"
            );
            let text = err.to_string();
            assert!(
                text.contains(&format!("({stream}) exceeds {MAX_OUTPUT} bytes")),
                "{text}"
            );
            assert!(
                started.elapsed() < Duration::from_secs(30),
                "{:?}",
                started.elapsed()
            );
        }
    }

    /// The reader keeps at most its cap, whatever the writer sends.
    #[test]
    fn a_reader_keeps_at_most_its_cap() {
        let mut child = Command::new("yes")
            .stdout(Stdio::piped())
            .spawn()
            .expect("yes");
        let reader = Collector::start(child.stdout.take().expect("stdout"), 1000);
        let (out, over) = Collector::take(
            Some(reader),
            Instant::now() + Duration::from_secs(20),
            CLOSE,
        );
        // The closed pipe ends `yes` (EPIPE); killed too in case it has not yet.
        let _ = child.kill();
        let _ = child.wait();
        assert!(over);
        assert_eq!(out.len(), 1000);
        assert!(out.starts_with(b"y\ny\n"));
    }

    /// A hung command whose helper left the group (setsid) and keeps writing to stdout: the
    /// run ends at its deadline, and the reader closes its end (the helper then dies of
    /// SIGPIPE) instead of reading for ever.
    #[test]
    fn the_deadline_holds_against_a_helper_outside_the_group() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let script = r#"setsid sh -c 'while :; do echo tick; sleep 0.05; done' &
            echo $! >> "$1"; echo $$ >> "$1"; sleep 100"#;
        let started = Instant::now();
        let r = run(
            Command::new("sh").args(["-c", script, "sh"]).arg(&pids),
            None,
            Duration::from_millis(700),
            Kill::Group,
        );
        let took = started.elapsed();
        let recorded = pids_in(&pids);
        let helper = recorded.first().copied();
        let until = Instant::now() + Duration::from_secs(5);
        let mut helper_gone = false;
        while Instant::now() < until {
            if helper.is_some_and(|p| !alive(p)) {
                helper_gone = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        kill_all(&recorded);
        assert!(matches!(r, Err(RunFailure::TimedOut(_))), "{r:?}");
        assert!(took < Duration::from_secs(2), "{took:?}");
        assert_eq!(recorded.len(), 2, "the script did not start");
        assert!(helper_gone, "the reader kept the helper's pipe open");
    }

    /// A command that exits before its deadline while a helper outside its group holds its
    /// output: the output is waited for no later than the deadline, not the full
    /// [`READERS_AFTER_EXIT`] past it.
    #[test]
    fn waiting_for_the_output_after_the_exit_ends_at_the_deadline() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pids = dir.path().join("pids");
        let script = r#"setsid sleep 100 & echo $! >> "$1"; echo done >&2; sleep 0.2"#;
        let started = Instant::now();
        let r = run(
            Command::new("sh").args(["-c", script, "sh"]).arg(&pids),
            None,
            Duration::from_millis(800),
            Kill::Group,
        );
        let took = started.elapsed();
        kill_all(&pids_in(&pids));
        let done = r.expect("exits 0");
        assert!(done.status.success());
        assert_eq!(done.stderr, b"done\n");
        assert!(took < Duration::from_millis(1700), "{took:?}");
    }
}
