//! Helpers for unit tests that judge readings captured from a real cluster
//! (`tests/fixtures/wsrep/`, see its README): the metrics, the checks and the health endpoint.

use super::parse::{parse_name_value_rows, WsrepStatus, WsrepVariables};
use super::GaleraReading;

/// The text of a fixture under `tests/fixtures/wsrep/`, embedded at compile time.
macro_rules! wsrep_fixture {
    ($path:literal) => {
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/wsrep/",
            $path
        ))
    };
}
pub(crate) use wsrep_fixture;

/// A reading from `mariadb -N -B` captures of `SHOW GLOBAL STATUS` and `SHOW GLOBAL VARIABLES`.
pub(crate) fn reading(status: &str, variables: &str) -> GaleraReading {
    GaleraReading {
        status: WsrepStatus::from_rows(parse_name_value_rows(status)),
        variables: WsrepVariables::from_rows(parse_name_value_rows(variables)),
    }
}
