//! Hot reload of `quorate serve`'s configuration, kept off the async workers: the files are read
//! and parsed (and TLS certificates loaded) on a thread of their own, waited for at most
//! [`RELOAD_DEADLINE`]; a reload that takes longer is abandoned with the previous configuration
//! kept, and no new reload starts while its thread still hangs (one stuck thread at most, not
//! one per event). Only building the sources from the new settings, which does no I/O, and the
//! swap run on the async side.
//!
//! The watcher follows the configuration's directory (editors replace files, and symlink swaps
//! must be seen) but acts only on the configuration file itself and on the secret and
//! certificate files it names that live there ([`Settings::secret_files`]); reads are not
//! changes. Events are debounced ([`DEBOUNCE`]): editors write a file in several steps. A change
//! of a secret file reloads although the configuration's bytes did not change.

use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use super::{build_live, unix_now, AppState, ServeError};
use crate::backup::MonitorConfig;
use crate::config::{self, ConfigError, Settings};

/// How long a reload may take to read and parse the files before it is abandoned.
pub(super) const RELOAD_DEADLINE: Duration = Duration::from_secs(10);

/// Events closer together than this are one change.
const DEBOUNCE: Duration = Duration::from_millis(300);

/// The configuration as one reload read it: the file's bytes (to skip reloads on events that
/// changed nothing) and the validated settings.
pub(super) struct ReadConfig {
    pub(super) text: Vec<u8>,
    pub(super) settings: Settings,
}

/// Reads and validates the configuration (blocking: files, secrets), with the web
/// configuration file `--web.config.file` names, if any (re-read at every reload).
pub(super) fn read_config(
    path: &Path,
    web_config: Option<&Path>,
) -> Result<ReadConfig, ConfigError> {
    let text = config::load::read_config_text(path)?.into_bytes();
    let settings = config::load::load_logging_warnings_with_web_config(path, web_config)?;
    Ok(ReadConfig { text, settings })
}

/// Why work sent off the async workers gave no answer.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum OffWorkers {
    /// The previous run's thread has not returned yet: nothing was started.
    StillRunning,
    /// No answer within the deadline: abandoned (its thread finishes on its own, unheard).
    TimedOut,
    /// No thread could be started.
    NoThread(String),
}

/// Runs `work` on a thread of its own and waits for it at most `deadline`. `busy` is set while
/// the thread runs; a call while it is set starts nothing.
pub(super) async fn off_workers<T: Send + 'static>(
    busy: &Arc<AtomicBool>,
    deadline: Duration,
    work: impl FnOnce() -> T + Send + 'static,
) -> Result<T, OffWorkers> {
    if busy.swap(true, Ordering::AcqRel) {
        return Err(OffWorkers::StillRunning);
    }
    let (tx, rx) = tokio::sync::oneshot::channel();
    let flag = Arc::clone(busy);
    let spawned = std::thread::Builder::new()
        .name("quorate-reload".into())
        .spawn(move || {
            let result = work();
            flag.store(false, Ordering::Release);
            let _ = tx.send(result);
        });
    if let Err(e) = spawned {
        busy.store(false, Ordering::Release);
        return Err(OffWorkers::NoThread(e.to_string()));
    }
    match tokio::time::timeout(deadline, rx).await {
        Ok(Ok(result)) => Ok(result),
        // The thread panicked (dropped its sender): no answer will come.
        Ok(Err(_)) => Err(OffWorkers::NoThread("the reading thread failed".into())),
        Err(_) => Err(OffWorkers::TimedOut),
    }
}

/// What the reading thread found: nothing changed, or the new configuration (with the TLS
/// configuration loaded again when serving HTTPS).
enum Found {
    Unchanged,
    Changed {
        read: Box<ReadConfig>,
        tls: Option<Result<Arc<rustls::ServerConfig>, crate::tls::TlsError>>,
    },
}

impl AppState {
    /// Re-reads the configuration (off the async workers, within [`RELOAD_DEADLINE`]). On error
    /// the old one stays in force and the error is returned (and logged). `force` reloads even
    /// when the file's bytes did not change (SIGHUP, a changed secret file).
    pub async fn reload(&self, force: bool) -> Result<bool, ConfigError> {
        let current = self.live();
        let path = self.config_path.clone();
        let web_config = self.web_config.clone();
        let serving_tls = self.tls().is_some();
        let previous_text = current.loaded_text.clone();
        let found = off_workers(&self.reload_busy, RELOAD_DEADLINE, move || {
            if !force {
                let same = config::load::read_config_text(&path)
                    .is_ok_and(|text| text.as_bytes() == previous_text);
                if same {
                    return Ok(Found::Unchanged);
                }
            }
            let read = read_config(&path, web_config.as_deref())?;
            let tls = match (&read.settings.tls, serving_tls) {
                (Some(tls), true) => Some(crate::tls::server_config(tls)),
                _ => None,
            };
            Ok(Found::Changed {
                read: Box::new(read),
                tls,
            })
        })
        .await;
        let found = match found {
            Ok(found) => found,
            Err(why) => {
                let message = match why {
                    OffWorkers::StillRunning => "the previous reload is still reading the files (a file system that does not answer?); not started".to_string(),
                    OffWorkers::TimedOut => format!("reading and parsing did not finish within {RELOAD_DEADLINE:?}; abandoned"),
                    OffWorkers::NoThread(e) => e,
                };
                Err(ConfigError::Read {
                    path: self.config_path.clone(),
                    source: std::io::Error::new(std::io::ErrorKind::TimedOut, message),
                })
            }
        };
        let (read, tls) = match found {
            Ok(Found::Unchanged) => return Ok(false),
            Ok(Found::Changed { read, tls }) => (read, tls),
            Err(e) => return Err(self.reload_failed(e)),
        };
        let built = build_live(
            *read,
            self.node_override.as_deref(),
            &self.host,
            &current.sources,
            current.gluster.as_ref(),
        );
        let (new_live, retired) = match built {
            Ok(b) => b,
            Err(ServeError::Config(e)) => return Err(self.reload_failed(e)),
            Err(other) => {
                return Err(self.reload_failed(ConfigError::Invalid {
                    path: self.config_path.clone(),
                    key: "quorate.node".into(),
                    message: other.to_string(),
                }))
            }
        };
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
        {
            let mut info = match self.self_info.lock() {
                Ok(g) => g,
                Err(p) => p.into_inner(),
            };
            info.config_last_reload_successful = true;
            info.config_last_reload_success_timestamp = unix_now();
        }
        tracing::info!(path = %self.config_path.display(), "configuration reloaded");
        self.reload_tls(&current.settings, tls);
        Ok(true)
    }

    /// Records and logs a failed reload; returns its error.
    fn reload_failed(&self, e: ConfigError) -> ConfigError {
        match self.self_info.lock() {
            Ok(mut g) => g.config_last_reload_successful = false,
            Err(p) => p.into_inner().config_last_reload_successful = false,
        }
        tracing::error!(error = %e, "configuration reload failed; the previous configuration stays in force");
        e
    }

    /// After a reload: the certificate and key loaded again (they may have been renewed in
    /// place). Serving HTTPS or not, and the address, are fixed at start.
    fn reload_tls(
        &self,
        previous: &Settings,
        loaded: Option<Result<Arc<rustls::ServerConfig>, crate::tls::TlsError>>,
    ) {
        let now = self.settings();
        if now.listen != previous.listen || now.tls.is_some() != self.tls().is_some() {
            tracing::warn!("quorate.listen, and turning TLS on or off (quorate.tls, tls_server_config), take effect at the next start of quorate serve");
        }
        let (Some(files), Some(loaded)) = (&now.tls, loaded) else {
            return;
        };
        match loaded {
            Ok(config) => {
                self.set_tls(config);
                tracing::info!(cert = %files.cert_file.display(), "TLS certificate, key and client CA reloaded");
            }
            Err(e) => {
                tracing::error!(error = %e, "TLS certificate or key not reloaded; new connections keep the previous one")
            }
        }
    }
}

/// Whether a change at `path` concerns the configuration: `Some(false)` for the configuration
/// file, `Some(true)` (reload even if its bytes are unchanged) for a secret or certificate file
/// it names, `None` for anything else in the directory (a log file, an editor's swap file).
fn concerns(path: &Path, config_name: &OsString, secret_files: &[PathBuf]) -> Option<bool> {
    let name = path.file_name()?;
    if name == config_name.as_os_str() {
        return Some(false);
    }
    secret_files
        .iter()
        .any(|f| f.file_name() == Some(name))
        .then_some(true)
}

/// Reloads on changes of the configuration or its secret files (debounced) and on SIGHUP.
pub(super) async fn watch_config(state: Arc<AppState>) {
    // `true`: reload even if the configuration's bytes did not change.
    let (tx, mut rx) = tokio::sync::mpsc::channel::<bool>(16);
    let watch_dir = state
        .config_path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."))
        .to_path_buf();
    let config_name = state
        .config_path
        .file_name()
        .map(OsString::from)
        .unwrap_or_default();
    let watcher = {
        let tx = tx.clone();
        let state = Arc::clone(&state);
        notify::recommended_watcher(move |event: notify::Result<notify::Event>| {
            let Ok(event) = event else { return };
            // Opening and reading a file (a reload itself does) is no change.
            if matches!(event.kind, notify::EventKind::Access(_)) {
                return;
            }
            let secret_files = state.settings().secret_files.clone();
            let force = event
                .paths
                .iter()
                .filter_map(|p| concerns(p, &config_name, &secret_files))
                .reduce(|a, b| a || b);
            if let Some(force) = force {
                // A full channel already holds a wake-up; dropping this one loses little (a
                // forced reload after a secret change is the only thing that can be merged
                // into a plain one, and the secret change is still seen by the next reload).
                let _ = tx.try_send(force);
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
        let mut forced = tokio::select! {
            Some(force) = rx.recv() => force,
            Some(()) = async { match hangup.as_mut() { Some(h) => h.recv().await, None => std::future::pending().await } } => true,
        };
        tokio::time::sleep(DEBOUNCE).await;
        while let Ok(force) = rx.try_recv() {
            forced |= force;
        }
        let _ = state.reload(forced).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_configuration_and_its_secrets_concern_a_reload() {
        let name = OsString::from("quorate.yaml");
        let secrets = [PathBuf::from("/etc/quorate/mysql.pw")];
        assert_eq!(
            concerns(Path::new("/etc/quorate/quorate.yaml"), &name, &secrets),
            Some(false)
        );
        assert_eq!(
            concerns(Path::new("/etc/quorate/mysql.pw"), &name, &secrets),
            Some(true)
        );
        assert_eq!(
            concerns(Path::new("/etc/quorate/quorate.log"), &name, &secrets),
            None
        );
        assert_eq!(
            concerns(Path::new("/etc/quorate/.quorate.yaml.swp"), &name, &secrets),
            None
        );
    }

    #[tokio::test]
    async fn a_reload_that_hangs_is_abandoned_and_not_started_twice() {
        let busy = Arc::new(AtomicBool::new(false));
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let started = std::time::Instant::now();
        let first = off_workers(&busy, Duration::from_millis(200), move || {
            let _ = hold.recv();
        })
        .await;
        assert_eq!(first, Err(OffWorkers::TimedOut));
        assert!(started.elapsed() < Duration::from_secs(1));
        // The hanging thread still runs: a second reload starts nothing.
        let second = off_workers(&busy, Duration::from_millis(200), || 1).await;
        assert_eq!(second, Err(OffWorkers::StillRunning));
        // Once it returns, reloads work again.
        release.send(()).expect("release");
        while busy.load(Ordering::Acquire) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(
            off_workers(&busy, Duration::from_secs(1), || 2).await,
            Ok(2)
        );
    }
}
