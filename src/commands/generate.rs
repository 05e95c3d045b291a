//! `quorate generate man DIR` and `quorate generate completions DIR`: the man pages and the
//! bash, zsh and fish completions, made from the clap definitions in `cli.rs` so they cannot
//! drift from the real options. Run when the Debian package is built (`scripts/build-deb`);
//! not an operator's command, so it is parsed apart from [`Cli`] (see `main`) and appears in
//! none of what it writes.

use std::fs;
use std::path::Path;

use anyhow::Context;
use clap::CommandFactory;
use clap_complete::Shell;

use crate::cli::{Cli, GenerateCommand};

pub fn run(command: GenerateCommand) -> anyhow::Result<i32> {
    match command {
        GenerateCommand::Man { dir } => man_pages(&dir)?,
        GenerateCommand::Completions { dir } => completions(&dir)?,
    }
    Ok(quorate::error::exit::OK)
}

/// One page per command that a person runs: `quorate.1`, `quorate-serve.1`,
/// `quorate-check-galera.1`, ... (clap names each subcommand after its parents when the
/// command is built). Hidden commands and clap's `help` get none.
fn man_pages(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut command = Cli::command().disable_help_subcommand(true);
    command.build();
    write_pages(dir, command)
}

fn write_pages(dir: &Path, command: clap::Command) -> anyhow::Result<()> {
    for sub in command.get_subcommands().filter(|s| !s.is_hide_set()) {
        write_pages(dir, sub.clone())?;
    }
    let page = clap_mangen::Man::new(command)
        .date(quorate::BUILD_DATE)
        .source(format!("quorate {}", quorate::VERSION))
        .manual("quorate manual");
    let path = page
        .generate_to(dir)
        .with_context(|| format!("writing a man page into {}", dir.display()))?;
    tracing::debug!(path = %path.display(), "man page written");
    Ok(())
}

/// `quorate.bash`, `_quorate` (zsh) and `quorate.fish`.
fn completions(dir: &Path) -> anyhow::Result<()> {
    fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
    for shell in [Shell::Bash, Shell::Zsh, Shell::Fish] {
        let path = clap_complete::generate_to(shell, &mut Cli::command(), "quorate", dir)
            .with_context(|| format!("writing the {shell} completion into {}", dir.display()))?;
        tracing::debug!(path = %path.display(), "completion written");
    }
    Ok(())
}
