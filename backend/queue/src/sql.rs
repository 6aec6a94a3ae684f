//! SQL text: one file per query under `sql/<dialect>/<name>.sql`, the same names in both trees.
//!
//! [`sql!`] embeds both twins and picks one by dialect, so a query missing from one tree fails the build.

/// `sql!(dialect, "name")`: the text of `sql/<dialect>/<name>.sql` for the given [`klaxon_db::Dialect`].
macro_rules! sql {
    ($dialect:expr, $name:literal) => {
        klaxon_db::sql_tree!($dialect, $name)
    };
}

use sqlx::{Row, any::AnyRow};

use crate::{ClaimedJob, Error, JobId, JobInfo, JobState};

/// Decodes a row of `claim.sql`.
pub(crate) fn claimed(row: &AnyRow) -> Result<ClaimedJob, Error> {
    Ok(ClaimedJob {
        id: JobId(row.try_get("id")?),
        kind: row.try_get("kind")?,
        payload: row.try_get("payload")?,
        partition: row.try_get("partition_key")?,
        attempt: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        fence: row.try_get("fence")?,
        run_at_ms: row.try_get("run_at")?,
        order_at_ms: row.try_get("order_at")?,
    })
}

/// Decodes a row of `get.sql` / `list.sql` / `list_tenant.sql`.
pub(crate) fn info(row: &AnyRow) -> Result<JobInfo, Error> {
    let state: String = row.try_get("state")?;
    let payload: String = row.try_get("payload")?;
    Ok(JobInfo {
        id: JobId(row.try_get("id")?),
        kind: row.try_get("kind")?,
        payload: serde_json::from_str(&payload)?,
        partition: row.try_get("partition_key")?,
        dedup_key: row.try_get("dedup_key")?,
        dedup_forever: row.try_get::<i64, _>("dedup_forever")? == 1,
        state: JobState::parse(&state).ok_or_else(|| Error::Corrupt(format!("unknown state {state:?}")))?,
        run_at_ms: row.try_get("run_at")?,
        attempts: u32::try_from(row.try_get::<i64, _>("attempts")?).unwrap_or(u32::MAX),
        fence: row.try_get("fence")?,
        lease_owner: row.try_get("lease_owner")?,
        lease_expires_at_ms: row.try_get("lease_expires_at")?,
        last_error: row.try_get("last_error")?,
        created_at_ms: row.try_get("created_at")?,
        updated_at_ms: row.try_get("updated_at")?,
        tenant: row.try_get("tenant")?,
    })
}
