//! The client mount probe (I/O): stat the mount, then write, read back and remove a small
//! probe file, in a **child process** with a hard timeout.
//!
//! A hung FUSE mount ("Transport endpoint is not connected" that never answers, a frozen
//! client) leaves whatever touches it in uninterruptible sleep, where even SIGKILL waits for the
//! I/O to return. So the server never touches a mount itself: [`MountProber::probe`] starts
//! `quorate probe-mount MOUNT NAME [STALE…]` (this binary re-executed through
//! `/proc/self/exe`, a hidden subcommand that runs [`probe_in_child`]) and only waits for it
//! on tokio's child reaper, bounded by the timeout. A child still alive after SIGKILL is kept
//! as **stuck**: it is reported, never waited for, and no new probe of that mount starts while
//! it lives, so probes cannot pile up.
//!
//! A probe child names itself `qprobe-HASH` (per mount, [`probe_comm`]); before starting one,
//! any live probe of the same mount older than the timeout, left by another process (a
//! collector before a reload, an earlier `quorate check gluster`), also counts as stuck. So a
//! hung mount holds at most one stuck probe per mount on the host, however often it is checked.
//!
//! The probe file's name is chosen here (`.quorate-probe-HOST-PID-SEQ`, unique per host,
//! process and probe). A probe killed half-way may leave its file behind; its name is handed
//! to the next probe, which removes it first.

use std::ffi::OsString;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant, SystemTime};

use tokio::io::AsyncReadExt;

use super::mount::{
    format_report, mount_type, parse_report, probe_comm, stat_comm, FailureReason, MountFailure,
};

/// The hidden subcommand that runs [`probe_in_child`].
pub const SUBCOMMAND: &str = "probe-mount";

/// How long a killed probe is given to be reaped before it counts as stuck.
const AFTER_KILL: Duration = Duration::from_millis(500);
/// The most names of possibly left-behind probe files handed to the next probe.
const MAX_STALE: usize = 16;
/// The most of the child's output that is read (its report is one short line).
const MAX_OUTPUT: u64 = 4096;

/// Probes one mount, one probe at a time.
#[derive(Debug)]
pub struct MountProber {
    mount: PathBuf,
    timeout: Duration,
    /// The program re-executed for the probe (`/proc/self/exe` in `quorate` itself).
    program: PathBuf,
    host: String,
    seq: u64,
    /// A probe killed at its timeout that had not exited: its pid and since when.
    stuck: Option<Stuck>,
    /// Names of probe files that killed probes may have left behind.
    stale: Vec<String>,
}

#[derive(Debug)]
struct Stuck {
    child: tokio::process::Child,
    pid: Option<u32>,
    killed: Instant,
}

impl MountProber {
    pub fn new(mount: PathBuf, timeout: Duration, program: PathBuf) -> MountProber {
        let host: String = crate::config::host::hostname()
            .unwrap_or_else(|| "host".to_string())
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() || c == '.' || c == '-' {
                    c
                } else {
                    '_'
                }
            })
            .collect();
        MountProber {
            mount,
            timeout,
            program,
            host,
            seq: 0,
            stuck: None,
            stale: Vec::new(),
        }
    }

    pub fn mount(&self) -> &Path {
        &self.mount
    }

    /// Whether the stuck probe (if any) is still alive; forgets it once it has exited.
    fn still_stuck(&mut self) -> bool {
        let Some(stuck) = &mut self.stuck else {
            return false;
        };
        match stuck.child.try_wait() {
            Ok(None) => true,
            Ok(Some(_)) | Err(_) => {
                self.stuck = None;
                false
            }
        }
    }

    /// One probe: never touches the mount in this process, never takes longer than the
    /// timeout plus [`AFTER_KILL`], and starts nothing while an earlier probe is stuck.
    pub async fn probe(&mut self) -> Result<(), MountFailure> {
        if self.still_stuck() {
            let (pid, since) = self
                .stuck
                .as_ref()
                .map(|s| (s.pid, s.killed.elapsed()))
                .unwrap_or((None, Duration::ZERO));
            return Err(FailureReason::Stuck.failure(format!(
                "the probe killed {:.0} s ago (pid {}) is still alive, blocked in the mount; \
                 no new probe until it ends",
                since.as_secs_f64(),
                pid.map_or("?".to_string(), |p| p.to_string())
            )));
        }
        if let Some((pid, age)) = live_probe_of(&self.mount, self.timeout + AFTER_KILL) {
            return Err(FailureReason::Stuck.failure(format!(
                "a probe of this mount started {:.0} s ago by another process (pid {pid}) is \
                 still alive, blocked in the mount; no new probe until it ends",
                age.as_secs_f64()
            )));
        }
        self.seq += 1;
        let name = format!(
            ".quorate-probe-{}-{}-{}",
            self.host,
            std::process::id(),
            self.seq
        );
        let mut command = tokio::process::Command::new(&self.program);
        command
            .arg(SUBCOMMAND)
            .arg(&self.mount)
            .arg(&name)
            .args(&self.stale)
            // Never inside a mount: the child's first step must be ours.
            .current_dir("/")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            // A probe in flight when its task is aborted (a reload, shutdown) is killed.
            .kill_on_drop(true);
        let mut child = command.spawn().map_err(|e| {
            FailureReason::ProbeFailed.failure(format!(
                "cannot start {} {SUBCOMMAND}: {e}",
                self.program.display()
            ))
        })?;
        let pid = child.id();
        let mut stdout = child.stdout.take();
        let mut stderr = child.stderr.take();
        let finished = tokio::time::timeout(self.timeout, async {
            let mut out = Vec::new();
            let mut err = Vec::new();
            let read_out = async {
                if let Some(s) = stdout.as_mut() {
                    let _ = s.take(MAX_OUTPUT).read_to_end(&mut out).await;
                }
            };
            let read_err = async {
                if let Some(s) = stderr.as_mut() {
                    let _ = s.take(MAX_OUTPUT).read_to_end(&mut err).await;
                }
            };
            let ((), ()) = tokio::join!(read_out, read_err);
            let status = child.wait().await;
            (status, out, err)
        })
        .await;
        match finished {
            Ok((status, out, err)) => {
                let report = parse_report(&String::from_utf8_lossy(&out));
                // Past stat it removed the stale files it was given (a failed removal is
                // `remove_failed`: they are handed on again), and its own file may be left
                // behind: the next probe removes it (a file that is not there is no error).
                match &report {
                    Ok(()) => self.stale.clear(),
                    Err(f) if f.reason.after_stale_removal() => {
                        if f.reason != FailureReason::RemoveFailed {
                            self.stale.clear();
                        }
                        self.stale.push(name);
                    }
                    Err(_) => {}
                }
                // Bounded: a mount that keeps refusing removals must not grow the argv.
                if self.stale.len() > MAX_STALE {
                    self.stale.drain(..self.stale.len() - MAX_STALE);
                }
                match (report, status) {
                    (Ok(()), Ok(s)) if s.success() => Ok(()),
                    (Ok(()), status) => Err(FailureReason::ProbeFailed.failure(format!(
                        "the probe reported success but exited with {status:?}"
                    ))),
                    (Err(mut f), _) => {
                        if f.reason == FailureReason::ProbeFailed && !err.is_empty() {
                            f.detail.push_str(&format!(
                                "; stderr: {}",
                                String::from_utf8_lossy(&err).trim()
                            ));
                        }
                        Err(f)
                    }
                }
            }
            Err(_elapsed) => {
                self.stale.push(name);
                let _ = child.start_kill();
                let reaped = tokio::time::timeout(AFTER_KILL, child.wait()).await;
                let detail = format!(
                    "no answer within {:.1} s (stat, write, read back, remove); killed",
                    self.timeout.as_secs_f64()
                );
                if reaped.is_err() {
                    self.stuck = Some(Stuck {
                        child,
                        pid,
                        killed: Instant::now(),
                    });
                    return Err(FailureReason::Timeout.failure(format!(
                        "{detail}, but pid {} is still alive (blocked in the mount)",
                        pid.map_or("?".to_string(), |p| p.to_string())
                    )));
                }
                Err(FailureReason::Timeout.failure(detail))
            }
        }
    }
}

/// A live probe of `mount` (by its [`probe_comm`]) that has run longer than `older_than`: its
/// pid and age. Reads only `/proc/PID/stat`, never a command line.
fn live_probe_of(mount: &Path, older_than: Duration) -> Option<(u32, Duration)> {
    let comm = probe_comm(&mount.display().to_string());
    let uptime: f64 = std::fs::read_to_string("/proc/uptime")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()?;
    let ticks = rustix::param::clock_ticks_per_second() as f64;
    std::fs::read_dir("/proc")
        .ok()?
        .flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .find_map(|pid| {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
            if stat_comm(&stat) != Some(comm.as_str()) {
                return None;
            }
            let state = stat.rsplit_once(')')?.1.split_whitespace().next()?;
            if matches!(state, "Z" | "X") {
                return None;
            }
            let started = crate::process_stats::parse::parse_stat(&stat).ok()?;
            let age = (uptime - started.starttime_ticks as f64 / ticks).max(0.0);
            let age = Duration::from_secs_f64(age);
            (age > older_than).then_some((pid, age))
        })
}

/// The default program for the probe: this very binary, even if it was replaced on disk.
pub fn default_program() -> PathBuf {
    PathBuf::from("/proc/self/exe")
}

/// The hidden subcommand's body, run in the child: `args` are MOUNT NAME [STALE…]. Prints the
/// one-line report ([`format_report`]) and returns the exit code (0 when the probe passed).
pub fn probe_in_child(args: &[OsString]) -> i32 {
    if let Some(mount) = args.first() {
        name_this_process(&probe_comm(&Path::new(mount).display().to_string()));
    }
    let outcome = match args {
        [mount, name, stale @ ..] => {
            let stale: Vec<String> = stale
                .iter()
                .map(|s| s.to_string_lossy().into_owned())
                .collect();
            probe(Path::new(mount), &name.to_string_lossy(), &stale)
        }
        _ => Err(FailureReason::ProbeFailed
            .failure(format!("usage: quorate {SUBCOMMAND} MOUNT NAME [STALE...]"))),
    };
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(format_report(&outcome).as_bytes());
    let _ = out.flush();
    i32::from(outcome.is_err())
}

/// Sets this process's command name (`comm`), so other quorate processes can find it.
fn name_this_process(name: &str) {
    if let Ok(name) = std::ffi::CString::new(name) {
        // SAFETY: PR_SET_NAME reads a NUL-terminated string of at most 16 bytes (longer
        // names are cut by the kernel); `name` lives across the call.
        unsafe {
            libc::prctl(libc::PR_SET_NAME, name.as_ptr());
        }
    }
}

/// The probe's steps, in this (child) process. A file name that is not a plain probe name is
/// refused, so the subcommand can never remove anything else.
fn probe(mount: &Path, name: &str, stale: &[String]) -> Result<(), MountFailure> {
    let is_probe_name = |n: &str| n.starts_with(".quorate-probe-") && !n.contains('/');
    if let Some(bad) = std::iter::once(name)
        .chain(stale.iter().map(String::as_str))
        .find(|n| !is_probe_name(n))
    {
        return Err(FailureReason::ProbeFailed.failure(format!("not a probe file name: {bad:?}")));
    }
    let shown = mount.display();
    let mountinfo = std::fs::read_to_string("/proc/self/mountinfo").map_err(|e| {
        FailureReason::ProbeFailed.failure(format!("cannot read /proc/self/mountinfo: {e}"))
    })?;
    if mount_type(&mountinfo, &mount.display().to_string()).is_none() {
        return Err(FailureReason::NotMounted.failure(format!("{shown} is not a mount point")));
    }
    let meta = std::fs::metadata(mount)
        .map_err(|e| FailureReason::StatFailed.failure(format!("stat {shown}: {e}")))?;
    if !meta.is_dir() {
        return Err(FailureReason::StatFailed.failure(format!("{shown} is not a directory")));
    }
    for old in stale {
        match std::fs::remove_file(mount.join(old)) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(FailureReason::RemoveFailed.failure(format!(
                    "cannot remove {old} in {shown}, left behind by a killed probe: {e}"
                )))
            }
        }
    }
    let file = mount.join(name);
    let payload = format!(
        "quorate mount probe {name} {}\n",
        SystemTime::now()
            .duration_since(SystemTime::UNIX_EPOCH)
            .unwrap_or_default()
            .as_nanos()
    );
    // Removes the probe file after a failed step; says whether it is left behind.
    let clean_up = |failure: MountFailure| -> MountFailure {
        match std::fs::remove_file(&file) {
            Ok(()) => failure,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => failure,
            Err(e) => MountFailure {
                detail: format!(
                    "{}; the probe file {name} is left behind (remove: {e})",
                    failure.detail
                ),
                ..failure
            },
        }
    };
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(&file)
        .and_then(|mut f| {
            f.write_all(payload.as_bytes())?;
            // The write reaches the bricks here, not in a cache that hides a dead volume.
            f.sync_all()
        });
    if let Err(e) = written {
        return Err(clean_up(
            FailureReason::WriteFailed.failure(format!("write {name} in {shown}: {e}")),
        ));
    }
    let mut back = Vec::new();
    let read = std::fs::File::open(&file).and_then(|f| {
        f.take(payload.len() as u64 + 1)
            .read_to_end(&mut back)
            .map(|_| ())
    });
    if let Err(e) = read {
        return Err(clean_up(
            FailureReason::ReadFailed.failure(format!("read {name} back in {shown}: {e}")),
        ));
    }
    if back != payload.as_bytes() {
        return Err(clean_up(FailureReason::ReadMismatch.failure(format!(
            "{name} in {shown} read back {} bytes that differ from the {} written",
            back.len(),
            payload.len()
        ))));
    }
    std::fs::remove_file(&file).map_err(|e| {
        FailureReason::RemoveFailed.failure(format!(
            "remove {name} in {shown}: {e}; the probe file is left behind"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_directory_that_is_not_a_mount_point_is_not_mounted() {
        let dir = tempfile::tempdir().expect("temp dir");
        let err = probe(dir.path(), ".quorate-probe-h-1-1", &[]).unwrap_err();
        assert_eq!(err.reason, FailureReason::NotMounted, "{err}");
        assert!(std::fs::read_dir(dir.path()).expect("dir").next().is_none());
    }

    #[test]
    fn only_probe_names_are_written_or_removed() {
        for (name, stale) in [
            ("passwd", vec![]),
            (".quorate-probe-x", vec!["../etc".into()]),
        ] {
            let err = probe(Path::new("/proc"), name, &stale).unwrap_err();
            assert_eq!(err.reason, FailureReason::ProbeFailed, "{err}");
        }
    }

    #[test]
    fn a_live_probe_of_the_mount_from_another_process_counts_as_stuck() {
        // A process whose comm is the mount's probe name: sleep, executed through a symlink
        // with that name (comm is the executable's file name).
        let mount = Path::new("/nonexistent/quorate-test-mount");
        let dir = tempfile::tempdir().expect("temp dir");
        let link = dir.path().join(probe_comm(&mount.display().to_string()));
        std::os::unix::fs::symlink("/bin/sleep", &link).expect("symlink");
        let mut sleeper = std::process::Command::new(&link)
            .arg("30")
            .spawn()
            .expect("spawn");
        // Older than the prober's timeout plus AFTER_KILL below.
        std::thread::sleep(Duration::from_millis(800));
        let found = live_probe_of(mount, Duration::from_millis(100));
        let young = live_probe_of(mount, Duration::from_secs(60));
        let other = live_probe_of(Path::new("/nonexistent/other"), Duration::ZERO);
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let mut prober = MountProber::new(
            mount.to_path_buf(),
            Duration::from_millis(50),
            PathBuf::from("/bin/false"),
        );
        let refused = runtime.block_on(prober.probe());
        let _ = sleeper.kill();
        let _ = sleeper.wait();
        assert_eq!(found.map(|(pid, _)| pid), Some(sleeper.id()));
        assert_eq!((young, other), (None, None));
        let refused = refused.unwrap_err();
        assert_eq!(refused.reason, FailureReason::Stuck, "{refused}");
        assert!(
            refused.detail.contains(&format!("pid {}", sleeper.id())),
            "{refused}"
        );
    }

    #[test]
    fn a_writable_mount_passes_and_keeps_nothing() {
        // /dev/shm is a mount point (tmpfs) on every Linux machine this runs on.
        let shm = Path::new("/dev/shm");
        let name = format!(".quorate-probe-test-{}-1", std::process::id());
        let stale = format!(".quorate-probe-test-{}-0", std::process::id());
        std::fs::write(shm.join(&stale), "left by a killed probe").expect("stale file");
        assert_eq!(probe(shm, &name, std::slice::from_ref(&stale)), Ok(()));
        assert!(!shm.join(&name).exists() && !shm.join(&stale).exists());
    }
}
