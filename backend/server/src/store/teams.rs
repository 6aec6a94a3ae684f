//! Teams.

use klaxon_api::{Page, Team, TeamInput};
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, conflict_on, deleted, into_page, new_id, now_ms, page_bounds, sql};

const DUPLICATE: &str = "a team with this name already exists in the account";
const IN_USE: &str =
    "the team still has escalation policies, endpoints, heartbeats or maintenance windows; delete them first";

impl Store {
    /// Creates a team.
    pub async fn create_team(&self, account: &str, input: &TeamInput) -> Result<Team, StoreError> {
        let now = now_ms();
        let row = sqlx::query(sql!(self, "team_insert"))
            .bind(new_id("team"))
            .bind(account)
            .bind(&input.name)
            .bind(&input.slack_channel)
            .bind(serde_json::to_string(&input.members)?)
            .bind(input.description.as_deref())
            .bind(now)
            .bind(now)
            .fetch_one(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?;
        flatten(&row)
    }

    /// Reads a team of the account.
    pub async fn get_team(&self, account: &str, id: &str) -> Result<Team, StoreError> {
        let row = sqlx::query(sql!(self, "team_get"))
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        flatten(&row)
    }

    /// Lists the account's teams, optionally only the one with a name.
    pub async fn list_teams(
        &self,
        account: &str,
        name: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<Team>, StoreError> {
        let (after, fetch) = page_bounds(cursor, limit);
        let rows = sqlx::query(sql!(self, "team_list"))
            .bind(account)
            .bind(name)
            .bind(after)
            .bind(fetch)
            .fetch_all(&self.db.pool)
            .await?;
        let items = rows.iter().map(flatten).collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, limit, |t| &t.id))
    }

    /// Replaces a team.
    pub async fn update_team(&self, account: &str, id: &str, input: &TeamInput) -> Result<Team, StoreError> {
        let row = sqlx::query(sql!(self, "team_update"))
            .bind(&input.name)
            .bind(&input.slack_channel)
            .bind(serde_json::to_string(&input.members)?)
            .bind(input.description.as_deref())
            .bind(now_ms())
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?
            .ok_or(StoreError::NotFound)?;
        flatten(&row)
    }

    /// Deletes a team; refused while policies or endpoints refer to it.
    pub async fn delete_team(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(sql!(self, "team_delete"))
            .bind(account)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?;
        deleted(&done)
    }
}

fn flatten(row: &AnyRow) -> Result<Team, StoreError> {
    Ok(Team {
        id: row.try_get(0)?,
        name: row.try_get(1)?,
        slack_channel: row.try_get(2)?,
        members: serde_json::from_str(&row.try_get::<String, _>(3)?)?,
        description: row.try_get(4)?,
    })
}
