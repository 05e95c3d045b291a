//! `grastate.dat`: the saved cluster position of a node.

use super::{excerpt, parse_seqno, parse_uuid, ZERO_UUID};

/// The contents of `grastate.dat`.
///
/// Galera writes it as
///
/// ```text
/// # GALERA saved state
/// version: 2.1
/// uuid:    <cluster state uuid>
/// seqno:   <i64>
/// safe_to_bootstrap: <0|1>
/// ```
///
/// rewriting it in place and padding with spaces when the new text is shorter (seen for real:
/// two spaces after the last newline once `seqno: 3035` became `seqno: -1`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraState {
    /// The `version:` value, if present (`2.1` for every file Galera 4 writes).
    pub version: Option<String>,
    /// Cluster state UUID, lowercased and validated (8-4-4-4-12 hex digits).
    pub uuid: String,
    /// Last committed seqno saved at clean shutdown; `-1` while the node runs and after a
    /// crash (the position must then be recovered with `--wsrep-recover`).
    pub seqno: i64,
    /// Whether Galera will let this node bootstrap a new Primary component. Set on the last
    /// node to leave a Primary component cleanly.
    pub safe_to_bootstrap: bool,
    /// Whether the file had a `safe_to_bootstrap:` line at all. Files from before Galera
    /// 3.19 lack it, and Galera then treats the node as safe (`safe_to_bootstrap` is `true`).
    pub safe_to_bootstrap_present: bool,
}

impl GraState {
    /// The all-zero UUID: the node has no state (fresh, or its state was invalidated) and
    /// needs a full SST. Such a node is never a bootstrap source, even when
    /// `safe_to_bootstrap` says 1 (the captured `zero-uuid-safe-after-pc-recovery.dat` is a
    /// real example of exactly that combination).
    pub fn is_zero_uuid(&self) -> bool {
        self.uuid == ZERO_UUID
    }

    /// True when the seqno is a real position (`>= 0`), false for `-1` (running or crashed).
    pub fn seqno_known(&self) -> bool {
        self.seqno >= 0
    }
}

/// Why `grastate.dat` could not be read. Each variant names the field involved.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GraStateError {
    /// A required line (`uuid:` or `seqno:`) is absent.
    #[error("grastate.dat has no `{field}:` line")]
    Missing {
        /// The field name without the colon.
        field: &'static str,
    },
    /// A line is present but its value is unusable.
    #[error("grastate.dat has an invalid `{field}:` value {value:?}: {reason}")]
    Invalid {
        /// The field name without the colon.
        field: &'static str,
        /// The offending value (shortened if very long).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// Parses the text of `grastate.dat`.
///
/// Tolerated, as Galera's own reader tolerates them: `#` comment lines, blank lines, leading
/// and trailing whitespace (including the in-place padding and `\r`), and unknown keys (old
/// files carry `cert_index:`); lines that are not `key: value` are ignored too. Keys are
/// matched exactly and case-sensitively (`uuid:`), as Galera matches them, so a line Galera
/// would skip is skipped here as well: the key is the line's first whitespace-separated
/// token, colon included, so `seqno:100` (no space after the colon) is not a `seqno:` line.
///
/// - A missing `safe_to_bootstrap:` line means `true` (Galera's default for old files) with
///   `safe_to_bootstrap_present = false`; present, it must be `0` or `1`.
/// - `seqno: 18446744073709551615` is `-1` printed unsigned and reads as `-1`; any other
///   value outside the `i64` range, or anything that is not an integer, is an error naming
///   `seqno` and the value. Galera itself would read a prefix like `12abc` as 12; we refuse
///   it, because a file in that state was not written by Galera and guessing a position is
///   exactly what recovery must not do.
/// - Missing `uuid:` or `seqno:` is an error naming the field; an invalid UUID too.
/// - A key given more than once keeps its **last** value, which is what Galera's reader does
///   (it assigns on every line it recognises).
/// - Every value must be a single token: `seqno: 12 13` is an error.
///
/// NUL bytes are not treated as padding: Galera's writer pads with spaces (and it was never
/// seen to write NUL), so a NUL inside a value is reported as garbage.
pub fn parse_grastate(text: &str) -> Result<GraState, GraStateError> {
    let mut version = None;
    let mut uuid = None;
    let mut seqno = None;
    let mut safe = None;

    for line in text.lines() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        // Galera's reader takes the first whitespace-separated token as the key, colon
        // included (`istr >> param; if (param == "seqno:")`): `seqno:100` is one token that
        // matches no key, so Galera ignores the line, and so do we.
        let (token, rest) = line
            .split_once(|c: char| c.is_whitespace())
            .unwrap_or((line, ""));
        let Some(key) = token.strip_suffix(':') else {
            continue;
        };
        let value = rest.trim();
        match key {
            "version" => version = Some(value),
            "uuid" => uuid = Some(value),
            "seqno" => seqno = Some(value),
            "safe_to_bootstrap" => safe = Some(value),
            _ => {}
        }
    }

    let uuid_raw = uuid.ok_or(GraStateError::Missing { field: "uuid" })?;
    let uuid = parse_uuid(single_token("uuid", uuid_raw)?).ok_or_else(|| {
        invalid(
            "uuid",
            uuid_raw,
            "not a UUID (expected 8-4-4-4-12 hex digits)",
        )
    })?;

    let seqno_raw = seqno.ok_or(GraStateError::Missing { field: "seqno" })?;
    let seqno = parse_seqno(single_token("seqno", seqno_raw)?)
        .map_err(|e| invalid("seqno", seqno_raw, e.reason()))?;

    let (safe_to_bootstrap, safe_to_bootstrap_present) = match safe {
        None => (true, false),
        Some(raw) => match single_token("safe_to_bootstrap", raw)? {
            "1" => (true, true),
            "0" => (false, true),
            _ => return Err(invalid("safe_to_bootstrap", raw, "expected 0 or 1")),
        },
    };

    Ok(GraState {
        version: version.filter(|v| !v.is_empty()).map(str::to_string),
        uuid,
        seqno,
        safe_to_bootstrap,
        safe_to_bootstrap_present,
    })
}

/// The value must be exactly one non-empty token.
fn single_token<'a>(field: &'static str, value: &'a str) -> Result<&'a str, GraStateError> {
    if value.is_empty() {
        Err(invalid(field, value, "empty"))
    } else if value.split_whitespace().nth(1).is_some() {
        Err(invalid(field, value, "more than one value on the line"))
    } else {
        Ok(value)
    }
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> GraStateError {
    GraStateError::Invalid {
        field,
        value: excerpt(value),
        reason,
    }
}
