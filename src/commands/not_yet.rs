//! Subcommands that later work fills in: a clear message and exit code 3.

use quorate::error::exit;

pub fn run(command: &str) -> i32 {
    // For `check` this is also a valid plugin answer: UNKNOWN, exit 3.
    println!(
        "UNKNOWN - quorate {command} is not available yet in quorate {}",
        quorate::VERSION
    );
    eprintln!("quorate {command}: not available yet in this version");
    exit::NOT_AVAILABLE
}
