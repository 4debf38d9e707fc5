//! socket.io's reconnection backoff: exponential (factor 2) from `reconnectionDelay`,
//! capped at `reconnectionDelayMax`, with `randomizationFactor` jitter.

use std::time::Duration;

/// The delay before each reconnection attempt.
#[derive(Debug, Clone)]
pub(crate) struct Backoff {
    base: Duration,
    max: Duration,
    jitter: f64,
    /// Attempts made since the last reset.
    pub(crate) attempts: u32,
}

impl Backoff {
    pub(crate) fn new(base: Duration, max: Duration, jitter: f64) -> Self {
        Backoff {
            base,
            max,
            jitter: jitter.clamp(0.0, 1.0),
            attempts: 0,
        }
    }

    /// The delay before the next attempt; counts the attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let exponent = self.attempts.min(31);
        self.attempts = self.attempts.saturating_add(1);
        let mut ms = self.base.as_secs_f64() * 1000.0 * 2f64.powi(exponent as i32);
        if self.jitter > 0.0 {
            let deviation = (fastrand::f64() * self.jitter * ms).floor();
            ms = if fastrand::bool() {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        let max_ms = self.max.as_secs_f64() * 1000.0;
        Duration::from_millis(ms.min(max_ms).max(0.0) as u64)
    }

    /// Back to the first delay, after a successful connection.
    pub(crate) fn reset(&mut self) {
        self.attempts = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_and_respects_the_max() {
        let mut backoff =
            Backoff::new(Duration::from_millis(100), Duration::from_millis(1000), 0.0);
        let delays: Vec<u64> = (0..6)
            .map(|_| backoff.next_delay().as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.attempts, 6);
        backoff.reset();
        assert_eq!(backoff.next_delay(), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_within_the_factor() {
        let mut backoff = Backoff::new(
            Duration::from_millis(1000),
            Duration::from_millis(5000),
            0.5,
        );
        for _ in 0..100 {
            backoff.reset();
            let delay = backoff.next_delay().as_millis();
            assert!((500..=1500).contains(&delay), "{delay}");
        }
    }
}
