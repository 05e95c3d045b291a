//! `quorate backup …`: one file per subcommand.

mod verify;

use crate::cli::BackupCommand;

pub fn run(cmd: BackupCommand) -> anyhow::Result<i32> {
    match cmd {
        BackupCommand::Verify(args) => verify::run(args),
    }
}
