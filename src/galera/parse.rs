//! Pure parsing of Galera data: no I/O, no clocks, no panics.
//!
//! This module owns the *meaning* of everything Galera and MariaDB hand us as text:
//!
//! - [`WsrepStatus`]: rows of `SHOW GLOBAL STATUS LIKE 'wsrep%'` (cluster status, local state,
//!   readiness, flow control, EVS latency, incoming addresses, ...).
//! - [`WsrepVariables`]: rows of `SHOW GLOBAL VARIABLES` (desync, read_only, names, the
//!   `wsrep_provider_options` string and the gcache size inside it).
//! - [`status_value_as_f64`] / [`bool_flag`]: the value mapping mysqld_exporter applies to
//!   global status and variables, plus the Galera-4 `true`/`false` flags it drops.
//! - [`parse_grastate`]: `grastate.dat` (saved cluster position, `safe_to_bootstrap`).
//! - [`parse_gvwstate`]: `gvwstate.dat` (the last Primary view, used by `pc.recovery`).
//! - [`parse_recover_log`]: the error log written by `mariadbd --wsrep-recover`.
//! - [`parse_batch_output`]: the `mariadb -N -B` client's tab-separated output.
//!
//! Callers do the I/O (database queries, file reads) and pass `&str`, `&[u8]` or rows here.
//! Every function returns a value or an error for any input; nothing here unwraps input data,
//! because these parsers read files that crashes, disks and humans may have mangled, and the
//! recovery logic must get "I could not read this" rather than a dead process.
//!
//! Behaviour was checked against MariaDB 10.11.19 with Galera 26.4.23 (wsrep API 4); the
//! fixtures under `tests/fixtures/wsrep/` were captured from such a cluster (see the README
//! there for how each one was made).

mod batch;
mod grastate;
mod gvwstate;
mod recover;
mod rows;
mod status;
mod value;
mod variables;

#[cfg(test)]
mod tests;

pub use batch::{parse_batch_output, parse_name_value_rows, unescape_batch_field};
pub use grastate::{parse_grastate, GraState, GraStateError};
pub use gvwstate::{parse_gvwstate, GvwState, GvwStateError, ViewId};
pub use recover::{parse_recover_log, RecoveredPosition};
pub use status::{ClusterStatus, EvsReplLatency, LocalState, WsrepStatus};
pub use value::{bool_flag, parse_galera_size, status_value_as_f64};
pub use variables::{parse_provider_options, WsrepVariables};

/// The all-zero UUID Galera uses for "no state" (`WSREP_UUID_UNDEFINED`).
pub const ZERO_UUID: &str = "00000000-0000-0000-0000-000000000000";

/// Validates a UUID in Galera's textual form (8-4-4-4-12 hex digits) and returns it
/// lowercased, or `None` if it is not one.
///
/// Galera prints UUIDs lowercase; lowercasing anyway makes comparisons between sources
/// (status rows, grastate.dat, recovery logs) safe against hand-edited files.
pub fn parse_uuid(s: &str) -> Option<String> {
    let bytes = s.as_bytes();
    if bytes.len() != 36 {
        return None;
    }
    let well_formed = bytes.iter().enumerate().all(|(i, &c)| match i {
        8 | 13 | 18 | 23 => c == b'-',
        _ => c.is_ascii_hexdigit(),
    });
    well_formed.then(|| s.to_ascii_lowercase())
}

/// Parses a Galera sequence number, which is an `i64` where `-1` means "undefined".
///
/// Some code paths print it through an unsigned format, so `-1` can also appear as
/// `18446744073709551615` (seen for real in `wsrep_cluster_conf_id` on a non-Primary node).
/// That one spelling is folded back to `-1`; any other value outside the `i64` range is
/// rejected rather than wrapped, because it cannot be a seqno Galera wrote.
pub(crate) fn parse_seqno(s: &str) -> Result<i64, SeqnoError> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(n);
    }
    match s.parse::<u64>() {
        Ok(u64::MAX) => Ok(-1),
        Ok(_) => Err(SeqnoError::OutOfRange),
        Err(_) => Err(SeqnoError::NotAnInteger),
    }
}

/// Why [`parse_seqno`] rejected a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum SeqnoError {
    NotAnInteger,
    OutOfRange,
}

impl SeqnoError {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            SeqnoError::NotAnInteger => "not an integer",
            SeqnoError::OutOfRange => "out of the signed 64-bit range",
        }
    }
}

/// Shortens a bad value for an error message: a corrupt file can hold anything, and an error
/// that embeds a megabyte of garbage helps nobody.
pub(crate) fn excerpt(s: &str) -> String {
    const MAX_CHARS: usize = 64;
    match s.char_indices().nth(MAX_CHARS) {
        Some((cut, _)) => format!("{}...", &s[..cut]),
        None => s.to_string(),
    }
}
