//! The throwaway mariadbd a verification starts on a prepared copy: `--no-defaults` (no
//! my.cnf of the host), no network (`--skip-networking`, its socket in the scratch directory),
//! no Galera (`--wsrep-on=OFF`, no provider), no replication or binary log, and
//! `--skip-grant-tables` so the checks need no account and no secret. It is our child: stopped
//! by its own pid (SIGTERM, then SIGKILL after a grace period) and reaped.
//!
//! SQL goes to the `mariadb` client on its stdin over that socket, never on a command line.

use std::fs;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::galera::parse::parse_batch_output;
use crate::process::{self, Kill, RunFailure};

/// How long a stopped server gets to shut down cleanly before SIGKILL.
const STOP_GRACE: Duration = Duration::from_secs(60);

/// A running throwaway server.
pub(super) struct Server {
    child: Child,
    pub socket: PathBuf,
    pub log: PathBuf,
    client: PathBuf,
}

/// The programs a verification runs.
#[derive(Debug, Clone)]
pub struct Programs {
    pub mariabackup: PathBuf,
    pub mariadbd: PathBuf,
    pub client: PathBuf,
}

impl Programs {
    /// Finds mariabackup, mariadbd and the mariadb client on the PATH (plus the sbin
    /// directories), under either of their names.
    pub fn locate() -> Result<Programs, String> {
        let find = |names: &[&str], package: &str| {
            process::find_program_in(names, &process::search_path()).ok_or_else(|| {
                format!(
                    "none of {} found on the PATH (Debian package {package})",
                    names.join(", ")
                )
            })
        };
        Ok(Programs {
            mariabackup: find(&["mariabackup", "mariadb-backup"], "mariadb-backup")?,
            mariadbd: find(&["mariadbd", "mysqld"], "mariadb-server")?,
            client: find(&["mariadb", "mysql"], "mariadb-client")?,
        })
    }
}

impl Server {
    /// Starts mariadbd on `datadir` with its socket, pid file, log and tmpdir in `scratch`, and
    /// waits until it answers (or exits, or `timeout` passes: then it is killed).
    pub fn start(
        programs: &Programs,
        datadir: &Path,
        scratch: &Path,
        timeout: Duration,
    ) -> Result<Server, String> {
        let socket = scratch.join("mysqld.sock");
        let log = scratch.join("mysqld.err");
        let tmp = scratch.join("tmp");
        fs::create_dir_all(&tmp).map_err(|e| format!("cannot create {}: {e}", tmp.display()))?;
        let console = fs::File::create(scratch.join("console.log"))
            .map_err(|e| format!("cannot create the console log: {e}"))?;
        let console2 = console
            .try_clone()
            .map_err(|e| format!("cannot create the console log: {e}"))?;
        let mut command = Command::new(&programs.mariadbd);
        // --no-defaults is only honoured first.
        command
            .arg("--no-defaults")
            .arg(format!("--datadir={}", datadir.display()))
            .arg(format!("--socket={}", socket.display()))
            .arg(format!(
                "--pid-file={}",
                scratch.join("mysqld.pid").display()
            ))
            .arg(format!("--log-error={}", log.display()))
            .arg(format!("--tmpdir={}", tmp.display()))
            .args([
                "--skip-networking",
                "--wsrep-on=OFF",
                "--wsrep-provider=none",
                "--skip-grant-tables",
                "--skip-slave-start",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=128M",
                "--event-scheduler=DISABLED",
            ]);
        // mariadbd refuses to run as root unless told to; the copy belongs to whoever made it.
        // SAFETY: geteuid(2) has no preconditions and cannot fail.
        if unsafe { libc::geteuid() } == 0 {
            command.arg("--user=root");
        }
        command
            .env("PATH", process::search_path())
            .stdin(Stdio::null())
            .stdout(console)
            .stderr(console2)
            .process_group(0);
        // SAFETY: runs in the forked child before exec and only calls prctl(2), which is
        // async-signal-safe: the throwaway server is killed if this process dies first (a
        // SIGKILLed or crashed verification must not leave a mariadbd behind).
        unsafe {
            command.pre_exec(|| {
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) == -1 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = command
            .spawn()
            .map_err(|e| format!("cannot start {}: {e}", programs.mariadbd.display()))?;
        let mut server = Server {
            child,
            socket,
            log,
            client: programs.client.clone(),
        };
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "mariadbd exited with {status} while starting:\n{}",
                    server.log_tail()
                ));
            }
            if server.socket.exists() && server.sql("SELECT 1", timeout).is_ok() {
                return Ok(server);
            }
            if Instant::now() >= deadline {
                let tail = server.log_tail();
                server.stop();
                return Err(format!(
                    "mariadbd did not answer within {timeout:?}:\n{tail}"
                ));
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs `sql` (on the client's stdin) and returns its rows; an error carries the client's
    /// message.
    pub fn sql(&self, sql: &str, timeout: Duration) -> Result<Vec<Vec<String>>, String> {
        let mut command = Command::new(&self.client);
        command
            .arg("--no-defaults")
            .arg("--protocol=SOCKET")
            .arg(format!("--socket={}", self.socket.display()))
            .arg("--user=root")
            .arg("--batch")
            .arg("--skip-column-names")
            .arg("--connect-timeout=5");
        let mut input = sql.as_bytes().to_vec();
        input.push(b'\n');
        match process::run(&mut command, Some(input), timeout, Kill::Child) {
            Ok(f) if f.status.success() => {
                Ok(parse_batch_output(&String::from_utf8_lossy(&f.stdout)))
            }
            Ok(f) | Err(RunFailure::Exit(f)) => {
                Err(String::from_utf8_lossy(&f.stderr).trim().to_string())
            }
            Err(e) => Err(format!("{}: {e}", self.client.display())),
        }
    }

    /// Whether the server is still running.
    pub fn alive(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// The server's error lines (`[ERROR]`), else the last lines of its log.
    pub fn log_tail(&self) -> String {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let errors: Vec<&str> = text.lines().filter(|l| l.contains("[ERROR]")).collect();
        let lines: Vec<&str> = if errors.is_empty() {
            text.lines().collect()
        } else {
            errors
        };
        lines[lines.len().saturating_sub(12)..].join("\n")
    }

    /// The lines of the server's log that mention `needle` (e.g. a table's data file), last
    /// few only.
    pub fn log_lines_about(&self, needle: &str) -> Vec<String> {
        let text = fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<String> = text
            .lines()
            .filter(|l| l.contains(needle))
            .map(str::to_owned)
            .collect();
        lines[lines.len().saturating_sub(5)..].to_vec()
    }

    /// Stops the server by its pid: SIGTERM, then SIGKILL after [`STOP_GRACE`]; reaped either
    /// way. Whether it shut down cleanly.
    pub fn stop(&mut self) -> bool {
        if !self.alive() {
            return true;
        }
        // Our own unreaped child: its pid cannot have been reused.
        if let Ok(pid) = libc::pid_t::try_from(self.child.id()) {
            // SAFETY: kill(2) on our child's pid; no memory is involved.
            unsafe { libc::kill(pid, libc::SIGTERM) };
        }
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if !self.alive() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        false
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.alive() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
