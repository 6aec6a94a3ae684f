//! Slack workspaces installed through OAuth (`slack_installs`): one account per workspace, its bot token
//! sealed (see `secrets`). An uninstall or a revoked token leaves the row, inactive, with the account and
//! everything in it; a reinstall stores the new token and makes it active again. Also the states of installs
//! begun (`slack_oauth_states`), each usable once.

use sqlx::{Row, any::AnyRow};

use crate::store::{Store, StoreError, accounts::insert_account, new_id};

macro_rules! sql {
    ($store:expr, $name:literal) => {
        klaxon_db::sql_tree!($store.database().dialect, $name)
    };
}

/// An installed workspace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Install {
    /// Slack's id of the workspace (`T…`).
    pub team_id: String,
    /// The account it is.
    pub account_id: String,
    /// The workspace's name when it was (re)installed.
    pub team_name: String,
    /// Klaxon's bot user in the workspace.
    pub bot_user_id: Option<String>,
    /// The bot token, sealed.
    pub bot_token_sealed: String,
    /// Calls may be made (not uninstalled, token not revoked).
    pub active: bool,
    /// Why not, when inactive (`app_uninstalled`, `tokens_revoked`).
    pub inactive_reason: Option<String>,
    /// First installed, Unix milliseconds.
    pub installed_at_ms: i64,
    /// Last (re)installed or deactivated, Unix milliseconds.
    pub updated_at_ms: i64,
}

/// What an install did.
#[derive(Debug, Clone)]
pub struct Installed {
    /// The workspace's account.
    pub account_id: String,
    /// The account's first API token, when the install created the account (a reinstall keeps the account
    /// and its tokens).
    pub first_token: Option<String>,
}

fn install(row: &AnyRow) -> Result<Install, sqlx::Error> {
    Ok(Install {
        team_id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        team_name: row.try_get(2)?,
        bot_user_id: row.try_get(3)?,
        bot_token_sealed: row.try_get(4)?,
        active: row.try_get::<i64, _>(5)? != 0,
        inactive_reason: row.try_get(6)?,
        installed_at_ms: row.try_get(7)?,
        updated_at_ms: row.try_get(8)?,
    })
}

/// The install of workspace `team_id`.
pub async fn by_team(store: &Store, team_id: &str) -> Result<Option<Install>, sqlx::Error> {
    sqlx::query(sql!(store, "install_by_team"))
        .bind(team_id)
        .fetch_optional(&store.database().pool)
        .await?
        .as_ref()
        .map(install)
        .transpose()
}

/// The install of `account`, when the account is an installed workspace.
pub async fn by_account(store: &Store, account: &str) -> Result<Option<Install>, sqlx::Error> {
    sqlx::query(sql!(store, "install_by_account"))
        .bind(account)
        .fetch_optional(&store.database().pool)
        .await?
        .as_ref()
        .map(install)
        .transpose()
}

/// Records an install of workspace `team_id` with bot `token`: a new account for a workspace seen for the
/// first time, else the new token on its account (active again).
pub async fn record(
    store: &Store,
    team_id: &str,
    team_name: &str,
    bot_user_id: Option<&str>,
    token: &str,
    now: i64,
) -> Result<Installed, StoreError> {
    let secret = |e| StoreError::Secret(e);
    if by_team(store, team_id).await?.is_none() {
        // Sealed before the transaction: sealing may write the account's first data key.
        let account_id = new_id("acct");
        let sealed = store.secrets().seal(&account_id, token).await.map_err(secret)?;
        let db = store.database();
        let mut tx = db.begin_write().await?;
        let first_token = insert_account(&mut tx, db.dialect, &account_id, team_name).await?;
        let inserted = sqlx::query(sql!(store, "install_insert"))
            .bind(team_id)
            .bind(&account_id)
            .bind(team_name)
            .bind(bot_user_id)
            .bind(&sealed)
            .bind(now)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if inserted == 1 {
            tx.commit().await?;
            return Ok(Installed {
                account_id,
                first_token: Some(first_token),
            });
        }
        // Installed by another request meanwhile: this is a reinstall, and the account is not needed.
        tx.rollback().await?;
    }
    let existing = by_team(store, team_id).await?.ok_or(StoreError::NotFound)?;
    let sealed = store
        .secrets()
        .seal(&existing.account_id, token)
        .await
        .map_err(secret)?;
    sqlx::query(sql!(store, "install_update"))
        .bind(team_id)
        .bind(team_name)
        .bind(bot_user_id)
        .bind(&sealed)
        .bind(now)
        .execute(&mut *store.database().acquire_write().await?)
        .await?;
    Ok(Installed {
        account_id: existing.account_id,
        first_token: None,
    })
}

/// Marks workspace `team_id` inactive for `reason`, by an event of `event_ms`; nothing when it was
/// (re)installed after the event, or is inactive already. True when this changed it.
pub async fn deactivate(
    store: &Store,
    team_id: &str,
    reason: &str,
    event_ms: i64,
) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(sql!(store, "install_deactivate"))
        .bind(team_id)
        .bind(reason)
        .bind(event_ms)
        .execute(&mut *store.database().acquire_write().await?)
        .await?
        .rows_affected()
        == 1)
}

/// How many installed workspaces are active, and how many inactive.
pub async fn counts(store: &Store) -> Result<(u64, u64), sqlx::Error> {
    let rows = sqlx::query(sql!(store, "install_counts"))
        .fetch_all(&store.database().pool)
        .await?;
    let (mut active, mut inactive) = (0, 0);
    for row in rows {
        let n = u64::try_from(row.try_get::<i64, _>(1)?).unwrap_or(0);
        if row.try_get::<i64, _>(0)? != 0 {
            active += n;
        } else {
            inactive += n;
        }
    }
    Ok((active, inactive))
}

/// Records the state of an install begun, usable once until `expires_ms` (and forgets expired ones).
pub async fn begin(store: &Store, state: &str, expires_ms: i64, now: i64) -> Result<(), sqlx::Error> {
    let db = store.database();
    let mut conn = db.acquire_write().await?;
    sqlx::query(sql!(store, "oauth_states_purge"))
        .bind(now)
        .execute(&mut *conn)
        .await?;
    sqlx::query(sql!(store, "oauth_state_insert"))
        .bind(state)
        .bind(expires_ms)
        .execute(&mut *conn)
        .await?;
    Ok(())
}

/// Uses up the state of an install begun: true the first time, false when it was used (or never issued).
pub async fn take(store: &Store, state: &str) -> Result<bool, sqlx::Error> {
    Ok(sqlx::query(sql!(store, "oauth_state_take"))
        .bind(state)
        .execute(&mut *store.database().acquire_write().await?)
        .await?
        .rows_affected()
        == 1)
}
