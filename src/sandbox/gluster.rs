//! A real GlusterFS replica-3 volume for the sandbox: two glusterd servers, each in a network
//! namespace the sandbox creates, peered over a veth pair between the two namespaces; three
//! bricks under the sandbox directory (two served by the first server, one by its peer) and a
//! FUSE mount.
//!
//! ```text
//! DIR/gl/
//!   s1/ s2/         one directory per server:
//!     ns            wrapper: runs a command in the server's namespace with the server's own
//!                   /run, /var/log/glusterfs and /var/lib/glusterd (bind mounts in the mount
//!                   namespace `ip netns exec` creates), so glusterd's sockets, pid files,
//!                   logs and state never touch the host's (nor the other server's)
//!     glusterd.vol  glusterd's own volfile: working-directory sN/wd (not /var/lib/glusterd)
//!     wd/ run/ log/ glusterd state, its /run, its /var/log/glusterfs
//!     varlib/       its /var/lib/glusterd (only paths glusterd hard-codes land here)
//!   b1/ b2/ b3/     the bricks of volume `gv`: b1 and b2 on server 1 (10.254.0.1), b3 on
//!                   server 2 (10.254.0.2)
//!   mnt/            FUSE mount of gv, in the host's mount namespace (the client process runs
//!                   in server 1's network namespace only), so tests write with plain file I/O
//! ```
//!
//! Why a second server: peer state (`gluster_peer_connected`, the check's peer rule, the
//! GlusterPeerDisconnected alert) only exists between glusterds. [`Gluster::stop_peer`] ends
//! every process of server 2 — a real disconnected peer, whose brick server 1 can no longer
//! list — and [`Gluster::start_peer`] brings it back.
//!
//! glusterd refuses loopback brick addresses, so each namespace gets a 10.254.0.x/24 address
//! on its end of the veth pair; nothing outside the two namespaces is ever addressed. Several
//! sandboxes run side by side: each has its own namespaces (random names), state directories
//! and sockets.
//!
//! Teardown unmounts, stops the volume, then ends every process whose network namespace is
//! one of this sandbox's (glusterds, bricks, self-heal daemons, the FUSE client, CLI calls in
//! flight), by pid, and deletes the namespaces.

use std::fs;
use std::io::Read;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use serde::{Deserialize, Serialize};

use super::error::run_command;
use super::node;
use super::SandboxError;
use crate::gluster::mount::mount_type;
use crate::gluster::parse::{
    parse_heal_summary, parse_peer_status, parse_volume_status, HealSummaryBrick, ParseError,
};

/// The Debian packages the GlusterFS sandbox needs.
pub const GLUSTER_PACKAGES: &str = "glusterfs-server glusterfs-client iproute2 util-linux";

/// The volume's name.
pub const VOLUME: &str = "gv";
/// The servers' addresses, one per namespace (never routed anywhere else).
const ADDRESSES: [&str; 2] = ["10.254.0.1", "10.254.0.2"];
/// The server (index into [`ADDRESSES`]) of each brick: b1 and b2 on the first, b3 on its peer.
const BRICK_SERVERS: [usize; 3] = [0, 0, 1];
/// The two ends of the veth pair, one in each namespace.
const LINKS: [&str; 2] = ["qgl0", "qgl1"];
/// Bound for one management command (create, start, status, set).
const CLI_TIMEOUT: Duration = Duration::from_secs(60);
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);
const STOP_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a restarted FUSE client may take to reconnect to restarted bricks (~20 s seen).
const RECONNECT_TIMEOUT: Duration = Duration::from_secs(120);

/// One glusterd of the sandbox's pool.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GlusterServer {
    /// Network namespace name (unique per sandbox and server).
    pub namespace: String,
    pub address: String,
    /// `DIR/gl/sN`.
    pub home: PathBuf,
    /// The glusterd the sandbox started (a glusterd restarted by [`Gluster::start_peer`] is
    /// not recorded: teardown ends every process of the namespace anyway).
    pub glusterd_pid: Option<u32>,
}

impl GlusterServer {
    /// `DIR/gl/sN/ns`: the wrapper that enters the server's namespaces.
    fn wrapper(&self) -> PathBuf {
        self.home.join("ns")
    }

    fn volfile(&self) -> PathBuf {
        self.home.join("glusterd.vol")
    }

    fn log(&self) -> PathBuf {
        self.home.join("log/glusterd.log")
    }

    fn netns_path(&self) -> PathBuf {
        Path::new("/run/netns").join(&self.namespace)
    }
}

/// One brick: its server (index into [`GlusterState::servers`]) and directory.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GlusterBrick {
    pub server: usize,
    pub path: PathBuf,
}

/// The GlusterFS part of sandbox.json.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct GlusterState {
    pub volume: String,
    /// `DIR/gl`.
    pub home: PathBuf,
    /// `servers[0]` runs the management CLI and the FUSE client; `servers[1]` is its peer.
    pub servers: Vec<GlusterServer>,
    pub bricks: Vec<GlusterBrick>,
    pub mount: PathBuf,
    pub client_pid: Option<u32>,
}

impl GlusterState {
    /// The layout for sandbox `dir`; `namespace` names the first server's namespace, the
    /// peer's is `namespace` + `-p`.
    pub fn new(dir: &Path, namespace: String) -> GlusterState {
        let home = dir.join("gl");
        let servers = ADDRESSES
            .iter()
            .enumerate()
            .map(|(i, address)| GlusterServer {
                namespace: if i == 0 {
                    namespace.clone()
                } else {
                    format!("{namespace}-p")
                },
                address: address.to_string(),
                home: home.join(format!("s{}", i + 1)),
                glusterd_pid: None,
            })
            .collect();
        GlusterState {
            volume: VOLUME.to_string(),
            bricks: BRICK_SERVERS
                .iter()
                .enumerate()
                .map(|(i, &server)| GlusterBrick {
                    server,
                    path: home.join(format!("b{}", i + 1)),
                })
                .collect(),
            servers,
            mount: home.join("mnt"),
            home,
            client_pid: None,
        }
    }

    /// The first server: management CLI, FUSE client, quorate's view.
    pub fn first(&self) -> Option<&GlusterServer> {
        self.servers.first()
    }

    /// The second server, the first one's peer.
    pub fn peer(&self) -> Option<&GlusterServer> {
        self.servers.get(1)
    }

    /// `host:/path` of brick `i` (0-based), as gluster names it.
    pub fn brick_name(&self, i: usize) -> Option<String> {
        let brick = self.bricks.get(i)?;
        let server = self.servers.get(brick.server)?;
        Some(format!("{}:{}", server.address, brick.path.display()))
    }

    /// The argv prefix that runs the gluster CLI against the first server's glusterd.
    pub fn cli_command(&self) -> Vec<String> {
        self.first()
            .map(|s| vec![s.wrapper().display().to_string(), "gluster".to_string()])
            .unwrap_or_default()
    }
}

/// A fresh namespace name: `qsb-` and 8 random hex digits.
pub(crate) fn namespace_name() -> Result<String, SandboxError> {
    let path = Path::new("/dev/urandom");
    let mut bytes = [0u8; 4];
    fs::File::open(path)
        .and_then(|mut f| f.read_exact(&mut bytes))
        .map_err(|e| SandboxError::io("cannot read", path, e))?;
    Ok(format!(
        "qsb-{}",
        bytes.iter().map(|b| format!("{b:02x}")).collect::<String>()
    ))
}

/// Fails naming the packages when a program is missing.
pub(crate) fn check_installed() -> Result<(), SandboxError> {
    for program in ["glusterd", "gluster", "glusterfs", "ip", "nsenter", "mount"] {
        node::find_program(&[program], GLUSTER_PACKAGES)?;
    }
    // Mount points of the wrapper's bind mounts (glusterfs-server creates them).
    for dir in ["/var/lib/glusterd", "/var/log/glusterfs"] {
        if !Path::new(dir).is_dir() {
            return Err(SandboxError::NotInstalled {
                what: format!("directory {dir}"),
                packages: GLUSTER_PACKAGES,
            });
        }
    }
    Ok(())
}

/// Writes a server's volfile and namespace wrapper.
fn write_server_files(server: &GlusterServer) -> Result<(), SandboxError> {
    for d in ["wd", "run/gluster", "log", "varlib"] {
        let d = server.home.join(d);
        fs::create_dir_all(&d).map_err(|e| SandboxError::io("cannot create", &d, e))?;
    }
    let volfile = server.volfile();
    // The keepalive options are not decoration: without them glusterd 10.3 fails to connect
    // to peers ("connect returned -2").
    let vol = format!(
        "volume management\n    type mgmt/glusterd\n    option working-directory {}\n    option transport-type socket\n    option transport.socket.keepalive-time 10\n    option transport.socket.keepalive-interval 2\n    option transport.socket.read-fail-log off\n    option transport.socket.listen-port 24007\n    option ping-timeout 0\n    option event-threads 1\nend-volume\n",
        server.home.join("wd").display()
    );
    fs::write(&volfile, vol).map_err(|e| SandboxError::io("cannot write", &volfile, e))?;
    // The wrapper: `ip netns exec` gives the command a private mount namespace (slave of the
    // host's), where /run, /var/log/glusterfs and /var/lib/glusterd are replaced by this
    // server's directories. glusterd, its bricks and glfsheal hard-code paths there
    // (/run/glusterd.socket, /run/gluster/*.socket, /var/log/glusterfs/glfsheal-*.log,
    // /var/lib/glusterd/ss_brick) whatever working-directory says.
    let wrapper = server.wrapper();
    let text = format!(
        "#!/bin/sh\n# Generated by quorate sandbox: runs a command in network namespace {ns} with this\n# GlusterFS server's /run, /var/log/glusterfs and /var/lib/glusterd.\nexec ip netns exec {ns} /bin/sh -c 'mount --bind \"$0/run\" /run && mount --bind \"$0/log\" /var/log/glusterfs && mount --bind \"$0/varlib\" /var/lib/glusterd && exec \"$@\"' {home} \"$@\"\n",
        ns = server.namespace,
        home = shell_quote(&server.home.display().to_string()),
    );
    fs::write(&wrapper, text).map_err(|e| SandboxError::io("cannot write", &wrapper, e))?;
    fs::set_permissions(&wrapper, fs::Permissions::from_mode(0o755))
        .map_err(|e| SandboxError::io("cannot chmod", &wrapper, e))
}

/// The two namespaces, joined by a veth pair that carries the servers' addresses.
fn create_network(servers: &[GlusterServer]) -> Result<(), SandboxError> {
    let ip = |args: &[&str], what: &str| {
        run(Command::new("ip").args(args), what, CLI_TIMEOUT).map(|_| ())
    };
    for s in servers {
        ip(&["netns", "add", &s.namespace], "ip netns add")?;
        ip(
            &["-n", &s.namespace, "link", "set", "lo", "up"],
            "ip link set lo up",
        )?;
    }
    let [first, peer] = servers else {
        return Err(SandboxError::CommandFailed {
            node: "gluster".into(),
            command: "create the network".into(),
            status: format!("{} servers, expected 2", servers.len()),
            output: String::new(),
        });
    };
    // Created in the first namespace, its peer end directly in the second.
    ip(
        &[
            "-n",
            &first.namespace,
            "link",
            "add",
            LINKS[0],
            "type",
            "veth",
            "peer",
            "name",
            LINKS[1],
            "netns",
            &peer.namespace,
        ],
        "ip link add veth",
    )?;
    for (s, link) in servers.iter().zip(LINKS) {
        let address = format!("{}/24", s.address);
        ip(
            &["-n", &s.namespace, "addr", "add", &address, "dev", link],
            "ip addr add",
        )?;
        ip(
            &["-n", &s.namespace, "link", "set", link, "up"],
            "ip link set up",
        )?;
    }
    Ok(())
}

/// Starts server `server`'s glusterd (detached, in its namespace); its pid.
fn spawn_glusterd(server: &GlusterServer) -> Result<u32, SandboxError> {
    let console = server.home.join("log/glusterd.console");
    node::spawn_detached(
        Command::new(server.wrapper()).args([
            "glusterd".to_string(),
            "-N".to_string(),
            "-f".to_string(),
            server.volfile().display().to_string(),
            format!("--log-file={}", server.log().display()),
        ]),
        &console,
        "glusterd",
    )
}

/// Creates the namespaces, starts both glusterds, peers them, creates and starts the
/// replica-3 volume and mounts it. Records pids in `st` as it goes (the caller saves it); on
/// error the caller tears down.
pub(crate) fn start(
    st: &mut GlusterState,
    save: &mut dyn FnMut(&GlusterState) -> Result<(), SandboxError>,
) -> Result<(), SandboxError> {
    for d in std::iter::once(&st.mount).chain(st.bricks.iter().map(|b| &b.path)) {
        fs::create_dir_all(d).map_err(|e| SandboxError::io("cannot create", d, e))?;
    }
    for server in &st.servers {
        write_server_files(server)?;
    }
    create_network(&st.servers)?;
    for i in 0..st.servers.len() {
        let pid = spawn_glusterd(&st.servers[i])?;
        st.servers[i].glusterd_pid = Some(pid);
        save(st)?;
    }

    let g = Gluster { st };
    for server in &st.servers {
        g.wait_for("glusterd to answer", STARTUP_TIMEOUT, || {
            Ok(g.cli_on(server, &["peer", "status"], CLI_TIMEOUT).is_ok())
        })?;
    }
    for peer in st.servers.iter().skip(1) {
        g.cli(&["peer", "probe", &peer.address])?;
    }
    g.wait_for("every peer connected", STARTUP_TIMEOUT, || {
        g.peers_connected()
    })?;
    let mut create: Vec<String> = vec![
        "volume".into(),
        "create".into(),
        st.volume.clone(),
        "replica".into(),
        st.bricks.len().to_string(),
    ];
    create.extend((0..st.bricks.len()).filter_map(|i| st.brick_name(i)));
    // `force`: the bricks live on the root file system, which gluster warns about.
    create.push("force".into());
    let create_refs: Vec<&str> = create.iter().map(String::as_str).collect();
    g.cli(&create_refs)?;
    g.cli(&["volume", "start", &st.volume])?;
    g.wait_for("every brick online", STARTUP_TIMEOUT, || {
        g.all_bricks_online()
    })?;

    let first = st.first().cloned().ok_or(SandboxError::NoGlusterServer)?;
    let client_log = first.home.join("log/client.console");
    let client = node::spawn_detached(
        Command::new("nsenter").args([
            format!("--net={}", first.netns_path().display()),
            "glusterfs".to_string(),
            "-N".to_string(),
            format!("--volfile-server={}", first.address),
            format!("--volfile-id={}", st.volume),
            format!("--log-file={}", first.home.join("log/client.log").display()),
            st.mount.display().to_string(),
        ]),
        &client_log,
        "glusterfs (FUSE client)",
    )?;
    st.client_pid = Some(client);
    save(st)?;
    let g = Gluster { st };
    g.wait_for("the FUSE mount", STARTUP_TIMEOUT, || {
        Ok(is_mounted(&g.st.mount) && g.client_connected_to_all())
    })?;
    Ok(())
}

/// Unmounts, stops the volume and ends every process in the namespaces, then deletes them.
/// Never fails half-way: each step is attempted; the first error is returned.
pub(crate) fn stop(st: &GlusterState) -> Result<(), SandboxError> {
    let mut first_error: Option<SandboxError> = None;
    if is_mounted(&st.mount) {
        // Lazy: a hung FUSE client must not hang teardown.
        let target = std::ffi::CString::new(st.mount.as_os_str().as_encoded_bytes()).ok();
        if let Some(target) = target {
            // SAFETY: umount2 with a valid NUL-terminated path; MNT_DETACH never blocks.
            let rc = unsafe { libc::umount2(target.as_ptr(), libc::MNT_DETACH) };
            if rc != 0 {
                first_error.get_or_insert(SandboxError::io(
                    "cannot unmount",
                    &st.mount,
                    std::io::Error::last_os_error(),
                ));
            }
        }
    }
    if let Some(first) = st.first() {
        let answers = namespace_id(&first.netns_path()).is_some()
            && first.glusterd_pid.is_some_and(node::is_alive);
        if answers {
            // Best effort: a clean stop ends bricks and self-heal daemons the gluster way.
            let _ = Gluster { st }.cli_with_timeout(&["volume", "stop", &st.volume], STOP_TIMEOUT);
        }
    }
    for server in &st.servers {
        if let Err(e) = end_namespace(server, true) {
            first_error.get_or_insert(e);
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Ends every process in the server's namespace (SIGTERM, then SIGKILL for what is left after
/// 10 s; only SIGKILL when `delete` is false: a crashed server, not a clean stop) and, when
/// `delete`, deletes the namespace. A namespace that does not exist is nothing to do.
fn end_namespace(server: &GlusterServer, delete: bool) -> Result<(), SandboxError> {
    let Some(id) = namespace_id(&server.netns_path()) else {
        return Ok(());
    };
    let pids = pids_in_namespace(id);
    let first_signal = if delete { libc::SIGTERM } else { libc::SIGKILL };
    for &pid in &pids {
        node::signal(pid, libc::SIGCONT);
        node::signal(pid, first_signal);
    }
    let deadline = Instant::now() + Duration::from_secs(10);
    for &pid in &pids {
        if !node::wait_gone(pid, deadline.saturating_duration_since(Instant::now())) {
            // Checked again: only a process still in our namespace is killed.
            if in_namespace(pid, id) {
                node::signal(pid, libc::SIGKILL);
                node::wait_gone(pid, Duration::from_secs(5));
            }
        }
    }
    let leftover: Vec<u32> = pids_in_namespace(id);
    if !leftover.is_empty() {
        return Err(SandboxError::Unkillable { pids: leftover });
    }
    if delete {
        run(
            Command::new("ip").args(["netns", "del", &server.namespace]),
            "ip netns del",
            CLI_TIMEOUT,
        )?;
    }
    Ok(())
}

/// Operations on a running sandbox volume, for tests and rehearsals.
#[derive(Debug, Clone, Copy)]
pub struct Gluster<'a> {
    pub(crate) st: &'a GlusterState,
}

impl Gluster<'_> {
    /// The volume name (`gv`).
    pub fn volume(&self) -> &str {
        &self.st.volume
    }

    /// The FUSE mount of the volume (write here to create heal work).
    pub fn mount(&self) -> &Path {
        &self.st.mount
    }

    /// `host:/path` of brick `i` (0-based).
    pub fn brick_name(&self, i: usize) -> Option<String> {
        self.st.brick_name(i)
    }

    /// The pid of the FUSE client (`glusterfs`) serving [`Gluster::mount`].
    pub fn client_pid(&self) -> Option<u32> {
        self.st.client_pid
    }

    /// The brick directories.
    pub fn brick_dirs(&self) -> Vec<&Path> {
        self.st.bricks.iter().map(|b| b.path.as_path()).collect()
    }

    /// The argv prefix of the gluster CLI for this sandbox (as in quorate.yaml).
    pub fn cli_command(&self) -> Vec<String> {
        self.st.cli_command()
    }

    /// The first server's network namespace (where the CLI and the FUSE client run).
    pub fn namespace(&self) -> &str {
        self.st.first().map_or("", |s| s.namespace.as_str())
    }

    /// Every server's network namespace, the first server's first.
    pub fn namespaces(&self) -> Vec<&str> {
        self.st
            .servers
            .iter()
            .map(|s| s.namespace.as_str())
            .collect()
    }

    /// The peer's address, as the first server's `peer status` names it.
    pub fn peer_address(&self) -> Option<&str> {
        self.st.peer().map(|s| s.address.as_str())
    }

    /// Runs `gluster --mode=script ARGS` in the namespace; stdout on success.
    pub fn cli(&self, args: &[&str]) -> Result<String, SandboxError> {
        self.cli_with_timeout(args, CLI_TIMEOUT)
    }

    fn cli_with_timeout(&self, args: &[&str], timeout: Duration) -> Result<String, SandboxError> {
        let first = self.st.first().ok_or(SandboxError::NoGlusterServer)?;
        self.cli_on(first, args, timeout)
    }

    /// Runs `gluster --mode=script ARGS` against `server`'s glusterd.
    fn cli_on(
        &self,
        server: &GlusterServer,
        args: &[&str],
        timeout: Duration,
    ) -> Result<String, SandboxError> {
        run(
            Command::new(server.wrapper())
                .arg("gluster")
                .arg("--mode=script")
                .args(args),
            &format!("gluster {}", args.join(" ")),
            timeout,
        )
    }

    /// `volume heal gv info summary`, parsed.
    pub fn heal_summary(&self) -> Result<Vec<HealSummaryBrick>, SandboxError> {
        let xml = self.cli(&[
            "volume",
            "heal",
            &self.st.volume,
            "info",
            "summary",
            "--xml",
        ])?;
        parse_heal_summary(xml.as_bytes()).map_err(unusable("gluster volume heal info summary"))
    }

    /// The pids of the brick processes glusterd reports (in brick order), e.g. to stop them with
    /// SIGSTOP: a brick that hangs instead of dying.
    pub fn brick_pids(&self) -> Result<Vec<u32>, SandboxError> {
        Ok(self
            .brick_processes()?
            .into_iter()
            .filter_map(|(pid, _)| pid)
            .collect())
    }

    /// pid and online flag of each brick (in brick order) from `volume status --xml`.
    fn brick_processes(&self) -> Result<Vec<(Option<u32>, bool)>, SandboxError> {
        let xml = self.cli(&["volume", "status", &self.st.volume, "--xml"])?;
        let status =
            parse_volume_status(xml.as_bytes()).map_err(unusable("gluster volume status"))?;
        let bricks = status.first().map(|v| v.bricks.as_slice()).unwrap_or(&[]);
        Ok((0..self.st.bricks.len())
            .map(|i| {
                let name = self.st.brick_name(i).unwrap_or_default();
                bricks
                    .iter()
                    .find(|b| b.name == name)
                    .map_or((None, false), |b| (b.pid, b.online))
            })
            .collect())
    }

    fn all_bricks_online(&self) -> Result<bool, SandboxError> {
        Ok(self.brick_processes()?.iter().all(|(_, online)| *online))
    }

    /// Kills brick `i` (0-based) with SIGKILL and waits until its process is gone and reaped,
    /// because glusterd takes a pid that still exists for an "already-running brick".
    pub fn kill_brick(&self, i: usize) -> Result<(), SandboxError> {
        self.kill_bricks(&[i])
    }

    /// [`Gluster::kill_brick`] for several bricks at once.
    pub fn kill_bricks(&self, which: &[usize]) -> Result<(), SandboxError> {
        let procs = self.brick_processes()?;
        let mut killed = Vec::new();
        for &i in which {
            let ns = self
                .st
                .bricks
                .get(i)
                .and_then(|b| self.st.servers.get(b.server))
                .and_then(|s| namespace_id(&s.netns_path()));
            let pid = procs.get(i).and_then(|(pid, _)| *pid).ok_or_else(|| {
                SandboxError::NodeNotRunning {
                    node: self
                        .st
                        .brick_name(i)
                        .unwrap_or_else(|| format!("brick {i}")),
                }
            })?;
            // Only a process in our namespace is ever signalled.
            if ns.is_some_and(|id| in_namespace(pid, id)) {
                node::signal(pid, libc::SIGKILL);
                killed.push(pid);
            }
        }
        for pid in killed {
            self.wait_for(
                "a killed brick to be reaped",
                Duration::from_secs(30),
                || Ok(!Path::new(&format!("/proc/{pid}")).exists()),
            )?;
        }
        Ok(())
    }

    /// Restarts dead bricks (`volume start gv force`, repeated until glusterd reports every
    /// brick online) and waits until the FUSE client is connected to all of them again.
    pub fn start_bricks(&self) -> Result<(), SandboxError> {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            self.cli(&["volume", "start", &self.st.volume, "force"])?;
            let settle = Instant::now() + Duration::from_secs(8);
            while Instant::now() < settle {
                if self.all_bricks_online()? {
                    return self.wait_for(
                        "the client to reconnect to every brick",
                        RECONNECT_TIMEOUT,
                        || Ok(self.client_connected_to_all()),
                    );
                }
                std::thread::sleep(Duration::from_millis(250));
            }
            if Instant::now() >= deadline {
                return Err(SandboxError::CommandFailed {
                    node: "gluster".into(),
                    command: "gluster volume start gv force".into(),
                    status: format!("bricks not all online after {STARTUP_TIMEOUT:?}"),
                    output: String::new(),
                });
            }
        }
    }

    /// Whether the FUSE client is connected to brick `i` (its `.meta` view).
    pub fn client_connected(&self, i: usize) -> bool {
        let private = self.st.mount.join(format!(
            ".meta/graphs/active/{}-client-{i}/private",
            self.st.volume
        ));
        fs::read_to_string(private).is_ok_and(|t| t.contains("connected = 1"))
    }

    fn client_connected_to_all(&self) -> bool {
        (0..self.st.bricks.len()).all(|i| self.client_connected(i))
    }

    /// Whether the first server sees every other server as a connected `Peer in Cluster`.
    fn peers_connected(&self) -> Result<bool, SandboxError> {
        let xml = self.cli(&["peer", "status", "--xml"])?;
        let peers = parse_peer_status(xml.as_bytes()).map_err(unusable("gluster peer status"))?;
        Ok(self.st.servers.iter().skip(1).all(|s| {
            peers
                .iter()
                .any(|p| p.hostname == s.address && p.connected && p.state == "Peer in Cluster")
        }))
    }

    /// Crashes the peer (server 2): SIGKILL to every process of its namespace (glusterd, its
    /// brick, its self-heal daemon), waiting until each is gone. Its namespace stays, so the
    /// first server sees a disconnected peer whose brick it can no longer reach.
    pub fn stop_peer(&self) -> Result<(), SandboxError> {
        let peer = self.st.peer().ok_or(SandboxError::NoGlusterServer)?;
        end_namespace(peer, false)
    }

    /// Starts the peer's glusterd again (it starts its brick itself) and waits until the first
    /// server sees it connected, every brick is online and the FUSE client is connected to
    /// all of them. The new glusterd's pid.
    pub fn start_peer(&self) -> Result<u32, SandboxError> {
        let peer = self.st.peer().ok_or(SandboxError::NoGlusterServer)?;
        let pid = spawn_glusterd(peer)?;
        self.wait_for("the peer connected again", STARTUP_TIMEOUT, || {
            self.peers_connected()
        })?;
        self.wait_for("every brick online", STARTUP_TIMEOUT, || {
            self.all_bricks_online()
        })?;
        self.wait_for(
            "the client to reconnect to every brick",
            RECONNECT_TIMEOUT,
            || Ok(self.client_connected_to_all()),
        )?;
        Ok(pid)
    }

    /// Sets a volume option.
    pub fn set_option(&self, key: &str, value: &str) -> Result<(), SandboxError> {
        self.cli(&["volume", "set", &self.st.volume, key, value])
            .map(|_| ())
    }

    /// Triggers an index heal (`volume heal gv`). glusterd may report a failure while the
    /// self-heal daemon is still reconnecting; the heal happens anyway, so only a command that
    /// could not run is an error.
    pub fn heal(&self) -> Result<(), SandboxError> {
        match self.cli(&["volume", "heal", &self.st.volume]) {
            Ok(_) | Err(SandboxError::CommandFailed { .. }) => Ok(()),
            Err(e) => Err(e),
        }
    }

    /// Makes `name` (a file at the volume's root) a real data split-brain: written while
    /// bricks 1 and 2 are down, then again while brick 0 is down, with self-heal (daemon and
    /// client side) and client quorum off. Leaves those options off.
    pub fn make_split_brain(&self, name: &str) -> Result<(), SandboxError> {
        for (k, v) in [
            ("cluster.self-heal-daemon", "off"),
            ("cluster.data-self-heal", "off"),
            ("cluster.metadata-self-heal", "off"),
            ("cluster.entry-self-heal", "off"),
            ("cluster.quorum-type", "none"),
        ] {
            self.set_option(k, v)?;
        }
        let file = self.st.mount.join(name);
        let write = |text: &str| {
            fs::write(&file, text).map_err(|e| SandboxError::io("cannot write", &file, e))
        };
        // Option changes switch the client to a new graph; it must be connected again.
        self.wait_for("the client graph switch", Duration::from_secs(60), || {
            Ok(self.client_connected_to_all())
        })?;
        write("base\n")?;
        self.kill_bricks(&[1, 2])?;
        write("written while bricks 1 and 2 were down\n")?;
        self.start_bricks()?;
        self.kill_bricks(&[0])?;
        write("written while brick 0 was down\n")?;
        self.start_bricks()
    }

    fn wait_for(
        &self,
        what: &str,
        timeout: Duration,
        mut ready: impl FnMut() -> Result<bool, SandboxError>,
    ) -> Result<(), SandboxError> {
        let deadline = Instant::now() + timeout;
        let mut last = String::new();
        loop {
            match ready() {
                Ok(true) => return Ok(()),
                Ok(false) => {}
                Err(e) => last = e.to_string(),
            }
            if Instant::now() >= deadline {
                return Err(SandboxError::CommandFailed {
                    node: "gluster".into(),
                    command: format!("waiting for {what}"),
                    status: format!("not reached within {timeout:?}"),
                    output: self.st.servers.iter().fold(last, |out, s| {
                        format!(
                            "{out}\nglusterd log tail of {}:\n{}",
                            s.address,
                            node::log_tail(&s.log(), 15)
                        )
                    }),
                });
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

/// The error for a gluster CLI answer its parser rejects.
fn unusable(command: &'static str) -> impl Fn(ParseError) -> SandboxError {
    move |e| SandboxError::CommandFailed {
        node: "gluster".into(),
        command: command.into(),
        status: "unusable answer".into(),
        output: e.to_string(),
    }
}

/// [`run_command`] for the GlusterFS part.
fn run(command: &mut Command, what: &str, timeout: Duration) -> Result<String, SandboxError> {
    run_command(command, "gluster", what, timeout)
}

/// The inode identifying a network namespace file (`/run/netns/NS` or `/proc/PID/ns/net`).
fn namespace_id(path: &Path) -> Option<(u64, u64)> {
    fs::metadata(path).ok().map(|m| (m.dev(), m.ino()))
}

/// Whether `pid` lives in network namespace `id`. Namespaces are compared by inode: the
/// nsfs inode names the namespace whichever path (bind mount or /proc) reaches it.
fn in_namespace(pid: u32, id: (u64, u64)) -> bool {
    namespace_id(Path::new(&format!("/proc/{pid}/ns/net"))).is_some_and(|ns| ns.1 == id.1)
}

/// Every live process whose network namespace is `id`.
fn pids_in_namespace(id: (u64, u64)) -> Vec<u32> {
    let Ok(entries) = fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.parse::<u32>().ok()))
        .filter(|&pid| pid != std::process::id())
        .filter(|&pid| in_namespace(pid, id) && node::is_alive(pid))
        .collect()
}

/// Whether `path` is a mount point (per /proc/self/mountinfo).
fn is_mounted(path: &Path) -> bool {
    let Ok(info) = fs::read_to_string("/proc/self/mountinfo") else {
        return false;
    };
    mount_type(&info, &path.display().to_string()).is_some()
}

fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_and_names() {
        let st = GlusterState::new(Path::new("/tmp/sb"), "qsb-0011aabb".into());
        assert_eq!(
            st.brick_name(0).as_deref(),
            Some("10.254.0.1:/tmp/sb/gl/b1")
        );
        assert_eq!(
            st.brick_name(2).as_deref(),
            Some("10.254.0.2:/tmp/sb/gl/b3"),
            "the last brick is the peer's"
        );
        assert_eq!(st.brick_name(3), None);
        assert_eq!(st.cli_command(), ["/tmp/sb/gl/s1/ns", "gluster"]);
        assert_eq!(st.mount, Path::new("/tmp/sb/gl/mnt"));
        let namespaces: Vec<PathBuf> = st.servers.iter().map(|s| s.netns_path()).collect();
        assert_eq!(
            namespaces,
            [
                Path::new("/run/netns/qsb-0011aabb"),
                Path::new("/run/netns/qsb-0011aabb-p")
            ]
        );
        assert_eq!(
            st.servers[1].log(),
            Path::new("/tmp/sb/gl/s2/log/glusterd.log")
        );
    }

    #[test]
    fn namespace_names_are_unique() {
        let a = namespace_name().expect("name");
        let b = namespace_name().expect("name");
        assert!(a.starts_with("qsb-") && a.len() == 12, "{a}");
        assert_ne!(a, b);
    }

    #[test]
    fn mountinfo_and_quoting() {
        assert_eq!(shell_quote("/x/it's"), "'/x/it'\\''s'");
        assert!(is_mounted(Path::new("/proc")));
        assert!(!is_mounted(Path::new("/definitely/not/mounted")));
    }
}
