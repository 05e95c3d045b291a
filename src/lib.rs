//! quorate watches and heals the high-availability core of a small cluster: a MariaDB Galera
//! multi-master database, a GlusterFS replicated volume and the mariabackup backups that protect
//! them.
//!
//! # Layout
//!
//! Data flows one way: **config → sources (I/O) → pure readings → {metrics | checks | recovery}**.
//!
//! - [`config`]: the YAML file (seed cluster layout plus a `quorate:` section), `${ENV}`
//!   expansion and secrets, validated into [`config::Settings`].
//! - [`galera`]: the Galera source. [`galera::parse`] is pure (status rows, grastate.dat,
//!   gvwstate.dat, provider options); [`galera::client`] owns the per-node connection pools.
//! - [`gluster`]: the GlusterFS source. [`gluster::parse`] is pure (the CLI's `--xml`
//!   answers); [`gluster::cli`] runs the CLI under a hard timeout; [`gluster::collector`] keeps
//!   the last good data in the background; [`gluster::reading`] is what checks judge.
//! - [`snapshot`]: gathers one node's readings with per-collector deadlines and shares an
//!   in-flight collection between concurrent scrapes.
//! - [`metrics`]: turns a snapshot into Prometheus exposition (OpenMetrics or text 0.0.4).
//! - [`server`]: the axum router of `quorate serve` and its config hot reload.
//! - [`backup`]: the mariabackup source: backup directories, their age, health and
//!   incremental chain; scanned in the background by `quorate serve`.
//! - [`check`]: checker mode: Nagios ranges, plugin output and perfdata, Zabbix values, and the
//!   pure verdicts of `quorate check galera|cluster`.
//! - [`health`]: the HAProxy health endpoint's decision (`/health/galera`).
//! - [`recover`]: cluster recovery: gather every node's state, decide purely what is safe
//!   (bootstrap, rejoin, promote or refuse), act with re-verification, a lock and an audit line.
//! - [`sandbox`]: a real local Galera cluster on loopback for the demo, tests and benchmarks.
//! - [`error`]: the library's error type and the exit codes it maps to.

pub mod backup;
pub mod check;
pub mod config;
pub mod error;
pub mod galera;
pub mod gluster;
pub mod health;
pub mod metrics;
mod process;
pub mod recover;
pub mod sandbox;
pub mod server;
pub mod snapshot;
pub mod tls;

pub use error::Error;

/// The version string printed by `quorate --version` and exported as `quorate_build_info`.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");
