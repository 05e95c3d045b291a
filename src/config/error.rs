//! [`ConfigError`]: why a configuration could not be loaded. Every variant names the file, and
//! the key or secret file when there is one, so an operator can go straight to the line.

use std::path::PathBuf;

/// Why a configuration could not be loaded. Every variant names the file.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("cannot read config file {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    /// Syntax errors and unknown keys; serde_yaml_ng's message carries the key and line.
    #[error("{path}: {message}")]
    Syntax { path: PathBuf, message: String },
    /// A value that decoded but does not make sense (names the key).
    #[error("{path}: {key}: {message}")]
    Invalid {
        path: PathBuf,
        key: String,
        message: String,
    },
    /// A file the configuration points at (password file, defaults file) is unusable.
    #[error("{path}: {key}: cannot read {file}: {message}")]
    SecretFile {
        path: PathBuf,
        key: String,
        file: PathBuf,
        message: String,
    },
}

impl ConfigError {
    /// A value that decoded but does not make sense, at `key` of the file at `path`.
    pub(super) fn invalid(
        path: &std::path::Path,
        key: &str,
        message: impl Into<String>,
    ) -> ConfigError {
        ConfigError::Invalid {
            path: path.to_path_buf(),
            key: key.to_string(),
            message: message.into(),
        }
    }
}
