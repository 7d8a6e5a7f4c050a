//! Rate-limited logging: an event class that can fire once per request (a denied token, a
//! failed `accept`) is written at most once per interval, with the number of events that were
//! not written since the previous line.
//!
//! A client that sends garbage as fast as it can therefore costs one log line per interval,
//! not one per request.

use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Counts the events of one class and says when one may be logged.
#[derive(Debug)]
pub(crate) struct LogThrottle {
    interval: Duration,
    state: Mutex<ThrottleState>,
}

#[derive(Debug, Default)]
struct ThrottleState {
    /// When the last line was written (`None`: never).
    last: Option<Instant>,
    /// Events since that line that were not written.
    suppressed: u64,
}

impl LogThrottle {
    /// A throttle writing at most one line per `interval`.
    pub(crate) const fn new(interval: Duration) -> Self {
        LogThrottle {
            interval,
            state: Mutex::new(ThrottleState {
                last: None,
                suppressed: 0,
            }),
        }
    }

    /// Records one event at `now`. `Some(n)`: write a line now, `n` events were suppressed
    /// since the previous line; `None`: counted, do not write.
    pub(crate) fn hit_at(&self, now: Instant) -> Option<u64> {
        let mut s = self
            .state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match s.last {
            Some(last) if now.saturating_duration_since(last) < self.interval => {
                s.suppressed += 1;
                None
            }
            _ => {
                s.last = Some(now);
                Some(std::mem::take(&mut s.suppressed))
            }
        }
    }

    /// [`hit_at`](Self::hit_at) now.
    pub(crate) fn hit(&self) -> Option<u64> {
        self.hit_at(Instant::now())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_per_interval_with_the_count_of_the_rest() {
        let t = LogThrottle::new(Duration::from_secs(10));
        let t0 = Instant::now();
        assert_eq!(t.hit_at(t0), Some(0));
        for i in 1..=99 {
            assert_eq!(t.hit_at(t0 + Duration::from_millis(i * 50)), None);
        }
        assert_eq!(t.hit_at(t0 + Duration::from_secs(10)), Some(99));
        assert_eq!(t.hit_at(t0 + Duration::from_secs(11)), None);
        assert_eq!(t.hit_at(t0 + Duration::from_secs(25)), Some(1));
    }
}
