//! The library's error type and the process exit codes it maps to.
//!
//! Each module owns a typed error that names what failed (file, node, key, command);
//! this enum gathers them for callers that handle several. `anyhow` appears only in the
//! binary.

use crate::config::ConfigError;
use crate::sandbox::SandboxError;
use crate::server::ServeError;

/// Exit codes of `quorate` (outside `quorate check`, which follows the plugin guidelines).
pub mod exit {
    /// Success.
    pub const OK: i32 = 0;
    /// A failure: bad configuration, a sandbox that would not start, a server error.
    pub const FAILURE: i32 = 1;
    /// Command-line usage error (clap's own code).
    pub const USAGE: i32 = 2;
    /// `quorate recover`: no safe action (the output says why and what to wait for).
    pub const REFUSED: i32 = 4;
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error(transparent)]
    Config(#[from] ConfigError),
    #[error(transparent)]
    Sandbox(#[from] SandboxError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

impl Error {
    pub fn exit_code(&self) -> i32 {
        exit::FAILURE
    }
}
