//! quorate watches and heals the high-availability core of a small cluster: a MariaDB Galera
//! multi-master database, a GlusterFS replicated volume and the mariabackup backups that protect
//! them.
//!
//! # Layout
//!
//! Data flows one way: **config → sources (I/O) → pure readings → {metrics | checks | recovery}**.
//!
//! ```text
//!             I/O, bounded in time                 pure from here on
//! config ─┬─> galera::collector  ─┐
//!         ├─> gluster::collector ─┼─> …Snapshot ───> …Reading ─┬─> metrics  (/metrics)
//!         └─> backup::monitor    ─┘   (parsed by     (judged)  ├─> check    (Nagios, Zabbix)
//!                                      …::parse;               ├─> health   (HAProxy)
//!                                      Collected<T>)           └─> recover  (decide → act)
//! ```
//!
//! - [`config`]: the YAML file (the seed's cluster layout plus a `quorate:` section), `${ENV}`
//!   expansion and secrets, validated into [`config::Settings`].
//! - [`collected`]: [`collected::Collected`], one collection's value with when it finished and
//!   how long it took; success and duration are defined there once for every source.
//! - [`galera`]: the Galera source. [`galera::parse`] is pure (status rows, grastate.dat,
//!   gvwstate.dat, provider options); [`galera::client`] owns the per-node connection pools;
//!   [`galera::collector`] collects one node per scrape with per-part deadlines and shares an
//!   in-flight collection between concurrent scrapes.
//! - [`gluster`]: the GlusterFS source. [`gluster::parse`] is pure (the CLI's `--xml`
//!   answers); [`gluster::cli`] runs the CLI under a hard timeout; [`gluster::collector`] keeps
//!   the last good data in the background; [`gluster::reading`](mod@gluster::reading) is what
//!   metrics and checks judge.
//! - [`backup`]: the mariabackup source: backup directories, their age, health and
//!   incremental chain; scanned in the background by `quorate serve`; and
//!   [`backup::verify`], proving a backup restores on a throwaway copy.
//! - [`metrics`]: turns readings into Prometheus exposition (OpenMetrics or text 0.0.4).
//! - [`server`]: the axum router of `quorate serve`, its basic authentication and headers (the
//!   web configuration file, [`config::web`]) and its config hot reload.
//! - [`check`]: checker mode: Nagios ranges, plugin output and perfdata, Zabbix values, and the
//!   pure verdicts of `quorate check galera|cluster|gluster|backup`.
//! - [`health`]: the HAProxy health endpoint's decision (`/health/galera`).
//! - [`maintenance`]: planned maintenance of a node, recorded with an expiry in the
//!   maintenance file by `quorate maintenance` and read by health, metrics, checks and
//!   recovery; [`maintenance::record`] is pure (the file's format and the one rule).
//! - [`recover`]: cluster recovery: gather every node's state, decide purely what is safe
//!   (bootstrap, rejoin, promote or refuse), act with re-verification, a lock and an audit line.
//! - [`sandbox`]: a real local Galera cluster on loopback for the demo, tests and benchmarks.
//! - [`bounded`]: reading a small outside file with a size cap, refusing FIFOs, devices and
//!   directories (opened non-blocking), every error naming the file.
//! - `process` (private): running commands, their PATH, timeouts, output caps and process
//!   groups.
//! - [`process_stats`]: this process's CPU, memory and file descriptors from `/proc` (the
//!   standard `process_*` metrics); [`process_stats::parse`] is pure.
//! - [`tls`]: loading certificates for `quorate serve` (with its client-certificate policy,
//!   versions and suites) and for peers' recovery endpoints (presenting a client certificate).
//! - [`unix_time`]: Unix time as seconds and as `(seconds, nanoseconds)`, before 1970 too.
//! - [`error`]: the library's error type and the exit codes it maps to.
//!
//! # Glossary
//!
//! Every source has the same shape and the same words:
//!
//! | word | meaning | Galera | GlusterFS | backups |
//! |---|---|---|---|---|
//! | parse | pure: bytes or rows → typed values | [`galera::parse`] | [`gluster::parse`] | [`backup::parse`], [`backup::record`] |
//! | collect | I/O: ask the source, bounded in time | [`galera::collector`] | [`gluster::collector`] | [`backup::scan`], [`backup::monitor`] |
//! | [`Collected<T>`](collected::Collected) | one collection: its value, when it finished, how long it took | | | |
//! | snapshot | the raw data of one source, each part collected | [`galera::GaleraSnapshot`] | [`gluster::GlusterSnapshot`] | [`backup::BackupSnapshot`] |
//! | reading | what metrics, checks, health and recovery judge | [`galera::GaleraReading`] | [`gluster::GlusterReading`] | [`backup::BackupReading`] |
//!
//! Each separately timed collection is one `Collected<T>`: a Galera snapshot holds two (the
//! server's answer and grastate.dat); a GlusterFS snapshot keeps, for the state and for each
//! volume's heal counts, the last good `Collected` and the latest attempt
//! ([`collected::Retained`]); a backup scan is one `Collected<BackupSnapshot>`. A Galera
//! node's parsed answer is already its reading (nothing in it depends on the time it is judged
//! at); the GlusterFS and backup readings are derived from their snapshot as of "now" (ages,
//! staleness, the newest backup of each type).
//!
//! **The seed** is the cluster deployment quorate was written to watch, whose own files it
//! reads as they are: its *cluster layout* (the YAML with `cluster`, `database`, `storage` and
//! `nodes.controllers[]` that quorate's configuration file extends with a `quorate:` section)
//! and its backup script `db_backup.sh` with the *backup layout* it writes
//! (`ROOT/full/backup_YYYYMMDD_HHMMSS/`, `ROOT/incremental/incremental_YYYYMMDD_HHMMSS/`, and a
//! `backup_metadata.json` next to mariabackup's files).

pub mod backup;
pub mod bounded;
pub mod check;
pub mod collected;
pub mod config;
pub mod error;
pub mod galera;
pub mod gluster;
pub mod health;
pub mod maintenance;
pub mod metrics;
mod process;
pub mod process_stats;
pub mod recover;
pub mod sandbox;
pub mod server;
pub mod tls;
pub mod unix_time;

pub use error::Error;

/// The version string printed by `quorate --version` and exported as `quorate_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
/// The git revision built (`unknown` outside a git checkout); set by build.rs.
pub const GIT_REVISION: &str = env!("QUORATE_GIT_REVISION");
/// The `rustc --version` of the build.
pub const RUSTC_VERSION: &str = env!("QUORATE_RUSTC_VERSION");
/// The build date, `YYYY-MM-DD` in UTC (`SOURCE_DATE_EPOCH` when set).
pub const BUILD_DATE: &str = env!("QUORATE_BUILD_DATE");
/// What `quorate --version` prints after the name: the version and the build facts.
pub const LONG_VERSION: &str = concat!(
    env!("CARGO_PKG_VERSION"),
    " (revision ",
    env!("QUORATE_GIT_REVISION"),
    ", built ",
    env!("QUORATE_BUILD_DATE"),
    " with ",
    env!("QUORATE_RUSTC_VERSION"),
    ")"
);
