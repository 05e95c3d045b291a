//! Where everything of a sandbox is: the directory (created empty, opened up for the mysql
//! user, its socket paths short enough) and the paths and ports of each node and file in it.

use std::fs;
use std::io;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use super::state::STATE_FILE;
use super::{node, Gluster, Network, Sandbox, SandboxError};

/// sun_path holds 108 bytes including the terminating NUL.
const MAX_SOCKET_PATH: usize = 107;

impl Sandbox {
    /// The sandbox directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// `DIR/quorate.yaml`.
    pub fn config_path(&self) -> PathBuf {
        self.dir.join("quorate.yaml")
    }

    /// `DIR/mysql.password`: the monitoring user's password.
    pub fn password_file(&self) -> PathBuf {
        self.dir.join("mysql.password")
    }

    /// `DIR/recovery.token`: the bearer token of the nodes' `/galera/*` endpoints (0600).
    pub fn token_file(&self) -> PathBuf {
        self.dir.join("recovery.token")
    }

    /// The address reserved for `quorate serve` (also in quorate.yaml).
    pub fn listen_address(&self) -> String {
        format!("127.0.0.1:{}", self.state.listen_port)
    }

    /// The address of `node`'s own `quorate serve` (its `/galera/state` endpoint).
    pub fn serve_address(&self, node: &str) -> Result<String, SandboxError> {
        Ok(format!("127.0.0.1:{}", self.state.node(node)?.serve_port))
    }

    /// The nodes' network (partition, heal), when the sandbox was started with `--netns`.
    pub fn network(&self) -> Result<Network<'_>, SandboxError> {
        self.state
            .network
            .as_ref()
            .map(|st| Network { st })
            .ok_or(SandboxError::NoNetwork)
    }

    /// The GlusterFS volume, when the sandbox has one.
    pub fn gluster(&self) -> Option<Gluster<'_>> {
        self.state.gluster.as_ref().map(|st| Gluster { st })
    }

    /// `node1`, `node2`, ... in order.
    pub fn node_names(&self) -> Vec<String> {
        self.state.nodes.iter().map(|n| n.name.clone()).collect()
    }

    /// The node's MariaDB TCP port on 127.0.0.1.
    pub fn mysql_port(&self, node: &str) -> Result<u16, SandboxError> {
        Ok(self.state.node(node)?.mysql_port)
    }

    /// The node's unix socket.
    pub fn socket(&self, node: &str) -> Result<PathBuf, SandboxError> {
        Ok(self.state.node(node)?.socket.clone())
    }

    /// The node's datadir (grastate.dat lives here).
    pub fn datadir(&self, node: &str) -> Result<PathBuf, SandboxError> {
        Ok(self.state.node(node)?.datadir.clone())
    }

    /// The node's mariadbd error log.
    pub fn error_log(&self, node: &str) -> Result<PathBuf, SandboxError> {
        Ok(self.state.node(node)?.log_error.clone())
    }
}

/// Canonical path of an existing sandbox directory.
pub(super) fn resolve(dir: &Path) -> Result<PathBuf, SandboxError> {
    fs::canonicalize(dir).map_err(|e| match e.kind() {
        io::ErrorKind::NotFound => SandboxError::NotASandbox {
            dir: dir.to_path_buf(),
        },
        _ => SandboxError::io("cannot resolve", dir, e),
    })
}

pub(super) fn remove_dir(dir: &Path) {
    if let Err(e) = fs::remove_dir_all(dir) {
        if e.kind() != io::ErrorKind::NotFound {
            tracing::warn!("cannot remove {}: {e}", dir.display());
        }
    }
}

/// Creates (or accepts an empty) sandbox directory and makes it usable by the mysql user.
/// Returns its canonical path. Refuses a directory holding a sandbox or anything else.
pub(super) fn prepare_dir(dir: &Path, nodes: usize) -> Result<PathBuf, SandboxError> {
    match fs::read_dir(dir) {
        Ok(mut entries) => {
            if dir.join(STATE_FILE).exists() {
                return Err(SandboxError::AlreadyExists {
                    dir: dir.to_path_buf(),
                });
            }
            if entries.next().is_some() {
                return Err(SandboxError::DirNotEmpty {
                    dir: dir.to_path_buf(),
                });
            }
        }
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            fs::create_dir_all(dir).map_err(|e| SandboxError::io("cannot create", dir, e))?;
        }
        Err(e) => return Err(SandboxError::io("cannot read", dir, e)),
    }
    let checked = (|| {
        let canonical =
            fs::canonicalize(dir).map_err(|e| SandboxError::io("cannot resolve", dir, e))?;
        // The longest socket path is the last node's.
        let socket = canonical.join(format!("n{nodes}")).join("sock");
        let len = socket.as_os_str().len();
        if len > MAX_SOCKET_PATH {
            return Err(SandboxError::PathTooLong {
                path: socket,
                len,
                max: MAX_SOCKET_PATH,
            });
        }
        // mariadbd (and mariadb-install-db, and the rsync SST daemon) run as mysql and must reach
        // DIR/nK. Temp dirs are created 0700 by root, so open DIR itself up for traversal and
        // listing; its secrets (mysql.password) are 0600 files of their own.
        fs::set_permissions(&canonical, fs::Permissions::from_mode(0o755))
            .map_err(|e| SandboxError::io("cannot chmod", &canonical, e))?;
        // Only mariadbd (which runs as mysql) needs to traverse DIR.
        if nodes > 0 {
            check_traversable(&canonical)?;
        }
        Ok(canonical)
    })();
    if checked.is_err() {
        remove_dir(dir);
    }
    checked
}

/// Every ancestor of `dir` must be searchable by the mysql user; we do not chmod directories we
/// did not create, we say which one blocks.
fn check_traversable(dir: &Path) -> Result<(), SandboxError> {
    let (uid, gid) = node::mysql_ids()?;
    for ancestor in dir.ancestors().skip(1) {
        let meta =
            fs::metadata(ancestor).map_err(|e| SandboxError::io("cannot stat", ancestor, e))?;
        let mode = meta.mode();
        let ok = if meta.uid() == uid {
            mode & 0o100 != 0
        } else if meta.gid() == gid {
            mode & 0o010 != 0
        } else {
            mode & 0o001 != 0
        };
        if !ok {
            return Err(SandboxError::NotTraversable {
                path: ancestor.to_path_buf(),
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prepare_dir_refuses_sandbox_and_non_empty_dirs() {
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::write(tmp.path().join(STATE_FILE), b"{}").expect("write");
        assert!(matches!(
            prepare_dir(tmp.path(), 3),
            Err(SandboxError::AlreadyExists { .. })
        ));
        fs::remove_file(tmp.path().join(STATE_FILE)).expect("rm");
        fs::write(tmp.path().join("other"), b"x").expect("write");
        assert!(matches!(
            prepare_dir(tmp.path(), 3),
            Err(SandboxError::DirNotEmpty { .. })
        ));
        // Refusals never delete anything.
        assert!(tmp.path().join("other").exists());
    }

    #[test]
    fn prepare_dir_rejects_long_socket_paths() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let long = tmp.path().join("x".repeat(100));
        let err = prepare_dir(&long, 3).expect_err("too long");
        assert!(matches!(err, SandboxError::PathTooLong { .. }), "{err}");
        // What we created for the attempt is gone again.
        assert!(!long.exists());
    }

    #[test]
    fn prepare_dir_names_an_untraversable_parent() {
        if node::mysql_ids().is_err() {
            eprintln!("no mysql user on this machine; skipped");
            return;
        }
        let tmp = tempfile::tempdir().expect("tempdir");
        fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o700)).expect("chmod");
        let inner = tmp.path().join("sb");
        let err = prepare_dir(&inner, 3).expect_err("parent is 0700");
        match err {
            SandboxError::NotTraversable { ref path } => assert_eq!(path, tmp.path()),
            other => panic!("unexpected: {other}"),
        }
        assert!(!inner.exists());
        // The directory itself may be 0700: up opens it up.
        let ok = prepare_dir(tmp.path(), 3).expect("tempdir itself");
        let mode = fs::metadata(&ok).expect("stat").permissions().mode();
        assert_eq!(mode & 0o777, 0o755);
    }
}
