//! One module per subcommand: each turns parsed arguments into options, calls the library,
//! and returns the process exit code.

pub mod check;
pub mod discover;
pub mod recover;
pub mod sandbox;
pub mod serve;
