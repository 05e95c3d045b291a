//! Planned maintenance of a node as a state every part of quorate sees: what
//! `quorate maintenance on|off|status` records in the maintenance file
//! (`quorate.health.maintenance_file`) and what `/health/galera`, `/metrics`, the checks and
//! `recover plan` read from it.
//!
//! Owns the file's format, the one rule for "is this node in maintenance now" ([`judge`]) and
//! the file's reading and atomic replacement. [`record`] is pure (parse, render, judge);
//! [`store`] reads and writes the file; [`switch`] is `on`, `off` and `status` (the file and
//! the node's `wsrep_desync`).
//!
//! The rule, written once: a node is in maintenance while the file exists and either holds an
//! unexpired record for it, or is not a record at all (an empty file made with `touch`, the
//! original convention of `/health/galera`, or anything unreadable as a record: a node whose
//! maintenance state cannot be told is kept out of the load balancer). A record always has an
//! expiry; once past it the node is out of maintenance by itself, and the record stays (as
//! "expired") until `quorate maintenance off` removes it, because `off` may still have
//! something to undo (`wsrep_desync`, which nothing but `off` sets back).

pub mod record;
pub mod store;
pub mod switch;

pub use record::{judge, Contents, Document, Maintenance, Record, RecordError};
pub use store::StoreError;
pub use switch::MaintenanceError;
