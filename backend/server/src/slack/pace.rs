//! Pacing of Slack calls, so Klaxon stays within Slack's limits instead of learning them from 429s: token
//! buckets per workspace and method (Slack's tiers), and per channel for posts (about one a second). Pacing
//! is per process: with several replicas each keeps its own pace, and a 429 that still comes is honoured
//! through its `Retry-After`.

use std::{
    collections::HashMap,
    sync::{Mutex, PoisonError},
    time::{Duration, Instant},
};

/// A rate: `per_second` on average, up to `burst` at once after a quiet time.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Rate {
    /// Calls per second, sustained.
    pub per_second: f64,
    /// Calls at once after a quiet time (the bucket's size, at least 1).
    pub burst: f64,
}

impl Rate {
    /// `n` calls per minute with a burst of `burst`.
    pub const fn per_minute(n: u32, burst: u32) -> Self {
        Self {
            per_second: n as f64 / 60.0,
            burst: burst as f64,
        }
    }
}

/// Posts to one channel: Slack shows about one message a second per channel and hides bursts above it. A
/// little under one a second, so that two posts leaving a second apart cannot arrive closer than that.
pub const CHANNEL_POSTS: Rate = Rate {
    per_second: 0.9,
    burst: 1.0,
};

/// The pace of a Web API method in one workspace (Slack's tiers, a little under their published floor).
pub fn method_rate(method: &str) -> Rate {
    match method {
        // "Special": the per-channel pace above, plus a workspace cap of "several hundred per minute".
        "chat.postMessage" => Rate::per_minute(300, 30),
        // Tier 3: 50+ per minute, sporadic bursts.
        "chat.update" | "conversations.open" | "conversations.join" | "users.getPresence" | "dnd.info" => {
            Rate::per_minute(50, 15)
        }
        // Tier 2: 20+ per minute.
        "dnd.teamInfo" => Rate::per_minute(20, 5),
        // Hundreds per minute.
        "auth.test" | "chat.getPermalink" => Rate::per_minute(600, 50),
        // Tier 4 and the rest: 100+ per minute.
        _ => Rate::per_minute(100, 20),
    }
}

#[derive(Debug)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

/// Token buckets by key.
#[derive(Debug, Default)]
pub struct Pacer {
    buckets: Mutex<HashMap<String, Bucket>>,
}

impl Pacer {
    /// Takes one call of `key` at `rate` if one is free now; otherwise how long until one is (nothing taken).
    pub fn try_take(&self, key: &str, rate: Rate) -> Result<(), Duration> {
        self.try_take_at(key, rate, Instant::now())
    }

    fn try_take_at(&self, key: &str, rate: Rate, now: Instant) -> Result<(), Duration> {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let burst = rate.burst.max(1.0);
        let b = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
        b.tokens = (b.tokens + elapsed * rate.per_second).min(burst);
        b.at = now;
        if b.tokens >= 1.0 {
            b.tokens -= 1.0;
            return Ok(());
        }
        let missing = 1.0 - b.tokens;
        Err(Duration::from_secs_f64(missing / rate.per_second.max(1e-9)))
    }

    /// Gives a call taken but not made back (the caller changed its mind).
    pub fn give_back(&self, key: &str, rate: Rate) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if let Some(b) = buckets.get_mut(key) {
            b.tokens = (b.tokens + 1.0).min(rate.burst.max(1.0));
        }
    }

    /// Empties `key`'s bucket for `wait` (Slack answered 429 with this `Retry-After`).
    pub fn hold(&self, key: &str, rate: Rate, wait: Duration) {
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        let tokens = -(wait.as_secs_f64() * rate.per_second);
        buckets.insert(
            key.to_owned(),
            Bucket {
                tokens,
                at: Instant::now(),
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bucket_allows_its_burst_then_its_rate() {
        let p = Pacer::default();
        let t0 = Instant::now();
        let r = Rate {
            per_second: 1.0,
            burst: 2.0,
        };
        assert!(p.try_take_at("c", r, t0).is_ok());
        assert!(p.try_take_at("c", r, t0).is_ok());
        let wait = p.try_take_at("c", r, t0).unwrap_err();
        assert!((wait.as_secs_f64() - 1.0).abs() < 1e-6, "{wait:?}");
        assert!(p.try_take_at("c", r, t0 + Duration::from_millis(1001)).is_ok());
        assert!(p.try_take_at("other", r, t0).is_ok(), "keys are separate");
    }

    #[test]
    fn a_hold_empties_the_bucket_for_the_wait() {
        let p = Pacer::default();
        let r = CHANNEL_POSTS;
        p.hold("c", r, Duration::from_secs(5));
        let wait = p.try_take("c", r).unwrap_err();
        assert!(wait > Duration::from_secs(5), "{wait:?}");
    }
}
