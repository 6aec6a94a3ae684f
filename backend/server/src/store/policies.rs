//! Escalation policies.

use klaxon_api::{EscalationPolicy, EscalationPolicyInput, Page};
use sqlx::{Row, any::AnyRow};

use super::{Store, StoreError, conflict_on, deleted, into_page, new_id, now_ms, page_bounds, sql};

const DUPLICATE: &str = "a policy with this name already exists in the team";
const IN_USE: &str = "endpoints still use this policy; point them elsewhere or delete them first";

impl Store {
    /// Creates a policy for a team of the account.
    pub async fn create_policy(
        &self,
        account: &str,
        input: &EscalationPolicyInput,
    ) -> Result<EscalationPolicy, StoreError> {
        self.require_team(account, &input.team_id).await?;
        let now = now_ms();
        let row = sqlx::query(sql!(self, "policy_insert"))
            .bind(new_id("pol"))
            .bind(account)
            .bind(&input.team_id)
            .bind(&input.name)
            .bind(serde_json::to_string(&input.steps)?)
            .bind(i64::from(input.repeat))
            .bind(i64::from(input.skip_inactive))
            .bind(input.remind_after_minutes.map(i64::from))
            .bind(now)
            .bind(now)
            .fetch_one(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?;
        flatten(&row)
    }

    /// Reads a policy of the account.
    pub async fn get_policy(&self, account: &str, id: &str) -> Result<EscalationPolicy, StoreError> {
        let row = sqlx::query(sql!(self, "policy_get"))
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        flatten(&row)
    }

    /// Lists the account's policies, optionally of one team and with one name.
    pub async fn list_policies(
        &self,
        account: &str,
        team_id: Option<&str>,
        name: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<EscalationPolicy>, StoreError> {
        let (after, fetch) = page_bounds(cursor, limit);
        let rows = sqlx::query(sql!(self, "policy_list"))
            .bind(account)
            .bind(team_id)
            .bind(name)
            .bind(after)
            .bind(fetch)
            .fetch_all(&self.db.pool)
            .await?;
        let items = rows.iter().map(flatten).collect::<Result<Vec<_>, _>>()?;
        Ok(into_page(items, limit, |p| &p.id))
    }

    /// Replaces a policy. Its team cannot change (the provider replaces the resource instead).
    pub async fn update_policy(
        &self,
        account: &str,
        id: &str,
        input: &EscalationPolicyInput,
    ) -> Result<EscalationPolicy, StoreError> {
        let current = self.get_policy(account, id).await?;
        if current.team_id != input.team_id {
            return Err(StoreError::Conflict {
                message: "a policy cannot move to another team; create a new policy instead".into(),
                field: Some("team_id"),
            });
        }
        let row = sqlx::query(sql!(self, "policy_update"))
            .bind(&input.name)
            .bind(serde_json::to_string(&input.steps)?)
            .bind(i64::from(input.repeat))
            .bind(i64::from(input.skip_inactive))
            .bind(input.remind_after_minutes.map(i64::from))
            .bind(now_ms())
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?
            .ok_or(StoreError::NotFound)?;
        flatten(&row)
    }

    /// Deletes a policy; refused while endpoints use it.
    pub async fn delete_policy(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(sql!(self, "policy_delete"))
            .bind(account)
            .bind(id)
            .execute(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?;
        deleted(&done)
    }

    /// Fails with a `MissingReference` on `team_id` unless the team exists in the account.
    pub(super) async fn require_team(&self, account: &str, team_id: &str) -> Result<(), StoreError> {
        match self.get_team(account, team_id).await {
            Ok(_) => Ok(()),
            Err(StoreError::NotFound) => Err(StoreError::MissingReference {
                message: format!("no team {team_id:?} in this account"),
                field: "team_id",
            }),
            Err(e) => Err(e),
        }
    }
}

fn flatten(row: &AnyRow) -> Result<EscalationPolicy, StoreError> {
    Ok(EscalationPolicy {
        id: row.try_get(0)?,
        team_id: row.try_get(1)?,
        name: row.try_get(2)?,
        steps: serde_json::from_str(&row.try_get::<String, _>(3)?)?,
        repeat: u32::try_from(row.try_get::<i64, _>(4)?).unwrap_or(0),
        skip_inactive: row.try_get::<i64, _>(5)? != 0,
        remind_after_minutes: row
            .try_get::<Option<i64>, _>(6)?
            .and_then(|m| u32::try_from(m).ok()),
    })
}
