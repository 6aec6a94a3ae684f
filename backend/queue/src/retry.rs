//! Back-off: how long a job waits after a retryable failure, and how many attempts it gets.

use std::time::Duration;

/// Exponential back-off with jitter, capped, and a limit on attempts.
///
/// After failed attempt `n` (from 1) the job waits `min(initial_delay * factor^(n-1), max_delay)`, shortened by
/// a random fraction of up to `jitter` (so replicas that failed together do not retry together, and the wait
/// never exceeds the cap). After attempt `max_attempts` fails the job is dead.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RetryPolicy {
    /// Attempts before the job is dead (at least 1).
    pub max_attempts: u32,
    /// The wait after the first failure, before jitter.
    pub initial_delay: Duration,
    /// The longest wait, before jitter.
    pub max_delay: Duration,
    /// Growth of the wait per failure.
    pub factor: f64,
    /// Largest fraction (0..=1) taken off a wait at random.
    pub jitter: f64,
}

impl RetryPolicy {
    /// 5 attempts, 1 s doubling to at most 60 s, up to half taken off at random.
    pub const DEFAULT: Self = Self {
        max_attempts: 5,
        initial_delay: Duration::from_secs(1),
        max_delay: Duration::from_secs(60),
        factor: 2.0,
        jitter: 0.5,
    };

    /// This policy with `max_attempts` attempts.
    #[must_use]
    pub const fn with_max_attempts(mut self, max_attempts: u32) -> Self {
        self.max_attempts = max_attempts;
        self
    }

    /// This policy with waits from `initial` growing to at most `max`.
    #[must_use]
    pub const fn with_delays(mut self, initial: Duration, max: Duration) -> Self {
        self.initial_delay = initial;
        self.max_delay = max;
        self
    }

    /// This policy with growth `factor` per failure.
    #[must_use]
    pub const fn with_factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// This policy with up to `jitter` (0..=1) of each wait taken off at random.
    #[must_use]
    pub const fn with_jitter(mut self, jitter: f64) -> Self {
        self.jitter = jitter;
        self
    }

    /// True when a failure of attempt `attempt` leaves no attempt.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts.max(1)
    }

    /// The wait after failed attempt `attempt` (from 1), before jitter.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial_delay.as_secs_f64() * self.factor.max(1.0).powi(exp);
        let cap = self.max_delay.as_secs_f64();
        // A huge exponent gives infinity; the cap (and `from_secs_f64`'s range) must still hold.
        Duration::try_from_secs_f64(secs.min(cap)).unwrap_or(self.max_delay)
    }

    /// The wait after failed attempt `attempt`, with jitter from the thread's random generator.
    pub fn delay(&self, attempt: u32) -> Duration {
        self.delay_with(attempt, rand::random::<f64>())
    }

    /// The wait after failed attempt `attempt`, with `unit` (0..1) choosing how much jitter to take off.
    pub fn delay_with(&self, attempt: u32, unit: f64) -> Duration {
        let cut = self.jitter.clamp(0.0, 1.0) * unit.clamp(0.0, 1.0);
        self.base_delay(attempt).mul_f64(1.0 - cut)
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grows_then_caps() {
        let p = RetryPolicy::DEFAULT;
        let secs: Vec<u64> = (1..=9).map(|a| p.base_delay(a).as_secs()).collect();
        assert_eq!(secs, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(p.base_delay(u32::MAX), p.max_delay);
    }

    #[test]
    fn jitter_stays_within_bounds() {
        let p = RetryPolicy::DEFAULT;
        for attempt in 1..12 {
            let base = p.base_delay(attempt);
            for _ in 0..200 {
                let d = p.delay(attempt);
                assert!(
                    d <= base && d >= base.mul_f64(1.0 - p.jitter),
                    "{d:?} vs {base:?}"
                );
            }
        }
        assert_eq!(p.delay_with(3, 0.0), p.base_delay(3));
        assert_eq!(p.delay_with(3, 1.0), p.base_delay(3) / 2);
    }

    #[test]
    fn exhaustion() {
        let p = RetryPolicy::DEFAULT.with_max_attempts(3);
        assert!(!p.exhausted(2));
        assert!(p.exhausted(3));
        assert!(RetryPolicy::DEFAULT.with_max_attempts(0).exhausted(1));
    }
}
