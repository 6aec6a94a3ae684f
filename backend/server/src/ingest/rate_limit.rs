//! A per-endpoint token bucket, in memory: each endpoint may send `burst` requests at once and `per_second` on
//! average; beyond that a request is refused with the seconds after which one would pass (`Retry-After`).
//!
//! In memory on purpose: it protects this process from a runaway sender, and with several replicas each one
//! limits its own share, which is good enough for that. The clock is passed in, so tests need no sleeping.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Mutex;
use std::time::Instant;

use super::rejection::Rejection;

/// The limits of every endpoint.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RateLimit {
    /// Requests allowed at once, after a quiet period.
    pub burst: u32,
    /// Requests per second refilled.
    pub per_second: f64,
}

impl Default for RateLimit {
    /// Generous for people and alarms (an alert storm of one AWS account stays under it), low enough that a
    /// script in a loop cannot drown the store or Slack.
    fn default() -> Self {
        RateLimit {
            burst: 200,
            per_second: 20.0,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    last: Instant,
}

/// Buckets are forgotten after this many distinct keys, so a flood of made-up endpoint ids cannot grow memory;
/// forgetting only ever gives a sender a fresh (full) bucket.
const MAX_KEYS: usize = 100_000;

/// Token buckets keyed by endpoint id.
#[derive(Debug)]
pub struct RateLimiter<K> {
    limit: RateLimit,
    buckets: Mutex<HashMap<K, Bucket>>,
}

impl<K: Hash + Eq + Clone> RateLimiter<K> {
    /// A limiter applying `limit` to each key.
    pub fn new(limit: RateLimit) -> Self {
        RateLimiter {
            limit,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes one token for `key` at `now`, or says how long to wait ([`Rejection::RateLimited`]).
    pub fn check(&self, key: &K, now: Instant) -> Result<(), Rejection> {
        let burst = f64::from(self.limit.burst.max(1));
        // A poisoned lock only means another request panicked mid-update; the map is still usable.
        let mut buckets = self.buckets.lock().unwrap_or_else(|e| e.into_inner());
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.clear();
        }
        let bucket = buckets.entry(key.clone()).or_insert(Bucket {
            tokens: burst,
            last: now,
        });
        let elapsed = now.saturating_duration_since(bucket.last).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.limit.per_second).min(burst);
        bucket.last = now.max(bucket.last);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = if self.limit.per_second > 0.0 {
            (1.0 - bucket.tokens) / self.limit.per_second
        } else {
            3600.0
        };
        // Whole seconds, rounded up and at least 1, as `Retry-After` wants.
        let retry_after_secs = (wait.ceil() as u64).max(1);
        Err(Rejection::RateLimited { retry_after_secs })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn burst_then_refill_per_key() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 3,
            per_second: 0.5,
        });
        let t0 = Instant::now();
        for _ in 0..3 {
            limiter.check(&"a", t0).unwrap();
        }
        let refused = limiter.check(&"a", t0).unwrap_err();
        assert_eq!(refused.retry_after_secs(), Some(2));
        // Another endpoint has its own bucket.
        limiter.check(&"b", t0).unwrap();
        // After 2 s one token is back, and only one.
        let t2 = t0 + Duration::from_secs(2);
        limiter.check(&"a", t2).unwrap();
        assert!(limiter.check(&"a", t2).is_err());
        // Never more than the burst, however long the pause.
        let later = t0 + Duration::from_secs(3600);
        for _ in 0..3 {
            limiter.check(&"a", later).unwrap();
        }
        assert!(limiter.check(&"a", later).is_err());
    }

    #[test]
    fn retry_after_is_at_least_one_second() {
        let limiter = RateLimiter::new(RateLimit {
            burst: 1,
            per_second: 100.0,
        });
        let t0 = Instant::now();
        limiter.check(&1u32, t0).unwrap();
        let refused = limiter.check(&1u32, t0).unwrap_err();
        assert_eq!(refused.retry_after_secs(), Some(1));
        assert_eq!(refused.status(), 429);
    }
}
