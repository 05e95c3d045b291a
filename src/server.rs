//! `quorate serve`: the axum router, the live configuration and its hot reload.
//!
//! Routes: `/` (landing page), `/healthz`, `/metrics` (the local node, and this host's
//! backups from the latest background scan), `/probe?target=NODE` (any configured node, the
//! multi-target exporter pattern), `/health/galera` (the HAProxy health check of the local
//! node, see [`crate::health`]) and the recovery endpoints `/galera/state` and
//! `/galera/recover-position` (see `recover::http`).
//!
//! The configuration is reloaded when its file changes (notify on the file's directory, so
//! editors that replace the file and symlink swaps are seen) or on SIGHUP. A reload swaps one
//! `Arc` under a short lock: scrapes in flight finish on the configuration they started with,
//! and node pools whose endpoint and credentials did not change keep their connections. A bad
//! new file is logged with its error and the old configuration stays in force.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock, RwLock};
use std::time::{Duration, SystemTime};

use axum::extract::{Query, State};
use axum::http::{header, HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use serde::Deserialize;

use crate::backup::{BackupMonitor, BackupReading, MonitorConfig};
use crate::config::{self, ConfigError, HostIdentity, Settings};
use crate::galera::collector::{LocalNode, LocalSource, Sources};
use crate::gluster::{GlusterCollector, GlusterConfig};
use crate::metrics::{self, Format, MetricSet, SelfInfo};

/// Why `quorate serve` could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("{0}")]
    LocalNode(String),
    #[error("server failed: {0}")]
    Io(#[from] std::io::Error),
    #[error("quorate.tls: {0}")]
    Tls(#[from] crate::tls::TlsError),
}

/// What `quorate serve` was asked to do.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    pub config_path: PathBuf,
    /// `--listen`, overriding `quorate.listen`.
    pub listen: Option<SocketAddr>,
    /// `--node`, overriding `quorate.node` and host detection.
    pub node: Option<String>,
}

/// The configuration in force and the sources built from it. Replaced whole on reload.
struct Live {
    settings: Arc<Settings>,
    sources: Sources,
    /// The node `/metrics` reports on, if one could be determined.
    local_node: Option<String>,
    /// The file's bytes when loaded, to skip reloads on events that changed nothing.
    loaded_text: Vec<u8>,
    /// The GlusterFS background collector, when this host runs the GlusterFS source. Kept
    /// across reloads that do not change its configuration (so is its last good data).
    gluster: Option<Arc<GlusterCollector>>,
}

/// Shared state of the running server.
pub struct AppState {
    live: RwLock<Arc<Live>>,
    self_info: Mutex<SelfInfo>,
    node_override: Option<String>,
    host: HostIdentity,
    config_path: PathBuf,
    /// The background backup scanner, started by [`serve`].
    backup: OnceLock<BackupMonitor>,
    /// The TLS configuration new connections get, when [`serve`] speaks HTTPS; replaced on a
    /// reload (SIGHUP after renewing a certificate), kept when the new files do not load.
    tls: RwLock<Option<Arc<rustls::ServerConfig>>>,
}

impl AppState {
    /// Loads the configuration and builds the node sources.
    pub fn load(
        config_path: &Path,
        node_override: Option<String>,
    ) -> Result<Arc<AppState>, ServeError> {
        let host = HostIdentity::current();
        let (live, _) = build_live(
            config_path,
            node_override.as_deref(),
            &host,
            &Sources::default(),
            None,
        )?;
        Ok(Arc::new(AppState {
            live: RwLock::new(Arc::new(live)),
            self_info: Mutex::new(SelfInfo {
                config_last_reload_successful: true,
                config_last_reload_success_timestamp: unix_now(),
                process: None,
            }),
            node_override,
            host,
            config_path: config_path.to_path_buf(),
            backup: OnceLock::new(),
            tls: RwLock::new(None),
        }))
    }

    /// The TLS configuration for the next connection (None: plain HTTP).
    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        match self.tls.read() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        }
    }

    fn set_tls(&self, config: Arc<rustls::ServerConfig>) {
        match self.tls.write() {
            Ok(mut g) => *g = Some(config),
            Err(p) => *p.into_inner() = Some(config),
        }
    }

    /// After a reload: loads the certificate and key again (they may have been renewed in
    /// place). Serving HTTPS or not, and the address, are fixed at start.
    fn reload_tls(&self, previous: &Settings) {
        let now = self.settings();
        if now.listen != previous.listen || now.tls.is_some() != self.tls().is_some() {
            tracing::warn!("quorate.listen, and turning quorate.tls on or off, take effect at the next start of quorate serve");
        }
        let (Some(files), Some(_)) = (&now.tls, self.tls()) else {
            return;
        };
        match crate::tls::server_config(&files.cert_file, &files.key_file) {
            Ok(config) => {
                self.set_tls(config);
                tracing::info!(cert = %files.cert_file.display(), "TLS certificate and key reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate or key not reloaded; new connections keep the previous one")
            }
        }
    }

    fn live(&self) -> Arc<Live> {
        match self.live.read() {
            Ok(guard) => Arc::clone(&guard),
            Err(poisoned) => Arc::clone(&poisoned.into_inner()),
        }
    }

    /// The configuration in force.
    pub fn settings(&self) -> Arc<Settings> {
        Arc::clone(&self.live().settings)
    }

    /// Re-reads the configuration. On error the old one stays in force and the error is
    /// returned (and logged). `force` reloads even when the file's bytes did not change.
    pub fn reload(&self, force: bool) -> Result<bool, ConfigError> {
        let current = self.live();
        if !force {
            if let Ok(bytes) = std::fs::read(&self.config_path) {
                if bytes == current.loaded_text {
                    return Ok(false);
                }
            }
        }
        let result = build_live(
            &self.config_path,
            self.node_override.as_deref(),
            &self.host,
            &current.sources,
            current.gluster.as_ref(),
        );
        let mut info = match self.self_info.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        };
        match result {
            Ok((new_live, retired)) => {
                {
                    let mut slot = match self.live.write() {
                        Ok(g) => g,
                        Err(p) => p.into_inner(),
                    };
                    *slot = Arc::new(new_live);
                }
                if let Some(monitor) = self.backup.get() {
                    monitor.configure(MonitorConfig::from_settings(&self.settings()));
                }
                for source in retired {
                    let client = source.client().clone();
                    tokio::spawn(client.disconnect());
                }
                info.config_last_reload_successful = true;
                info.config_last_reload_success_timestamp = unix_now();
                tracing::info!(path = %self.config_path.display(), "configuration reloaded");
                self.reload_tls(&current.settings);
                Ok(true)
            }
            Err(ServeError::Config(e)) => {
                info.config_last_reload_successful = false;
                tracing::error!(error = %e, "configuration reload failed; the previous configuration stays in force");
                Err(e)
            }
            Err(other) => {
                info.config_last_reload_successful = false;
                tracing::error!(error = %other, "configuration reload failed; the previous configuration stays in force");
                Err(ConfigError::Invalid {
                    path: self.config_path.clone(),
                    key: "quorate.node".into(),
                    message: other.to_string(),
                })
            }
        }
    }

    /// Starts the background backup scanner (once).
    pub fn start_backup_monitor(&self) {
        let settings = self.settings();
        self.backup
            .get_or_init(|| BackupMonitor::start(MonitorConfig::from_settings(&settings)));
    }

    fn self_info(&self) -> SelfInfo {
        let mut info = match self.self_info.lock() {
            Ok(g) => g.clone(),
            Err(p) => p.into_inner().clone(),
        };
        // Read at each scrape, as client libraries do; left out where there is no /proc.
        info.process = crate::process_stats::read().ok();
        info
    }
}

fn build_live(
    path: &Path,
    node_override: Option<&str>,
    host: &HostIdentity,
    previous: &Sources,
    previous_gluster: Option<&Arc<GlusterCollector>>,
) -> Result<(Live, Vec<Arc<crate::galera::collector::NodeSource>>), ServeError> {
    let loaded_text = std::fs::read(path).map_err(|source| ConfigError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    let settings = config::load_logging_warnings(path)?;
    let local_node = settings
        .resolve_local_node(node_override, host)
        .map_err(|e| ServeError::LocalNode(e.to_string()))?
        .map(|n| n.name.clone());
    let (sources, retired) = previous.rebuilt_for(&settings);
    // Started here (inside the runtime); replaced only when its configuration changed.
    let gluster = GlusterConfig::from_settings(&settings, local_node.as_deref()).map(|config| {
        match previous_gluster.filter(|g| g.config() == &config) {
            Some(same) => Arc::clone(same),
            None => Arc::new(GlusterCollector::start(config)),
        }
    });
    let live = Live {
        settings: Arc::new(settings),
        sources,
        local_node,
        loaded_text,
        gluster,
    };
    Ok((live, retired))
}

fn unix_now() -> f64 {
    crate::unix_time::seconds(SystemTime::now())
}

impl LocalSource for AppState {
    fn settings(&self) -> Arc<Settings> {
        AppState::settings(self)
    }

    /// The configuration in force, the local node and its source, for the `/health/galera` and
    /// `/galera/*` endpoints; an error message when no local node is known.
    fn local_source(&self) -> Result<LocalNode, String> {
        let live = self.live();
        let node = live
            .local_node
            .clone()
            .ok_or("no local node: start quorate serve with --node or set quorate.node")?;
        let source = live
            .sources
            .get(&node)
            .cloned()
            .ok_or_else(|| format!("node {node} is not a MariaDB controller"))?;
        Ok(LocalNode {
            settings: Arc::clone(&live.settings),
            node,
            source,
        })
    }
}

/// The router of `quorate serve`.
pub fn app(state: Arc<AppState>) -> Router {
    Router::new()
        .route("/", get(landing))
        .route("/healthz", get(healthz))
        .route("/metrics", get(metrics_local))
        .route("/probe", get(probe))
        .route(
            "/health/galera",
            get(crate::health::galera_health::<AppState>),
        )
        .route(
            "/galera/state",
            get(crate::recover::http::state::<AppState>),
        )
        .route(
            "/galera/recover-position",
            axum::routing::post(crate::recover::http::recover_position::<AppState>),
        )
        .with_state(state)
}

async fn landing(State(state): State<Arc<AppState>>) -> Html<String> {
    let live = state.live();
    let mut probes = String::new();
    for node in live.settings.galera_nodes() {
        let name = html_escape(&node.name);
        probes.push_str(&format!(
            "<li><a href=\"/probe?target={name}\">/probe?target={name}</a></li>\n"
        ));
    }
    let local = live
        .local_node
        .as_deref()
        .map(html_escape)
        .unwrap_or_else(|| "none (set quorate.node or --node)".to_string());
    Html(format!(
        "<!doctype html>\n<html><head><title>quorate</title></head><body>\n\
         <h1>quorate {version}</h1>\n<p>Cluster <b>{cluster}</b>, local node <b>{local}</b>.</p>\n\
         <ul>\n<li><a href=\"/metrics\">/metrics</a> (local node)</li>\n{probes}\
         <li><a href=\"/healthz\">/healthz</a></li>\n<li><a href=\"/health/galera\">/health/galera</a> (HAProxy check)</li>\n</ul>\n</body></html>\n",
        version = crate::VERSION,
        cluster = html_escape(&live.settings.cluster_name),
    ))
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

async fn healthz() -> &'static str {
    "ok\n"
}

/// The time left for collection: the Prometheus scrape timeout less a margin for encoding
/// and the network, capped by the configured budgets.
fn collection_deadline(headers: &HeaderMap, settings: &Settings) -> Duration {
    let scrape = headers
        .get("x-prometheus-scrape-timeout-seconds")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<f64>().ok())
        .filter(|s| s.is_finite() && *s > 0.0)
        .map(|s| Duration::from_secs_f64(s.min(3600.0)))
        .unwrap_or(settings.scrape_timeout);
    let margin = (scrape / 10).min(Duration::from_millis(250));
    let budget = scrape.saturating_sub(margin).max(Duration::from_millis(50));
    budget.min(settings.galera_timeout)
}

async fn metrics_local(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let live = state.live();
    let node = live.local_node.clone();
    scrape(&state, &live, node.as_deref(), &headers, true).await
}

#[derive(Deserialize)]
struct ProbeParams {
    target: Option<String>,
}

async fn probe(
    State(state): State<Arc<AppState>>,
    Query(params): Query<ProbeParams>,
    headers: HeaderMap,
) -> Response {
    let live = state.live();
    let Some(target) = params.target.filter(|t| !t.is_empty()) else {
        return (
            StatusCode::BAD_REQUEST,
            "the target parameter is missing (e.g. /probe?target=node1)\n",
        )
            .into_response();
    };
    if live.sources.get(&target).is_none() {
        let known: Vec<&str> = live
            .settings
            .galera_nodes()
            .map(|n| n.name.as_str())
            .collect();
        return (
            StatusCode::BAD_REQUEST,
            format!(
                "target {target:?} is not a MariaDB controller in {}; known: {}\n",
                live.settings.path.display(),
                known.join(", ")
            ),
        )
            .into_response();
    }
    scrape(&state, &live, Some(&target), &headers, false).await
}

async fn scrape(
    state: &AppState,
    live: &Live,
    node: Option<&str>,
    headers: &HeaderMap,
    // `/metrics` (true) also carries this host's sources: backups and GlusterFS.
    with_host_sources: bool,
) -> Response {
    let format = Format::negotiate(headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()));
    let mut set = MetricSet::default();
    if let Some(source) = node.and_then(|n| live.sources.get(n)) {
        let deadline = collection_deadline(headers, &live.settings);
        let snapshot = source.snapshot(deadline).await;
        if let Err(e) = &snapshot.server.value {
            tracing::debug!(error = %e, "galera collection failed");
        }
        if let Some(Err(e)) = snapshot.grastate.as_ref().map(|g| &g.value) {
            tracing::debug!(error = %e, "grastate collection failed");
        }
        set = metrics::galera::families(&snapshot);
    }
    if with_host_sources {
        // The latest background scan; never waits for one in progress.
        let scan = state.backup.get().and_then(BackupMonitor::latest);
        let reading = scan.map(|s| BackupReading::from_scan(&s, SystemTime::now()));
        set.extend(metrics::backup::families(reading.as_ref()));
    }
    // GlusterFS data comes from the background collector: reading it never waits on gluster.
    if let Some(gluster) = live.gluster.as_ref().filter(|_| with_host_sources) {
        let reading = crate::gluster::reading(&gluster.snapshot(), SystemTime::now(), None);
        set.extend(metrics::gluster::families(&reading));
    }
    set.extend(metrics::self_families(&state.self_info()));
    (
        [(header::CONTENT_TYPE, format.content_type())],
        set.encode(format),
    )
        .into_response()
}

/// Runs `quorate serve` until `shutdown` resolves; then stops accepting and lets in-flight
/// requests finish.
pub async fn serve(
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = AppState::load(&opts.config_path, opts.node.clone())?;
    let settings = state.settings();
    match state.live().local_node.as_deref() {
        Some(node) => tracing::info!(node, "local node"),
        None => tracing::warn!(
            "no controller matches this host's name or addresses; /metrics reports quorate itself only (set quorate.node or --node); /probe works"
        ),
    }
    let addr = opts.listen.unwrap_or(settings.listen);
    // Loaded before binding, so a bad certificate or key stops the start with its file named.
    let tls = match &settings.tls {
        Some(files) => Some(crate::tls::server_config(
            &files.cert_file,
            &files.key_file,
        )?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local_addr = listener.local_addr()?;
    tracing::info!(%local_addr, tls = tls.is_some(), config = %opts.config_path.display(), "quorate serve listening");

    state.start_backup_monitor();
    let reloader = tokio::spawn(watch_config(Arc::clone(&state)));
    let result = match tls {
        None => {
            axum::serve(listener, app(state))
                .with_graceful_shutdown(shutdown)
                .await
        }
        Some(config) => {
            state.set_tls(config);
            serve_tls(listener, app(Arc::clone(&state)), state, shutdown).await
        }
    };
    reloader.abort();
    result.map_err(ServeError::Io)
}

/// How long a TLS shutdown waits for open connections (a scrape in flight) before dropping them.
const TLS_DRAIN: Duration = Duration::from_secs(5);

/// The HTTPS variant of `axum::serve`: each accepted connection gets a TLS handshake (with
/// the configuration current at that moment: a reload swaps it), then HTTP/1.1 with the same
/// router. A failed handshake (a plain-HTTP client, an untrusted client) ends that connection
/// only. On `shutdown` it stops accepting and gives open connections [`TLS_DRAIN`] to finish.
async fn serve_tls(
    listener: tokio::net::TcpListener,
    router: Router,
    state: Arc<AppState>,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
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
        let Some(config) = state.tls() else {
            // Cannot happen: serve sets it before calling us. Refuse rather than serve clear.
            continue;
        };
        let acceptor = tokio_rustls::TlsAcceptor::from(config);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        connections.spawn(async move {
            let stream = match acceptor.accept(tcp).await {
                Ok(s) => s,
                Err(e) => {
                    tracing::debug!(%peer, "TLS handshake failed: {e}");
                    return;
                }
            };
            let io = hyper_util::rt::TokioIo::new(stream);
            if let Err(e) = hyper::server::conn::http1::Builder::new()
                .serve_connection(io, service)
                .await
            {
                tracing::debug!(%peer, "connection ended: {e}");
            }
        });
    }
    let _ = tokio::time::timeout(TLS_DRAIN, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// Reloads on changes in the config file's directory (debounced) and on SIGHUP.
async fn watch_config(state: Arc<AppState>) {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<()>(16);
    let watch_dir = state
        .config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let watcher = {
        let tx = tx.clone();
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            if event.is_ok() {
                // A full channel already holds a wake-up; dropping this one loses nothing.
                let _ = tx.try_send(());
            }
        })
    };
    let _watcher = match watcher {
        Ok(mut w) => {
            use notify::Watcher;
            match w.watch(&watch_dir, notify::RecursiveMode::NonRecursive) {
                Ok(()) => Some(w),
                Err(e) => {
                    tracing::warn!(dir = %watch_dir.display(), error = %e, "cannot watch the configuration; reload with SIGHUP");
                    None
                }
            }
        }
        Err(e) => {
            tracing::warn!(error = %e, "cannot watch the configuration; reload with SIGHUP");
            None
        }
    };
    let mut hangup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup()).ok();
    loop {
        let forced = tokio::select! {
            Some(()) = rx.recv() => false,
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
        };
        // Debounce: editors write a file in several steps.
        tokio::time::sleep(Duration::from_millis(300)).await;
        while rx.try_recv().is_ok() {}
        let _ = state.reload(forced);
    }
}
