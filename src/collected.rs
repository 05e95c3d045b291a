//! [`Collected<T>`]: what one collection of a source returned, when it finished and how long
//! it took. Every source wraps its raw data in it (Galera per scrape, GlusterFS and backups in
//! the background), so success and duration are defined here once and exported the same way
//! for every collector (`quorate_collector_success`, `quorate_collector_duration_seconds`,
//! `quorate_collector_last_success_timestamp_seconds`: a [`CollectorStatus`]), and so is the
//! rule that a background collector which stopped finishing collections has not succeeded
//! ([`stalled_for`]): its last success is not news of now, never a stale 1.
//!
//! Pure: the only clock it reads is the one a caller asks for ([`Collected::finished`]).

use std::future::Future;
use std::time::{Duration, Instant, SystemTime};

/// A value, when the collection that produced it finished, and how long that collection took.
///
/// A collection that can fail carries a `Result` as its value (`Collected<Result<T, E>>`); one
/// that always returns something, possibly with partial errors inside (a backup scan), carries
/// that report. [`Succeeded`] says which counts as success.
#[derive(Debug, Clone, PartialEq)]
pub struct Collected<T> {
    pub value: T,
    /// When the collection finished.
    pub at: SystemTime,
    pub duration: Duration,
}

impl<T> Collected<T> {
    /// `value`, collected by a run that started at `started` and finishes now.
    pub fn finished(value: T, started: Instant) -> Collected<T> {
        Collected {
            value,
            at: SystemTime::now(),
            duration: started.elapsed(),
        }
    }

    /// Runs a blocking `collection` and times it.
    pub fn measure_blocking(collection: impl FnOnce() -> T) -> Collected<T> {
        let started = Instant::now();
        let value = collection();
        Collected::finished(value, started)
    }

    /// Runs `collection` and times it.
    pub async fn measure(collection: impl Future<Output = T>) -> Collected<T> {
        let started = Instant::now();
        let value = collection.await;
        Collected::finished(value, started)
    }

    /// The same collection with its value transformed.
    pub fn map<U>(self, f: impl FnOnce(T) -> U) -> Collected<U> {
        Collected {
            value: f(self.value),
            at: self.at,
            duration: self.duration,
        }
    }

    /// How long ago the collection finished, as of `now` (zero if `now` is earlier).
    pub fn age(&self, now: SystemTime) -> Duration {
        now.duration_since(self.at).unwrap_or(Duration::ZERO)
    }
}

impl<T: Succeeded> Collected<T> {
    /// Whether the collection succeeded (`quorate_collector_success`).
    pub fn succeeded(&self) -> bool {
        self.value.succeeded()
    }

    /// This collection as its collector's status: when it failed, the last success is
    /// `earlier_success` (the collector keeps it).
    pub fn status(&self, earlier_success: Option<SystemTime>) -> CollectorStatus {
        let succeeded = self.succeeded();
        CollectorStatus {
            succeeded,
            duration: self.duration,
            last_success: if succeeded {
                Some(self.at)
            } else {
                earlier_success
            },
        }
    }
}

/// What every collector exports about itself (`quorate_collector_*{collector}`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CollectorStatus {
    /// The latest collection succeeded and, for a background collector, is current.
    pub succeeded: bool,
    /// How long the latest collection took.
    pub duration: Duration,
    /// When a collection last succeeded; `None` until one did.
    pub last_success: Option<SystemTime>,
}

/// How long the latest attempt of a background collector has been finished, as of `now`, when
/// that is longer than `max_age` (its interval plus the time an attempt may take): the
/// collector has stalled, and whatever it last returned is not current. `None` while current.
pub fn stalled_for(
    latest_attempt: SystemTime,
    now: SystemTime,
    max_age: Duration,
) -> Option<Duration> {
    let age = now.duration_since(latest_attempt).unwrap_or(Duration::ZERO);
    (age > max_age).then_some(age)
}

impl<T, E> Collected<Result<T, E>> {
    /// The error, when the collection failed.
    pub fn error(&self) -> Option<&E> {
        self.value.as_ref().err()
    }
}

/// What a background collector keeps of one repeated collection: the last value a collection
/// returned and the latest attempt, successful or not. A failed attempt keeps the last good
/// value (served as stale, with its age) instead of losing it.
#[derive(Debug, Clone)]
pub struct Retained<T, E> {
    /// The last successful collection; `None` until one succeeds.
    pub last_good: Option<Collected<T>>,
    /// The latest attempt, without its value (that is in `last_good` when it succeeded).
    pub latest: Option<Collected<Result<(), E>>>,
}

impl<T, E> Default for Retained<T, E> {
    fn default() -> Self {
        Retained {
            last_good: None,
            latest: None,
        }
    }
}

impl<T, E> Retained<T, E> {
    /// Records an attempt: a success replaces the last good value, a failure keeps it.
    pub fn record(&mut self, attempt: Collected<Result<T, E>>) {
        let (at, duration) = (attempt.at, attempt.duration);
        let outcome = match attempt.value {
            Ok(value) => {
                self.last_good = Some(Collected {
                    value,
                    at,
                    duration,
                });
                Ok(())
            }
            Err(e) => Err(e),
        };
        self.latest = Some(Collected {
            value: outcome,
            at,
            duration,
        });
    }

    /// Whether the latest attempt succeeded (false before the first one).
    pub fn succeeded(&self) -> bool {
        self.latest.as_ref().is_some_and(Collected::succeeded)
    }
}

/// What counts as a successful collection of a value.
pub trait Succeeded {
    fn succeeded(&self) -> bool;
}

impl<T, E> Succeeded for Result<T, E> {
    fn succeeded(&self) -> bool {
        self.is_ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn success_and_age() {
        let at = SystemTime::UNIX_EPOCH + Duration::from_secs(100);
        let ok: Collected<Result<u8, String>> = Collected {
            value: Ok(1),
            at,
            duration: Duration::from_millis(5),
        };
        assert!(ok.succeeded() && ok.error().is_none());
        let failed = ok.clone().map(|_| Err::<u8, _>("refused".to_string()));
        assert!(!failed.succeeded());
        assert_eq!(failed.error().map(String::as_str), Some("refused"));
        assert_eq!((failed.at, failed.duration), (at, Duration::from_millis(5)));
        assert_eq!(ok.age(at + Duration::from_secs(7)), Duration::from_secs(7));
        assert_eq!(ok.age(at - Duration::from_secs(7)), Duration::ZERO);
    }

    #[test]
    fn status_keeps_the_last_success_and_staleness_is_past_the_bound() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let ok: Collected<Result<u8, &str>> = Collected {
            value: Ok(1),
            at: at(50),
            duration: Duration::from_secs(2),
        };
        assert_eq!(ok.status(Some(at(10))).last_success, Some(at(50)));
        let failed = ok.clone().map(|_| Err::<u8, _>("refused"));
        let status = failed.status(Some(at(10)));
        assert!(!status.succeeded);
        assert_eq!(status.last_success, Some(at(10)));
        assert_eq!(failed.status(None).last_success, None);
        let max = Duration::from_secs(30);
        assert_eq!(stalled_for(at(50), at(80), max), None);
        assert_eq!(
            stalled_for(at(50), at(81), max),
            Some(Duration::from_secs(31))
        );
        assert_eq!(stalled_for(at(50), at(40), max), None);
    }

    #[test]
    fn retained_keeps_the_last_good_value_through_failures() {
        let at = |s| SystemTime::UNIX_EPOCH + Duration::from_secs(s);
        let attempt = |value, s| Collected {
            value,
            at: at(s),
            duration: Duration::from_secs(1),
        };
        let mut r: Retained<u8, &str> = Retained::default();
        assert!(!r.succeeded() && r.last_good.is_none());
        r.record(attempt(Ok(7), 10));
        r.record(attempt(Err("timeout"), 20));
        assert!(!r.succeeded());
        assert_eq!(
            r.last_good.as_ref().map(|g| (g.value, g.at)),
            Some((7, at(10)))
        );
        assert_eq!(
            r.latest.as_ref().and_then(Collected::error),
            Some(&"timeout")
        );
        r.record(attempt(Ok(8), 30));
        assert!(r.succeeded());
        assert_eq!(r.last_good.map(|g| g.value), Some(8));
    }
}
