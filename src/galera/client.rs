//! I/O for the Galera source: a persistent mysql_async pool per node, the monitoring queries,
//! `wsrep_desync` for `quorate maintenance`, and reading grastate.dat from a node's datadir.
//!
//! Every call here is bounded by a deadline given by the caller: a node that refuses
//! connections fails at once, a node that hangs (SIGSTOP, a stuck disk) fails at the deadline.
//! Nothing here retries; the next scrape is the retry.

use std::path::Path;
use std::time::Duration;

use mysql_async::prelude::Queryable;
use mysql_async::{OptsBuilder, Pool, PoolConstraints, PoolOpts, Row, Value};

use super::parse::{self, GraState, WsrepStatus, WsrepVariables};
use super::{CollectError, GaleraReading, VARIABLES};
use crate::config::{MysqlAuth, MysqlEndpoint};

/// A persistent connection pool to one node's MySQL server.
#[derive(Debug, Clone)]
pub struct NodeClient {
    node: String,
    endpoint: MysqlEndpoint,
    pool: Pool,
    /// The monitoring queries, built once: [`monitoring_queries`].
    queries: String,
}

/// The client's `max_allowed_packet` (what MariaDB's server defaults to).
const MAX_PACKET: usize = 16 << 20;

/// The idle time after which a single-use client would take its connection for closed by the
/// server (an hour; it exits within seconds).
const SINGLE_USE_WAIT_TIMEOUT: usize = 3600;

/// The monitoring queries as one multi-statement text, sent in one round trip:
/// `SET SESSION wsrep_sync_wait=0`, so that they never wait for the cluster to catch up
/// (causality checks; a lagging node would hang every scrape) — on every scrape rather than
/// once at connect, which would cost a round trip per connection and be undone by a session
/// reset; then `SHOW GLOBAL STATUS LIKE 'wsrep%'` and `SHOW GLOBAL VARIABLES WHERE
/// Variable_name IN (…)` for [`VARIABLES`].
pub fn monitoring_queries() -> String {
    let names = VARIABLES
        .iter()
        .map(|v| format!("'{v}'"))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "SET SESSION wsrep_sync_wait=0; SHOW GLOBAL STATUS LIKE 'wsrep%'; \
         SHOW GLOBAL VARIABLES WHERE Variable_name IN ({names})"
    )
}

impl NodeClient {
    /// Builds the pool for a long-lived user (`quorate serve`, recovery, maintenance). No
    /// connection is made until the first collection.
    pub fn new(node: &str, endpoint: &MysqlEndpoint, auth: &MysqlAuth) -> NodeClient {
        NodeClient::build(node, endpoint, auth, None)
    }

    /// Builds the pool for a process that asks once and exits (the checks): connecting does
    /// not ask the server for its `wait_timeout` (a round trip), which the pool needs only to
    /// tell when a server has closed an idle connection — no connection here lives that long.
    pub fn single_use(node: &str, endpoint: &MysqlEndpoint, auth: &MysqlAuth) -> NodeClient {
        NodeClient::build(node, endpoint, auth, Some(SINGLE_USE_WAIT_TIMEOUT))
    }

    fn build(
        node: &str,
        endpoint: &MysqlEndpoint,
        auth: &MysqlAuth,
        wait_timeout: Option<usize>,
    ) -> NodeClient {
        let mut opts = OptsBuilder::default()
            .user(Some(auth.user.clone()))
            .pass(auth.password.as_ref().map(|p| p.expose().to_string()))
            // The client's packet limit, so that connecting does not ask the server for its
            // own (a round trip per connection; every check connects once). The answers here
            // are rows of a few hundred bytes; the server's default is 16 MiB as well.
            .max_allowed_packet(Some(MAX_PACKET))
            .wait_timeout(wait_timeout)
            .stmt_cache_size(0)
            // Use exactly the configured endpoint; do not switch TCP to a local socket.
            .prefer_socket(false)
            .tcp_keepalive(Some(Duration::from_secs(30)))
            .pool_opts(
                PoolOpts::default()
                    // Few connections: one scrape at a time per node (collections are shared),
                    // plus headroom for a connection stuck on a frozen server.
                    .with_constraints(PoolConstraints::new(0, 4).unwrap_or_default())
                    // No COM_RESET_CONNECTION when a connection goes back to the pool: it
                    // cost a round trip per scrape. The queries leave no session state
                    // behind but the wsrep_sync_wait they set themselves.
                    .with_reset_connection(false)
                    .with_inactive_connection_ttl(Duration::from_secs(120))
                    .with_ttl_check_interval(Duration::from_secs(30)),
            );
        opts = match endpoint {
            MysqlEndpoint::Tcp { host, port } => opts.ip_or_hostname(host.clone()).tcp_port(*port),
            MysqlEndpoint::Socket(path) => opts.socket(Some(path.to_string_lossy().into_owned())),
        };
        NodeClient {
            node: node.to_string(),
            endpoint: endpoint.clone(),
            pool: Pool::new(opts),
            queries: monitoring_queries(),
        }
    }

    /// The node this client talks to.
    pub fn node(&self) -> &str {
        &self.node
    }

    /// Runs the monitoring queries within `timeout`.
    pub async fn collect(&self, timeout: Duration) -> Result<GaleraReading, CollectError> {
        match tokio::time::timeout(timeout, self.collect_unbounded()).await {
            Ok(result) => result,
            Err(_) => Err(CollectError::Timeout {
                node: self.node.clone(),
                endpoint: self.endpoint.to_string(),
                timeout,
            }),
        }
    }

    async fn collect_unbounded(&self) -> Result<GaleraReading, CollectError> {
        let mut conn = self.pool.get_conn().await.map_err(|e| self.error(e))?;
        // The statements in one round trip (the client asks for multi-statement support at
        // connect); each answer is one result set, read in order: the SET's has no rows.
        let mut answers = conn
            .query_iter(self.queries.as_str())
            .await
            .map_err(|e| self.error(e))?;
        answers
            .reduce((), |(), _: Row| ())
            .await
            .map_err(|e| self.error(e))?;
        let status = answers
            .reduce(Vec::new(), push_name_value)
            .await
            .map_err(|e| self.error(e))?;
        let variables = answers
            .reduce(Vec::new(), push_name_value)
            .await
            .map_err(|e| self.error(e))?;
        // Nothing is left to read; this only confirms it before the connection is reused.
        answers.drop_result().await.map_err(|e| self.error(e))?;
        Ok(GaleraReading {
            status: WsrepStatus::from_rows(status),
            variables: WsrepVariables::from_rows(variables),
        })
    }

    /// `SET GLOBAL wsrep_desync=ON|OFF` within `timeout` (`quorate maintenance --desync`; the
    /// account needs the privilege, which the monitoring account normally lacks).
    pub async fn set_desync(&self, on: bool, timeout: Duration) -> Result<(), CollectError> {
        let statement = if on {
            "SET GLOBAL wsrep_desync=ON"
        } else {
            "SET GLOBAL wsrep_desync=OFF"
        };
        let run = async {
            let mut conn = self.pool.get_conn().await.map_err(|e| self.error(e))?;
            conn.query_drop(statement).await.map_err(|e| self.error(e))
        };
        match tokio::time::timeout(timeout, run).await {
            Ok(result) => result,
            Err(_) => Err(CollectError::Timeout {
                node: self.node.clone(),
                endpoint: self.endpoint.to_string(),
                timeout,
            }),
        }
    }

    /// Closes the pool's connections (used when a reload drops or changes this node).
    pub async fn disconnect(self) {
        if let Err(e) = self.pool.disconnect().await {
            tracing::debug!(node = %self.node, error = %e, "closing pool");
        }
    }

    fn error(&self, e: mysql_async::Error) -> CollectError {
        let node = self.node.clone();
        let endpoint = self.endpoint.to_string();
        match e {
            mysql_async::Error::Server(s) => CollectError::Server {
                node,
                endpoint,
                code: s.code,
                message: s.message,
            },
            other => CollectError::Connection {
                node,
                endpoint,
                message: other.to_string(),
            },
        }
    }
}

/// Adds a SHOW row's (name, value) pair to `rows`.
fn push_name_value(mut rows: Vec<(String, String)>, row: Row) -> Vec<(String, String)> {
    rows.push(name_value(row));
    rows
}

/// A (name, value) pair from a SHOW row; NULL and non-UTF-8 values are kept readable.
fn name_value(row: Row) -> (String, String) {
    let text = |v: Option<Value>| match v {
        Some(Value::Bytes(b)) => String::from_utf8_lossy(&b).into_owned(),
        Some(Value::NULL) | None => String::new(),
        Some(other) => other.as_sql(true).trim_matches('\'').to_string(),
    };
    let mut row = row;
    let name = text(row.take::<Value, _>(0));
    let value = text(row.take::<Value, _>(1));
    (name, value)
}

/// Reads and parses `<datadir>/grastate.dat` within `timeout` (the file system may hang).
pub async fn read_grastate(
    node: &str,
    datadir: &Path,
    timeout: Duration,
) -> Result<GraState, CollectError> {
    let path = datadir.join("grastate.dat");
    // On a blocking thread, size-capped and refusing a FIFO or device (see `bounded`).
    let on_thread = path.clone();
    let read = tokio::time::timeout(
        timeout,
        tokio::task::spawn_blocking(move || {
            crate::bounded::read(&on_thread, crate::bounded::SMALL_FILE_CAP)
        }),
    )
    .await;
    let bytes = match read {
        Err(_) => {
            return Err(CollectError::File {
                node: node.to_string(),
                path,
                message: format!("no answer within {timeout:?}"),
            })
        }
        Ok(Err(e)) => {
            return Err(CollectError::File {
                node: node.to_string(),
                path,
                message: e.to_string(),
            })
        }
        Ok(Ok(Err(e))) => {
            return Err(CollectError::File {
                node: node.to_string(),
                path,
                message: e.reason(),
            })
        }
        Ok(Ok(Ok(bytes))) => bytes,
    };
    parse::parse_grastate(&String::from_utf8_lossy(&bytes)).map_err(|e| CollectError::Parse {
        node: node.to_string(),
        path,
        message: e.to_string(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_huge_or_endless_grastate_is_refused_quickly() {
        let dir = tempfile::tempdir().expect("tempdir");
        let path = dir.path().join("grastate.dat");
        crate::bounded::test_files::sparse(&path, 2 << 30);
        let started = std::time::Instant::now();
        let e = read_grastate("db1", dir.path(), Duration::from_secs(5))
            .await
            .expect_err("2 GB");
        assert!(started.elapsed() < Duration::from_secs(1), "{e}");
        assert!(e.to_string().contains("larger than the limit"), "{e}");

        std::fs::remove_file(&path).expect("rm");
        crate::bounded::test_files::fifo(&path);
        let e = read_grastate("db1", dir.path(), Duration::from_secs(5))
            .await
            .expect_err("fifo");
        assert!(started.elapsed() < Duration::from_secs(2), "{e}");
        assert!(e.to_string().contains("is a FIFO"), "{e}");
    }
}
