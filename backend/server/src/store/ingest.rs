//! What ingest remembers besides alerts: the SNS message ids an endpoint stored (so SNS retries are harmless)
//! and the SNS subscriptions it confirmed or saw removed.
//!
//! Message ids are kept for [`MESSAGE_ID_RETENTION`] and then purged ([`Store::run_message_purge`]): signed SNS
//! messages older than [`MAX_MESSAGE_AGE`] are refused before they are stored, so a purged id cannot come back
//! as an accepted replay.

use std::collections::{BTreeSet, HashSet};
use std::time::Duration;

use sqlx::Row;
use tokio_util::sync::CancellationToken;

use super::{Store, StoreError, now_ms, sql};
use crate::ingest::sns::{MAX_FUTURE_SKEW, MAX_MESSAGE_AGE};

/// How long an SNS message id is kept. A message is accepted until its `Timestamp` is [`MAX_MESSAGE_AGE`] old,
/// and its `Timestamp` may be up to [`MAX_FUTURE_SKEW`] ahead of the clock that stored its id; a day more than
/// that covers the skew and any difference between replicas' clocks with room to spare.
pub const MESSAGE_ID_RETENTION: Duration = Duration::from_secs(
    MAX_MESSAGE_AGE.whole_seconds().unsigned_abs() + MAX_FUTURE_SKEW.whole_seconds().unsigned_abs() + 86_400,
);
/// How often each replica purges old message ids (the job queue purges done jobs as often).
pub const MESSAGE_PURGE_EVERY: Duration = Duration::from_secs(3600);
/// Rows deleted per statement of a purge.
const PURGE_CHUNK: i64 = 10_000;

/// An SNS subscription's state as Klaxon saw it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SubscriptionStatus {
    /// A verified SubscriptionConfirmation was confirmed.
    Confirmed,
    /// A verified UnsubscribeConfirmation arrived.
    Unsubscribed,
}

impl SubscriptionStatus {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Confirmed => "confirmed",
            Self::Unsubscribed => "unsubscribed",
        }
    }
}

impl Store {
    /// Records that endpoints stored SNS messages (`(endpoint id, message id)` pairs), on the caller's
    /// transaction, in one statement. Returns the pairs that were new; a pair stored before is a retry, whose
    /// events must not be stored again. A pair given twice is new once.
    pub async fn remember_messages_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        messages: &[(&str, &str)],
        now_ms: i64,
    ) -> Result<HashSet<(String, String)>, StoreError> {
        if messages.is_empty() {
            return Ok(HashSet::new());
        }
        let distinct: BTreeSet<_> = messages.iter().collect();
        let batch: Vec<_> = distinct
            .into_iter()
            .map(|(e, m)| serde_json::json!({ "e": e, "m": m }))
            .collect();
        let rows = sqlx::query(sql!(self, "ingest_message_insert_many"))
            .bind(serde_json::Value::Array(batch).to_string())
            .bind(now_ms)
            .fetch_all(conn)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }

    /// Forgets the SNS message ids received before `before_ms`, in chunks. Returns how many were deleted.
    pub async fn purge_messages(&self, before_ms: i64) -> Result<u64, StoreError> {
        let mut deleted = 0;
        loop {
            let done = sqlx::query(sql!(self, "ingest_messages_purge"))
                .bind(before_ms)
                .bind(PURGE_CHUNK)
                .execute(&mut *self.db.acquire_write().await?)
                .await?
                .rows_affected();
            deleted += done;
            if done < PURGE_CHUNK.unsigned_abs() {
                return Ok(deleted);
            }
        }
    }

    /// Purges message ids older than [`MESSAGE_ID_RETENTION`] now and every `every` until `stop`. Every replica
    /// may run it: deleting what another replica deleted is a no-op.
    pub async fn run_message_purge(self, every: Duration, stop: CancellationToken) {
        let retention = i64::try_from(MESSAGE_ID_RETENTION.as_millis()).unwrap_or(i64::MAX);
        loop {
            match self.purge_messages(now_ms().saturating_sub(retention)).await {
                Ok(0) => {}
                Ok(n) => tracing::info!(ids = n, "Forgot SNS message ids past their retention."),
                Err(e) => {
                    tracing::warn!(error = %e, "Could not purge old SNS message ids; trying again later.");
                }
            }
            tokio::select! {
                () = stop.cancelled() => return,
                () = tokio::time::sleep(every) => {}
            }
        }
    }

    /// Records the state of an endpoint's subscription to a topic.
    pub async fn record_subscription(
        &self,
        endpoint_id: &str,
        topic_arn: &str,
        status: SubscriptionStatus,
    ) -> Result<(), StoreError> {
        sqlx::query(sql!(self, "sns_subscription_upsert"))
            .bind(endpoint_id)
            .bind(topic_arn)
            .bind(status.as_str())
            .bind(now_ms())
            .execute(&self.db.pool)
            .await?;
        Ok(())
    }

    /// The subscriptions of an endpoint as `(topic_arn, status)`, by topic.
    pub async fn subscriptions(&self, endpoint_id: &str) -> Result<Vec<(String, String)>, StoreError> {
        let rows = sqlx::query(sql!(self, "sns_subscription_list"))
            .bind(endpoint_id)
            .fetch_all(&self.db.pool)
            .await?;
        rows.iter().map(|r| Ok((r.try_get(0)?, r.try_get(1)?))).collect()
    }
}
