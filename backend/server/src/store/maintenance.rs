//! Maintenance windows: the management API's side (create, read, list, replace, delete). What a window does
//! to alerts (holding them, then releasing them into escalation) is `alerts::maintenance`'s.
//!
//! A one-off window is stored as two instants (Unix milliseconds), a recurring one as its cron expression,
//! occurrence length and time zone; the API answers instants in UTC (RFC 3339), whatever offset they were
//! written with.

use klaxon_api::{
    MaintenanceWindow, MaintenanceWindowInput, Page, Recurrence,
    maintenance::{Schedule, format_instant_ms, parse_instant},
};
use sqlx::{AnyConnection, Row, any::AnyRow};

use super::{Store, StoreError, conflict_on, deleted, into_page, new_id, page_bounds, sql};

const IN_USE: &str = "the window's team does not exist";

/// A window as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredWindow {
    /// Server-assigned id (`mw_...`).
    pub id: String,
    /// The team it covers.
    pub team_id: Option<String>,
    /// The endpoints it covers (empty with a team).
    pub endpoint_ids: Vec<String>,
    /// A one-off window's start, Unix milliseconds.
    pub starts_at_ms: Option<i64>,
    /// A one-off window's end (exclusive), Unix milliseconds.
    pub ends_at_ms: Option<i64>,
    /// A recurring window's occurrences.
    pub recurrence: Option<Recurrence>,
    /// Free text.
    pub description: Option<String>,
}

impl StoredWindow {
    /// The API view.
    pub fn to_api(&self) -> MaintenanceWindow {
        MaintenanceWindow {
            id: self.id.clone(),
            team_id: self.team_id.clone(),
            endpoint_ids: self.endpoint_ids.clone(),
            starts_at: self.starts_at_ms.map(format_instant_ms),
            ends_at: self.ends_at_ms.map(format_instant_ms),
            recurrence: self.recurrence.clone(),
            description: self.description.clone(),
        }
    }

    /// When the window is in effect; `None` for a stored row the API could not have written (it is then
    /// never in effect, rather than failing every alert of the account).
    pub fn schedule(&self) -> Option<Schedule> {
        match (&self.recurrence, self.starts_at_ms, self.ends_at_ms) {
            (Some(r), ..) => Schedule::recurring(r).ok(),
            (None, Some(starts_ms), Some(ends_ms)) => Some(Schedule::Once { starts_ms, ends_ms }),
            _ => None,
        }
    }

    /// Whether the window covers alerts of this team and endpoint.
    pub fn covers(&self, team_id: &str, endpoint_id: &str) -> bool {
        self.team_id.as_deref() == Some(team_id) || self.endpoint_ids.iter().any(|e| e == endpoint_id)
    }
}

/// The columns of an input, as bound (validated input: the instants parse).
struct Columns {
    team_id: Option<String>,
    endpoint_ids: String,
    starts_at_ms: Option<i64>,
    ends_at_ms: Option<i64>,
    cron: Option<String>,
    duration_minutes: Option<i64>,
    time_zone: Option<String>,
    description: Option<String>,
}

fn columns(input: &MaintenanceWindowInput) -> Result<Columns, StoreError> {
    let instant = |s: &Option<String>| {
        s.as_deref()
            .and_then(|s| parse_instant(s).ok())
            .map(|t| t.as_millisecond())
    };
    let r = input.recurrence.as_ref();
    Ok(Columns {
        team_id: input.team_id.clone(),
        endpoint_ids: serde_json::to_string(&input.endpoint_ids)?,
        starts_at_ms: instant(&input.starts_at),
        ends_at_ms: instant(&input.ends_at),
        cron: r.map(|r| r.cron.clone()),
        duration_minutes: r.map(|r| i64::from(r.duration_minutes)),
        time_zone: r.map(|r| r.time_zone.clone()),
        description: input.description.clone(),
    })
}

impl Store {
    /// Checks that the window's team or endpoints exist in the account.
    async fn require_window_refs(
        &self,
        account: &str,
        input: &MaintenanceWindowInput,
    ) -> Result<(), StoreError> {
        if let Some(team) = &input.team_id {
            self.require_team(account, team).await?;
        }
        for e in &input.endpoint_ids {
            match self.get_endpoint(account, e).await {
                Ok(_) => {}
                Err(StoreError::NotFound) => {
                    return Err(StoreError::MissingReference {
                        message: format!("no endpoint {e:?} in this account"),
                        field: "endpoint_ids",
                    });
                }
                Err(err) => return Err(err),
            }
        }
        Ok(())
    }

    /// Creates a window (validated input).
    pub async fn create_window(
        &self,
        account: &str,
        input: &MaintenanceWindowInput,
        now_ms: i64,
    ) -> Result<StoredWindow, StoreError> {
        self.require_window_refs(account, input).await?;
        let c = columns(input)?;
        let row = sqlx::query(sql!(self, "maintenance_window_insert"))
            .bind(new_id("mw"))
            .bind(account)
            .bind(c.team_id)
            .bind(c.endpoint_ids)
            .bind(c.starts_at_ms)
            .bind(c.ends_at_ms)
            .bind(c.cron)
            .bind(c.duration_minutes)
            .bind(c.time_zone)
            .bind(c.description)
            .bind(now_ms)
            .fetch_one(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, IN_USE, "team_id", IN_USE))?;
        flatten(&row)
    }

    /// Reads a window of the account.
    pub async fn get_window(&self, account: &str, id: &str) -> Result<StoredWindow, StoreError> {
        let row = sqlx::query(sql!(self, "maintenance_window_get"))
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        flatten(&row)
    }

    /// Lists the account's windows, optionally of one team.
    pub async fn list_windows(
        &self,
        account: &str,
        team_id: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredWindow>, StoreError> {
        let (after, fetch) = page_bounds(cursor, limit);
        let rows = sqlx::query(sql!(self, "maintenance_window_list"))
            .bind(account)
            .bind(team_id)
            .bind(after)
            .bind(fetch)
            .fetch_all(&self.db.pool)
            .await?;
        let items = rows.iter().map(flatten).collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, limit, |w| &w.id))
    }

    /// Checks a replacement's references, before the transaction that writes it.
    pub async fn check_window_refs(
        &self,
        account: &str,
        input: &MaintenanceWindowInput,
    ) -> Result<(), StoreError> {
        self.require_window_refs(account, input).await
    }

    /// Replaces a window inside the caller's transaction (references checked by [`Self::check_window_refs`]).
    pub async fn update_window_in(
        &self,
        conn: &mut AnyConnection,
        account: &str,
        id: &str,
        input: &MaintenanceWindowInput,
        now_ms: i64,
    ) -> Result<StoredWindow, StoreError> {
        let c = columns(input)?;
        let row = sqlx::query(sql!(self, "maintenance_window_update"))
            .bind(account)
            .bind(id)
            .bind(c.team_id)
            .bind(c.endpoint_ids)
            .bind(c.starts_at_ms)
            .bind(c.ends_at_ms)
            .bind(c.cron)
            .bind(c.duration_minutes)
            .bind(c.time_zone)
            .bind(c.description)
            .bind(now_ms)
            .fetch_optional(conn)
            .await
            .map_err(|e| conflict_on(e, IN_USE, "team_id", IN_USE))?
            .ok_or(StoreError::NotFound)?;
        flatten(&row)
    }

    /// Deletes a window inside the caller's transaction.
    pub async fn delete_window_in(
        &self,
        conn: &mut AnyConnection,
        account: &str,
        id: &str,
    ) -> Result<(), StoreError> {
        let done = sqlx::query(sql!(self, "maintenance_window_delete"))
            .bind(account)
            .bind(id)
            .execute(conn)
            .await?;
        deleted(&done)
    }
}

/// Converts a row of the window columns.
pub(crate) fn flatten(row: &AnyRow) -> Result<StoredWindow, StoreError> {
    let cron: Option<String> = row.try_get(5)?;
    let duration: Option<i64> = row.try_get(6)?;
    let zone: Option<String> = row.try_get(7)?;
    let recurrence = match (cron, duration, zone) {
        (Some(cron), Some(d), Some(time_zone)) => Some(Recurrence {
            cron,
            duration_minutes: u32::try_from(d).unwrap_or(0),
            time_zone,
        }),
        _ => None,
    };
    Ok(StoredWindow {
        id: row.try_get(0)?,
        team_id: row.try_get(1)?,
        endpoint_ids: serde_json::from_str(&row.try_get::<String, _>(2)?)?,
        starts_at_ms: row.try_get(3)?,
        ends_at_ms: row.try_get(4)?,
        recurrence,
        description: row.try_get(8)?,
    })
}
