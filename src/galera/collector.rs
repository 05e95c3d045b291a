//! Collecting one Galera node for a scrape (I/O): the live server over MySQL and the on-disk
//! grastate.dat, concurrently, each with its own deadline and its own [`Collected`] success and
//! duration, so one slow part never fails the other. The result is a [`GaleraSnapshot`].
//!
//! Concurrent scrapes of the same node share one in-flight collection: the first request
//! starts it (on its own task, so it survives a requester that gives up) and later requests
//! wait on the same result, each within its own deadline.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

use futures::future::{BoxFuture, FutureExt, Shared};

use super::client::{self, NodeClient};
use super::CollectError;
use super::{GaleraSnapshot, LastSuccess};
use crate::collected::Collected;
use crate::config::{MysqlAuth, Node, Settings};

type SharedSnapshot = Shared<BoxFuture<'static, Arc<GaleraSnapshot>>>;

/// One node's collectors and its in-flight collection.
pub struct NodeSource {
    node: Node,
    auth: MysqlAuth,
    client: NodeClient,
    inflight: Mutex<Option<(u64, SharedSnapshot)>>,
    next_id: AtomicU64,
    /// When a collection last succeeded, across scrapes.
    last_success: Mutex<LastSuccess>,
}

impl NodeSource {
    pub fn new(node: &Node, auth: &MysqlAuth) -> Arc<NodeSource> {
        Arc::new(NodeSource {
            node: node.clone(),
            auth: auth.clone(),
            client: NodeClient::new(&node.name, &node.mysql, auth),
            inflight: Mutex::new(None),
            next_id: AtomicU64::new(0),
            last_success: Mutex::new(LastSuccess::default()),
        })
    }

    pub fn node(&self) -> &Node {
        &self.node
    }

    /// The live-server client, for callers that need more than a snapshot.
    pub fn client(&self) -> &NodeClient {
        &self.client
    }

    /// Whether this source can keep serving `node` under `auth` (a reload changed nothing
    /// that matters to it), so its pool and warm connections survive the reload.
    pub fn serves(&self, node: &Node, auth: &MysqlAuth) -> bool {
        &self.node == node && &self.auth == auth
    }

    /// A snapshot within `deadline`: joins a collection already in flight, or starts one.
    pub async fn snapshot(self: &Arc<Self>, deadline: Duration) -> Arc<GaleraSnapshot> {
        let shared = self.join_or_start(deadline);
        match tokio::time::timeout(deadline, shared).await {
            Ok(snapshot) => snapshot,
            // We joined a collection started with a longer deadline than ours.
            Err(_) => Arc::new(self.timed_out(deadline)),
        }
    }

    fn join_or_start(self: &Arc<Self>, deadline: Duration) -> SharedSnapshot {
        let mut slot = match self.inflight.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        };
        if let Some((_, shared)) = slot.as_ref() {
            return shared.clone();
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let this = Arc::clone(self);
        let task = tokio::spawn(async move {
            let snapshot = Arc::new(this.collect(deadline).await);
            // Clear the slot so the next scrape collects afresh (only if it is still ours).
            let mut slot = match this.inflight.lock() {
                Ok(guard) => guard,
                Err(poisoned) => poisoned.into_inner(),
            };
            if slot.as_ref().is_some_and(|(current, _)| *current == id) {
                *slot = None;
            }
            snapshot
        });
        let this = Arc::clone(self);
        let shared = async move {
            match task.await {
                Ok(snapshot) => snapshot,
                Err(e) => {
                    tracing::error!(node = %this.node.name, error = %e, "collection task failed");
                    Arc::new(this.timed_out(deadline))
                }
            }
        }
        .boxed()
        .shared();
        *slot = Some((id, shared.clone()));
        shared
    }

    async fn collect(&self, deadline: Duration) -> GaleraSnapshot {
        let server = Collected::measure(self.client.collect(deadline));
        let grastate = async {
            let datadir = self.node.datadir.as_ref()?;
            Some(
                Collected::measure(client::read_grastate(&self.node.name, datadir, deadline)).await,
            )
        };
        let (server, grastate) = tokio::join!(server, grastate);
        let last_success = {
            let mut last = self.last_success();
            if server.succeeded() {
                last.server = Some(server.at);
            }
            if let Some(g) = grastate.as_ref().filter(|g| g.succeeded()) {
                last.grastate = Some(g.at);
            }
            *last
        };
        GaleraSnapshot {
            node: self.node.name.clone(),
            server,
            grastate,
            last_success,
        }
    }

    fn last_success(&self) -> std::sync::MutexGuard<'_, LastSuccess> {
        match self.last_success.lock() {
            Ok(guard) => guard,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn timed_out(&self, deadline: Duration) -> GaleraSnapshot {
        let timeout = || CollectError::Timeout {
            node: self.node.name.clone(),
            endpoint: self.node.mysql.to_string(),
            timeout: deadline,
        };
        let at = SystemTime::now();
        GaleraSnapshot {
            node: self.node.name.clone(),
            server: Collected {
                value: Err(timeout()),
                at,
                duration: deadline,
            },
            grastate: self.node.datadir.as_ref().map(|_| Collected {
                value: Err(timeout()),
                at,
                duration: deadline,
            }),
            last_success: *self.last_success(),
        }
    }
}

/// The local node, as the HTTP endpoints about it (`/health/galera`, `/galera/*`) need it.
pub struct LocalNode {
    /// The configuration in force.
    pub settings: Arc<Settings>,
    pub node: String,
    pub source: Arc<NodeSource>,
}

/// Where the endpoints about the local node find it and the configuration in force. The
/// server's state implements it, so the endpoints (the health check, recovery) do not depend
/// on the server.
pub trait LocalSource: Send + Sync + 'static {
    /// The configuration in force.
    fn settings(&self) -> Arc<Settings>;
    /// The local node and its source; why there is none otherwise.
    fn local_source(&self) -> Result<LocalNode, String>;
}

/// The sources of every Galera node of a configuration, by node name.
#[derive(Clone, Default)]
pub struct Sources {
    by_node: HashMap<String, Arc<NodeSource>>,
}

impl Sources {
    pub fn get(&self, node: &str) -> Option<&Arc<NodeSource>> {
        self.by_node.get(node)
    }

    /// Sources for `settings`, reusing every source whose node and credentials did not change.
    /// Also returns the sources that are no longer needed, for the caller to disconnect.
    pub fn rebuilt_for(&self, settings: &Settings) -> (Sources, Vec<Arc<NodeSource>>) {
        let mut by_node = HashMap::new();
        for node in settings.galera_nodes() {
            let source = match self.by_node.get(&node.name) {
                Some(existing) if existing.serves(node, &settings.mysql) => Arc::clone(existing),
                _ => NodeSource::new(node, &settings.mysql),
            };
            by_node.insert(node.name.clone(), source);
        }
        let retired = self
            .by_node
            .iter()
            .filter(|(name, old)| by_node.get(*name).is_none_or(|new| !Arc::ptr_eq(old, new)))
            .map(|(_, old)| Arc::clone(old))
            .collect();
        (Sources { by_node }, retired)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::MysqlEndpoint;
    use std::sync::atomic::AtomicUsize;
    use std::time::Instant;

    /// A TCP server on loopback that accepts connections and never says a word (what a
    /// SIGSTOPped mysqld looks like to a client). Counts accepted connections.
    fn silent_server() -> (u16, Arc<AtomicUsize>) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind loopback");
        let port = listener.local_addr().expect("local addr").port();
        let accepted = Arc::new(AtomicUsize::new(0));
        let count = Arc::clone(&accepted);
        std::thread::spawn(move || {
            let mut held = Vec::new();
            for stream in listener.incoming().flatten() {
                count.fetch_add(1, Ordering::SeqCst);
                held.push(stream);
            }
        });
        (port, accepted)
    }

    /// The count once the accept thread has caught up with the connections the kernel already
    /// completed (on a loaded machine it may run after the client gave up), bounded.
    fn accepted_settled(accepted: &AtomicUsize, at_least: usize) -> usize {
        let deadline = Instant::now() + Duration::from_secs(5);
        while accepted.load(Ordering::SeqCst) < at_least && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(10));
        }
        // A little longer, so that a surplus connection would be counted too.
        std::thread::sleep(Duration::from_millis(50));
        accepted.load(Ordering::SeqCst)
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_snapshots_share_one_collection() {
        let (port, accepted) = silent_server();
        let node = Node {
            name: "frozen".into(),
            ip_address: "127.0.0.1".parse().expect("ip"),
            priority: None,
            mariadb: true,
            glusterfs: false,
            mysql: MysqlEndpoint::Tcp {
                host: "127.0.0.1".into(),
                port,
            },
            datadir: None,
        };
        let auth = MysqlAuth {
            user: "quorate".into(),
            password: None,
        };
        let source = NodeSource::new(&node, &auth);
        let deadline = Duration::from_millis(300);
        let start = Instant::now();
        // Polled together, all ten ask for a snapshot before the first can finish, however
        // loaded the machine is.
        let snapshots = futures::future::join_all((0..10).map(|_| source.snapshot(deadline))).await;
        for snapshot in snapshots {
            assert!(
                matches!(snapshot.server.value, Err(CollectError::Timeout { .. })),
                "{:?}",
                snapshot.server.value
            );
        }
        assert!(
            start.elapsed() < Duration::from_secs(10),
            "{:?}",
            start.elapsed()
        );
        assert_eq!(
            accepted_settled(&accepted, 1),
            1,
            "ten scrapes, one collection"
        );

        // The finished collection left the slot: the next scrape collects afresh.
        let snapshot = source.snapshot(deadline).await;
        assert!(snapshot.server.value.is_err());
        assert_eq!(accepted_settled(&accepted, 2), 2);
    }
}
