//! What ingest remembers besides alerts: the SNS message ids an endpoint stored (so SNS retries are harmless)
//! and the SNS subscriptions it confirmed or saw removed.

use sqlx::Row;

use super::{Store, StoreError, now_ms, sql};

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
    /// Records that `endpoint_id` stored SNS message `message_id`, on the caller's transaction; `false` when
    /// it was stored before (a retry, whose events must not be stored again).
    pub async fn remember_message_in(
        &self,
        conn: &mut sqlx::AnyConnection,
        endpoint_id: &str,
        message_id: &str,
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let done = sqlx::query(sql!(self, "ingest_message_insert"))
            .bind(endpoint_id)
            .bind(message_id)
            .bind(now_ms)
            .execute(conn)
            .await?;
        Ok(done.rows_affected() == 1)
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
