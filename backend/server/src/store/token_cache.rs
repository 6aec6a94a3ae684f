//! A short-lived cache of what ingest tokens open, so a burst of deliveries to one endpoint reads the
//! endpoint once instead of once per request.
//!
//! Entries live [`TTL`]. This process's own endpoint writes clear the cache at once, so here a change or a
//! deletion applies to the next request; another replica's writes apply within [`TTL`] (an endpoint deleted
//! there may still take events here for that long, which stores them as for a live endpoint). Unknown tokens
//! are remembered too, so a caller retrying a wrong URL does not cost a read per try; the cache is emptied
//! when it reaches [`MAX_ENTRIES`], which bounds what random tokens can make it hold.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use super::IngestEndpoint;

/// How long an entry is trusted.
pub(super) const TTL: Duration = Duration::from_secs(2);
/// Most entries held.
pub(super) const MAX_ENTRIES: usize = 4096;

/// Token -> endpoint (or `None`: no such token), with when it was read.
#[derive(Debug, Default)]
pub(super) struct TokenCache {
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    /// Bumped by every clear: an answer read before a clear is not cached after it.
    generation: u64,
    entries: HashMap<String, (Instant, Option<Arc<IngestEndpoint>>)>,
}

impl TokenCache {
    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The cached answer for `token` if fresh (`Some(None)`: the token is known not to exist), else the
    /// generation to pass to [`Self::put`] with the answer read from the database.
    pub(super) fn get(&self, token: &str, now: Instant) -> Result<Option<Arc<IngestEndpoint>>, u64> {
        let inner = self.lock();
        match inner.entries.get(token) {
            Some((at, found)) if now.saturating_duration_since(*at) < TTL => Ok(found.clone()),
            _ => Err(inner.generation),
        }
    }

    /// Remembers what `token` opened, read at `at`, unless an endpoint write cleared the cache since
    /// `generation` was handed out (the answer may predate that write).
    pub(super) fn put(&self, token: &str, found: Option<Arc<IngestEndpoint>>, generation: u64, at: Instant) {
        let mut inner = self.lock();
        if inner.generation != generation {
            return;
        }
        if inner.entries.len() >= MAX_ENTRIES {
            inner.entries.clear();
        }
        inner.entries.insert(token.to_owned(), (at, found));
    }

    /// Forgets everything; called after every endpoint write of this process.
    pub(super) fn clear(&self) {
        let mut inner = self.lock();
        inner.generation += 1;
        inner.entries.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_answer_read_before_a_write_is_not_cached_after_it() {
        let cache = TokenCache::default();
        let now = Instant::now();
        let generation = cache.get("t", now).unwrap_err();
        cache.clear(); // an endpoint write lands while the read is in flight
        cache.put("t", None, generation, now);
        assert!(
            cache.get("t", now).is_err(),
            "the stale answer must not be served"
        );
        let generation = cache.get("t", now).unwrap_err();
        cache.put("t", None, generation, now);
        assert_eq!(cache.get("t", now), Ok(None));
        assert!(cache.get("t", now + TTL).is_err(), "entries expire");
    }
}
