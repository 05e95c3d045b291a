//! `DIR/sandbox.json`: everything needed to drive a sandbox from another process.
//!
//! `quorate sandbox up` exits while the cluster keeps running, so `status`, `down` and the node
//! operations find the nodes (ports, paths, pids) here rather than in memory. The file is
//! rewritten atomically (temp file + rename) whenever a pid changes, so a reader never sees half a
//! file.

use std::fs;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gluster::GlusterState;
use super::net::NetworkState;
use super::SandboxError;

/// File name of the state file inside the sandbox directory.
pub(crate) const STATE_FILE: &str = "sandbox.json";

/// Format version; bumped if the layout changes incompatibly.
const VERSION: u32 = 1;

/// The whole sandbox.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct State {
    pub version: u32,
    /// Absolute sandbox directory.
    pub dir: PathBuf,
    /// wsrep_cluster_name of every node.
    pub cluster_name: String,
    /// The port reserved for `quorate serve` (written into quorate.yaml).
    pub listen_port: u16,
    pub nodes: Vec<NodeState>,
    /// The GlusterFS volume, when the sandbox has one (`up --gluster`).
    #[serde(default)]
    pub gluster: Option<GlusterState>,
    /// The nodes' network namespaces, when the sandbox has them (`up --netns`); otherwise
    /// every node is on loopback.
    #[serde(default)]
    pub network: Option<NetworkState>,
}

/// One node: its ports, its files and the pid of the mariadbd we last started for it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct NodeState {
    /// `node1`, `node2`, ...: also wsrep_node_name and the controller hostname in quorate.yaml.
    pub name: String,
    pub mysql_port: u16,
    pub gmcast_port: u16,
    pub ist_port: u16,
    pub sst_port: u16,
    /// Where this node's own `quorate serve --node NAME` listens (its `/galera/state`
    /// endpoint in quorate.yaml); 0 in sandboxes made before it existed.
    #[serde(default)]
    pub serve_port: u16,
    /// `DIR/nK`, owned by mysql: holds the socket, pid file and error log.
    pub home: PathBuf,
    pub datadir: PathBuf,
    /// Private temp dir: mariadbd processes sharing /tmp collide on temporary table files
    /// (seen with parallel mariadb-install-db runs: "Unknown table 'mysql.tmp_user_sys'").
    pub tmpdir: PathBuf,
    pub socket: PathBuf,
    pub pid_file: PathBuf,
    pub log_error: PathBuf,
    /// None when we know it is stopped; otherwise verify before use (it may have died and the
    /// pid been reused).
    pub pid: Option<u32>,
    /// The node's own `quorate serve --node NAME` started by `up --serve`, if any (verified
    /// the same way before it is signalled).
    #[serde(default)]
    pub serve_pid: Option<u32>,
}

impl State {
    /// Lays out `nodes` nodes under `dir` using `ports` (4 per node, then the listen port,
    /// then one serve port per node).
    pub fn new(dir: &Path, count: usize, ports: &[u16]) -> State {
        assert_eq!(
            ports.len(),
            5 * count + 1,
            "4 ports per node, the listen port, one serve port per node"
        );
        let nodes = (0..count)
            .map(|i| {
                let home = dir.join(format!("n{}", i + 1));
                let p = &ports[4 * i..4 * i + 4];
                NodeState {
                    name: format!("node{}", i + 1),
                    mysql_port: p[0],
                    gmcast_port: p[1],
                    ist_port: p[2],
                    sst_port: p[3],
                    serve_port: ports[4 * count + 1 + i],
                    datadir: home.join("data"),
                    tmpdir: home.join("tmp"),
                    // Short on purpose: unix socket paths are limited to 107 bytes.
                    socket: home.join("sock"),
                    pid_file: home.join("mariadbd.pid"),
                    log_error: home.join("error.log"),
                    home,
                    pid: None,
                    serve_pid: None,
                }
            })
            .collect();
        State {
            version: VERSION,
            dir: dir.to_path_buf(),
            cluster_name: "sandbox".to_owned(),
            listen_port: ports[4 * count],
            nodes,
            gluster: None,
            network: None,
        }
    }

    /// The address `node`'s Galera listens on and is reached at: 127.0.0.1, or its address
    /// on the sandbox network.
    pub fn host(&self, node: &NodeState) -> String {
        self.network
            .as_ref()
            .and_then(|n| n.address(&node.name).ok())
            .unwrap_or_else(|| "127.0.0.1".to_owned())
    }

    /// The network namespace `node` runs in, if any.
    pub fn namespace(&self, node: &NodeState) -> Option<String> {
        self.network
            .as_ref()
            .and_then(|n| n.namespace(&node.name).ok())
    }

    pub fn node(&self, name: &str) -> Result<&NodeState, SandboxError> {
        self.nodes
            .iter()
            .find(|n| n.name == name)
            .ok_or_else(|| self.unknown(name))
    }

    pub fn node_mut(&mut self, name: &str) -> Result<&mut NodeState, SandboxError> {
        let err = self.unknown(name);
        self.nodes.iter_mut().find(|n| n.name == name).ok_or(err)
    }

    fn unknown(&self, name: &str) -> SandboxError {
        SandboxError::UnknownNode {
            node: name.to_owned(),
            known: self
                .nodes
                .iter()
                .map(|n| n.name.as_str())
                .collect::<Vec<_>>()
                .join(", "),
        }
    }

    /// `gcomm://127.0.0.1:G1,127.0.0.1:G2,...`: every node, so any node can (re)join through any
    /// live member.
    pub fn cluster_address(&self) -> String {
        let members = self
            .nodes
            .iter()
            .map(|n| format!("{}:{}", self.host(n), n.gmcast_port))
            .collect::<Vec<_>>()
            .join(",");
        format!("gcomm://{members}")
    }

    pub fn path(dir: &Path) -> PathBuf {
        dir.join(STATE_FILE)
    }

    pub fn load(dir: &Path) -> Result<State, SandboxError> {
        let path = State::path(dir);
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(SandboxError::NotASandbox {
                    dir: dir.to_path_buf(),
                })
            }
            Err(e) => return Err(SandboxError::io("cannot read", path, e)),
        };
        serde_json::from_slice(&text).map_err(|source| SandboxError::State { path, source })
    }

    /// Writes the state atomically: readers see the old or the new file, never a mix.
    pub fn save(&self) -> Result<(), SandboxError> {
        let path = State::path(&self.dir);
        // Unique per process: `quorate sandbox start` run by recovery actions may save while
        // the test or CLI that made the sandbox saves too.
        let tmp = self
            .dir
            .join(format!("{STATE_FILE}.tmp.{}", std::process::id()));
        let text = serde_json::to_vec_pretty(self).map_err(|source| SandboxError::State {
            path: path.clone(),
            source,
        })?;
        fs::write(&tmp, text).map_err(|e| SandboxError::io("cannot write", &tmp, e))?;
        fs::rename(&tmp, &path).map_err(|e| SandboxError::io("cannot replace", &path, e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample(dir: &Path) -> State {
        let ports: Vec<u16> = (10_000..10_016).collect();
        State::new(dir, 3, &ports)
    }

    #[test]
    fn layout_assigns_ports_and_short_paths() {
        let s = sample(Path::new("/x"));
        assert_eq!(s.nodes.len(), 3);
        let n2 = s.node("node2").expect("node2");
        assert_eq!(
            (n2.mysql_port, n2.gmcast_port, n2.ist_port, n2.sst_port),
            (10_004, 10_005, 10_006, 10_007)
        );
        assert_eq!(n2.socket, Path::new("/x/n2/sock"));
        assert_eq!(n2.datadir, Path::new("/x/n2/data"));
        assert_eq!(s.listen_port, 10_012);
        assert_eq!(
            s.cluster_address(),
            "gcomm://127.0.0.1:10001,127.0.0.1:10005,127.0.0.1:10009"
        );
        assert!(matches!(
            s.node("node4"),
            Err(SandboxError::UnknownNode { ref known, .. }) if known == "node1, node2, node3"
        ));
    }

    #[test]
    fn state_file_round_trip() {
        let dir = tempfile::tempdir().expect("tempdir");
        let mut s = sample(dir.path());
        s.nodes[1].pid = Some(4242);
        s.save().expect("save");
        let back = State::load(dir.path()).expect("load");
        assert_eq!(back, s);
        assert!(!dir
            .path()
            .join(format!("sandbox.json.tmp.{}", std::process::id()))
            .exists());
    }

    #[test]
    fn missing_state_file_is_not_a_sandbox() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert!(matches!(
            State::load(dir.path()),
            Err(SandboxError::NotASandbox { .. })
        ));
    }

    #[test]
    fn corrupt_state_file_names_the_file() {
        let dir = tempfile::tempdir().expect("tempdir");
        fs::write(dir.path().join(STATE_FILE), b"{not json").expect("write");
        let err = State::load(dir.path()).expect_err("corrupt");
        assert!(err.to_string().contains("sandbox.json"), "{err}");
    }
}
