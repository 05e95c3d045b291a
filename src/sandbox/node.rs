//! One mariadbd process: which programs to run, its exact command line, starting it detached,
//! recognising it again by pid, and signalling it.
//!
//! Pids come from sandbox.json and may be stale (the node died, the pid was reused), and other
//! people's mariadbd may run on the same machine. So a pid is only ever signalled after
//! [`is_our_mariadbd`] has checked, in /proc, that it is a live mariadbd running on *this* node's
//! datadir.

use std::ffi::CString;
use std::fs;
use std::io::{Read, Seek, SeekFrom};
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::error::PACKAGES;
use super::state::{NodeState, State};
use super::SandboxError;
// The sandbox's commands get the PATH every command of quorate gets.
pub(crate) use crate::process::search_path;

/// Where Debian, Fedora and friends put the Galera 4 provider.
const PROVIDER_CANDIDATES: &[&str] = &[
    "/usr/lib/galera/libgalera_smm.so",
    "/usr/lib/libgalera_smm.so",
    "/usr/lib64/galera-4/libgalera_smm.so",
    "/usr/lib64/galera/libgalera_smm.so",
    "/usr/lib/galera-4/libgalera_smm.so",
];

/// The programs and library the sandbox runs, located once per operation.
#[derive(Debug, Clone)]
pub(crate) struct Tools {
    pub mariadbd: PathBuf,
    pub install_db: PathBuf,
    pub client: PathBuf,
    pub provider: PathBuf,
}

impl Tools {
    /// Placeholders for a sandbox without Galera nodes (GlusterFS only): nothing runs them.
    pub fn absent() -> Tools {
        Tools {
            mariadbd: PathBuf::from("mariadbd"),
            install_db: PathBuf::from("mariadb-install-db"),
            client: PathBuf::from("mariadb"),
            provider: PathBuf::new(),
        }
    }

    pub fn locate() -> Result<Tools, SandboxError> {
        let provider = PROVIDER_CANDIDATES
            .iter()
            .map(PathBuf::from)
            .find(|p| p.is_file())
            .ok_or_else(|| SandboxError::NotInstalled {
                what: format!(
                    "the Galera provider (looked in {})",
                    PROVIDER_CANDIDATES.join(", ")
                ),
                packages: PACKAGES,
            })?;
        Ok(Tools {
            mariadbd: find_program(&["mariadbd", "mysqld"], PACKAGES)?,
            install_db: find_program(&["mariadb-install-db", "mysql_install_db"], PACKAGES)?,
            client: find_program(&["mariadb", "mysql"], PACKAGES)?,
            provider,
        })
    }
}

/// The first of `names` found on the sandbox's PATH; missing, an error naming the first name
/// and the Debian `packages` that provide it.
pub(crate) fn find_program(
    names: &[&str],
    packages: &'static str,
) -> Result<PathBuf, SandboxError> {
    find_program_in(names, &search_path(), packages)
}

fn find_program_in(
    names: &[&str],
    path: &std::ffi::OsStr,
    packages: &'static str,
) -> Result<PathBuf, SandboxError> {
    crate::process::find_program_in(names, path).ok_or_else(|| SandboxError::NotInstalled {
        what: format!("program {}", names[0]),
        packages,
    })
}

/// The complete mariadbd command line for `node` (program name excluded).
///
/// Pure, so recovery can reuse it (append `--wsrep-recover`) and tests can check it.
/// `--no-defaults` must stay first: mariadbd only honours it in that position.
pub(crate) fn mariadbd_args(
    state: &State,
    node: &NodeState,
    provider: &Path,
    bootstrap: bool,
) -> Vec<String> {
    // Galera's own traffic (group, IST, SST) uses the node's network address; SQL stays on the
    // node's loopback and its socket.
    let host = state.host(node);
    let mut args = vec![
        "--no-defaults".to_owned(),
        // As root, the rsync SST daemon drops to `nobody` and cannot write the joiner's datadir.
        "--user=mysql".to_owned(),
        format!("--datadir={}", node.datadir.display()),
        format!("--tmpdir={}", node.tmpdir.display()),
        format!("--socket={}", node.socket.display()),
        format!("--pid-file={}", node.pid_file.display()),
        format!("--log-error={}", node.log_error.display()),
        format!("--port={}", node.mysql_port),
        "--bind-address=127.0.0.1".to_owned(),
        // Loopback only: reverse DNS would only slow down connections.
        "--skip-name-resolve".to_owned(),
        // Small footprint: several sandboxes may share a 2-core machine.
        "--innodb-buffer-pool-size=64M".to_owned(),
        "--innodb-log-file-size=8M".to_owned(),
        "--max-connections=50".to_owned(),
        // Galera requirements.
        "--binlog-format=ROW".to_owned(),
        "--default-storage-engine=InnoDB".to_owned(),
        "--innodb-autoinc-lock-mode=2".to_owned(),
        "--wsrep-on=ON".to_owned(),
        format!("--wsrep-provider={}", provider.display()),
        format!("--wsrep-cluster-name={}", state.cluster_name),
        format!("--wsrep-cluster-address={}", state.cluster_address()),
        format!("--wsrep-node-name={}", node.name),
        format!("--wsrep-node-address={host}:{}", node.gmcast_port),
        format!("--wsrep-node-incoming-address={host}:{}", node.mysql_port),
        format!(
            "--wsrep-provider-options=gmcast.listen_addr=tcp://{host}:{};ist.recv_addr={host}:{};gcache.size=32M",
            node.gmcast_port, node.ist_port
        ),
        "--wsrep-sst-method=rsync".to_owned(),
        format!("--wsrep-sst-receive-address={host}:{}", node.sst_port),
    ];
    if bootstrap {
        args.push("--wsrep-new-cluster".to_owned());
    }
    args
}

/// Starts mariadbd detached and returns its pid.
///
/// mariadbd sends its log to `--log-error`; stdout/stderr go to `console.log` next to it only
/// to catch what it prints before opening that log (e.g. a rejected option).
///
/// With `namespace`, mariadbd runs in that network namespace (see net.rs): it is entered with
/// setns(2) in the child, so the pid we get is mariadbd's own, as on loopback.
pub(crate) fn spawn_mariadbd(
    tools: &Tools,
    node: &NodeState,
    args: &[String],
    namespace: Option<&Path>,
) -> Result<u32, SandboxError> {
    let mut command = Command::new(&tools.mariadbd);
    command.args(args);
    if let Some(path) = namespace {
        let ns = fs::File::open(path).map_err(|e| SandboxError::io("cannot open", path, e))?;
        // SAFETY: the hook runs in the forked child before exec and only calls setns(2), which
        // is async-signal-safe; `ns` is moved into the closure and stays open until exec.
        unsafe {
            command.pre_exec(move || {
                if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
    }
    spawn_detached(
        &mut command,
        &node.home.join("console.log"),
        &tools.mariadbd.display().to_string(),
    )
}

/// Starts a long-running server detached and returns its pid.
///
/// Detached means: its own session (setsid), so neither a Ctrl-C in the terminal that ran
/// `quorate sandbox up` nor that terminal closing reaches it, and the kernel's orphaned-group
/// SIGHUP never hits a frozen server when its parent exits; and no inherited stdio (it must not
/// keep the CLI's pipes open): stdout and stderr are appended to `console`.
pub(crate) fn spawn_detached(
    command: &mut Command,
    console: &Path,
    what: &str,
) -> Result<u32, SandboxError> {
    let out = fs::OpenOptions::new()
        .create(true)
        .append(true)
        .open(console)
        .map_err(|e| SandboxError::io("cannot open", console, e))?;
    let err = out
        .try_clone()
        .map_err(|e| SandboxError::io("cannot open", console, e))?;
    command
        .env("PATH", search_path())
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err);
    // SAFETY: the hook runs in the forked child before exec; it only calls setsid(2), which is
    // async-signal-safe and touches no memory of the parent.
    unsafe {
        command.pre_exec(|| {
            if libc::setsid() == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    let mut child = command.spawn().map_err(|source| SandboxError::Spawn {
        command: what.to_string(),
        source,
    })?;
    let pid = child.id();
    // Reap it when it exits so a stopped server does not linger as a zombie while this process
    // lives (tests keep running after stopping it). If this process exits first, init adopts
    // and reaps it; the thread just dies with us.
    let reaper = std::thread::Builder::new()
        .name(format!("reap-{pid}"))
        .spawn(move || {
            let _ = child.wait();
        });
    if reaper.is_err() {
        // Without a reaper the process stays a zombie after exit; is_alive treats zombies as
        // dead, so nothing breaks.
        tracing::debug!(what, pid, "could not start reaper thread");
    }
    Ok(pid)
}

/// Whether `pid` is a live (non-zombie) process.
pub(crate) fn is_alive(pid: u32) -> bool {
    match fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state letter follows the parenthesised command name, which may contain spaces.
        Ok(stat) => match stat.rfind(')') {
            Some(i) => !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X')),
            None => false,
        },
        Err(_) => false,
    }
}

/// Whether a process whose thread-group leader is already a zombie still has other threads
/// tearing down. A SIGKILLed mariadbd's leader turns zombie first while its other threads
/// are still exiting and still hold InnoDB's lock on ibdata1: until they are gone, the
/// process has not finished crashing, and anything that probes the datadir sees it running.
fn has_exiting_threads(pid: u32) -> bool {
    let Ok(tasks) = fs::read_dir(format!("/proc/{pid}/task")) else {
        return false;
    };
    tasks
        .filter_map(|t| t.ok())
        .filter(|t| t.file_name().to_str() != Some(&pid.to_string()))
        .any(|t| {
            fs::read_to_string(t.path().join("stat")).is_ok_and(|stat| {
                stat.rfind(')').is_some_and(|i| {
                    !matches!(stat[i + 1..].trim_start().chars().next(), Some('Z' | 'X'))
                })
            })
        })
}

/// Whether `pid` is a live mariadbd whose command line names `datadir`: guards every signal we
/// send against pid reuse and against other people's servers.
pub(crate) fn is_our_mariadbd(pid: u32, datadir: &Path) -> bool {
    if pid == 0 || !is_alive(pid) {
        return false;
    }
    let exe_ok = fs::read_link(format!("/proc/{pid}/exe"))
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned()))
        .is_some_and(|name| name.starts_with("mariadbd") || name.starts_with("mysqld"));
    if !exe_ok {
        return false;
    }
    let want = format!("--datadir={}", datadir.display());
    fs::read(format!("/proc/{pid}/cmdline"))
        .map(|cmd| cmd.split(|&b| b == 0).any(|arg| arg == want.as_bytes()))
        .unwrap_or(false)
}

/// Whether `pid` is a live `quorate serve` for `node` reading `config` (the command line the
/// sandbox gave it), so a reused pid is never signalled.
pub(crate) fn is_our_serve(pid: u32, config: &Path, node: &str) -> bool {
    if pid == 0 || !is_alive(pid) {
        return false;
    }
    let Ok(cmdline) = fs::read(format!("/proc/{pid}/cmdline")) else {
        return false;
    };
    let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
    let config = config.as_os_str().as_encoded_bytes();
    args.contains(&b"serve".as_slice())
        && args
            .windows(2)
            .any(|w| w[0] == b"--config" && w[1] == config)
        && args
            .windows(2)
            .any(|w| w[0] == b"--node" && w[1] == node.as_bytes())
}

/// Sends `signal` to `pid`. Callers have checked [`is_our_mariadbd`].
pub(crate) fn signal(pid: u32, signal: libc::c_int) -> bool {
    let Ok(pid) = libc::pid_t::try_from(pid) else {
        return false;
    };
    if pid <= 0 {
        return false;
    }
    // SAFETY: kill(2) has no memory-safety preconditions; pid is a positive, verified pid so this
    // never addresses a process group.
    unsafe { libc::kill(pid, signal) == 0 }
}

/// Waits until `pid` is gone (or a zombie), up to `timeout`. True if it is gone.
pub(crate) fn wait_gone(pid: u32, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if !is_alive(pid) && !has_exiting_threads(pid) {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The last `lines` lines of a log file, read as bytes (logs may hold non-UTF-8), for errors.
pub(crate) fn log_tail(path: &Path, lines: usize) -> String {
    const MAX_BYTES: u64 = 64 * 1024;
    let mut file = match fs::File::open(path) {
        Ok(f) => f,
        Err(e) => return format!("(cannot read {}: {e})", path.display()),
    };
    let len = file.metadata().map(|m| m.len()).unwrap_or(0);
    let start = len.saturating_sub(MAX_BYTES);
    let mut buf = Vec::new();
    if file.seek(SeekFrom::Start(start)).is_err() || file.read_to_end(&mut buf).is_err() {
        return format!("(cannot read {})", path.display());
    }
    let text = String::from_utf8_lossy(&buf);
    let all: Vec<&str> = text.lines().collect();
    let tail = all[all.len().saturating_sub(lines)..].join("\n");
    if tail.trim().is_empty() {
        format!("({} is empty)", path.display())
    } else {
        tail
    }
}

/// The lines of a program's output that say what went wrong (`ERROR`), or else its tail: the
/// useful line of a failed mariadb-install-db is usually buried above 25 lines of advice.
pub(crate) fn error_lines(path: &Path) -> String {
    let text = match fs::read(path) {
        Ok(bytes) => String::from_utf8_lossy(&bytes).into_owned(),
        Err(e) => return format!("(cannot read {}: {e})", path.display()),
    };
    let errors: Vec<&str> = text
        .lines()
        .filter(|l| l.contains("ERROR"))
        .take(15)
        .collect();
    if errors.is_empty() {
        log_tail(path, 30)
    } else {
        format!("{}\n(full output in {})", errors.join("\n"), path.display())
    }
}

/// The error-log tail of a node, plus what mariadbd printed before opening that log.
pub(crate) fn node_log_tail(node: &NodeState) -> String {
    let mut tail = log_tail(&node.log_error, 25);
    let console = node.home.join("console.log");
    if fs::metadata(&console).is_ok_and(|m| m.len() > 0) {
        tail.push_str(&format!(
            "\n--- {} ---\n{}",
            console.display(),
            log_tail(&console, 10)
        ));
    }
    tail
}

/// uid and gid of the `mysql` account, which owns datadirs and runs mariadbd.
pub(crate) fn mysql_ids() -> Result<(u32, u32), SandboxError> {
    let name = CString::new("mysql").map_err(|_| SandboxError::NotInstalled {
        what: "the mysql user".to_owned(),
        packages: PACKAGES,
    })?;
    let mut pwd: libc::passwd = unsafe_zeroed_passwd();
    let mut buf = vec![0 as libc::c_char; 16 * 1024];
    let mut result: *mut libc::passwd = std::ptr::null_mut();
    // SAFETY: every pointer refers to live, correctly sized storage owned by this frame;
    // getpwnam_r writes at most buf.len() bytes into buf and sets result to &pwd or null.
    let rc = unsafe {
        libc::getpwnam_r(
            name.as_ptr(),
            &mut pwd,
            buf.as_mut_ptr(),
            buf.len(),
            &mut result,
        )
    };
    if rc != 0 || result.is_null() {
        return Err(SandboxError::NotInstalled {
            what: "the mysql system user".to_owned(),
            packages: PACKAGES,
        });
    }
    Ok((pwd.pw_uid, pwd.pw_gid))
}

fn unsafe_zeroed_passwd() -> libc::passwd {
    // SAFETY: passwd is a plain C struct of integers and raw pointers; all-zero is a valid value
    // (null pointers), and getpwnam_r overwrites it before we read it.
    unsafe { std::mem::zeroed() }
}

#[cfg(test)]
mod tests {

    #[test]
    fn missing_program_names_the_packages() {
        let empty = tempfile::tempdir().expect("temp dir");
        let err = find_program_in(&["mariadbd", "mysqld"], empty.path().as_os_str(), PACKAGES)
            .expect_err("nothing is installed in an empty directory");
        let text = err.to_string();
        assert!(text.contains("mariadbd"), "{text}");
        assert!(
            text.contains("mariadb-server") && text.contains("galera-4"),
            "{text}"
        );
    }

    use super::*;

    fn state() -> State {
        let ports: Vec<u16> = (20_000..20_016).collect();
        State::new(Path::new("/sb"), 3, &ports)
    }

    #[test]
    fn args_for_a_joiner() {
        let s = state();
        let n = s.node("node2").expect("node2");
        let args = mariadbd_args(&s, n, Path::new("/usr/lib/galera/libgalera_smm.so"), false);
        assert_eq!(args[0], "--no-defaults");
        assert!(args.contains(&"--user=mysql".to_owned()));
        assert!(args.contains(&"--datadir=/sb/n2/data".to_owned()));
        assert!(args.contains(&"--socket=/sb/n2/sock".to_owned()));
        assert!(args.contains(&"--tmpdir=/sb/n2/tmp".to_owned()));
        assert!(args.contains(&"--port=20004".to_owned()));
        assert!(args.contains(&"--wsrep-node-name=node2".to_owned()));
        assert!(args.contains(&"--wsrep-node-address=127.0.0.1:20005".to_owned()));
        assert!(args.contains(&"--wsrep-sst-receive-address=127.0.0.1:20007".to_owned()));
        assert!(args.contains(
            &"--wsrep-cluster-address=gcomm://127.0.0.1:20001,127.0.0.1:20005,127.0.0.1:20009"
                .to_owned()
        ));
        assert!(args.contains(
            &"--wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:20005;ist.recv_addr=127.0.0.1:20006;gcache.size=32M"
                .to_owned()
        ));
        assert!(!args.contains(&"--wsrep-new-cluster".to_owned()));
    }

    #[test]
    fn bootstrap_adds_new_cluster_only() {
        let s = state();
        let n = s.node("node1").expect("node1");
        let p = Path::new("/x.so");
        let joiner = mariadbd_args(&s, n, p, false);
        let boot = mariadbd_args(&s, n, p, true);
        assert_eq!(boot.len(), joiner.len() + 1);
        assert_eq!(boot.last().map(String::as_str), Some("--wsrep-new-cluster"));
    }

    #[test]
    fn own_process_is_alive_but_not_a_mariadbd() {
        let me = std::process::id();
        assert!(is_alive(me));
        assert!(!is_our_mariadbd(me, Path::new("/nowhere")));
        assert!(!is_our_mariadbd(0, Path::new("/nowhere")));
    }

    #[test]
    fn log_tail_keeps_last_lines() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("log");
        fs::write(&path, b"a\nb\xff\nc\nd\n").expect("write");
        assert_eq!(log_tail(&path, 2), "c\nd");
        assert!(log_tail(&path, 10).starts_with("a\nb"));
        assert!(log_tail(&dir.path().join("none"), 3).contains("cannot read"));
        // No ERROR line: the tail.
        assert!(error_lines(&path).starts_with("a\nb"));
        fs::write(&path, b"noise\nERROR: 1051 Unknown table\nadvice\n").expect("write");
        assert!(error_lines(&path).starts_with("ERROR: 1051 Unknown table\n(full output in"));
    }
}
