//! socket.io's reconnection backoff: exponential (factor 2) from `reconnectionDelay`,
//! capped at `reconnectionDelayMax`, with `randomizationFactor` jitter.

use std::time::Duration;

/// The reconnection settings (socket.io: `reconnection`, `reconnectionAttempts`,
/// `reconnectionDelay`, `reconnectionDelayMax`, `randomizationFactor`): set when the
/// manager is built, changeable while it runs.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Reconnection {
    pub(crate) enabled: bool,
    pub(crate) attempts: Option<u32>,
    pub(crate) delay: Duration,
    pub(crate) delay_max: Duration,
    pub(crate) randomization: f64,
}

impl Default for Reconnection {
    /// socket.io's defaults.
    fn default() -> Self {
        Reconnection {
            enabled: true,
            attempts: None,
            delay: Duration::from_secs(1),
            delay_max: Duration::from_secs(5),
            randomization: 0.5,
        }
    }
}

/// Counts the attempts; each delay follows the settings of the moment (socket.io's
/// setters change the next delay, not one already waited for).
#[derive(Debug, Clone, Default)]
pub(crate) struct Backoff {
    /// Attempts made since the last reset.
    pub(crate) attempts: u32,
}

impl Backoff {
    /// The delay before the next attempt; counts the attempt.
    pub(crate) fn next_delay(&mut self, settings: &Reconnection) -> Duration {
        let exponent = self.attempts.min(31);
        self.attempts = self.attempts.saturating_add(1);
        let mut ms = settings.delay.as_secs_f64() * 1000.0 * 2f64.powi(exponent as i32);
        let jitter = settings.randomization.clamp(0.0, 1.0);
        if jitter > 0.0 {
            let deviation = (fastrand::f64() * jitter * ms).floor();
            ms = if fastrand::bool() {
                ms - deviation
            } else {
                ms + deviation
            };
        }
        let max_ms = settings.delay_max.as_secs_f64() * 1000.0;
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

    fn settings(delay: u64, max: u64, randomization: f64) -> Reconnection {
        Reconnection {
            delay: Duration::from_millis(delay),
            delay_max: Duration::from_millis(max),
            randomization,
            ..Reconnection::default()
        }
    }

    #[test]
    fn grows_and_respects_the_max() {
        let settings = settings(100, 1000, 0.0);
        let mut backoff = Backoff::default();
        let delays: Vec<u64> = (0..6)
            .map(|_| backoff.next_delay(&settings).as_millis() as u64)
            .collect();
        assert_eq!(delays, [100, 200, 400, 800, 1000, 1000]);
        assert_eq!(backoff.attempts, 6);
        backoff.reset();
        assert_eq!(backoff.next_delay(&settings), Duration::from_millis(100));
    }

    #[test]
    fn jitter_stays_within_the_factor() {
        let settings = settings(1000, 5000, 0.5);
        let mut backoff = Backoff::default();
        for _ in 0..100 {
            backoff.reset();
            let delay = backoff.next_delay(&settings).as_millis();
            assert!((500..=1500).contains(&delay), "{delay}");
        }
    }

    #[test]
    fn new_settings_apply_from_the_next_delay_on() {
        let mut backoff = Backoff::default();
        assert_eq!(
            backoff.next_delay(&settings(100, 1000, 0.0)),
            Duration::from_millis(100)
        );
        // The second attempt doubles the new base.
        assert_eq!(
            backoff.next_delay(&settings(30, 1000, 0.0)),
            Duration::from_millis(60)
        );
    }
}
