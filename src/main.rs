//! The `quorate` binary: parse the command line, run a subcommand, map errors to exit codes.
//! `anyhow` is used only here and in `commands/`.

mod cli;
mod commands;

use std::io::IsTerminal;

use clap::Parser;
use tracing_subscriber::filter::Targets;
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;

use cli::{Cli, Command, LogFormat};

/// The first argument that sends the command line to [`cli::GenerateCli`] instead of [`Cli`].
const GENERATE: &str = "generate";

fn main() {
    if std::env::args_os().nth(1).is_some_and(|a| a == GENERATE) {
        // A build step, not an operator's command: absent from --help, man pages, completions.
        let args = cli::GenerateCli::parse_from(std::env::args_os().skip(1));
        init_logging("info", LogFormat::Text);
        std::process::exit(exit_code(commands::generate::run(args.what)));
    }
    if std::env::args_os()
        .nth(1)
        .is_some_and(|a| a == quorate::gluster::mount_probe::SUBCOMMAND)
    {
        // The child of a GlusterFS mount probe, started by quorate itself: absent from --help.
        let args: Vec<std::ffi::OsString> = std::env::args_os().skip(2).collect();
        std::process::exit(quorate::gluster::mount_probe::probe_in_child(&args));
    }
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        // Plugins answer bad arguments, --help and --version with UNKNOWN (exit 3).
        Err(e) if commands::check::is_plugin_invocation(std::env::args_os()) => {
            std::process::exit(commands::check::argument_error(&e))
        }
        Err(e) => e.exit(),
    };
    init_logging(&cli.log_level, cli.log_format);

    let result = match cli.command {
        Command::Serve(args) => commands::serve::run(args),
        Command::Check(args) => Ok(commands::check::run(args)),
        Command::Discover(args) => Ok(commands::discover::run(args)),
        Command::Recover(cmd) => commands::recover::run(cmd),
        Command::Sandbox(cmd) => commands::sandbox::run(cmd),
        Command::Config(cmd) => Ok(commands::config::run(cmd)),
        Command::Maintenance(cmd) => commands::maintenance::run(cmd),
        Command::Backup(cmd) => commands::backup::run(cmd),
    };
    std::process::exit(exit_code(result));
}

/// The exit code of a command's result; an error is printed first.
fn exit_code(result: anyhow::Result<i32>) -> i32 {
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("quorate: error: {e:#}");
            e.downcast_ref::<quorate::Error>()
                .map_or(quorate::error::exit::FAILURE, quorate::Error::exit_code)
        }
    }
}

/// Logs go to stderr (journald under systemd), as text or one JSON object per line. `level`
/// is a level (`info`) or comma-separated `target=level` directives, as `RUST_LOG`; a filter
/// that does not parse falls back to `info`.
fn init_logging(level: &str, format: LogFormat) {
    let filter: Targets = level
        .parse()
        .unwrap_or_else(|_| Targets::new().with_default(tracing::Level::INFO));
    let fmt = tracing_subscriber::fmt::layer().with_writer(std::io::stderr);
    let registry = tracing_subscriber::registry().with(filter);
    match format {
        // Colour codes only for a person at a terminal, never in journald or log files.
        LogFormat::Text => registry
            .with(fmt.with_ansi(std::io::stderr().is_terminal()))
            .init(),
        LogFormat::Json => registry.with(fmt.json().with_ansi(false)).init(),
    }
}
