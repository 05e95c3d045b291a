//! The monitoring-plugin rules for the command line itself: a `quorate check …` invocation
//! answers bad arguments, --help and --version with UNKNOWN (exit 3), on stdout.

use std::ffi::OsString;
use std::io::Write;

use quorate::check::Status;

/// Whether the command line is a `quorate check …` invocation (global options may come first),
/// so argument errors, --help and --version follow the plugin rules (exit 3).
pub fn is_plugin_invocation(args: impl Iterator<Item = OsString>) -> bool {
    let mut args = args.skip(1);
    while let Some(arg) = args.next() {
        let arg = arg.to_string_lossy();
        if arg == "--log-level" {
            args.next();
            continue;
        }
        if arg.starts_with('-') {
            continue;
        }
        return arg == "check";
    }
    false
}

/// Prints a command-line error the plugin way and returns the exit code (3, UNKNOWN).
/// --help and --version print as usual (on stdout) and also exit 3, as the guidelines say.
pub fn argument_error(e: &clap::Error) -> i32 {
    use clap::error::ErrorKind;
    match e.kind() {
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            // A closed stdout (`| head`) is not worth a panic.
            let _ = write!(std::io::stdout(), "{e}");
        }
        _ => {
            let text = e.to_string();
            let first = text
                .lines()
                .find(|l| !l.trim().is_empty())
                .unwrap_or("invalid arguments")
                .trim_start_matches("error: ");
            let _ = writeln!(std::io::stdout(), "UNKNOWN - invalid arguments: {first}");
            let _ = write!(std::io::stderr(), "{text}");
        }
    }
    let _ = std::io::stdout().flush();
    Status::Unknown.exit_code()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> impl Iterator<Item = OsString> {
        list.iter()
            .map(OsString::from)
            .collect::<Vec<_>>()
            .into_iter()
    }

    #[test]
    fn plugin_invocations_are_recognised() {
        assert!(is_plugin_invocation(args(&["quorate", "check", "galera"])));
        assert!(is_plugin_invocation(args(&[
            "quorate",
            "--log-level",
            "debug",
            "check"
        ])));
        assert!(is_plugin_invocation(args(&[
            "quorate",
            "--log-level=warn",
            "check"
        ])));
        assert!(!is_plugin_invocation(args(&["quorate", "serve"])));
        assert!(!is_plugin_invocation(args(&[
            "quorate", "discover", "check"
        ])));
        assert!(!is_plugin_invocation(args(&["quorate"])));
    }
}
