//! Endpoints. Each has a random ingest token, the secret part of its ingest URL; the URL itself is built at
//! the HTTP edge from `KLAXON_PUBLIC_URL`, so moving the service does not rewrite stored rows.
//!
//! The token is stored twice, neither in clear: its hash (what ingest looks it up by) and a sealed copy
//! (see `secrets`; opened to show the endpoint's URL).

use std::{sync::Arc, time::Instant};

use klaxon_api::{Endpoint, EndpointInput, Page};
use sqlx::{Row, any::AnyRow};

use super::{
    Store, StoreError, conflict_on, deleted, into_page, new_id, new_secret, now_ms, page_bounds, sql,
};

const DUPLICATE: &str = "an endpoint with this name already exists in the team";
const IN_USE: &str = "the endpoint is still referenced";

/// Prefix of ingest tokens.
const INGEST_PREFIX: &str = "ing_";

/// An endpoint with its ingest token, as stored. Its `Debug` hides the token.
#[derive(Clone, PartialEq, Eq)]
pub struct StoredEndpoint {
    /// Server-assigned id.
    pub id: String,
    /// The team its alerts belong to.
    pub team_id: String,
    /// The policy that escalates its alerts; `None` means the team's default chain.
    pub escalation_policy_id: Option<String>,
    /// Unique name within the team.
    pub name: String,
    /// Allowed SNS topics, sorted and without duplicates; empty = any.
    pub allowed_topic_arns: Vec<String>,
    /// Alert grouping window in minutes.
    pub alert_grouping_minutes: u32,
    /// Notification grouping window in minutes.
    pub notification_grouping_minutes: u32,
    /// The secret token in the ingest URL.
    pub ingest_token: String,
}

impl std::fmt::Debug for StoredEndpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredEndpoint")
            .field("id", &self.id)
            .field("team_id", &self.team_id)
            .field("escalation_policy_id", &self.escalation_policy_id)
            .field("name", &self.name)
            .field("allowed_topic_arns", &self.allowed_topic_arns)
            .field("alert_grouping_minutes", &self.alert_grouping_minutes)
            .field(
                "notification_grouping_minutes",
                &self.notification_grouping_minutes,
            )
            .field("ingest_token", &"***")
            .finish()
    }
}

impl StoredEndpoint {
    /// The API view, with ingest URLs under `public_url`.
    pub fn to_api(&self, public_url: &str) -> Endpoint {
        let url = format!(
            "{}/ingest/{}",
            public_url.trim_end_matches('/'),
            self.ingest_token
        );
        Endpoint {
            id: self.id.clone(),
            team_id: self.team_id.clone(),
            escalation_policy_id: self.escalation_policy_id.clone(),
            name: self.name.clone(),
            allowed_topic_arns: self.allowed_topic_arns.clone(),
            alert_grouping_minutes: self.alert_grouping_minutes,
            notification_grouping_minutes: self.notification_grouping_minutes,
            sns_url: url.clone(),
            url,
        }
    }
}

/// An endpoint found by its ingest token, with the account it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IngestEndpoint {
    /// The owning account.
    pub account_id: String,
    /// The endpoint.
    pub endpoint: StoredEndpoint,
}

/// What an ingest token is stored as, to be looked up by: its SHA-256 (the token is 256 random bits, so no
/// salt is needed).
pub(crate) fn token_hash(token: &str) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(token.as_bytes())))
}

/// An endpoint row as read, its token still sealed.
struct Raw {
    endpoint: StoredEndpoint,
    /// The token's sealed copy; `None` for a row written before tokens were sealed (its column then holds
    /// the token itself).
    sealed: Option<String>,
    stored: String,
}

impl Store {
    /// The endpoint with its token opened.
    async fn reveal(&self, account: &str, raw: Raw) -> Result<StoredEndpoint, StoreError> {
        let mut endpoint = raw.endpoint;
        endpoint.ingest_token = match raw.sealed {
            Some(sealed) => self
                .secrets
                .open(account, &sealed)
                .await
                .map_err(StoreError::Secret)?,
            None => raw.stored,
        };
        Ok(endpoint)
    }

    /// Seals the ingest tokens stored in clear by earlier versions (run at start-up, before serving): each
    /// is replaced by its hash and a sealed copy. The clear values must not linger in the database's files
    /// either: on SQLite the rows are rewritten with `secure_delete` (freed bytes are zeroed) and the
    /// write-ahead log is checkpointed and truncated; on PostgreSQL the table is rewritten (`VACUUM FULL`),
    /// so the old row versions go with the old file. Returns how many were sealed.
    pub async fn seal_plaintext_tokens(&self) -> Result<u64, StoreError> {
        let mut sealed = 0;
        loop {
            let rows = sqlx::query(sql!(self, "endpoint_tokens_unsealed"))
                .bind(500_i64)
                .fetch_all(&self.db.pool)
                .await?;
            if rows.is_empty() {
                break;
            }
            // Sealed first: sealing may write a data key, which needs the write turn this batch then takes.
            let mut batch = Vec::with_capacity(rows.len());
            for row in &rows {
                let account: String = row.try_get(0)?;
                let id: String = row.try_get(1)?;
                let token: String = row.try_get(2)?;
                let copy = self
                    .secrets
                    .seal(&account, &token)
                    .await
                    .map_err(StoreError::Secret)?;
                batch.push((id, token, copy));
            }
            let mut conn = self.db.acquire_write().await?;
            let sqlite = self.db.dialect == klaxon_db::Dialect::Sqlite;
            if sqlite {
                sqlx::query("PRAGMA secure_delete = ON")
                    .execute(&mut *conn)
                    .await?;
            }
            for (id, token, copy) in &batch {
                let done = sqlx::query(sql!(self, "endpoint_token_seal"))
                    .bind(id)
                    .bind(token_hash(token))
                    .bind(copy)
                    .bind(token)
                    .execute(&mut *conn)
                    .await?;
                sealed += done.rows_affected();
            }
            if sqlite {
                sqlx::query("PRAGMA secure_delete = OFF")
                    .execute(&mut *conn)
                    .await?;
            }
            self.tokens.clear();
        }
        if sealed > 0 {
            let mut conn = self.db.acquire_write().await?;
            let scrub = match self.db.dialect {
                klaxon_db::Dialect::Sqlite => "PRAGMA wal_checkpoint(TRUNCATE)",
                klaxon_db::Dialect::Postgres => "VACUUM FULL endpoints",
            };
            sqlx::query(scrub).execute(&mut *conn).await?;
        }
        Ok(sealed)
    }

    /// Creates an endpoint with a fresh ingest token.
    pub async fn create_endpoint(
        &self,
        account: &str,
        input: &EndpointInput,
    ) -> Result<StoredEndpoint, StoreError> {
        self.require_team(account, &input.team_id).await?;
        self.require_policy_of_team(account, &input.team_id, input.escalation_policy_id.as_deref())
            .await?;
        let now = now_ms();
        let token = new_secret(INGEST_PREFIX);
        let sealed = self
            .secrets
            .seal(account, &token)
            .await
            .map_err(StoreError::Secret)?;
        let row = sqlx::query(sql!(self, "endpoint_insert"))
            .bind(new_id("ep"))
            .bind(account)
            .bind(&input.team_id)
            .bind(input.escalation_policy_id.as_deref())
            .bind(&input.name)
            .bind(serde_json::to_string(&topic_set(&input.allowed_topic_arns))?)
            .bind(i64::from(input.alert_grouping_minutes))
            .bind(i64::from(input.notification_grouping_minutes))
            .bind(token_hash(&token))
            .bind(sealed)
            .bind(now)
            .bind(now)
            .fetch_one(&self.db.pool)
            .await
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?;
        let mut endpoint = flatten(&row, 0)?.endpoint;
        endpoint.ingest_token = token;
        Ok(endpoint)
    }

    /// Reads an endpoint of the account.
    pub async fn get_endpoint(&self, account: &str, id: &str) -> Result<StoredEndpoint, StoreError> {
        let row = sqlx::query(sql!(self, "endpoint_get"))
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        self.reveal(account, flatten(&row, 0)?).await
    }

    /// Lists the account's endpoints, optionally of one team and with one name.
    pub async fn list_endpoints(
        &self,
        account: &str,
        team_id: Option<&str>,
        name: Option<&str>,
        cursor: Option<&str>,
        limit: u32,
    ) -> Result<Page<StoredEndpoint>, StoreError> {
        let (after, fetch) = page_bounds(cursor, limit);
        let rows = sqlx::query(sql!(self, "endpoint_list"))
            .bind(account)
            .bind(team_id)
            .bind(name)
            .bind(after)
            .bind(fetch)
            .fetch_all(&self.db.pool)
            .await?;
        let mut items = Vec::with_capacity(rows.len());
        for r in &rows {
            items.push(self.reveal(account, flatten(r, 0)?).await?);
        }
        Ok(into_page(items, limit, |e| &e.id))
    }

    /// Replaces an endpoint; its team and ingest token stay.
    pub async fn update_endpoint(
        &self,
        account: &str,
        id: &str,
        input: &EndpointInput,
    ) -> Result<StoredEndpoint, StoreError> {
        let current = self.get_endpoint(account, id).await?;
        if current.team_id != input.team_id {
            return Err(StoreError::Conflict {
                message: "an endpoint cannot move to another team; create a new endpoint instead".into(),
                field: Some("team_id"),
            });
        }
        self.require_policy_of_team(account, &input.team_id, input.escalation_policy_id.as_deref())
            .await?;
        let row = sqlx::query(sql!(self, "endpoint_update"))
            .bind(input.escalation_policy_id.as_deref())
            .bind(&input.name)
            .bind(serde_json::to_string(&topic_set(&input.allowed_topic_arns))?)
            .bind(i64::from(input.alert_grouping_minutes))
            .bind(i64::from(input.notification_grouping_minutes))
            .bind(now_ms())
            .bind(account)
            .bind(id)
            .fetch_optional(&self.db.pool)
            .await;
        self.tokens.clear();
        let row = row
            .map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?
            .ok_or(StoreError::NotFound)?;
        self.reveal(account, flatten(&row, 0)?).await
    }

    /// Deletes an endpoint.
    pub async fn delete_endpoint(&self, account: &str, id: &str) -> Result<(), StoreError> {
        let done = sqlx::query(sql!(self, "endpoint_delete"))
            .bind(account)
            .bind(id)
            .execute(&self.db.pool)
            .await;
        self.tokens.clear();
        deleted(&done.map_err(|e| conflict_on(e, DUPLICATE, "name", IN_USE))?)
    }

    /// The endpoint an ingest token opens, with its account; answered from a cache of a few seconds (see
    /// `token_cache`: this process's endpoint writes apply at once, another replica's within its TTL).
    pub async fn endpoint_by_token(&self, token: &str) -> Result<Option<Arc<IngestEndpoint>>, StoreError> {
        let now = Instant::now();
        let generation = match self.tokens.get(token, now) {
            Ok(found) => return Ok(found),
            Err(generation) => generation,
        };
        let row = sqlx::query(sql!(self, "endpoint_by_token"))
            .bind(token_hash(token))
            .fetch_optional(&self.db.pool)
            .await?;
        let found = row
            .map(|r| {
                let mut endpoint = flatten(&r, 1)?.endpoint;
                // The caller holds the token: nothing to open.
                token.clone_into(&mut endpoint.ingest_token);
                Ok::<_, StoreError>(Arc::new(IngestEndpoint {
                    account_id: r.try_get(0)?,
                    endpoint,
                }))
            })
            .transpose()?;
        self.tokens.put(token, found.clone(), generation, now);
        Ok(found)
    }

    async fn require_policy_of_team(
        &self,
        account: &str,
        team_id: &str,
        policy_id: Option<&str>,
    ) -> Result<(), StoreError> {
        let Some(policy_id) = policy_id else { return Ok(()) };
        match self.get_policy(account, policy_id).await {
            Ok(p) if p.team_id == team_id => Ok(()),
            Ok(_) => Err(StoreError::Conflict {
                message: format!("policy {policy_id:?} belongs to another team"),
                field: Some("escalation_policy_id"),
            }),
            Err(StoreError::NotFound) => Err(StoreError::MissingReference {
                message: format!("no escalation policy {policy_id:?} in this account"),
                field: "escalation_policy_id",
            }),
            Err(e) => Err(e),
        }
    }
}

/// Topic ARNs are a set: stored sorted and without duplicates, so reads are stable whatever the input order.
fn topic_set(arns: &[String]) -> Vec<String> {
    let mut set = arns.to_vec();
    set.sort();
    set.dedup();
    set
}

fn flatten(row: &AnyRow, at: usize) -> Result<Raw, StoreError> {
    let minutes = |i: usize| -> Result<u32, StoreError> {
        Ok(u32::try_from(row.try_get::<i64, _>(at + i)?).unwrap_or(u32::MAX))
    };
    Ok(Raw {
        endpoint: StoredEndpoint {
            id: row.try_get(at)?,
            team_id: row.try_get(at + 1)?,
            escalation_policy_id: row.try_get(at + 2)?,
            name: row.try_get(at + 3)?,
            allowed_topic_arns: serde_json::from_str(&row.try_get::<String, _>(at + 4)?)?,
            alert_grouping_minutes: minutes(5)?,
            notification_grouping_minutes: minutes(6)?,
            ingest_token: String::new(),
        },
        stored: row.try_get(at + 7)?,
        sealed: row.try_get(at + 8)?,
    })
}
