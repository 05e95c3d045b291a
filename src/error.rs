//! Errors (stub).
pub type Error = ();
