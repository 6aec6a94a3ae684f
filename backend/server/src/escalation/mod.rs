//! The escalation engine: given a policy and where an alert stands in it, decides whom the step notifies and
//! when the step after it is due.
//!
//! A policy is an ordered list of steps (`random_member`, `next_member`, `user`, `here`, `channel`), each
//! with the minutes to wait before the next one; `repeat` runs the whole chain again up to 9 times. An alert's
//! place in its policy is a [`Position`] (round and step): the step that fires next. Everything here is a
//! plain function over data the caller gathered (the roster, who is inactive, the team's rotation, the members
//! already notified) and a random source, so the rules are tested without a database, Slack or a clock; the
//! job in `jobs::escalate` does the I/O around them. The rules live in `klaxon_api::escalation` (the provider
//! plans a policy's timeline with them); this module adds the server's setting of the policy minute.

use std::time::Duration;

pub use klaxon_api::escalation::*;

/// Settings of the engine.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EngineConfig {
    /// The length of one policy minute: 60 s in production. Tests and demos shrink it (e.g. 50 ms) so a
    /// five-minute step passes in a blink while every rule stays the same.
    pub minute: Duration,
}

impl EngineConfig {
    /// The production minute.
    pub const MINUTE: Duration = Duration::from_secs(60);

    /// `minutes` policy minutes in milliseconds.
    pub fn minutes_ms(&self, minutes: u32) -> i64 {
        i64::try_from(self.minute.as_millis().saturating_mul(u128::from(minutes))).unwrap_or(i64::MAX)
    }
}

impl Default for EngineConfig {
    fn default() -> Self {
        Self { minute: Self::MINUTE }
    }
}

#[cfg(test)]
mod tests {
    use super::EngineConfig;

    #[test]
    fn minutes_scale_with_the_configured_minute() {
        let cfg = EngineConfig {
            minute: std::time::Duration::from_millis(50),
        };
        assert_eq!(cfg.minutes_ms(5), 250);
        assert_eq!(EngineConfig::default().minutes_ms(5), 300_000);
    }
}
