//! Asking the nodes: SQL as root over each node's socket, and [`Sandbox::status`], one
//! [`NodeStatus`] line per node.

use std::fmt;
use std::time::Duration;

use super::node_ops::verified_pid;
use super::{sql, Sandbox, SandboxError, SQL_TIMEOUT};

/// One line of [`Sandbox::status`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeStatus {
    pub name: String,
    /// The verified mariadbd pid, if it runs.
    pub pid: Option<u32>,
    pub alive: bool,
    pub mysql_port: u16,
    /// wsrep_local_state, when the node answered.
    pub local_state: Option<u32>,
    /// wsrep_local_state_comment (`Synced`, `Donor/Desynced`, ...), when the node answered.
    pub state_comment: Option<String>,
    /// wsrep_cluster_status (`Primary`, `non-Primary`, ...), when the node answered.
    pub cluster_status: Option<String>,
    /// wsrep_cluster_size, when the node answered.
    pub cluster_size: Option<u32>,
    /// Why the node did not answer, if it runs but could not be queried.
    pub error: Option<String>,
}

impl fmt::Display for NodeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let pid = self.pid.map_or_else(|| "-".to_owned(), |p| p.to_string());
        write!(
            f,
            "{:<8} pid {:<8} port {:<6} ",
            self.name, pid, self.mysql_port
        )?;
        if !self.alive {
            return write!(f, "stopped");
        }
        match (&self.state_comment, &self.error) {
            (Some(comment), _) => write!(
                f,
                "{} {} size {}",
                comment,
                self.cluster_status.as_deref().unwrap_or("?"),
                self.cluster_size
                    .map_or_else(|| "?".to_owned(), |s| s.to_string())
            ),
            (None, Some(err)) => write!(f, "running, not answering: {err}"),
            (None, None) => write!(f, "running"),
        }
    }
}

/// Bound per node for [`Sandbox::status`]: a frozen node must not hang it.
const STATUS_TIMEOUT: Duration = Duration::from_secs(3);

impl Sandbox {
    /// Runs `sql` as root over the node's socket (SQL on stdin) and returns the rows, each value
    /// unescaped. Bounded by 30 s.
    pub fn sql(&self, node: &str, sql: &str) -> Result<Vec<Vec<String>>, SandboxError> {
        self.sql_with_timeout(node, sql, SQL_TIMEOUT)
    }

    /// [`Sandbox::sql`] with an explicit bound.
    pub fn sql_with_timeout(
        &self,
        node: &str,
        sql: &str,
        timeout: Duration,
    ) -> Result<Vec<Vec<String>>, SandboxError> {
        let n = self.state.node(node)?;
        sql::run(&self.tools.client, &n.name, &n.socket, sql, timeout, None)
    }

    /// One line per node: pid, port and, when it answers within 3 s, its wsrep state.
    pub fn status(&self) -> Vec<NodeStatus> {
        self.state
            .nodes
            .iter()
            .map(|n| {
                let pid = verified_pid(n);
                let mut st = NodeStatus {
                    name: n.name.clone(),
                    pid,
                    alive: pid.is_some(),
                    mysql_port: n.mysql_port,
                    local_state: None,
                    state_comment: None,
                    cluster_status: None,
                    cluster_size: None,
                    error: None,
                };
                if pid.is_none() {
                    return st;
                }
                let query = "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state', \
                     'wsrep_local_state_comment', 'wsrep_cluster_status', 'wsrep_cluster_size')";
                match sql::run(
                    &self.tools.client,
                    &n.name,
                    &n.socket,
                    query,
                    STATUS_TIMEOUT,
                    None,
                ) {
                    Ok(rows) => {
                        for row in rows {
                            let (Some(name), Some(value)) = (row.first(), row.get(1)) else {
                                continue;
                            };
                            match name.to_ascii_lowercase().as_str() {
                                "wsrep_local_state" => st.local_state = value.parse().ok(),
                                "wsrep_local_state_comment" => {
                                    st.state_comment = Some(value.clone())
                                }
                                "wsrep_cluster_status" => st.cluster_status = Some(value.clone()),
                                "wsrep_cluster_size" => st.cluster_size = value.parse().ok(),
                                _ => {}
                            }
                        }
                    }
                    Err(e) => st.error = Some(e.to_string()),
                }
                st
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_line_is_readable() {
        let st = NodeStatus {
            name: "node1".to_owned(),
            pid: Some(42),
            alive: true,
            mysql_port: 3306,
            local_state: Some(4),
            state_comment: Some("Synced".to_owned()),
            cluster_status: Some("Primary".to_owned()),
            cluster_size: Some(3),
            error: None,
        };
        let line = st.to_string();
        assert!(line.contains("Synced Primary size 3"), "{line}");
        let stopped = NodeStatus {
            pid: None,
            alive: false,
            ..st
        };
        assert!(stopped.to_string().ends_with("stopped"));
    }
}
