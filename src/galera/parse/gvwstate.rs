//! `gvwstate.dat`: the last Primary view a node saw, kept for `pc.recovery`.

use super::{excerpt, parse_uuid};

/// The contents of `gvwstate.dat`.
///
/// Galera writes it on every Primary view and deletes it on clean shutdown, so its presence
/// means the node did not leave cleanly. With `pc.recovery=true` (the default), when all
/// members listed here come back they re-form the Primary component by themselves.
///
/// ```text
/// my_uuid: <this node's gcomm uuid>
/// #vwbeg
/// view_id: <type> <view uuid> <seq>
/// bootstrap: <0|1>
/// member: <uuid> <segment>
/// ...
/// #vwend
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GvwState {
    /// This node's gcomm UUID (`wsrep_gcomm_uuid` while it ran), lowercased.
    pub my_uuid: String,
    /// The saved view's id; `None` if the file has no `view_id:` line.
    pub view_id: Option<ViewId>,
    /// The view's bootstrap flag.
    pub bootstrap: bool,
    /// Members of the saved view: `(gcomm uuid lowercased, gmcast segment)`, in file order.
    pub members: Vec<(String, u32)>,
}

/// A gcomm view identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ViewId {
    /// View type as Galera numbers it: 0 regular, 1 transitional, 2 non-Primary,
    /// 3 Primary (the only type Galera saves here in practice).
    pub kind: u8,
    /// UUID of the member that created the view, lowercased.
    pub uuid: String,
    /// View sequence number (a 32-bit unsigned counter in Galera).
    pub seq: i64,
}

impl ViewId {
    /// Galera's number for a Primary view (`V_PRIM`).
    pub const PRIMARY: u8 = 3;

    /// True for a Primary view.
    pub fn is_primary(&self) -> bool {
        self.kind == Self::PRIMARY
    }
}

/// Why `gvwstate.dat` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GvwStateError {
    /// The file is empty or blank. Galera refuses to start with such a file, so it is
    /// reported on its own: the fix is to remove the file.
    #[error("gvwstate.dat is empty (Galera will not start with it; remove the file)")]
    Empty,
    /// A required line is absent.
    #[error("gvwstate.dat has no `{field}:` line")]
    Missing {
        /// The field name without the colon.
        field: &'static str,
    },
    /// A line is present but its value is unusable.
    #[error("gvwstate.dat has an invalid `{field}:` line {value:?}: {reason}")]
    Invalid {
        /// The field name without the colon.
        field: &'static str,
        /// The offending value (shortened if very long).
        value: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// `#vwbeg` without a matching `#vwend`: the member list may be cut short.
    #[error("gvwstate.dat view block is not terminated by #vwend (truncated file?)")]
    Unterminated,
}

/// Parses the text of `gvwstate.dat`.
///
/// Mirrors Galera's reader where it matters: `my_uuid:` is read outside the view block;
/// `view_id:`, `bootstrap:` and `member:` only between `#vwbeg` and `#vwend`; other lines
/// are ignored; a repeated `my_uuid:`/`view_id:`/`bootstrap:` keeps its last value.
///
/// Stricter than Galera on purpose, since recovery decisions depend on the member list:
/// every UUID must be well-formed, numbers must be in range, and a view block without
/// `#vwend` is an error ([`GvwStateError::Unterminated`]). Galera writes the file to a
/// temporary name and renames it, so a cut-off file was not produced by a normal write.
pub fn parse_gvwstate(text: &str) -> Result<GvwState, GvwStateError> {
    if text.trim().is_empty() {
        return Err(GvwStateError::Empty);
    }

    let mut my_uuid = None;
    let mut view_id = None;
    let mut bootstrap = false;
    let mut members = Vec::new();
    let mut in_view = false;

    for line in text.lines() {
        let mut tokens = line.split_whitespace();
        let Some(first) = tokens.next() else {
            continue;
        };
        let rest: Vec<&str> = tokens.collect();
        match (in_view, first) {
            (false, "my_uuid:") => my_uuid = Some(uuid_field("my_uuid", line, &rest)?),
            (_, "#vwbeg") => in_view = true,
            (true, "#vwend") => in_view = false,
            (true, "view_id:") => view_id = Some(parse_view_id(line, &rest)?),
            (true, "bootstrap:") => {
                bootstrap = match rest.as_slice() {
                    ["0"] => false,
                    ["1"] => true,
                    _ => return Err(invalid("bootstrap", line, "expected 0 or 1")),
                }
            }
            (true, "member:") => members.push(parse_member(line, &rest)?),
            _ => {}
        }
    }

    if in_view {
        return Err(GvwStateError::Unterminated);
    }
    let my_uuid = my_uuid.ok_or(GvwStateError::Missing { field: "my_uuid" })?;
    Ok(GvwState {
        my_uuid,
        view_id,
        bootstrap,
        members,
    })
}

fn uuid_field(field: &'static str, line: &str, rest: &[&str]) -> Result<String, GvwStateError> {
    match rest {
        [u] => parse_uuid(u).ok_or_else(|| invalid(field, line, "not a UUID")),
        _ => Err(invalid(field, line, "expected exactly one UUID")),
    }
}

fn parse_view_id(line: &str, rest: &[&str]) -> Result<ViewId, GvwStateError> {
    let [kind, uuid, seq] = rest else {
        return Err(invalid("view_id", line, "expected <type> <uuid> <seq>"));
    };
    let kind = kind
        .parse::<u8>()
        .map_err(|_| invalid("view_id", line, "view type is not a small integer"))?;
    let uuid = parse_uuid(uuid).ok_or_else(|| invalid("view_id", line, "not a UUID"))?;
    let seq = seq
        .parse::<u32>()
        .map_err(|_| invalid("view_id", line, "view seq is not a 32-bit unsigned integer"))?;
    Ok(ViewId {
        kind,
        uuid,
        seq: i64::from(seq),
    })
}

fn parse_member(line: &str, rest: &[&str]) -> Result<(String, u32), GvwStateError> {
    let [uuid, segment] = rest else {
        return Err(invalid("member", line, "expected <uuid> <segment>"));
    };
    let uuid = parse_uuid(uuid).ok_or_else(|| invalid("member", line, "not a UUID"))?;
    let segment = segment
        .parse::<u32>()
        .map_err(|_| invalid("member", line, "segment is not an unsigned integer"))?;
    Ok((uuid, segment))
}

fn invalid(field: &'static str, value: &str, reason: &'static str) -> GvwStateError {
    GvwStateError::Invalid {
        field,
        value: excerpt(value.trim()),
        reason,
    }
}
