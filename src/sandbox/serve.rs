//! Writing the sandbox's quorate.yaml and running one `quorate serve` per node (the recovery
//! topology), recorded in sandbox.json and ended by verified pid.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use super::state::State;
use super::{node, yaml, Sandbox, SandboxError, KILL_TIMEOUT};

/// `quorate serve` binds its port at once; generous for a loaded machine.
const SERVE_START_TIMEOUT: Duration = Duration::from_secs(20);

impl Sandbox {
    /// Starts one `quorate serve --node NAME` per node (the realistic recovery topology: each
    /// host serves its own `/galera/state`), detached and recorded in sandbox.json so that
    /// `down` ends them by pid; waits until each accepts connections. `binary` is the quorate
    /// to run; quorate.yaml is rewritten to name it in the recovery commands too.
    pub fn start_serves(&mut self, binary: &Path) -> Result<(), SandboxError> {
        self.write_config(binary)?;
        let config = self.config_path();
        for name in self.node_names() {
            let n = self.state.node(&name)?;
            if let Some(pid) = n
                .serve_pid
                .filter(|&p| node::is_our_serve(p, &config, &name))
            {
                tracing::debug!(node = %name, pid, "quorate serve already runs");
                continue;
            }
            let listen = self.serve_address(&name)?;
            let mut command = Command::new(binary);
            command
                .arg("serve")
                .arg("--config")
                .arg(&config)
                .args(["--node", &name, "--listen", &listen]);
            let console = n.home.join("serve.log");
            let pid = node::spawn_detached(&mut command, &console, "quorate serve")?;
            self.state.node_mut(&name)?.serve_pid = Some(pid);
            self.state.save()?;
            wait_listening(&listen, pid, &console, SERVE_START_TIMEOUT).map_err(|output| {
                SandboxError::CommandFailed {
                    node: name.clone(),
                    command: format!("quorate serve --node {name} --listen {listen}"),
                    status: "not listening".into(),
                    output,
                }
            })?;
        }
        Ok(())
    }

    /// Rewrites `DIR/quorate.yaml` so that the recovery commands run `quorate` at `binary`
    /// (tests pass the binary cargo built; `quorate sandbox up` uses itself).
    pub fn write_config(&self, binary: &Path) -> Result<(), SandboxError> {
        let config = self.config_path();
        let text = yaml::render(
            &self.state,
            &self.password_file(),
            &yaml::Recovery {
                token_file: &self.token_file(),
                quorate: binary,
                mariadbd: &self.tools.mariadbd,
                client: &self.tools.client,
                args: &|n| self.mariadbd_args(n, false).unwrap_or_default(),
            },
        );
        fs::write(&config, text).map_err(|e| SandboxError::io("cannot write", &config, e))
    }
}

/// Waits until something accepts TCP connections on `addr`; the error is the tail of
/// `console` (the process died, or never listened within `timeout`).
fn wait_listening(addr: &str, pid: u32, console: &Path, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    loop {
        if std::net::TcpStream::connect(addr).is_ok() {
            return Ok(());
        }
        if !node::is_alive(pid) || Instant::now() >= deadline {
            return Err(node::log_tail(console, 15));
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Ends the per-node `quorate serve` processes (SIGTERM, then SIGKILL), each only after
/// /proc confirms it is the one the sandbox started.
pub(super) fn stop_serves(state: &State) {
    let config = state.dir.join("quorate.yaml");
    let targets: Vec<u32> = state
        .nodes
        .iter()
        .filter_map(|n| {
            n.serve_pid
                .filter(|&p| node::is_our_serve(p, &config, &n.name))
        })
        .collect();
    for &pid in &targets {
        node::signal(pid, libc::SIGTERM);
    }
    for &pid in &targets {
        if !node::wait_gone(pid, Duration::from_secs(10)) {
            node::signal(pid, libc::SIGKILL);
            node::wait_gone(pid, KILL_TIMEOUT);
        }
    }
}

/// The `quorate` that recovery commands in quorate.yaml run: this program when it is quorate
/// (`quorate sandbox up`), else `quorate` from PATH (tests rewrite it with `write_config`).
pub(super) fn default_quorate_binary() -> PathBuf {
    std::env::current_exe()
        .ok()
        .filter(|p| p.file_name().is_some_and(|n| n == "quorate"))
        .unwrap_or_else(|| PathBuf::from("quorate"))
}
