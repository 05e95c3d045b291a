//! Nagios threshold ranges (`[@]start:end`), as the monitoring-plugins guidelines define them.
//!
//! Pure: parsing and evaluation only. A [`Range`] keeps the text the user wrote, because the
//! perfdata `warn`/`crit` fields must repeat it exactly.
//!
//! | text | alerts when |
//! |---|---|
//! | `10` | x < 0 or x > 10 |
//! | `10:` | x < 10 |
//! | `~:10` | x > 10 |
//! | `10:20` | x < 10 or x > 20 |
//! | `@10:20` | 10 ≤ x ≤ 20 |
//!
//! Bounds are inclusive; numbers may be negative, decimal (`.` only, whatever the locale) or
//! scientific (`1.5e-05`). A missing start (`:10`) is 0, as in monitoring-plugins.

use std::fmt;

use super::Status;

/// Why a range string was rejected. The message quotes the text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid range {text:?}: {reason}")]
pub struct RangeError {
    pub text: String,
    pub reason: String,
}

/// One threshold range.
#[derive(Debug, Clone, PartialEq)]
pub struct Range {
    /// Lower bound; `None` is negative infinity (`~`).
    start: Option<f64>,
    /// Upper bound; `None` is positive infinity (nothing after the colon).
    end: Option<f64>,
    /// `@`: alert when the value is inside the range instead of outside.
    inside: bool,
    /// The text as written (trimmed), repeated in perfdata.
    text: String,
}

impl Range {
    /// Parses `[@][start:][end]` (see the module documentation).
    pub fn parse(text: &str) -> Result<Range, RangeError> {
        let text = text.trim();
        let fail = |reason: &str| RangeError {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        if text.is_empty() {
            return Err(fail("empty"));
        }
        // Perfdata fields are separated by ';' and spaces: a range holding them would corrupt
        // the perfdata it is repeated in.
        if text.contains(|c: char| c == ';' || c.is_whitespace() || c == '\'' || c == '=') {
            return Err(fail("contains a space, ';', '=' or a quote"));
        }
        let (inside, body) = match text.strip_prefix('@') {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let (start, end) = match body.split_once(':') {
            Some((start, end)) => {
                let start = match start {
                    "~" => None,
                    "" => Some(0.0),
                    s => Some(parse_number(s).map_err(|r| fail(&r))?),
                };
                let end = match end {
                    "" => None,
                    e => Some(parse_number(e).map_err(|r| fail(&r))?),
                };
                (start, end)
            }
            None => {
                if body.is_empty() {
                    return Err(fail("no bound after '@'"));
                }
                (Some(0.0), Some(parse_number(body).map_err(|r| fail(&r))?))
            }
        };
        if let (Some(s), Some(e)) = (start, end) {
            if s > e {
                return Err(fail("start is greater than end"));
            }
        }
        Ok(Range {
            start,
            end,
            inside,
            text: text.to_string(),
        })
    }

    /// A range from bounds (for defaults computed by quorate, e.g. `--expected-size`); the
    /// text is rendered in the standard syntax.
    pub fn from_bounds(start: Option<f64>, end: Option<f64>, inside: bool) -> Range {
        let mut text = String::new();
        if inside {
            text.push('@');
        }
        match (start, end) {
            (Some(s), Some(e)) if s == 0.0 && !inside => text.push_str(&format_number(e)),
            _ => {
                match start {
                    Some(s) => text.push_str(&format_number(s)),
                    None => text.push('~'),
                }
                text.push(':');
                if let Some(e) = end {
                    text.push_str(&format_number(e));
                }
            }
        }
        Range {
            start,
            end,
            inside,
            text,
        }
    }

    /// Whether `value` raises an alert for this range.
    pub fn alerts(&self, value: f64) -> bool {
        if value.is_nan() {
            // Not a measurement: never silently "inside" or "outside".
            return true;
        }
        let within = self.start.is_none_or(|s| value >= s) && self.end.is_none_or(|e| value <= e);
        if self.inside {
            within
        } else {
            !within
        }
    }

    /// The range as the user wrote it.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The lower bound (`None` = negative infinity).
    pub fn start(&self) -> Option<f64> {
        self.start
    }

    /// The upper bound (`None` = positive infinity).
    pub fn end(&self) -> Option<f64> {
        self.end
    }

    /// Whether the range alerts inside (`@`).
    pub fn is_inside(&self) -> bool {
        self.inside
    }
}

impl fmt::Display for Range {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for Range {
    type Err = RangeError;
    fn from_str(s: &str) -> Result<Range, RangeError> {
        Range::parse(s)
    }
}

/// A unit suffix a bound may carry, and what one of it is in the base unit.
pub type Unit = (&'static str, f64);

/// Time units for age ranges: seconds are the base unit (and the perfdata unit).
pub const TIME_UNITS: &[Unit] = &[("s", 1.0), ("m", 60.0), ("h", 3600.0), ("d", 86_400.0)];

impl Range {
    /// Parses a range whose bounds may carry a unit suffix from `units` (`26h`, `@1d:2d`,
    /// `~:90m`); a bare number is in the base unit. The bounds are converted to the base unit
    /// and the range's text is rewritten in it (`26h` → `93600`), because perfdata values and
    /// their warn/crit fields must share one unit and the plugin grammar has no suffixes.
    /// Everything else (inclusive bounds, `@`, `~`, errors) is [`Range::parse`].
    pub fn parse_with_units(text: &str, units: &[Unit]) -> Result<Range, RangeError> {
        let trimmed = text.trim();
        let fail = |reason: String| RangeError {
            text: trimmed.to_string(),
            reason,
        };
        let (at, body) = match trimmed.strip_prefix('@') {
            Some(rest) => ("@", rest),
            None => ("", trimmed),
        };
        let convert = |bound: &str| -> Result<String, RangeError> {
            if bound.is_empty() || bound == "~" {
                return Ok(bound.to_string());
            }
            // The longest matching suffix wins, so a unit may end in another one's letter.
            let unit = units
                .iter()
                .filter(|(suffix, _)| bound.len() > suffix.len() && bound.ends_with(suffix))
                .max_by_key(|(suffix, _)| suffix.len());
            let Some((suffix, factor)) = unit else {
                return Ok(bound.to_string());
            };
            let number = parse_number(&bound[..bound.len() - suffix.len()]).map_err(fail)?;
            let converted = number * factor;
            if !converted.is_finite() {
                return Err(fail(format!("{bound:?} is too large")));
            }
            Ok(format_number(converted))
        };
        let converted = match body.split_once(':') {
            Some((start, end)) => format!("{at}{}:{}", convert(start)?, convert(end)?),
            None => format!("{at}{}", convert(body)?),
        };
        Range::parse(&converted).map_err(|e| fail(e.reason))
    }
}

/// A warning and a critical range for one value.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Thresholds {
    pub warning: Option<Range>,
    pub critical: Option<Range>,
}

impl Thresholds {
    pub fn new(warning: Option<Range>, critical: Option<Range>) -> Thresholds {
        Thresholds { warning, critical }
    }

    /// The state of `value`: critical is evaluated first, then warning.
    pub fn evaluate(&self, value: f64) -> Status {
        if self.critical.as_ref().is_some_and(|r| r.alerts(value)) {
            Status::Critical
        } else if self.warning.as_ref().is_some_and(|r| r.alerts(value)) {
            Status::Warning
        } else {
            Status::Ok
        }
    }

    /// Thresholds on a count of members that should be `expected` (`--expected-size N`: the
    /// nodes of a cluster, the bricks of a replica set): WARNING below N, CRITICAL below a
    /// majority of N (the size at which a partition would lose quorum).
    pub fn expected_size(expected: u32) -> Thresholds {
        let majority = expected / 2 + 1;
        Thresholds::new(
            Some(Range::from_bounds(Some(f64::from(expected)), None, false)),
            Some(Range::from_bounds(Some(f64::from(majority)), None, false)),
        )
    }

    /// True when neither range is set.
    pub fn is_empty(&self) -> bool {
        self.warning.is_none() && self.critical.is_none()
    }
}

/// A decimal or scientific number; `inf`/`nan` and locale commas are refused with a reason.
fn parse_number(s: &str) -> Result<f64, String> {
    if s.contains(',') {
        return Err(format!(
            "{s:?} is not a number (use '.' as the decimal point)"
        ));
    }
    // Rust's float grammar also takes "inf", "infinity" and "nan"; only digits, sign, '.',
    // and an exponent are numbers here.
    let plausible = s
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '+' | '-' | '.' | 'e' | 'E'))
        && s.chars().any(|c| c.is_ascii_digit());
    match s.parse::<f64>() {
        Ok(v) if plausible && v.is_finite() => Ok(v),
        _ => Err(format!("{s:?} is not a number")),
    }
}

/// Formats a number for perfdata and range text: integers without a fraction, everything else
/// in the shortest form that reads back exactly; never an exponent, always '.'.
pub fn format_number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{}", v as i64)
    } else {
        // Rust's Display for f64 never uses scientific notation and ignores the locale.
        format!("{v}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str) -> Range {
        Range::parse(text).unwrap_or_else(|e| panic!("{e}"))
    }

    #[test]
    fn bounds_with_time_units_become_seconds() {
        let cases: &[(&str, &str)] = &[
            ("26h", "93600"),
            ("50h", "180000"),
            ("90", "90"),
            ("30s", "30"),
            ("1.5d", "129600"),
            ("10m:", "600:"),
            ("~:2d", "~:172800"),
            ("@1h:2h", "@3600:7200"),
            (":1h", ":3600"),
            ("1e1m", "600"),
            (" 1h ", "3600"),
        ];
        for (text, seconds) in cases {
            let range = Range::parse_with_units(text, TIME_UNITS).unwrap_or_else(|e| panic!("{e}"));
            assert_eq!(range.as_str(), *seconds, "{text}");
        }
        let day = Range::parse_with_units("26h", TIME_UNITS).unwrap();
        assert!(!day.alerts(93_600.0));
        assert!(day.alerts(93_600.5));
        assert!(day.alerts(-1.0));
        for bad in [
            "", "h", "26x", "26 h", "1,5h", "2h:1h", "@", "26hh", "nanh", "-",
        ] {
            let err = Range::parse_with_units(bad, TIME_UNITS).expect_err(bad);
            assert_eq!(err.text, bad.trim(), "the error quotes what the user wrote");
        }
        // A number that overflows once converted is named as written, not as "inf".
        let err = Range::parse_with_units("1e308d", TIME_UNITS).expect_err("overflow");
        assert_eq!(err.reason, "\"1e308d\" is too large");
    }

    /// (range, value, alerts?) covering every form at and around its boundaries.
    #[test]
    fn every_form_and_its_boundaries() {
        let cases: &[(&str, f64, bool)] = &[
            // `10`: outside 0..10
            ("10", -0.0001, true),
            ("10", 0.0, false),
            ("10", 5.0, false),
            ("10", 10.0, false),
            ("10", 10.0001, true),
            // `10:`: below 10
            ("10:", 9.999, true),
            ("10:", 10.0, false),
            ("10:", 1e300, false),
            // `~:10`: above 10
            ("~:10", -1e300, false),
            ("~:10", 10.0, false),
            ("~:10", 10.5, true),
            // `10:20`: outside
            ("10:20", 9.0, true),
            ("10:20", 10.0, false),
            ("10:20", 20.0, false),
            ("10:20", 20.01, true),
            // `@10:20`: inside, inclusive
            ("@10:20", 9.99, false),
            ("@10:20", 10.0, true),
            ("@10:20", 15.0, true),
            ("@10:20", 20.0, true),
            ("@10:20", 20.01, false),
            // `@10`: inside 0..10
            ("@10", -1.0, false),
            ("@10", 0.0, true),
            ("@10", 10.0, true),
            // negatives
            ("-5:-1", -5.0, false),
            ("-5:-1", -0.5, true),
            ("~:-1", -1.0, false),
            ("~:-1", 0.0, true),
            // `:10` starts at 0 (monitoring-plugins reads an empty start as 0)
            (":10", -1.0, true),
            (":10", 0.0, false),
            // `~:` is everything: never alerts; `@~:` always does
            ("~:", -1e300, false),
            ("~:", 1e300, false),
            ("@~:", 0.0, true),
            // scientific notation and decimals
            ("1.42823e-05", 1.42823e-05, false),
            ("1.42823e-05", 1.43e-05, true),
            ("1e3:", 999.0, true),
            ("1E3:", 1000.0, false),
            ("0.5:2.5", 0.4999, true),
            ("0.5:2.5", 2.5, false),
            ("+3:", 3.0, false),
            ("3:3", 3.0, false),
            ("3:3", 2.0, true),
            ("3:3", 4.0, true),
        ];
        for (text, value, alerts) in cases {
            assert_eq!(
                r(text).alerts(*value),
                *alerts,
                "range {text} value {value}"
            );
        }
    }

    #[test]
    fn nan_always_alerts() {
        assert!(r("~:").alerts(f64::NAN));
        assert!(r("@10:20").alerts(f64::NAN));
    }

    #[test]
    fn bad_ranges_are_errors_naming_the_text() {
        for text in [
            "", " ", "abc", "10:5", "@", "~", "1,5", "inf", "nan", "10:inf", "1e", "--1", "1 0",
            "1;2", "@@1", "1:2:3", "~:nan", "0x10", "'1'", "a=1",
        ] {
            let err = Range::parse(text).expect_err(text);
            assert!(err.to_string().contains("invalid range"), "{err}");
        }
        let err = Range::parse("1,5").unwrap_err().to_string();
        assert!(err.contains("'.'"), "{err}");
    }

    #[test]
    fn keeps_the_users_text() {
        assert_eq!(r(" 3: ").as_str(), "3:");
        assert_eq!(r("@1e1:2e1").to_string(), "@1e1:2e1");
        assert!(r("@1:2").is_inside());
        assert_eq!(r("~:4").start(), None);
        assert_eq!(r("4:").end(), None);
    }

    #[test]
    fn from_bounds_renders_standard_text() {
        assert_eq!(Range::from_bounds(Some(2.0), None, false).as_str(), "2:");
        assert_eq!(
            Range::from_bounds(Some(3.0), Some(3.0), false).as_str(),
            "3:3"
        );
        assert_eq!(
            Range::from_bounds(Some(0.0), Some(10.0), false).as_str(),
            "10"
        );
        assert_eq!(Range::from_bounds(None, Some(1.5), false).as_str(), "~:1.5");
        assert_eq!(
            Range::from_bounds(Some(0.0), Some(10.0), true).as_str(),
            "@0:10"
        );
        // The rendered text parses back to the same range.
        for range in [
            Range::from_bounds(Some(2.0), None, false),
            Range::from_bounds(None, Some(-1.25), true),
            Range::from_bounds(Some(0.0), Some(7.0), false),
        ] {
            assert_eq!(Range::parse(range.as_str()).unwrap(), range);
        }
    }

    #[test]
    fn critical_is_evaluated_first() {
        let t = Thresholds::new(Some(r("3:")), Some(r("2:")));
        assert_eq!(t.evaluate(3.0), Status::Ok);
        assert_eq!(t.evaluate(2.0), Status::Warning);
        assert_eq!(t.evaluate(1.0), Status::Critical);
        // A critical range wider than the warning one still wins.
        let t = Thresholds::new(Some(r("10")), Some(r("5")));
        assert_eq!(t.evaluate(7.0), Status::Critical);
        assert_eq!(Thresholds::default().evaluate(1e9), Status::Ok);
        assert!(Thresholds::default().is_empty());
    }

    #[test]
    fn numbers_format_with_a_dot_and_no_exponent() {
        assert_eq!(format_number(3.0), "3");
        assert_eq!(format_number(-1.0), "-1");
        assert_eq!(format_number(0.25), "0.25");
        assert_eq!(format_number(1.42823e-05), "0.0000142823");
        assert_eq!(format_number(1e20), "100000000000000000000");
        assert!(!format_number(1234.5).contains(','));
    }
}
