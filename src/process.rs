//! Finishing a spawned child process within a deadline: feed its stdin and drain its stdout
//! and stderr on threads (a full pipe either way would otherwise block the child and turn into
//! a false timeout), wait until it exits or the deadline passes, then kill and reap it.
//!
//! Callers spawn the child themselves (each with its own program, environment and process
//! group) and map the outcome to their own error type.

use std::io::{Read, Write};
use std::process::{Child, ExitStatus};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// What a child that exited in time left behind.
#[derive(Debug)]
pub(crate) struct Finished {
    pub status: ExitStatus,
    pub stdout: Vec<u8>,
    pub stderr: Vec<u8>,
}

/// Why a child did not exit in time. It has been killed and reaped either way.
#[derive(Debug)]
pub(crate) enum Unfinished {
    TimedOut,
    Wait(std::io::Error),
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
/// most `timeout`, polling every `poll`.
pub(crate) fn finish(
    mut child: Child,
    stdin: Option<Vec<u8>>,
    timeout: Duration,
    poll: Duration,
    kill: Kill,
) -> Result<Finished, Unfinished> {
    let writer = child.stdin.take().map(|mut w| {
        let input = stdin.unwrap_or_default();
        // A child that exits early closes the pipe; its stderr says why.
        std::thread::spawn(move || {
            let _ = w.write_all(&input);
        })
    });
    let stdout = child.stdout.take().map(drain);
    let stderr = child.stderr.take().map(drain);
    let deadline = Instant::now() + timeout;
    let outcome = loop {
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
            // The reader threads are left to finish on their own: a grandchild outside the
            // killed process may still hold a pipe open, and joining would wait for it.
            return Err(unfinished);
        }
    };
    if let Some(w) = writer {
        let _ = w.join();
    }
    Ok(Finished {
        status,
        stdout: join(stdout),
        stderr: join(stderr),
    })
}

fn drain<R: Read + Send + 'static>(mut r: R) -> JoinHandle<Vec<u8>> {
    std::thread::spawn(move || {
        let mut buf = Vec::new();
        let _ = r.read_to_end(&mut buf);
        buf
    })
}

fn join(handle: Option<JoinHandle<Vec<u8>>>) -> Vec<u8> {
    handle.and_then(|h| h.join().ok()).unwrap_or_default()
}
