//! Accounts and their API tokens. A token is shown once, at creation; only its SHA-256 is stored. The
//! tokens carry 256 random bits, so a fast hash is enough: there is nothing to brute-force.

use sha2::{Digest, Sha256};
use sqlx::Row;

use super::{Store, StoreError, new_id, new_secret, now_ms, sql};

/// A freshly created account and its first token (the only time the token is available). Its `Debug` hides
/// the token.
#[derive(Clone)]
pub struct NewAccount {
    /// The account's id.
    pub id: String,
    /// The API token, in clear; it cannot be recovered later.
    pub token: String,
}

impl std::fmt::Debug for NewAccount {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewAccount")
            .field("id", &self.id)
            .field("token", &"***")
            .finish()
    }
}

/// Prefix of API tokens, so a leaked one is recognisable (secret scanners key on such prefixes).
const TOKEN_PREFIX: &str = "klx_";

impl Store {
    /// Creates an account with a first API token.
    pub async fn create_account(&self, name: &str) -> Result<NewAccount, StoreError> {
        let id = new_id("acct");
        let mut tx = self.db.begin_write().await?;
        let token = insert_account(&mut tx, self.db.dialect, &id, name).await?;
        tx.commit().await?;
        Ok(NewAccount { id, token })
    }

    /// The account a token belongs to, if any.
    pub async fn account_for_token(&self, token: &str) -> Result<Option<String>, StoreError> {
        let row = sqlx::query(sql!(self, "token_account"))
            .bind(hash_token(token))
            .fetch_optional(&self.db.pool)
            .await?;
        Ok(row.map(|r| r.try_get(0)).transpose()?)
    }
}

/// Inserts account `id` and its first API token in `tx` (which the caller commits); returns the token.
pub(crate) async fn insert_account(
    tx: &mut klaxon_db::WriteTx,
    dialect: klaxon_db::Dialect,
    id: &str,
    name: &str,
) -> Result<String, StoreError> {
    let token = new_secret(TOKEN_PREFIX);
    let now = now_ms();
    sqlx::query(klaxon_db::sql_tree!(dialect, "account_insert"))
        .bind(id)
        .bind(name)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    sqlx::query(klaxon_db::sql_tree!(dialect, "token_insert"))
        .bind(hash_token(&token))
        .bind(id)
        .bind(now)
        .execute(&mut **tx)
        .await?;
    Ok(token)
}

fn hash_token(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}
