//! The configuration file: the seed's cluster layout (`cluster`, `database`, `storage`,
//! `nodes.controllers[]`) plus quorate's own `quorate:` section, validated into [`Settings`].
//!
//! Owns: strict YAML decoding (an unknown key is an error naming the key and its line),
//! `${VAR}` expansion of the values quorate uses, durations like `3s`, credential resolution
//! (literal, password file or a my.cnf-style `[client]` defaults file) and the permission
//! warnings for files holding secrets. Nothing here talks to the network.
//!
//! Values quorate never uses (the seed's `database.mariadb` root and SST passwords) are kept
//! unexpanded, so monitoring does not need the database root password in its environment.
//!
//! This file is the front; the work is split by responsibility:
//!
//! - [`load`](mod@load): read the file, decode, validate; the one loader that logs warnings.
//! - `raw`: the file's shape, exactly the keys accepted (serde, `deny_unknown_fields`), and
//!   durations.
//! - `expand`: `${VAR}` expansion while decoding, so errors keep their line.
//! - [`secrets`]: [`Secret`], the MySQL account and its one resolution (password and defaults
//!   files, the default user, the command line's overrides).
//! - [`host`]: which controller is "this host".
//! - `validate`: raw shape → [`Settings`], one function per section.
//! - [`recovery`]: the `quorate.recovery` section ([`RecoverySettings`]).
//! - [`settings`]: the validated types.
//! - [`web`]: the web configuration file (exporter-toolkit format: TLS, basic auth, headers)
//!   and [`ServerTls`], which `quorate.tls` maps onto too.

mod error;
mod expand;
pub mod host;
pub mod load;
mod raw;
pub mod recovery;
pub mod secrets;
pub mod settings;
mod validate;
pub mod web;

pub use error::ConfigError;
pub use expand::{expand, ExpandError};
pub use host::{HostIdentity, UnknownLocalNode};
pub use load::{load, load_logging_warnings, parse, Loaded};
pub use raw::{parse_duration, DurationError};
pub use recovery::{ClientCertificate, NodeRecovery, RecoverySettings};
pub use secrets::{
    parse_defaults_file, password_from_file_text, ClientDefaults, CredentialError,
    CredentialOverrides, DefaultsError, EmptyFirstLine, MysqlAuth, Secret, DEFAULT_USER,
};
pub use settings::{
    CheckSettings, GlusterCliSettings, GlusterStorage, HealthSettings, HttpSettings, MysqlEndpoint,
    Node, Settings, StateName,
};
pub use validate::MysqlAddressError;
pub use web::{CipherSuite, ClientAuth, Curve, ServerTls, TlsVersion, WebConfig, WebSettings};

/// Where `quorate` looks for its configuration when `--config` is not given.
pub const DEFAULT_PATH: &str = "/etc/quorate/quorate.yaml";
/// The default listen address of `quorate serve`.
pub const DEFAULT_LISTEN: &str = "0.0.0.0:9878";
/// The default backup root of the seed's backup script.
pub const DEFAULT_BACKUP_DIR: &str = "/var/backups/mariadb";

#[cfg(test)]
mod tests;
