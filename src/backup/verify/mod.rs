//! Backups proven to restore: `quorate backup verify` restores a copy of a backup (for an
//! incremental, its whole chain in order) in a scratch directory, starts a throwaway mariadbd
//! on it with no network and no Galera, checks that its tables open, `CHECK TABLE`s a sample
//! and counts its rows, stops it and removes the copy; the outcome is recorded beside the
//! backup (never inside it), where the backup scan of `quorate serve` reads it back.
//!
//! - [`plan`](mod@plan) (pure): the chain to prepare, or why the backup cannot be restored (a chain gap
//!   named as the chain check words it); where the outcome is recorded.
//! - [`record`] (pure): the outcome's JSON file, and the judgement of the server's answers.
//! - [`run`]: the scratch copy, `mariabackup --prepare`, the checks, the clean-up.
//! - [`server`]: the throwaway mariadbd and the client that talks to it.

pub mod plan;
pub mod record;
pub mod run;
pub mod server;

pub use plan::{latest, plan, record_path, Plan, PlanError};
pub use record::{Step, TableChecked, VerifyRecord};
pub use run::{verify, verify_target, write_record, VerifyOptions};
pub use server::Programs;
