//! The GlusterFS source: the `gluster` CLI's `--xml` answers, collected in the background into
//! a [`GlusterSnapshot`] and turned into a [`GlusterReading`] that metrics and checks judge.
//!
//! - [`parse`]: pure, streaming parsers of `volume info`, `volume status … detail`,
//!   `peer status`, `volume heal V info summary` and heal entry lists.
//! - [`cli`]: runs one command in its own process group with a hard timeout (the group is
//!   killed and the child reaped), retrying "Another transaction is in progress".
//! - [`collector`]: the background loops (state and heal, each on its own interval) that keep
//!   the last good data and its age; `/metrics` only ever reads it.
//! - [`snapshot`]: the collector's raw data (pure): the last good state and heal counts, each
//!   with its latest attempt.
//! - [`mount`]: the client mount probe's words (pure): failure reason classes, the probe
//!   child's one-line report, mount points from mountinfo.
//! - [`mount_probe`]: the client mount probe (I/O): stat, write, read back and remove a probe
//!   file in a child process with a hard timeout, at most one per mount, a stuck one reported.
//! - [`reading`](mod@reading): the pure per-volume summary (bricks up against the replica count, peers,
//!   heal counts with unknown kept apart from zero, data age).

pub mod cli;
pub mod collector;
pub mod mount;
pub mod mount_probe;
pub mod parse;
pub mod reading;
pub mod snapshot;

use std::time::Duration;

use parse::ParseError;

pub use cli::GlusterCli;
pub use collector::{GlusterCollector, GlusterConfig};
pub use reading::{reading, BrickReading, GlusterReading, HealFigure, VolumeReading};
pub use snapshot::GlusterSnapshot;

/// Why a gluster command gave no usable answer. Every variant names the command.
#[derive(Debug, Clone, thiserror::Error)]
pub enum CliError {
    #[error("cannot run {command}: {message}")]
    Spawn { command: String, message: String },
    /// The command did not finish in time; its process group was killed and reaped.
    #[error("{command} did not finish within {timeout:?}; killed")]
    Timeout { command: String, timeout: Duration },
    /// glusterd's lock stayed busy ("Another transaction is in progress") on every attempt.
    #[error(
        "{command}: glusterd busy (another transaction in progress) on all {attempts} attempts"
    )]
    Busy { command: String, attempts: u32 },
    /// The command answered, but with a failure (`opRet` != 0) or output we cannot use.
    #[error("{command}: {source}")]
    Answer {
        command: String,
        #[source]
        source: ParseError,
    },
    /// The answer was larger than the cap ([`cli::MAX_ANSWER`]); it was not read further.
    #[error("{command}: the answer is larger than {limit} bytes; refused")]
    TooLarge { command: String, limit: usize },
    /// The command exited non-zero without a usable XML answer (e.g. glusterd not running).
    #[error("{command} failed ({status}): {output}")]
    Failed {
        command: String,
        status: String,
        output: String,
    },
}

impl CliError {
    pub fn is_timeout(&self) -> bool {
        matches!(self, CliError::Timeout { .. })
    }
}
