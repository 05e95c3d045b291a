//! One module per subcommand: each turns parsed arguments into options, calls the library,
//! and returns the process exit code.

pub mod backup;
pub mod check;
pub mod config;
pub mod discover;
pub mod generate;
pub mod maintenance;
pub mod recover;
pub mod sandbox;
pub mod serve;
