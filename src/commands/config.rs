//! `quorate config check [--config FILE] [--quiet]`: load the configuration exactly as
//! `quorate serve` does (strict decoding, `${VAR}` expansion, credential files read), print
//! the warnings and the resolved settings, and exit 0 (valid) or 1 (invalid).
//!
//! The packaged unit runs it as `ExecStartPre` and `ExecReload`, so a broken file is refused
//! before the service starts or reloads, as the service's own user (which also proves that
//! user can read the password files). Secrets are [`quorate::config::Secret`]s, whose `Debug`
//! prints `<redacted>`: the printed settings never hold a password or a token.

use std::path::Path;

use crate::cli::{ConfigArgs, ConfigCommand};

pub fn run(command: ConfigCommand) -> i32 {
    match command {
        ConfigCommand::Check(args) => check(&args),
    }
}

fn check(args: &ConfigArgs) -> i32 {
    match quorate::config::load(&args.config) {
        Ok(loaded) => {
            for warning in &loaded.warnings {
                println!("warning: {warning}");
            }
            if !args.quiet {
                print_settings(&args.config, &loaded.settings);
            }
            println!("{}: configuration valid", args.config.display());
            quorate::error::exit::OK
        }
        Err(e) => {
            // The error names the file, the key and its line.
            eprintln!("quorate config check: {e}");
            quorate::error::exit::FAILURE
        }
    }
}

/// The settings after defaults, `${VAR}` expansion and credential resolution. `Debug` is used
/// on purpose: it shows every field the code has (no separate list to drift), and secrets
/// print as `<redacted>` by their type.
fn print_settings(path: &Path, settings: &quorate::config::Settings) {
    println!(
        "# resolved settings of {} (secrets redacted)",
        path.display()
    );
    println!("{settings:#?}");
}
