//! Galera source.
pub mod client;
pub mod parse;
