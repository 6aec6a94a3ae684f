//! What ingest remembers besides alerts: the SNS message ids an endpoint stored (so SNS retries are harmless)
//! and the SNS subscriptions it confirmed or saw removed.

use std::collections::{BTreeSet, HashSet};

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
