//! Checker mode: monitoring-plugin verdicts (Nagios, Icinga, NRPE) and Zabbix values.
//!
//! Pure judging lives here; the I/O (collecting readings, the state file, the command line)
//! lives in [`state`] and in the binary's `commands/check/`.
//!
//! - [`range`]: Nagios threshold ranges and warning/critical pairs.
//! - [`output`]: a [`CheckResult`] rendered as plugin output (first line,
//!   long output, perfdata, the 1024-byte limit) or as Zabbix JSON.
//! - [`galera`]: one node's reading + policy → verdict.
//! - [`cluster`]: every node's reading + policy → one verdict for the whole cluster.
//! - [`gluster`]: a GlusterFS reading + policy → verdict.
//! - [`backup`]: the backups on disk (per-type summaries) + policy → verdict.
//! - [`maintenance`]: a node in planned maintenance, in `check galera` and `check cluster`.
//! - [`flow`]: the flow-control paused share since the previous run, from the paused-time
//!   counter and the previous run's sample.
//! - [`state`]: the state file that carries that sample from one run to the next.

pub mod backup;
pub mod cluster;
pub mod flow;
pub mod galera;
pub mod gluster;
pub mod maintenance;
pub mod output;
pub mod range;
pub mod state;

use std::fmt;

pub use output::{CheckResult, PerfDatum, Uom};
pub use range::{Range, RangeError, Thresholds};

/// A plugin state, with the exit code the guidelines give it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Status {
    Ok,
    Warning,
    Critical,
    Unknown,
}

impl Status {
    /// The process exit code: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.
    pub fn exit_code(self) -> i32 {
        match self {
            Status::Ok => 0,
            Status::Warning => 1,
            Status::Critical => 2,
            Status::Unknown => 3,
        }
    }

    /// `OK`, `WARNING`, `CRITICAL`, `UNKNOWN`.
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Ok => "OK",
            Status::Warning => "WARNING",
            Status::Critical => "CRITICAL",
            Status::Unknown => "UNKNOWN",
        }
    }

    /// How bad a state is when several are combined: CRITICAL > WARNING > UNKNOWN > OK.
    /// A real CRITICAL must never be hidden by an UNKNOWN side issue (an unwritable state
    /// file), and an UNKNOWN must not be hidden by OK.
    pub(crate) fn severity(self) -> u8 {
        match self {
            Status::Ok => 0,
            Status::Unknown => 1,
            Status::Warning => 2,
            Status::Critical => 3,
        }
    }

    /// The worse of two states.
    pub fn worst(self, other: Status) -> Status {
        if other.severity() > self.severity() {
            other
        } else {
            self
        }
    }

    /// Parses `ok`, `warning`, `critical`, `unknown` (any case; also `warn`, `crit` and the
    /// exit codes 0-3).
    pub fn parse(text: &str) -> Result<Status, StatusError> {
        match text.trim().to_ascii_lowercase().as_str() {
            "ok" | "0" => Ok(Status::Ok),
            "warning" | "warn" | "1" => Ok(Status::Warning),
            "critical" | "crit" | "2" => Ok(Status::Critical),
            "unknown" | "3" => Ok(Status::Unknown),
            _ => Err(StatusError {
                text: text.to_string(),
            }),
        }
    }
}

impl From<crate::config::StateName> for Status {
    fn from(name: crate::config::StateName) -> Status {
        use crate::config::StateName;
        match name {
            StateName::Ok => Status::Ok,
            StateName::Warning => Status::Warning,
            StateName::Critical => Status::Critical,
            StateName::Unknown => Status::Unknown,
        }
    }
}

/// A state option's value that names no state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{text:?} is not a state (use ok, warning, critical or unknown)")]
pub struct StatusError {
    pub text: String,
}

impl fmt::Display for Status {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Status {
    type Err = StatusError;
    fn from_str(s: &str) -> Result<Status, StatusError> {
        Status::parse(s)
    }
}

/// One judged item of a check: its state and a short text saying what was seen.
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub status: Status,
    pub text: String,
}

impl Finding {
    pub fn new(status: Status, text: impl Into<String>) -> Finding {
        Finding {
            status,
            text: text.into(),
        }
    }
}

/// `-t SECONDS[:STATE]`: the plugin's own time budget and the state it reports when that runs
/// out (monitoring-plugins use CRITICAL, Icinga advises UNKNOWN; CRITICAL by default here).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TimeoutSpec {
    pub duration: std::time::Duration,
    pub state: Status,
}

impl TimeoutSpec {
    /// The default: 10 seconds, CRITICAL.
    pub const DEFAULT: TimeoutSpec = TimeoutSpec {
        duration: std::time::Duration::from_secs(10),
        state: Status::Critical,
    };

    /// Parses `10`, `2.5`, `10:UNKNOWN`, `10:critical`.
    pub fn parse(text: &str) -> Result<TimeoutSpec, TimeoutSpecError> {
        let (secs, state) = match text.split_once(':') {
            Some((secs, state)) => (secs, Status::parse(state)?),
            None => (text, TimeoutSpec::DEFAULT.state),
        };
        let value: f64 = secs
            .trim()
            .parse()
            .ok()
            .filter(|v: &f64| v.is_finite() && *v > 0.0 && *v <= 86_400.0)
            .ok_or_else(|| TimeoutSpecError::Seconds {
                text: text.to_string(),
            })?;
        Ok(TimeoutSpec {
            duration: std::time::Duration::from_secs_f64(value),
            state,
        })
    }
}

impl std::str::FromStr for TimeoutSpec {
    type Err = TimeoutSpecError;
    fn from_str(s: &str) -> Result<TimeoutSpec, TimeoutSpecError> {
        TimeoutSpec::parse(s)
    }
}

/// Why a `-t SECONDS[:STATE]` value was rejected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TimeoutSpecError {
    /// The state after the colon names no state.
    #[error(transparent)]
    State(#[from] StatusError),
    /// The seconds are not a number in (0, 86400].
    #[error("timeout {text:?}: expected SECONDS[:STATE] with 0 < SECONDS <= 86400")]
    Seconds { text: String },
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn exit_codes_and_ordering() {
        assert_eq!(Status::Ok.exit_code(), 0);
        assert_eq!(Status::Warning.exit_code(), 1);
        assert_eq!(Status::Critical.exit_code(), 2);
        assert_eq!(Status::Unknown.exit_code(), 3);
        assert_eq!(Status::Ok.worst(Status::Unknown), Status::Unknown);
        assert_eq!(Status::Unknown.worst(Status::Warning), Status::Warning);
        assert_eq!(Status::Critical.worst(Status::Unknown), Status::Critical);
        assert_eq!(Status::Warning.worst(Status::Ok), Status::Warning);
    }

    #[test]
    fn states_parse() {
        assert_eq!(Status::parse("UNKNOWN"), Ok(Status::Unknown));
        assert_eq!(Status::parse("crit"), Ok(Status::Critical));
        assert_eq!(Status::parse("1"), Ok(Status::Warning));
        assert!(Status::parse("bad").is_err());
    }

    #[test]
    fn timeout_specs() {
        assert_eq!(
            TimeoutSpec::parse("10").unwrap(),
            TimeoutSpec {
                duration: Duration::from_secs(10),
                state: Status::Critical
            }
        );
        assert_eq!(
            TimeoutSpec::parse("2.5:UNKNOWN").unwrap(),
            TimeoutSpec {
                duration: Duration::from_millis(2500),
                state: Status::Unknown
            }
        );
        assert_eq!(TimeoutSpec::parse("3:ok").unwrap().state, Status::Ok);
        for bad in ["", "0", "-1", "x", "10:maybe", "1e9", "nan", "inf:critical"] {
            assert!(TimeoutSpec::parse(bad).is_err(), "{bad}");
        }
    }
}
