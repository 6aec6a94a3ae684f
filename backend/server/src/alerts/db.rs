//! Reading alert rows: the SQL of this module's queries (one file per database, same names, as in the store)
//! and the row-to-[`StoredAlert`] conversion every query shares (they all return the same columns).

use klaxon_db::Database;
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{AlertError, AlertKind, AlertStatus, StoredAlert};
use crate::{
    escalation::Position,
    store::{into_page, page_bounds},
};

/// The SQL text of a query for `db`'s dialect: `alert_sql!(db, "alert_get")`.
macro_rules! alert_sql {
    ($db:expr, $name:literal) => {
        klaxon_db::sql_tree!($db.dialect, $name)
    };
}
pub(super) use alert_sql;

/// An alert of the account.
pub(super) async fn get(db: &Database, account: &str, id: &str) -> Result<StoredAlert, AlertError> {
    let row = sqlx::query(alert_sql!(db, "alert_get"))
        .bind(account)
        .bind(id)
        .fetch_optional(&db.pool)
        .await?
        .ok_or(AlertError::NotFound)?;
    flatten(&row)
}

/// An alert by id alone (for workers).
pub(super) async fn get_any(db: &Database, id: &str) -> Result<Option<StoredAlert>, AlertError> {
    let row = sqlx::query(alert_sql!(db, "alert_get_any"))
        .bind(id)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(flatten).transpose()
}

/// Alerts by id alone (for a batch of workers' jobs), keyed by id; ids not found are missing.
pub(super) async fn get_many(
    db: &Database,
    ids: &[&str],
) -> Result<std::collections::HashMap<String, StoredAlert>, AlertError> {
    let rows = db
        .batch_query(alert_sql!(db, "alert_get_many"))
        .bind(serde_json::to_string(ids)?)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|row| flatten(row).map(|a| (a.id.clone(), a)))
        .collect()
}

/// A page of the account's alerts, optionally in one status, after `cursor` (an alert id).
pub(super) async fn list(
    db: &Database,
    account: &str,
    status: Option<AlertStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> Result<klaxon_api::Page<StoredAlert>, AlertError> {
    let (after, fetch) = page_bounds(cursor, limit);
    let rows = sqlx::query(alert_sql!(db, "alert_list"))
        .bind(account)
        .bind(status.map(AlertStatus::as_str))
        .bind(after)
        .bind(fetch)
        .fetch_all(&db.pool)
        .await?;
    let items = rows.iter().map(flatten).collect::<Result<Vec<_>, _>>()?;
    Ok(into_page(items, limit, |a| &a.id))
}

/// Runs an alert-returning statement on `conn` and reads the row, if any.
pub(super) async fn fetch_alert<'q>(
    conn: &mut AnyConnection,
    query: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
) -> Result<Option<StoredAlert>, AlertError> {
    let row = query.fetch_optional(conn).await?;
    row.as_ref().map(flatten).transpose()
}

/// Converts a row of the shared alert columns.
pub(super) fn flatten(row: &AnyRow) -> Result<StoredAlert, AlertError> {
    let u32_at = |i: usize| -> Result<u32, AlertError> {
        Ok(u32::try_from(row.try_get::<i64, _>(i)?).unwrap_or(u32::MAX))
    };
    let kind: String = row.try_get(6)?;
    let status: String = row.try_get(7)?;
    let delivering: Option<String> = row.try_get(26)?;
    Ok(StoredAlert {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        endpoint_id: row.try_get(2)?,
        team_id: row.try_get(3)?,
        policy: serde_json::from_str(&row.try_get::<String, _>(4)?)?,
        group_key: row.try_get(5)?,
        kind: AlertKind::parse(&kind).ok_or_else(|| corrupt("kind", &kind))?,
        status: AlertStatus::parse(&status).ok_or_else(|| corrupt("status", &status))?,
        title: row.try_get(8)?,
        text: row.try_get(9)?,
        severity: row.try_get(10)?,
        source: row.try_get(11)?,
        fields: serde_json::from_str(&row.try_get::<String, _>(12)?)?,
        details: serde_json::from_str(&row.try_get::<String, _>(13)?)?,
        count: u64::try_from(row.try_get::<i64, _>(14)?).unwrap_or(0),
        first_seen_ms: row.try_get(15)?,
        last_seen_ms: row.try_get(16)?,
        acknowledged_by: row.try_get(17)?,
        acknowledged_at_ms: row.try_get(18)?,
        closed_by: row.try_get(19)?,
        closed_at_ms: row.try_get(20)?,
        auto_closed: row.try_get::<i64, _>(21)? != 0,
        position: Position {
            round: u32_at(22)?,
            step: u32_at(23)?,
        },
        next_escalation_at_ms: row.try_get(24)?,
        notified: serde_json::from_str(&row.try_get::<String, _>(25)?)?,
        delivering: delivering.as_deref().map(serde_json::from_str).transpose()?,
        version: u64::try_from(row.try_get::<i64, _>(27)?).unwrap_or(0),
        problem: row.try_get(28)?,
        slack_delivery: row.try_get(29)?,
        // Read by name: columns added by later migrations come after the shared ones.
        snoozed_until_ms: row.try_get("snoozed_until_ms")?,
        snoozed_by: row.try_get("snoozed_by")?,
    })
}

fn corrupt(column: &str, value: &str) -> AlertError {
    AlertError::Store(crate::store::StoreError::Corrupt(serde::de::Error::custom(
        format!("unknown {column} {value:?}"),
    )))
}
