//! The GlusterFS source: the `gluster` CLI's `--xml` answers, collected in the background and
//! turned into a [`GlusterReading`] that metrics and checks judge.
//!
//! - [`parse`]: pure, streaming parsers of `volume info`, `volume status … detail`,
//!   `peer status`, `volume heal V info summary` and heal entry lists.
//! - [`cli`]: runs one command in its own process group with a hard timeout (the group is
//!   killed and the child reaped), retrying "Another transaction is in progress".
//! - [`collector`]: the background loops (state and heal, each on its own interval) that keep
//!   the last good data and its age; `/metrics` only ever reads it.
//! - [`reading`]: the pure per-volume summary (bricks up against the replica count, peers,
//!   heal counts with unknown kept apart from zero, data age).

pub mod cli;
pub mod collector;
pub mod parse;
pub mod reading;

pub use cli::{CliError, GlusterCli};
pub use collector::{GlusterCollector, GlusterConfig, GlusterSnapshot};
pub use reading::{reading, BrickReading, GlusterReading, HealFigure, VolumeReading};
