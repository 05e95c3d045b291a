//! Process and lock probes: is a mysqld running on this datadir (and how do we know), is it
//! frozen, does anyone hold a lock on a file, and the flock(2) lock that serialises recovery
//! actions on a node.
//!
//! Whether mysqld runs is decided from several independent signals, because each one alone
//! can lie: a pid file survives a crash (and its pid may be reused), a server started from
//! my.cnf has no `--datadir` on its command line, and during an rsync SST the joiner runs
//! before InnoDB has opened anything. Verified on MariaDB 10.11 / Galera 26.4: the running
//! server holds POSIX write locks on `ibdata1` (InnoDB) and `aria_log_control` (Aria), and
//! **no** lock on `grastate.dat` (Galera keeps it open, unlocked).
//!
//! The signal that needs neither a pid file nor the command line: mariadbd `chdir`s to its
//! datadir at startup, so `/proc/PID/cwd` of a mariadbd/mysqld process **is** the datadir.
//! Verified on this machine (MariaDB 10.11.x, Debian bookworm): a sandbox node
//! (`--datadir=` on its command line) and a mariadbd started as `mariadbd
//! --defaults-file=my.cnf` with `datadir=` only in the file both had `readlink /proc/PID/cwd`
//! equal to the datadir; `tests/recover_act.rs` checks the second case on every run. Reading
//! another user's `/proc/PID/cwd` needs root (or CAP_SYS_PTRACE), as `quorate recover` runs.

use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::io::AsRawFd;
use std::path::{Path, PathBuf};

use super::report::Mysqld;
use super::RecoverError;

/// Who holds a lock on a file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    Unlocked,
    /// Locked; the holder's pid when the kernel reports it (OFD locks report none).
    Held(Option<u32>),
}

/// Asks the kernel (`fcntl(F_GETLK)`) whether a write lock on the whole of `path` would
/// conflict with an existing POSIX or OFD lock. The file is opened read-only and never locked.
pub fn lock_state(path: &Path) -> std::io::Result<LockState> {
    use std::os::unix::fs::OpenOptionsExt;
    // Non-blocking: a FIFO in place of the file must not stop the probe.
    let file = fs::File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)?;
    // SAFETY: flock is a plain C struct; all-zero is a valid starting value.
    let mut fl: libc::flock = unsafe { std::mem::zeroed() };
    fl.l_type = libc::F_WRLCK as libc::c_short;
    fl.l_whence = libc::SEEK_SET as libc::c_short;
    fl.l_start = 0;
    fl.l_len = 0;
    // SAFETY: the fd is open for the duration of the call and `fl` is a valid flock struct.
    let rc = unsafe { libc::fcntl(file.as_raw_fd(), libc::F_GETLK, &mut fl) };
    if rc == -1 {
        return Err(std::io::Error::last_os_error());
    }
    if fl.l_type == libc::F_UNLCK as libc::c_short {
        Ok(LockState::Unlocked)
    } else {
        Ok(LockState::Held(
            u32::try_from(fl.l_pid).ok().filter(|p| *p > 0),
        ))
    }
}

/// The one-letter state of a process in /proc (`R`, `S`, `T` stopped, `Z` zombie...).
pub fn process_state(pid: u32) -> Option<char> {
    let stat = fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = &stat[stat.rfind(')')? + 1..];
    after.trim_start().chars().next()
}

/// Whether `pid` is a live mariadbd/mysqld process.
pub fn is_mysqld(pid: u32) -> bool {
    if matches!(process_state(pid), None | Some('Z' | 'X')) {
        return false;
    }
    fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|n| n.starts_with("mariadbd") || n.starts_with("mysqld"))
}

/// mariadbd/mysqld processes whose command line says `--datadir=<datadir>`.
fn mysqld_with_datadir(datadir: &Path) -> Vec<u32> {
    let want = format!("--datadir={}", datadir.display());
    let want_trailing = format!("{want}/");
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| {
            fs::read(format!("/proc/{pid}/cmdline")).is_ok_and(|cmd| {
                cmd.split(|&b| b == 0)
                    .any(|a| a == want.as_bytes() || a == want_trailing.as_bytes())
            }) && is_mysqld(*pid)
        })
        .collect();
    out.sort_unstable();
    out
}

/// The processes whose working directory is `dir` (compared after resolving symlinks in `dir`,
/// as the kernel reports a resolved path). Processes whose cwd cannot be read are skipped.
pub fn processes_in_dir(dir: &Path) -> Vec<u32> {
    let want = fs::canonicalize(dir).unwrap_or_else(|_| dir.to_path_buf());
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut out: Vec<u32> = entries
        .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u32>().ok())
        .filter(|pid| fs::read_link(format!("/proc/{pid}/cwd")).is_ok_and(|cwd| cwd == want))
        .collect();
    out.sort_unstable();
    out
}

/// mariadbd/mysqld processes working in `datadir`: found whatever their command line says
/// (a server started by systemd from my.cnf has no `--datadir` on it).
pub fn mysqld_working_in(datadir: &Path) -> Vec<u32> {
    processes_in_dir(datadir)
        .into_iter()
        .filter(|p| is_mysqld(*p))
        .collect()
}

/// A small JSON state file of quorate's own, read within `cap` bytes: `None` when it is
/// absent, or (logged, naming the file and `what` it is) when it cannot be read or parsed.
pub fn read_json<T: serde::de::DeserializeOwned>(path: &Path, cap: u64, what: &str) -> Option<T> {
    let bytes = match crate::bounded::read(path, cap) {
        Ok(b) => b,
        Err(e) if e.is_not_found() => return None,
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "cannot read a {what}");
            return None;
        }
    };
    match serde_json::from_slice(&bytes) {
        Ok(value) => Some(value),
        Err(e) => {
            tracing::warn!(path = %path.display(), error = %e, "ignoring an unreadable {what}");
            None
        }
    }
}

/// Replaces `path` (in `dir`, created if needed) by `bytes`, durably: written to a temporary
/// file, synced, renamed, then the directory synced. After a power loss the file is either
/// the old one or the new one, never an empty or torn one.
pub fn write_durably(dir: &Path, path: &Path, bytes: &[u8]) -> Result<(), RecoverError> {
    use std::io::Write;
    fs::create_dir_all(dir).map_err(|e| RecoverError::io("cannot create", dir, e))?;
    // Unique per call: two requests of one `quorate serve` may write the same file at once.
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let tmp = path.with_extension(format!("tmp.{}.{n}", std::process::id()));
    let written = fs::File::create(&tmp)
        .and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        })
        .map_err(|e| RecoverError::io("cannot write", &tmp, e))
        .and_then(|()| {
            fs::rename(&tmp, path).map_err(|e| RecoverError::io("cannot replace", path, e))
        });
    if written.is_err() {
        // Our own temporary file, never state: the target is untouched.
        let _ = fs::remove_file(&tmp);
    }
    written?;
    sync_dir(dir)
}

/// fsync(2) on a directory: a rename or a new entry in it is durable only once it is synced.
pub fn sync_dir(dir: &Path) -> Result<(), RecoverError> {
    fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| RecoverError::io("cannot fsync the directory", dir, e))
}

/// Refuses (naming `node` and the evidence) when a mysqld runs on `datadir`: the files quorate
/// is about to read or change (`doing`) belong to the server while it runs.
pub fn require_stopped(
    node: &str,
    datadir: &Path,
    pid_file: Option<&Path>,
    doing: &str,
) -> Result<(), RecoverError> {
    let mysqld = find_mysqld(datadir, pid_file);
    if mysqld.running {
        return Err(RecoverError::Refused {
            node: node.to_string(),
            message: format!(
                "will not {doing} while mysqld runs on {} ({})",
                datadir.display(),
                mysqld.how
            ),
        });
    }
    Ok(())
}

/// Decides whether a mysqld runs on `datadir`, and says how.
pub fn find_mysqld(datadir: &Path, pid_file: Option<&Path>) -> Mysqld {
    let mut how = Vec::new();
    let mut pid: Option<u32> = None;
    // A lock held by a process the kernel does not name (OFD lock): running, pid unknown.
    let mut anonymous_holder = false;
    if let Some(pf) = pid_file {
        match crate::bounded::read_to_string(pf, crate::bounded::SMALL_FILE_CAP) {
            Ok(text) => match text.trim().parse::<u32>() {
                Ok(p) if is_mysqld(p) => {
                    how.push(format!("pid {p} from {} is a live mysqld", pf.display()));
                    pid = Some(p);
                }
                Ok(p) => how.push(format!(
                    "pid {p} from {} is not a live mysqld (stale)",
                    pf.display()
                )),
                Err(_) => how.push(format!("{} holds no pid", pf.display())),
            },
            Err(e) if e.is_not_found() => how.push(format!("no pid file {}", pf.display())),
            Err(e) => how.push(e.to_string()),
        }
    }
    for (file, owner) in [("ibdata1", "InnoDB"), ("grastate.dat", "Galera")] {
        let path = datadir.join(file);
        match lock_state(&path) {
            Ok(LockState::Held(holder)) => {
                how.push(format!(
                    "{owner}'s lock on {file} is held by {}",
                    holder.map_or_else(|| "an unknown process".to_string(), |p| format!("pid {p}"))
                ));
                match holder {
                    Some(h) => {
                        pid.get_or_insert(h);
                    }
                    None => anonymous_holder = true,
                }
            }
            Ok(LockState::Unlocked) if file == "ibdata1" => {
                how.push("nobody holds InnoDB's lock on ibdata1".to_string())
            }
            Ok(LockState::Unlocked) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => how.push(format!("cannot probe {}: {e}", path.display())),
        }
    }
    let by_cmdline = mysqld_with_datadir(datadir);
    match by_cmdline.first() {
        Some(p) => {
            how.push(format!(
                "mysqld pid {p} runs with --datadir={}",
                datadir.display()
            ));
            pid.get_or_insert(*p);
        }
        None => how.push(format!(
            "no mysqld with --datadir={} in /proc",
            datadir.display()
        )),
    }
    match mysqld_working_in(datadir).first() {
        Some(p) => {
            how.push(format!(
                "mysqld pid {p} works in {} (/proc/{p}/cwd)",
                datadir.display()
            ));
            pid.get_or_insert(*p);
        }
        None => how.push(format!("no mysqld works in {}", datadir.display())),
    }
    let running = pid.is_some() || anonymous_holder;
    let frozen = pid
        .and_then(process_state)
        .is_some_and(|s| s == 'T' || s == 't');
    Mysqld {
        running,
        pid,
        frozen,
        how: how.join("; "),
    }
}

/// The flock(2) lock of recovery actions on one node. Held while the value lives.
#[derive(Debug)]
pub struct ActionLock {
    file: fs::File,
    path: PathBuf,
}

impl ActionLock {
    /// Takes the lock without waiting. `Err(Ok(holder))` says who holds it.
    pub fn try_acquire(
        path: &Path,
        what: &str,
    ) -> Result<ActionLock, Result<String, RecoverError>> {
        if let Some(dir) = path.parent() {
            fs::create_dir_all(dir).map_err(|e| Err(RecoverError::io("cannot create", dir, e)))?;
        }
        let mut file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .map_err(|e| Err(RecoverError::io("cannot open", path, e)))?;
        // SAFETY: flock(2) on an fd we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            let holder = holder_line(&mut file);
            return Err(Ok(if holder.is_empty() {
                format!("another process holds {}", path.display())
            } else {
                holder
            }));
        }
        let line = format!(
            "{what} by pid {} since {}\n",
            std::process::id(),
            super::unix_now()
        );
        let written = file
            .set_len(0)
            .and_then(|()| file.rewind())
            .and_then(|()| file.write_all(line.as_bytes()));
        written.map_err(|e| Err(RecoverError::io("cannot write", path, e)))?;
        Ok(ActionLock {
            file,
            path: path.to_path_buf(),
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

impl Drop for ActionLock {
    fn drop(&mut self) {
        // Clear the description; closing the file releases the lock.
        let _ = self.file.set_len(0);
    }
}

/// The description line of a held action lock. The holder writes it right after flock(2)
/// succeeds, so a reader that meets the lock in that instant finds the file empty: it reads
/// again for a short while rather than refuse without naming who holds the lock.
fn holder_line(file: &mut fs::File) -> String {
    const WAIT_FOR_LINE: std::time::Duration = std::time::Duration::from_millis(500);
    let start = std::time::Instant::now();
    loop {
        let mut holder = String::new();
        let read = file
            .rewind()
            .and_then(|()| file.read_to_string(&mut holder));
        let holder = holder.trim();
        // One write(2) of a short line: once anything is there, all of it is.
        if read.is_ok() && !holder.is_empty() || start.elapsed() >= WAIT_FOR_LINE {
            return holder.to_string();
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// What holds the action lock at `path`, if anything other than this process does.
pub fn action_in_progress(path: &Path) -> Option<String> {
    let mut file = fs::File::open(path).ok()?;
    // SAFETY: flock(2) on an fd we own; a shared probe released when `file` closes.
    let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_SH | libc::LOCK_NB) };
    if rc == 0 {
        return None;
    }
    let holder = holder_line(&mut file);
    // Our own action re-gathering must not see itself as busy.
    if holder.contains(&format!(" by pid {} since", std::process::id())) {
        return None;
    }
    Some(if holder.is_empty() {
        format!("a recovery action holds {}", path.display())
    } else {
        holder
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    #[test]
    fn lock_state_sees_a_posix_lock_of_another_process() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("ibdata1");
        fs::write(&path, b"x").expect("write");
        assert_eq!(lock_state(&path).expect("probe"), LockState::Unlocked);
        let mut child = spawn_lock_holder(&path);
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        let mut seen = LockState::Unlocked;
        while std::time::Instant::now() < deadline {
            seen = lock_state(&path).expect("probe");
            if seen != LockState::Unlocked {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let _ = child.kill();
        let _ = child.wait();
        assert_eq!(seen, LockState::Held(Some(child.id())));
    }

    /// Starts another process that takes a POSIX write lock on `path` and holds it for 30 s:
    /// this test binary re-run as a child (fork without exec would also inherit every other
    /// test's open files, and with them their locks). The caller kills and reaps it.
    pub(crate) fn spawn_lock_holder(path: &Path) -> std::process::Child {
        std::process::Command::new(std::env::current_exe().expect("test binary"))
            .args([
                "--exact",
                "recover::sys::tests::child_holds_a_posix_lock",
                "--ignored",
                "--nocapture",
            ])
            .env("QUORATE_TEST_LOCK_PATH", path)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("spawn child")
    }

    /// Run only as the child of the test above.
    #[test]
    #[ignore = "helper process of lock_state_sees_a_posix_lock_of_another_process"]
    fn child_holds_a_posix_lock() {
        let Some(path) = std::env::var_os("QUORATE_TEST_LOCK_PATH") else {
            return;
        };
        let file = fs::OpenOptions::new()
            .read(true)
            .write(true)
            .open(path)
            .expect("open");
        // SAFETY: flock struct zeroed then filled; fd valid while `file` lives.
        unsafe {
            let mut fl: libc::flock = std::mem::zeroed();
            fl.l_type = libc::F_WRLCK as libc::c_short;
            fl.l_whence = libc::SEEK_SET as libc::c_short;
            assert_eq!(libc::fcntl(file.as_raw_fd(), libc::F_SETLK, &fl), 0);
        }
        std::thread::sleep(std::time::Duration::from_secs(30));
    }

    #[test]
    fn no_mysqld_on_an_empty_datadir() {
        let dir = tempfile::tempdir().expect("tempdir");
        let m = find_mysqld(dir.path(), Some(&dir.path().join("x.pid")));
        assert!(!m.running);
        assert!(m.how.contains("no pid file"), "{}", m.how);
        assert!(m.how.contains("no mysqld with --datadir"), "{}", m.how);
    }

    #[test]
    fn a_process_working_in_the_datadir_is_found_by_its_cwd() {
        let dir = tempfile::tempdir().expect("tempdir");
        let data = dir.path().join("data");
        fs::create_dir(&data).expect("mkdir");
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&data, &link).expect("symlink");
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .current_dir(&data)
            .spawn()
            .expect("spawn sleep");
        let (direct, through_link, elsewhere) = (
            processes_in_dir(&data),
            processes_in_dir(&link),
            processes_in_dir(dir.path()),
        );
        // `sleep` is not a mysqld: the cwd matches, the exe check rejects it.
        let m = find_mysqld(&data, None);
        let _ = child.kill();
        let _ = child.wait();
        assert!(direct.contains(&child.id()), "{direct:?}");
        assert!(through_link.contains(&child.id()), "{through_link:?}");
        assert!(!elsewhere.contains(&child.id()), "{elsewhere:?}");
        assert!(!m.running, "{m:?}");
        assert!(m.how.contains("no mysqld works in"), "{}", m.how);
    }

    #[test]
    fn stale_pid_file_is_not_a_running_mysqld() {
        let dir = tempfile::tempdir().expect("tempdir");
        let pf = dir.path().join("m.pid");
        fs::write(&pf, format!("{}\n", std::process::id())).expect("write");
        let m = find_mysqld(dir.path(), Some(&pf));
        assert!(!m.running, "{m:?}");
        assert!(m.how.contains("stale"));
    }

    #[test]
    fn action_lock_is_exclusive_and_describes_its_holder() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("sub/recover.lock");
        let lock = ActionLock::try_acquire(&path, "bootstrap node1").expect("first");
        // Same process: a second acquisition conflicts (separate open file description).
        match ActionLock::try_acquire(&path, "rejoin node1") {
            Err(Ok(holder)) => assert!(holder.starts_with("bootstrap node1 by pid"), "{holder}"),
            other => panic!("expected a conflict, got {other:?}"),
        }
        // Our own lock is not "busy" for our own re-gathering...
        assert_eq!(action_in_progress(&path), None);
        drop(lock);
        assert_eq!(action_in_progress(&path), None);
        let again = ActionLock::try_acquire(&path, "rejoin node1").expect("free again");
        drop(again);
    }

    /// CI (stop 18): a second bootstrap met node1's lock in the instant between the winner's
    /// flock(2) and its description line, and refused with "another process holds …" instead
    /// of naming the holder.
    #[test]
    fn a_refusal_in_the_instant_before_the_holder_writes_its_line_still_names_it() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("recover.lock");
        let holder = fs::File::create(&path).expect("create");
        // SAFETY: flock(2) on an fd we own.
        let rc = unsafe { libc::flock(holder.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        assert_eq!(rc, 0, "take the lock");
        let writer_path = path.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(100));
            fs::write(&writer_path, "bootstrap node1 by pid 7 since 1\n").expect("line");
        });
        match ActionLock::try_acquire(&path, "bootstrap node1") {
            Err(Ok(named)) => assert_eq!(named, "bootstrap node1 by pid 7 since 1"),
            other => panic!("expected a conflict naming the holder, got {other:?}"),
        }
        writer.join().expect("writer");
        drop(holder);
    }
}
