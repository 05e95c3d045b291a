//! `quorate serve`: the axum router, the live configuration and its hot reload.
//!
//! Routes: `/` (landing page), `/healthz`, `/metrics` (the local node, and this host's
//! backups from the latest background scan), `/probe?target=NODE` (any configured node, the
//! multi-target exporter pattern), `/sd` (Prometheus HTTP service discovery of those probes),
//! `/health/galera` (the HAProxy health check of the local
//! node, see [`crate::health`]) and the recovery endpoints `/galera/state`,
//! `/galera/recover-position` and `/galera/apart` (see `recover::http`). Every route passes `auth` first: the web
//! configuration file's basic authentication (not on `/galera/*`) and response headers.
//!
//! The configuration is reloaded when its file or a secret file it names changes (notify on the
//! file's directory, so editors that replace the file and symlink swaps are seen) or on SIGHUP,
//! the files read off the async workers under a deadline (see `reload`). A reload swaps one
//! `Arc` under a short lock: scrapes in flight finish on the configuration they started with,
//! and node pools whose endpoint and credentials did not change keep their connections. A bad
//! new file is logged with its error and the old configuration stays in force.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::atomic::AtomicBool;
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

mod auth;
mod connections;
mod reload;

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
    #[error("TLS (quorate.tls or tls_server_config): {0}")]
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
    /// `--web.config.file`, overriding `quorate.web_config_file`.
    pub web_config: Option<PathBuf>,
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
    /// `--web.config.file`, re-read with the configuration at every reload.
    web_config: Option<PathBuf>,
    /// Basic authentication: verified credentials and the bound on concurrent bcrypt work.
    auth: auth::BasicAuth,
    /// The background backup scanner, started by [`serve`].
    backup: OnceLock<BackupMonitor>,
    /// The TLS configuration new connections get, when [`serve`] speaks HTTPS; replaced on a
    /// reload (SIGHUP after renewing a certificate), kept when the new files do not load.
    tls: RwLock<Option<Arc<rustls::ServerConfig>>>,
    /// A reload's reading thread is running (see [`reload`]).
    reload_busy: Arc<AtomicBool>,
}

impl AppState {
    /// Loads the configuration and builds the node sources.
    pub fn load(
        config_path: &Path,
        node_override: Option<String>,
        web_config: Option<PathBuf>,
    ) -> Result<Arc<AppState>, ServeError> {
        let host = HostIdentity::current();
        let (live, _) = build_live(
            reload::read_config(config_path, web_config.as_deref())?,
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
            web_config,
            auth: auth::BasicAuth::default(),
            backup: OnceLock::new(),
            tls: RwLock::new(None),
            reload_busy: Arc::new(AtomicBool::new(false)),
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

/// The sources for `read`'s settings (no I/O: pools connect lazily), reusing `previous`'
/// pools and GlusterFS collector where their configuration did not change; also returns the
/// sources retired.
fn build_live(
    read: reload::ReadConfig,
    node_override: Option<&str>,
    host: &HostIdentity,
    previous: &Sources,
    previous_gluster: Option<&Arc<GlusterCollector>>,
) -> Result<(Live, Vec<Arc<crate::galera::collector::NodeSource>>), ServeError> {
    let reload::ReadConfig {
        text: loaded_text,
        settings,
    } = read;
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
        .route("/sd", get(service_discovery))
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
        .route(
            "/galera/apart",
            axum::routing::post(crate::recover::http::keep_apart::<AppState>),
        )
        .layer(axum::middleware::from_fn_with_state(
            Arc::clone(&state),
            auth::web_guard,
        ))
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
         <li><a href=\"/sd\">/sd</a> (Prometheus service discovery)</li>\n<li><a href=\"/healthz\">/healthz</a></li>\n<li><a href=\"/health/galera\">/health/galera</a> (HAProxy check)</li>\n</ul>\n</body></html>\n",
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
                "target {} is not a MariaDB controller in {}; known: {}\n",
                quoted_prefix(&target, 64),
                live.settings.path.display(),
                known.join(", ")
            ),
        )
            .into_response();
    }
    scrape(&state, &live, Some(&target), &headers, false).await
}

/// `/sd`: Prometheus HTTP service discovery. One target group per configured MariaDB controller,
/// each this server itself (as the client reached it: the `Host` header, else `quorate.listen`)
/// with `__metrics_path__=/probe` and `__param_target=NODE`, so a job with `http_sd_configs`
/// needs no relabelling; `instance` is the node's name, with `cluster`, `node` and `role`.
async fn service_discovery(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    let live = state.live();
    let address = headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .filter(|h| is_host_port(h))
        .map_or_else(|| live.settings.listen.to_string(), str::to_string);
    let groups: Vec<serde_json::Value> = live
        .settings
        .galera_nodes()
        .map(|n| {
            serde_json::json!({
                "targets": [address],
                "labels": {
                    "__metrics_path__": "/probe",
                    "__param_target": n.name,
                    "instance": n.name,
                    "cluster": live.settings.cluster_name,
                    "node": n.name,
                    "role": "galera",
                },
            })
        })
        .collect();
    (
        [(header::CONTENT_TYPE, "application/json")],
        serde_json::Value::Array(groups).to_string(),
    )
        .into_response()
}

/// A `Host` header fit to hand back as a target: a host name, IPv4 or `[IPv6]` address and an
/// optional port, nothing else.
fn is_host_port(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= 261
        && text
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '-' | ':' | '[' | ']' | '_'))
}

/// `text` quoted and escaped (control characters included) for an answer, cut after `max`
/// characters: what a client sent is echoed, never at any length.
fn quoted_prefix(text: &str, max: usize) -> String {
    let mut chars = text.chars();
    let head: String = chars.by_ref().take(max).collect();
    match chars.next() {
        None => format!("{head:?}"),
        Some(_) => format!("{head:?}… ({} characters)", text.chars().count()),
    }
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
        let monitor = state.backup.get();
        let now = SystemTime::now();
        let reading = monitor.and_then(|m| {
            let scan = m.latest()?;
            Some(BackupReading::from_scan(&scan, now).in_background(
                m.last_success(),
                m.max_scan_age(),
                now,
            ))
        });
        set.extend(metrics::backup::families(reading.as_ref()));
    }
    // GlusterFS data comes from the background collector: reading it never waits on gluster.
    if let Some(gluster) = live.gluster.as_ref().filter(|_| with_host_sources) {
        let reading = crate::gluster::reading(&gluster.snapshot(), SystemTime::now(), None);
        set.extend(metrics::gluster::families(&reading));
    }
    if with_host_sources {
        if let Some(local) = live.local_node.as_deref() {
            let budget = collection_deadline(headers, &live.settings);
            set.extend(local_maintenance(&live.settings, local, budget).await);
        }
    }
    set.extend(metrics::self_families(&state.self_info()));
    (
        [(header::CONTENT_TYPE, format.content_type())],
        set.encode(format),
    )
        .into_response()
}

/// The local node's maintenance families; none when the maintenance file cannot be read in
/// time (no state is better than a wrong one: a stale 1 would silence alerts).
async fn local_maintenance(
    settings: &Settings,
    node: &str,
    budget: Duration,
) -> Vec<crate::metrics::Family> {
    let now = crate::unix_time::to_pair(SystemTime::now()).0;
    let contents = match &settings.health.maintenance_file {
        Some(file) => {
            match crate::maintenance::store::read_within(file, budget.min(settings.health.timeout))
                .await
            {
                Ok(c) => c,
                Err(e) => {
                    tracing::warn!(error = %e, "cannot read the maintenance file");
                    return Vec::new();
                }
            }
        }
        None => crate::maintenance::Contents::Absent,
    };
    metrics::maintenance::families(node, &crate::maintenance::judge(&contents, node, now))
}

/// Runs `quorate serve` until `shutdown` resolves; then stops accepting and lets in-flight
/// requests finish (see [`connections`] for the limits every connection is served under).
pub async fn serve(
    opts: ServeOptions,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
) -> Result<(), ServeError> {
    let state = AppState::load(
        &opts.config_path,
        opts.node.clone(),
        opts.web_config.clone(),
    )?;
    let settings = state.settings();
    match state.live().local_node.as_deref() {
        Some(node) => tracing::info!(node, "local node"),
        None => tracing::warn!(
            "no controller matches this host's name or addresses; /metrics reports quorate itself only (set quorate.node or --node); /probe works"
        ),
    }
    // Every connection holds a descriptor: the soft limit (often 1024) would cap them early.
    let open_file_limit = connections::raise_open_file_limit();
    tracing::info!(
        open_file_limit,
        max_connections =
            connections::effective_cap(settings.http.max_connections, open_file_limit),
        "connection limits"
    );
    let addr = opts.listen.unwrap_or(settings.listen);
    // Loaded before binding, so a bad certificate or key stops the start with its file named.
    let tls = match &settings.tls {
        Some(tls) => Some(crate::tls::server_config(tls)?),
        None => None,
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|source| ServeError::Bind { addr, source })?;
    let local_addr = listener.local_addr()?;
    tracing::info!(%local_addr, tls = tls.is_some(), config = %opts.config_path.display(), "quorate serve listening");

    state.start_backup_monitor();
    let reloader = tokio::spawn(reload::watch_config(Arc::clone(&state)));
    if let Some(config) = tls.clone() {
        state.set_tls(config);
    }
    let source: Arc<dyn connections::ConnectionSource> = Arc::clone(&state) as _;
    connections::serve(
        listener,
        app(Arc::clone(&state)),
        source,
        tls.is_some(),
        open_file_limit,
        shutdown,
    )
    .await;
    reloader.abort();
    Ok(())
}

impl connections::ConnectionSource for AppState {
    fn limits(&self) -> config::HttpSettings {
        self.settings().http.clone()
    }

    fn tls(&self) -> Option<Arc<rustls::ServerConfig>> {
        AppState::tls(self)
    }
}
