//! Counterexamples the model found whose decide fix has not landed on main yet. Each has a
//! regression test in `regressions.rs` marked `#[ignore]`; the default run prints and counts
//! them instead of failing (`QUORATE_MODEL_STRICT=1` makes them fail). When a fix lands,
//! un-ignore its regression test and remove its line here.

use crate::history::{Failure, Spec};

/// The regression test standing for this counterexample, if it is a known open one.
pub fn classify(_spec: &Spec, _f: &Failure) -> Option<&'static str> {
    None
}

/// The same for a failure of `arbitrary_reports`.
pub fn classify_arbitrary(_msg: &str) -> Option<&'static str> {
    None
}
