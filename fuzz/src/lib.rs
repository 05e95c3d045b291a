//! The cargo-fuzz package's library: the target table shared with `tests/parsers_fuzz.rs`
//! (`src/targets.rs`) and the lookup each fuzz target binary makes. See docs/development.md.

// Only `check_any` is used here; the generators serve tests/recover_model and the proptest harness.
#[allow(dead_code)]
#[path = "../../tests/recover_model/arbitrary.rs"]
mod arbitrary;
mod targets;

pub use targets::TARGETS;

/// Runs the target named `slug` on `bytes`; an unknown slug is a bug of this package (a fuzz
/// target file and the table disagree), so it panics at once.
pub fn run(slug: &str, bytes: &[u8]) {
    match TARGETS.iter().find(|t| t.slug == slug) {
        Some(target) => (target.run)(bytes),
        None => panic!("no fuzz target {slug} in fuzz/src/targets.rs"),
    }
}
