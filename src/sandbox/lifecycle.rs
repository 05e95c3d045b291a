//! A sandbox's life: [`up`] (directory, ports, install, bootstrap, join, monitoring account,
//! quorate.yaml), [`up_gluster`], [`open`] from another process, and teardown ([`down_dir`],
//! [`Sandbox::down`]), which stops only processes /proc confirms are this sandbox's.

use std::fs;
use std::io::{self, Read};
use std::os::unix::fs::OpenOptionsExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use super::layout::{prepare_dir, remove_dir, resolve};
use super::node::{self, Tools};
use super::node_ops::{stop_all, verified_pid};
use super::serve::{default_quorate_binary, stop_serves};
use super::state::{NodeState, State};
use super::{
    gluster, net, ports, sql, Sandbox, SandboxError, UpOptions, BOOTSTRAP_TIMEOUT, JOIN_TIMEOUT,
    MONITOR_USER, SQL_TIMEOUT, SYNCED,
};

/// mariadb-install-db takes under a second.
const INSTALL_TIMEOUT: Duration = Duration::from_secs(120);

/// How often `up` tries with fresh ports after a port collision.
const UP_ATTEMPTS: u32 = 3;

/// Builds and starts a sandbox cluster in `opts.dir`.
///
/// On failure every process started so far is stopped and the directory is removed; the error
/// quotes the failing node's error log first.
pub fn up(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_on(opts, false)
}

/// Like [`up`], but every node runs in a network namespace of its own, joined by a bridge that
/// [`Sandbox::network`] can cut into segments (a real partition, see net.rs). SQL still reaches
/// each node through its unix socket.
pub fn up_netns(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_on(opts, true)
}

fn up_on(opts: &UpOptions, netns: bool) -> Result<Sandbox, SandboxError> {
    if opts.nodes == 0 {
        return Err(SandboxError::BadNodeCount { nodes: opts.nodes });
    }
    let tools = Tools::locate()?;
    let (uid, gid) = node::mysql_ids()?;
    let started = Instant::now();
    let mut attempt = 1;
    loop {
        match up_once(opts, &tools, uid, gid, netns) {
            Ok(sandbox) => {
                tracing::info!(
                    dir = %sandbox.dir.display(),
                    nodes = opts.nodes,
                    elapsed = ?started.elapsed(),
                    "sandbox up"
                );
                return Ok(sandbox);
            }
            // Another process took a port between our reservation and mariadbd's bind (see
            // ports.rs): everything was torn down, so simply try again with fresh ports.
            Err(e) if e.is_port_collision() && attempt < UP_ATTEMPTS => {
                tracing::warn!("sandbox up: port collision, retrying with new ports: {e}");
                attempt += 1;
            }
            Err(e) => return Err(e),
        }
    }
}

/// One attempt of [`up`]: on failure, everything it started is stopped and DIR removed.
fn up_once(
    opts: &UpOptions,
    tools: &Tools,
    uid: u32,
    gid: u32,
    netns: bool,
) -> Result<Sandbox, SandboxError> {
    let prefix = if netns {
        Some(gluster::namespace_name()?)
    } else {
        None
    };
    let dir = prepare_dir(&opts.dir, opts.nodes)?;
    // From here on DIR is ours (new or empty): any failure removes it.
    let reservation = match ports::Reservation::new(5 * opts.nodes + 1) {
        Ok(r) => r,
        Err(e) => {
            remove_dir(&dir);
            return Err(e);
        }
    };
    let mut state = State::new(&dir, opts.nodes, reservation.ports());
    state.network = prefix
        .map(|p| net::NetworkState::new(p, state.nodes.iter().map(|n| n.name.clone()).collect()));
    let mut sandbox = Sandbox {
        state,
        dir,
        tools: tools.clone(),
    };
    match sandbox.build(reservation, uid, gid) {
        Ok(()) => Ok(sandbox),
        Err(err) => {
            if let Err(e) = teardown(&sandbox.state, &sandbox.dir) {
                tracing::warn!("cleaning up after a failed sandbox up: {e}");
            }
            Err(err)
        }
    }
}

/// Builds a sandbox with a real GlusterFS replica-3 volume (two peered glusterds, each in a
/// network namespace of its own, see `gluster.rs`) and `opts.nodes` Galera nodes; `nodes: 0`
/// builds the GlusterFS part only. The generated quorate.yaml points at both.
///
/// On failure everything started so far is stopped and the directory is removed.
pub fn up_gluster(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_gluster_on(opts, false)
}

/// [`up_gluster`] with the Galera nodes in network namespaces of their own, as [`up_netns`]
/// (the GlusterFS servers have their own namespaces and addresses either way).
pub fn up_gluster_netns(opts: &UpOptions) -> Result<Sandbox, SandboxError> {
    up_gluster_on(opts, true)
}

fn up_gluster_on(opts: &UpOptions, netns: bool) -> Result<Sandbox, SandboxError> {
    gluster::check_installed()?;
    let mut sandbox = if opts.nodes > 0 {
        up_on(opts, netns)?
    } else {
        let dir = prepare_dir(&opts.dir, 0)?;
        let reservation = match ports::Reservation::new(1) {
            Ok(r) => r,
            Err(e) => {
                remove_dir(&dir);
                return Err(e);
            }
        };
        let state = State::new(&dir, 0, reservation.ports());
        let tools = match Tools::locate() {
            Ok(t) => t,
            // Galera tools are only needed by Galera nodes; a GlusterFS-only sandbox works
            // without them (node operations then fail naming the packages).
            Err(_) => Tools::absent(),
        };
        Sandbox { dir, state, tools }
    };
    match sandbox.add_gluster() {
        Ok(()) => Ok(sandbox),
        Err(err) => {
            if let Err(e) = teardown(&sandbox.state, &sandbox.dir) {
                tracing::warn!("cleaning up after a failed sandbox up: {e}");
            }
            Err(err)
        }
    }
}

/// Loads the sandbox in `dir` (written by [`up`], possibly in another process).
pub fn open(dir: impl AsRef<Path>) -> Result<Sandbox, SandboxError> {
    let canonical = resolve(dir.as_ref())?;
    let state = State::load(&canonical)?;
    let tools = if state.nodes.is_empty() {
        Tools::locate().unwrap_or_else(|_| Tools::absent())
    } else {
        Tools::locate()?
    };
    Ok(Sandbox {
        dir: canonical,
        state,
        tools,
    })
}

/// Stops every node of the sandbox in `dir` and removes the directory (`quorate sandbox down`).
/// Refuses a directory without sandbox.json, so it never deletes anything else.
pub fn down_dir(dir: impl AsRef<Path>) -> Result<(), SandboxError> {
    let canonical = resolve(dir.as_ref())?;
    // Deliberately without Tools::locate: tearing down needs only /proc and signals.
    let state = State::load(&canonical)?;
    teardown(&state, &canonical)
}

impl Sandbox {
    /// Stops every node this sandbox started (by verified pid) and removes the directory.
    pub fn down(self) -> Result<(), SandboxError> {
        teardown(&self.state, &self.dir)
    }

    /// All of `up` after the directory and ports exist. Any error leaves cleanup to the caller.
    /// `ports` holds this sandbox's ports until each node is about to bind them.
    fn build(
        &mut self,
        mut ports: ports::Reservation,
        uid: u32,
        gid: u32,
    ) -> Result<(), SandboxError> {
        // Saved first so that even a half-built sandbox can be found and torn down.
        self.state.save()?;
        if let Some(network) = &self.state.network {
            net::create(network)?;
        }
        for n in &self.state.nodes {
            for d in [&n.home, &n.tmpdir] {
                fs::create_dir(d).map_err(|e| SandboxError::io("cannot create", d, e))?;
                std::os::unix::fs::chown(d, Some(uid), Some(gid))
                    .map_err(|e| SandboxError::io("cannot chown to mysql", d, e))?;
            }
        }
        // Independent per node and mostly I/O: run them side by side.
        std::thread::scope(|scope| {
            let handles: Vec<_> = self
                .state
                .nodes
                .iter()
                .map(|n| scope.spawn(|| install_db(&self.tools, n)))
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(SandboxError::Spawn {
                            command: "mariadb-install-db".to_owned(),
                            source: io::Error::other("install thread panicked"),
                        })
                    })
                })
                .collect::<Result<Vec<()>, _>>()
        })?;

        let first = self.state.nodes[0].name.clone();
        let t = Instant::now();
        ports.release(0..4);
        self.start(&first, true, false)?;
        self.wait_state(&first, SYNCED, BOOTSTRAP_TIMEOUT)?;
        tracing::info!(node = %first, elapsed = ?t.elapsed(), "bootstrapped");

        // Created before the others join: their SST copies it.
        self.create_monitor_user(&first)?;

        for (i, name) in self.node_names().into_iter().enumerate().skip(1) {
            let t = Instant::now();
            ports.release(4 * i..4 * i + 4);
            self.start(&name, false, false)?;
            self.wait_state(&name, SYNCED, JOIN_TIMEOUT)?;
            tracing::info!(node = %name, elapsed = ?t.elapsed(), "joined");
        }

        write_secret_file(&self.token_file(), &random_password()?)?;
        // The backup root quorate.yaml names, empty until `quorate sandbox backup`.
        let backups = self.backup_root();
        fs::create_dir_all(&backups).map_err(|e| SandboxError::io("cannot create", &backups, e))?;
        self.write_config(&default_quorate_binary())
    }

    /// Starts the GlusterFS part (namespace, glusterd, volume, mount) and rewrites
    /// quorate.yaml to include it. Errors leave cleanup to the caller.
    fn add_gluster(&mut self) -> Result<(), SandboxError> {
        let st = gluster::GlusterState::new(&self.dir, gluster::namespace_name()?);
        // Saved before anything starts, so teardown finds the namespace even after a failure.
        self.state.gluster = Some(st.clone());
        self.state.save()?;
        let mut st = st;
        let state = &mut self.state;
        let t = Instant::now();
        gluster::start(&mut st, &mut |current| {
            state.gluster = Some(current.clone());
            state.save()
        })?;
        tracing::info!(namespace = %st.first().map_or("", |s| s.namespace.as_str()), elapsed = ?t.elapsed(), "GlusterFS volume up");
        self.state.gluster = Some(st);
        self.state.save()?;
        // Regenerate quorate.yaml so it also names the volume and the namespaced gluster CLI.
        // A GlusterFS-only sandbox has no Galera `up` that wrote the recovery token the
        // generated file names.
        if !self.token_file().exists() {
            write_secret_file(&self.token_file(), &random_password()?)?;
        }
        self.write_config(&default_quorate_binary())
    }

    /// Creates the least-privilege monitoring account and writes its password file (0600).
    fn create_monitor_user(&self, node: &str) -> Result<(), SandboxError> {
        let password = random_password()?;
        let user = MONITOR_USER;
        // quorate's queries (SHOW GLOBAL STATUS / VARIABLES, SET SESSION wsrep_sync_wait)
        // need no privilege at all (checked on MariaDB 10.11), so the account gets none: a
        // leaked monitoring password then reads nothing but server status.
        // 'localhost' matches socket connections, '127.0.0.1' TCP ones (skip-name-resolve).
        let mut statements = String::new();
        for host in ["127.0.0.1", "localhost"] {
            statements.push_str(&format!(
                "CREATE USER '{user}'@'{host}' IDENTIFIED BY {pw};\n",
                pw = sql::quote(&password),
            ));
        }
        let n = self.state.node(node)?;
        sql::run(
            &self.tools.client,
            &n.name,
            &n.socket,
            &statements,
            SQL_TIMEOUT,
            Some(&password),
        )?;

        write_secret_file(&self.password_file(), &password)
    }
}

/// Stops every running node of `state` and removes `dir`.
fn teardown(state: &State, dir: &Path) -> Result<(), SandboxError> {
    stop_serves(state);
    // GlusterFS first: the mount must be gone before DIR is removed (removing through a live
    // FUSE mount would delete the volume's files through the client, or hang).
    let gluster_stopped = match &state.gluster {
        Some(g) => gluster::stop(g),
        None => Ok(()),
    };
    let targets: Vec<(&NodeState, u32)> = state
        .nodes
        .iter()
        .filter_map(|n| verified_pid(n).map(|p| (n, p)))
        .collect();
    let stopped = stop_all(&targets);
    // After the nodes: a namespace deleted under a running mariadbd would live on unnamed.
    let stopped = match (&state.network, stopped) {
        (Some(network), Ok(())) => net::destroy(network),
        (_, stopped) => stopped,
    };
    if let Err(e) = &gluster_stopped {
        // Keep DIR (bricks, logs) for inspection when the volume could not be taken down.
        tracing::warn!("GlusterFS teardown failed; {} kept: {e}", dir.display());
        stopped?;
        return gluster_stopped;
    }
    match fs::remove_dir_all(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => {
            stopped?;
            return Err(SandboxError::io("cannot remove", dir, e));
        }
    }
    stopped
}

/// Runs mariadb-install-db for one node, bounded, its output in `nK/install.log`.
fn install_db(tools: &Tools, n: &NodeState) -> Result<(), SandboxError> {
    let log_path = n.home.join("install.log");
    let log =
        fs::File::create(&log_path).map_err(|e| SandboxError::io("cannot create", &log_path, e))?;
    let log2 = log
        .try_clone()
        .map_err(|e| SandboxError::io("cannot create", &log_path, e))?;
    let command = tools.install_db.display().to_string();
    let mut child = Command::new(&tools.install_db)
        // --no-defaults must come first.
        .arg("--no-defaults")
        .arg("--user=mysql")
        .arg(format!("--datadir={}", n.datadir.display()))
        .arg(format!("--tmpdir={}", n.tmpdir.display()))
        // Root over the socket with no password: only this machine's root can connect.
        .arg("--auth-root-authentication-method=normal")
        .arg("--skip-test-db")
        .arg("--skip-name-resolve")
        // Passed on to the bootstrap mariadbd: a small redo log from the start (SST copies it).
        .arg("--innodb-log-file-size=8M")
        .arg("--innodb-buffer-pool-size=64M")
        .env("PATH", node::search_path())
        .stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .spawn()
        .map_err(|source| SandboxError::Spawn {
            command: command.clone(),
            source,
        })?;
    let deadline = Instant::now() + INSTALL_TIMEOUT;
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status.to_string(),
            Ok(None) if Instant::now() < deadline => std::thread::sleep(Duration::from_millis(50)),
            Ok(None) => {
                let _ = child.kill();
                let _ = child.wait();
                break format!("timed out after {INSTALL_TIMEOUT:?}");
            }
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                break e.to_string();
            }
        }
    };
    if n.datadir.join("mysql").is_dir() && status == "exit status: 0" {
        return Ok(());
    }
    Err(SandboxError::CommandFailed {
        node: n.name.clone(),
        command,
        status,
        output: node::error_lines(&log_path),
    })
}

/// Creates `path` (mode 0600) holding `secret` and a newline.
fn write_secret_file(path: &Path, secret: &str) -> Result<(), SandboxError> {
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)
        .map_err(|e| SandboxError::io("cannot create", path, e))?;
    io::Write::write_all(&mut file, format!("{secret}\n").as_bytes())
        .map_err(|e| SandboxError::io("cannot write", path, e))
}

/// 24 random bytes from the kernel, hex-encoded: safe in SQL, YAML and shells.
fn random_password() -> Result<String, SandboxError> {
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 24];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| SandboxError::io("cannot read", path, e))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn password_is_random_hex() {
        let a = random_password().expect("password");
        let b = random_password().expect("password");
        assert_eq!(a.len(), 48);
        assert!(a.chars().all(|c| c.is_ascii_hexdigit()));
        assert_ne!(a, b);
    }
}
