//! Unix time, in the two forms quorate uses: seconds as a float (exported timestamps, audit
//! lines) and `(seconds, nanoseconds)` pairs (file-system stamps, as `stat` gives them); and
//! spans of it for people ([`human_age`]).
//! Pure, and correct on both sides of 1970: a time before the epoch is negative (its
//! nanoseconds still count forward, `0 <= nanos < 1e9`, as in a `timespec`).

use std::time::{Duration, SystemTime};

/// Seconds since the Unix epoch, negative before 1970.
pub fn seconds(t: SystemTime) -> f64 {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => d.as_secs_f64(),
        Err(before) => -before.duration().as_secs_f64(),
    }
}

/// `t` as `(seconds, nanoseconds)` since the epoch, as a `timespec` holds it: before 1970 the
/// seconds are negative and the nanoseconds count forward from them. Saturates at the ends of
/// `i64`.
pub fn to_pair(t: SystemTime) -> (i64, i64) {
    match t.duration_since(SystemTime::UNIX_EPOCH) {
        Ok(d) => (
            i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
            i64::from(d.subsec_nanos()),
        ),
        Err(before) => {
            let d = before.duration();
            let secs = i64::try_from(d.as_secs()).unwrap_or(i64::MAX);
            match d.subsec_nanos() {
                0 => (-secs, 0),
                n => ((-secs).saturating_sub(1), i64::from(1_000_000_000 - n)),
            }
        }
    }
}

/// The time a `(seconds, nanoseconds)` pair names; `None` when the nanoseconds are out of
/// range or the time cannot be represented.
pub fn from_pair((secs, nanos): (i64, i64)) -> Option<SystemTime> {
    let nanos = u32::try_from(nanos).ok().filter(|n| *n < 1_000_000_000)?;
    let whole = if secs >= 0 {
        SystemTime::UNIX_EPOCH.checked_add(Duration::from_secs(secs.unsigned_abs()))?
    } else {
        SystemTime::UNIX_EPOCH.checked_sub(Duration::from_secs(secs.unsigned_abs()))?
    };
    whole.checked_add(Duration::from_nanos(u64::from(nanos)))
}

/// A duration for people: `45s`, `12m`, `3h05m`, `2d04h`; negative ages say "in the future".
pub fn human_age(seconds: f64) -> String {
    if seconds < 0.0 {
        return format!("{} in the future", human_age(-seconds));
    }
    let s = seconds.round() as u64;
    match s {
        0..=59 => format!("{s}s"),
        60..=3599 => format!("{}m", s / 60),
        3600..=86_399 => format!("{}h{:02}m", s / 3600, s % 3600 / 60),
        _ => format!("{}d{:02}h", s / 86_400, s % 86_400 / 3600),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPOCH: SystemTime = SystemTime::UNIX_EPOCH;

    #[test]
    fn seconds_are_signed_around_the_epoch() {
        assert_eq!(seconds(EPOCH), 0.0);
        assert_eq!(seconds(EPOCH + Duration::from_millis(1500)), 1.5);
        assert_eq!(seconds(EPOCH - Duration::from_millis(1500)), -1.5);
        assert_eq!(seconds(EPOCH - Duration::from_secs(86_400)), -86_400.0);
    }

    #[test]
    fn pairs_round_trip_on_both_sides_of_the_epoch() {
        let cases = [
            (EPOCH, (0, 0)),
            (EPOCH + Duration::new(1, 300_000_000), (1, 300_000_000)),
            (EPOCH - Duration::from_secs(2), (-2, 0)),
            (EPOCH - Duration::new(1, 300_000_000), (-2, 700_000_000)),
            (EPOCH - Duration::from_nanos(1), (-1, 999_999_999)),
        ];
        for (t, pair) in cases {
            assert_eq!(to_pair(t), pair, "{t:?}");
            assert_eq!(from_pair(pair), Some(t), "{pair:?}");
        }
        // Pairs order like the times they name, before 1970 too.
        assert!(
            to_pair(EPOCH - Duration::new(1, 300_000_000))
                < to_pair(EPOCH - Duration::from_secs(1))
        );
        assert_eq!(from_pair((5, 1_000_000_000)), None);
        assert_eq!(from_pair((5, -1)), None);
    }
}
