//! Accepting and serving connections under limits, so that no client can hold `quorate serve`:
//! a request head must arrive within `header_read_timeout` (on a new connection and between
//! requests on a kept-alive one), a TLS handshake must finish within `tls_handshake_timeout`,
//! and at most `max_connections` are open (lowered to what the open-file limit leaves). At the
//! cap a new connection closes the oldest open one that is not answering a request (a client
//! that sent half a request, or an idle keep-alive one), so a flood of half-sent requests
//! cannot lock scrapes out; only when every open connection is answering a request is the new
//! one closed at once. The limits ([`HttpSettings`]) are read for each new connection, so a
//! reload applies to the connections accepted after it.
//!
//! At start the soft open-file limit is raised to the hard one ([`raise_open_file_limit`]).

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::Router;
use futures::future::Either;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{watch, Notify};

use crate::config::HttpSettings;

/// Descriptors kept free for everything else (files, MySQL connections, child processes).
const RESERVED_FDS: u64 = 64;

/// How long a new connection waits for the connection it evicted to release its descriptor.
const EVICTION_WAIT: Duration = Duration::from_millis(100);

/// How long a shutdown waits for connections to finish the request they are answering.
const DRAIN: Duration = Duration::from_secs(5);

/// Raises the soft RLIMIT_NOFILE to the hard limit; returns the soft limit now in force.
pub fn raise_open_file_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit/setrlimit with a valid pointer to a rlimit struct.
    unsafe {
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 1024;
        }
        if lim.rlim_cur < lim.rlim_max {
            let raised = libc::rlimit {
                rlim_cur: lim.rlim_max,
                rlim_max: lim.rlim_max,
            };
            if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                lim.rlim_cur = lim.rlim_max;
            }
        }
    }
    lim.rlim_cur
}

/// The connection cap in force: the configured one, lowered so that the open connections leave
/// [`RESERVED_FDS`] descriptors of the open-file limit free.
pub fn effective_cap(configured: usize, open_file_limit: u64) -> usize {
    let allowed = open_file_limit.saturating_sub(RESERVED_FDS).max(1);
    configured.min(usize::try_from(allowed).unwrap_or(usize::MAX))
}

/// One open connection as the table sees it.
struct Slot {
    /// Requests it is answering right now (0: waiting for a request head or a handshake).
    busy: AtomicUsize,
    /// Notified when the connection is to be closed to make room.
    evict: Notify,
    /// Notified once the connection is closed (its descriptor released).
    closed: Notify,
}

/// The open connections, oldest first.
#[derive(Default)]
struct Table {
    next_id: u64,
    open: BTreeMap<u64, Arc<Slot>>,
}

/// A connection's place in the table; leaves it when dropped.
struct Admitted {
    table: Arc<Mutex<Table>>,
    id: u64,
    slot: Arc<Slot>,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        lock(&self.table).open.remove(&self.id);
        self.slot.closed.notify_one();
    }
}

fn lock(table: &Mutex<Table>) -> std::sync::MutexGuard<'_, Table> {
    match table.lock() {
        Ok(g) => g,
        Err(p) => p.into_inner(),
    }
}

/// Admits a new connection under `cap`, closing the oldest idle ones when full (returned, to
/// wait until their descriptors are released); `None` when every open connection is answering a
/// request.
fn admit(table: &Arc<Mutex<Table>>, cap: usize) -> Option<(Admitted, Vec<Arc<Slot>>)> {
    let mut t = lock(table);
    let mut evicted = Vec::new();
    while t.open.len() >= cap {
        let oldest_idle = t
            .open
            .iter()
            .find(|(_, s)| s.busy.load(Ordering::Acquire) == 0)
            .map(|(id, _)| *id)?;
        if let Some(slot) = t.open.remove(&oldest_idle) {
            slot.evict.notify_one();
            evicted.push(slot);
        }
    }
    let id = t.next_id;
    t.next_id += 1;
    let slot = Arc::new(Slot {
        busy: AtomicUsize::new(0),
        evict: Notify::new(),
        closed: Notify::new(),
    });
    t.open.insert(id, Arc::clone(&slot));
    let admitted = Admitted {
        table: Arc::clone(table),
        id,
        slot,
    };
    Some((admitted, evicted))
}

/// Counts a request as in flight while it lives.
struct Busy(Arc<Slot>);

impl Busy {
    fn new(slot: &Arc<Slot>) -> Busy {
        slot.busy.fetch_add(1, Ordering::AcqRel);
        Busy(Arc::clone(slot))
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.busy.fetch_sub(1, Ordering::AcqRel);
    }
}

/// What the accept loop asks for every new connection.
pub trait ConnectionSource: Send + Sync + 'static {
    /// The limits in force.
    fn limits(&self) -> HttpSettings;
    /// The TLS configuration for the next connection; `None`: plain HTTP.
    fn tls(&self) -> Option<Arc<rustls::ServerConfig>>;
}

/// Serves `router` on `listener` until `shutdown` resolves; then stops accepting, asks open
/// connections to close after their current request, and waits up to [`DRAIN`] for them.
/// `tls`: whether the server speaks HTTPS (fixed at start).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    source: Arc<dyn ConnectionSource>,
    tls: bool,
    open_file_limit: u64,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) {
    let table = Arc::new(Mutex::new(Table::default()));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = tokio::task::JoinSet::new();
    tokio::pin!(shutdown);
    loop {
        let (tcp, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(a) => a,
                // E.g. EMFILE: keep serving the connections we have and try again shortly.
                Err(e) => {
                    tracing::warn!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
            // Reap finished connections so the set does not grow.
            Some(_) = connections.join_next(), if !connections.is_empty() => continue,
        };
        let limits = source.limits();
        let cap = effective_cap(limits.max_connections, open_file_limit);
        let Some((admitted, evicted)) = admit(&table, cap) else {
            tracing::debug!(%peer, "connection refused: every open connection is answering a request");
            continue;
        };
        // When descriptors are scarce (a burst could use them up before evicted connections
        // close), wait briefly until the evicted ones are closed; else they close on their own.
        if open_file_limit < 2 * cap as u64 + RESERVED_FDS {
            for slot in evicted {
                let _ = tokio::time::timeout(EVICTION_WAIT, slot.closed.notified()).await;
            }
        }
        let config = if tls {
            match source.tls() {
                Some(c) => Some(c),
                // Cannot happen: serve sets it first. Refuse rather than serve clear text.
                None => continue,
            }
        } else {
            None
        };
        let connection = Connection {
            router: router.clone(),
            limits,
            admitted,
            stop: stop_rx.clone(),
        };
        connections.spawn(async move {
            let evicted = Arc::clone(&connection.admitted.slot);
            tokio::select! {
                () = connection.run(tcp, config, peer) => {}
                () = evicted.evict.notified() => {
                    tracing::debug!(%peer, "idle connection closed to make room for a new one");
                }
            }
        });
    }
    drop(listener);
    let _ = stop_tx.send(true);
    let _ = tokio::time::timeout(DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
}

/// One accepted connection and what it is served with.
struct Connection {
    router: Router,
    limits: HttpSettings,
    admitted: Admitted,
    stop: watch::Receiver<bool>,
}

impl Connection {
    async fn run(
        self,
        tcp: tokio::net::TcpStream,
        tls: Option<Arc<rustls::ServerConfig>>,
        peer: std::net::SocketAddr,
    ) {
        match tls {
            None => self.http(TokioIo::new(tcp), peer, false).await,
            Some(config) => {
                let handshake = tokio_rustls::TlsAcceptor::from(config).accept(tcp);
                match tokio::time::timeout(self.limits.tls_handshake_timeout, handshake).await {
                    Ok(Ok(stream)) => {
                        // rustls keeps a client's certificates only once its verifier (the
                        // client CA) accepted them.
                        let verified = stream.get_ref().1.peer_certificates().is_some();
                        self.http(TokioIo::new(stream), peer, verified).await
                    }
                    Ok(Err(e)) => tracing::debug!(%peer, "TLS handshake failed: {e}"),
                    Err(_) => tracing::debug!(%peer, "TLS handshake not finished in time"),
                }
            }
        }
    }

    /// HTTP/1.1 on an open connection (plain or TLS), the head of every request timed. Every
    /// request on a connection whose client certificate was verified carries
    /// [`VerifiedClient`](crate::tls::VerifiedClient).
    async fn http<I>(self, io: TokioIo<I>, peer: std::net::SocketAddr, verified_client: bool)
    where
        I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
    {
        let Connection {
            router,
            limits,
            admitted,
            mut stop,
        } = self;
        let slot = Arc::clone(&admitted.slot);
        let router = hyper_util::service::TowerToHyperService::new(router);
        let max_body = limits.max_request_body;
        let service = hyper::service::service_fn(move |mut request: hyper::Request<_>| {
            if verified_client {
                request.extensions_mut().insert(crate::tls::VerifiedClient);
            }
            let busy = Busy::new(&slot);
            let answer = match too_large(request.headers(), max_body) {
                Some(refusal) => Either::Left(std::future::ready(Ok(refusal))),
                None => Either::Right(hyper::service::Service::call(&router, request)),
            };
            async move {
                let response = answer.await;
                drop(busy);
                response
            }
        });
        let conn = hyper::server::conn::http1::Builder::new()
            .timer(TokioTimer::new())
            .header_read_timeout(limits.header_read_timeout)
            .serve_connection(io, service);
        tokio::pin!(conn);
        let result = tokio::select! {
            r = conn.as_mut() => r,
            () = async { drop(stop.wait_for(|s| *s).await) } => {
                conn.as_mut().graceful_shutdown();
                conn.await
            }
        };
        if let Err(e) = result {
            tracing::debug!(%peer, "connection ended: {e}");
        }
        drop(admitted);
    }
}

/// 413 for a request that announces a body larger than `max` bytes (no endpoint takes one).
fn too_large(headers: &HeaderMap, max: usize) -> Option<Response> {
    let announced = headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok())?;
    (announced > max as u64).then(|| {
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            format!("the request body is larger than the limit of {max} bytes\n"),
        )
            .into_response()
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_cap_leaves_descriptors_free() {
        assert_eq!(effective_cap(1024, 1_048_576), 1024);
        assert_eq!(effective_cap(1024, 256), 192);
        assert_eq!(effective_cap(1024, 10), 1);
    }

    #[test]
    fn at_the_cap_the_oldest_idle_connection_makes_room() {
        let table = Arc::new(Mutex::new(Table::default()));
        let (first, _) = admit(&table, 2).expect("first");
        let _busy = Busy::new(&first.slot);
        let (second, none) = admit(&table, 2).expect("second");
        assert!(none.is_empty());
        // Full: the oldest idle one (the second; the first answers a request) is closed.
        let (third, evicted) = admit(&table, 2).expect("third");
        assert_eq!(evicted.len(), 1);
        assert!(Arc::ptr_eq(&evicted[0], &second.slot));
        assert_eq!(lock(&table).open.len(), 2);
        assert!(lock(&table).open.contains_key(&first.id));
        assert!(!lock(&table).open.contains_key(&second.id));
        // Everything busy: the new connection is refused.
        let _busy3 = Busy::new(&third.slot);
        assert!(admit(&table, 2).is_none());
        drop(third);
        assert!(admit(&table, 2).is_some());
    }
}
