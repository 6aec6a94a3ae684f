//! Secrets at rest: envelope encryption of what Klaxon stores that would let someone act as its users (Slack
//! bot tokens of installed workspaces, endpoints' ingest tokens).
//!
//! Every secret is sealed with AES-256-GCM (aws-lc-rs) under a *data key* of its account; the sealed value is
//! bound to the account (additional data), so it cannot be moved to another account's row. Data keys are
//! stored wrapped by a *key provider* (`secret_keys`): a local master key file ([`local`]) or AWS KMS
//! ([`kms`], the account id as encryption context). Unwrapped data keys are kept in memory for a few minutes,
//! so KMS is called when a process first needs an account's key, not per request.
//!
//! Nothing falls back to plaintext: a key that cannot be used stops `klaxon serve` at start-up with a message
//! naming the setting, and a value that does not open is an error naming its account. `klaxon secrets rotate`
//! re-wraps every data key under the current key provider (a new local key, or a new KMS key), in batches;
//! interrupted, it is run again.

pub mod kms;
pub mod local;

use std::{
    collections::HashMap,
    fmt,
    path::{Path, PathBuf},
    sync::{Arc, Mutex, PoisonError},
    time::{Duration, Instant},
};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use base64::Engine as _;
use sqlx::Row;

use crate::config::ConfigError;

/// The prefix of a sealed value (its format's version).
pub const SEALED_PREFIX: &str = "ks1.";

/// The settings of the two key providers, as messages name them.
const LOCAL_SETTING: &str = "--master-key-file / KLAXON_MASTER_KEY_FILE";
const KMS_SETTING: &str = "--kms-key-id / KLAXON_KMS_KEY_ID";

/// How long an unwrapped data key stays in memory.
const KEY_TTL: Duration = Duration::from_secs(300);

/// Why a secret could not be sealed or opened.
#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The key provider failed (KMS unreachable or refusing, a local key that is not the one used).
    #[error("the key provider failed: {0}")]
    Provider(String),
    /// A sealed value of `account` does not open with its data key: the value was altered or belongs
    /// elsewhere.
    #[error("a secret of account {account} does not open: {why}")]
    Open {
        /// The account.
        account: String,
        /// Why.
        why: String,
    },
    /// The data key a value names is not stored.
    #[error("the data key {key} of account {account} is missing")]
    MissingKey {
        /// The account.
        account: String,
        /// The data key's id.
        key: String,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
}

/// A 256-bit key; its `Debug` shows nothing.
#[derive(Clone)]
pub struct KeyBytes(pub [u8; 32]);

impl fmt::Debug for KeyBytes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KeyBytes(***)")
    }
}

/// What wraps data keys.
#[async_trait::async_trait]
pub trait KeyProvider: fmt::Debug + Send + Sync {
    /// This provider's reference, stored beside each key it wraps (`local:<fingerprint>`, `kms:<key id>`).
    fn key_ref(&self) -> String;

    /// A new data key for `account`: its bytes and its wrapped form.
    async fn generate(&self, account: &str) -> Result<(KeyBytes, Vec<u8>), SecretError>;

    /// Wraps an existing data key of `account` (rotation).
    async fn wrap(&self, account: &str, key: &KeyBytes) -> Result<Vec<u8>, SecretError>;

    /// Unwraps a data key of `account` that this provider (`key_ref`) wrapped; `None` when `key_ref` is not
    /// this provider's.
    async fn unwrap(
        &self,
        account: &str,
        key_ref: &str,
        wrapped: &[u8],
    ) -> Result<Option<KeyBytes>, SecretError>;
}

/// Settings of secrets at rest.
#[derive(Clone, clap::Args)]
pub struct SecretArgs {
    /// Local master key wrapping the data keys: a file of 32 random bytes (created with mode 0600 on first
    /// start of an empty database). Default: `klaxon.key` beside the SQLite file, or in the working directory.
    #[arg(long, env = "KLAXON_MASTER_KEY_FILE", global = true)]
    pub master_key_file: Option<PathBuf>,
    /// The previous local master key, while `klaxon secrets rotate` moves the data keys to a new one: data
    /// keys it wrapped are still read.
    #[arg(long, env = "KLAXON_PREVIOUS_MASTER_KEY_FILE", global = true)]
    pub previous_master_key_file: Option<PathBuf>,
    /// Use AWS KMS data keys (this key id or ARN) instead of the local master key. Credentials and region
    /// come from the AWS default chain (`AWS_ENDPOINT_URL` too).
    #[arg(long, env = "KLAXON_KMS_KEY_ID", global = true)]
    pub kms_key_id: Option<String>,
}

impl fmt::Debug for SecretArgs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SecretArgs")
            .field("master_key_file", &self.master_key_file)
            .field("previous_master_key_file", &self.previous_master_key_file)
            .field("kms_key_id", &self.kms_key_id)
            .finish()
    }
}

impl SecretArgs {
    /// The master key file in use: the configured one, else `klaxon.key` beside the SQLite file (or in the
    /// working directory for PostgreSQL).
    pub fn key_file(&self, database_url: &str) -> PathBuf {
        if let Some(f) = &self.master_key_file {
            return f.clone();
        }
        let sqlite = database_url
            .strip_prefix("sqlite://")
            .or_else(|| database_url.strip_prefix("sqlite:"))
            .map(|p| p.split('?').next().unwrap_or(p));
        match sqlite.map(Path::new).and_then(Path::parent) {
            Some(dir) if !dir.as_os_str().is_empty() => dir.join("klaxon.key"),
            _ => PathBuf::from("klaxon.key"),
        }
    }

    /// The key providers: the current one, and the previous local key when one is given.
    pub async fn providers(
        &self,
        database_url: &str,
        may_create: bool,
    ) -> Result<(Arc<dyn KeyProvider>, Option<Arc<dyn KeyProvider>>), ConfigError> {
        let previous: Option<Arc<dyn KeyProvider>> = match &self.previous_master_key_file {
            Some(path) => Some(Arc::new(local::LocalKey::load(
                path,
                "--previous-master-key-file / KLAXON_PREVIOUS_MASTER_KEY_FILE",
            )?)),
            None => None,
        };
        let current: Arc<dyn KeyProvider> = match &self.kms_key_id {
            Some(id) => Arc::new(kms::KmsKey::new(id).await),
            None => {
                let path = self.key_file(database_url);
                Arc::new(local::LocalKey::load_or_create(&path, may_create)?)
            }
        };
        Ok((current, previous))
    }
}

/// A data key of an account, unwrapped.
#[derive(Debug, Clone)]
struct DataKey {
    id: String,
    key: KeyBytes,
}

/// Seals and opens an account's secrets.
#[derive(Debug, Clone)]
pub struct Secrets {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    db: klaxon_db::Database,
    provider: Arc<dyn KeyProvider>,
    previous: Option<Arc<dyn KeyProvider>>,
    /// Unwrapped data keys by id, with when they were unwrapped.
    keys: Mutex<HashMap<String, (Instant, KeyBytes)>>,
    /// The data key new secrets of an account are sealed with.
    current: Mutex<HashMap<String, (Instant, DataKey)>>,
}

macro_rules! sql {
    ($db:expr, $name:literal) => {
        klaxon_db::sql_tree!($db.dialect, $name)
    };
}

impl Secrets {
    /// Secrets of `db` wrapped by `provider` (and readable with `previous` during a rotation).
    pub fn new(
        db: klaxon_db::Database,
        provider: Arc<dyn KeyProvider>,
        previous: Option<Arc<dyn KeyProvider>>,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                db,
                provider,
                previous,
                keys: Mutex::default(),
                current: Mutex::default(),
            }),
        }
    }

    /// Secrets that cannot be used: for commands that handle none (`klaxon account create`, `klaxon
    /// migrate`), so they never create or need the key.
    pub fn unavailable(db: klaxon_db::Database) -> Self {
        Self::new(db, Arc::new(Unavailable), None)
    }

    /// Secrets under a random key that lives in this process only (tests).
    pub fn ephemeral(db: klaxon_db::Database) -> Self {
        Self::new(db, Arc::new(local::LocalKey::random()), None)
    }

    /// The current provider's reference.
    pub fn key_ref(&self) -> String {
        self.inner.provider.key_ref()
    }

    /// Whether `db` holds any data key (then a missing local key is an error, not something to create).
    pub async fn any_data_keys(db: &klaxon_db::Database) -> Result<bool, sqlx::Error> {
        Ok(!sqlx::query(sql!(db, "secret_key_refs"))
            .fetch_all(&db.pool)
            .await?
            .is_empty())
    }

    /// The setting naming the current key provider, for messages.
    pub fn setting(&self) -> &'static str {
        if self.inner.provider.key_ref().starts_with("kms:") {
            KMS_SETTING
        } else {
            LOCAL_SETTING
        }
    }

    /// Checks that this database's secrets can be used with the configured keys, before anything is sealed:
    /// the provider works (it makes and opens a data key), the provider recorded for the database is the
    /// configured one (recorded now when none is: the first replica to start decides, and one started with
    /// another local key is refused), and one data key of each provider in use unwraps. The error names the
    /// setting to fix.
    pub async fn check(&self) -> Result<(), ConfigError> {
        let db = &self.inner.db;
        let setting = self.setting();
        let fail = |message: String| ConfigError { setting, message };
        let current = self.inner.provider.key_ref();
        // The key provider answers at all: a KMS key that cannot be used fails here, not at the first seal.
        let probe = "klaxon-start-up-check";
        let wrapped = match self.inner.provider.generate(probe).await {
            Ok((_, wrapped)) => wrapped,
            Err(e) => return Err(fail(format!("the key cannot make a data key: {e}"))),
        };
        if let Err(e) = self.inner.provider.unwrap(probe, &current, &wrapped).await {
            return Err(fail(format!("the key cannot open a data key it made: {e}")));
        }
        let rows = sqlx::query(sql!(db, "secret_key_refs"))
            .fetch_all(&db.pool)
            .await
            .map_err(|e| fail(format!("cannot read the data keys: {e}")))?;
        sqlx::query(sql!(db, "secret_meta_claim"))
            .bind(&current)
            .execute(&mut *db.acquire_write().await.map_err(|e| fail(e.to_string()))?)
            .await
            .map_err(|e| fail(format!("cannot record the key provider: {e}")))?;
        let recorded: String = sqlx::query_scalar(sql!(db, "secret_meta_get"))
            .fetch_one(&db.pool)
            .await
            .map_err(|e| fail(format!("cannot read the key provider: {e}")))?;
        let previous = self.inner.previous.as_ref().map(|p| p.key_ref());
        // Any KMS key can open data keys wrapped by another (the ciphertext names its key): a replica on a new
        // KMS key works beside the others while `klaxon secrets rotate` runs. A local key opens only its own.
        let both_kms = recorded.starts_with("kms:") && current.starts_with("kms:");
        if recorded != current
            && previous.as_deref() != Some(recorded.as_str())
            && !both_kms
            && rows.is_empty()
        {
            return Err(fail(format!(
                "this database was first started with the key {recorded} (nothing is sealed with it yet), and \
                 the configured key is {current}: give every replica the same key, or make the configured key \
                 this database's with `klaxon secrets rotate`"
            )));
        }
        if recorded != current && previous.as_deref() != Some(recorded.as_str()) && !both_kms {
            return Err(fail(format!(
                "this database's secrets are sealed with {recorded}, and the configured key is {current}; give \
                 the key they were sealed with, or move them to the new key with `klaxon secrets rotate` (the \
                 old local key given as --previous-master-key-file / KLAXON_PREVIOUS_MASTER_KEY_FILE)"
            )));
        }
        if both_kms && recorded != current {
            tracing::warn!(
                recorded,
                configured = current,
                "This database's data keys are wrapped by another KMS key than the configured one: run `klaxon \
                 secrets rotate` to move them, then the old key is no longer needed."
            );
        }
        for row in rows {
            let key_ref: String = row.try_get(0).unwrap_or_default();
            let account: String = row.try_get(1).unwrap_or_default();
            let wrapped: String = row.try_get(2).unwrap_or_default();
            let wrapped = b64().decode(wrapped).unwrap_or_default();
            if let Err(e) = self.unwrap_with_any(&account, &key_ref, &wrapped).await {
                return Err(fail(format!(
                    "this database's secrets are sealed with {key_ref}, which the configured keys cannot open \
                     ({e}); give the key they were sealed with (to move them to a new key, run `klaxon secrets \
                     rotate` with the old local key as --previous-master-key-file)"
                )));
            }
        }
        Ok(())
    }

    async fn unwrap_with_any(
        &self,
        account: &str,
        key_ref: &str,
        wrapped: &[u8],
    ) -> Result<KeyBytes, SecretError> {
        if let Some(k) = self.inner.provider.unwrap(account, key_ref, wrapped).await? {
            return Ok(k);
        }
        if let Some(prev) = &self.inner.previous
            && let Some(k) = prev.unwrap(account, key_ref, wrapped).await?
        {
            return Ok(k);
        }
        Err(SecretError::Provider(format!("no configured key is {key_ref}")))
    }

    /// Seals `plaintext`, a secret of `account`.
    pub async fn seal(&self, account: &str, plaintext: &str) -> Result<String, SecretError> {
        let dk = self.current_key(account).await?;
        let mut nonce = [0u8; NONCE_LEN];
        aws_lc_rs::rand::fill(&mut nonce).map_err(|_| SecretError::Provider("no randomness".into()))?;
        let key = aead_key(&dk.key)?;
        let mut data = plaintext.as_bytes().to_vec();
        key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(aad(account, &dk.id).as_bytes()),
            &mut data,
        )
        .map_err(|_| SecretError::Provider("sealing failed".into()))?;
        let mut blob = nonce.to_vec();
        blob.extend_from_slice(&data);
        Ok(format!("{SEALED_PREFIX}{}.{}", dk.id, b64().encode(blob)))
    }

    /// Opens a sealed secret of `account`.
    pub async fn open(&self, account: &str, sealed: &str) -> Result<String, SecretError> {
        let err = |why: &str| SecretError::Open {
            account: account.to_owned(),
            why: why.to_owned(),
        };
        let rest = sealed
            .strip_prefix(SEALED_PREFIX)
            .ok_or_else(|| err("not a sealed value"))?;
        let (key_id, blob) = rest.split_once('.').ok_or_else(|| err("malformed"))?;
        let blob = b64().decode(blob).map_err(|_| err("malformed"))?;
        if blob.len() < NONCE_LEN + 16 {
            return Err(err("too short"));
        }
        let key = self.key(account, key_id).await?;
        let (nonce, data) = blob.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).map_err(|_| err("malformed nonce"))?;
        let mut data = data.to_vec();
        let plain = aead_key(&key)?
            .open_in_place(nonce, Aad::from(aad(account, key_id).as_bytes()), &mut data)
            .map_err(|_| err("authentication failed (altered, or another account's value)"))?;
        String::from_utf8(plain.to_vec()).map_err(|_| err("not text"))
    }

    /// The data key `key_id` of `account`, unwrapped (from memory while fresh).
    async fn key(&self, account: &str, key_id: &str) -> Result<KeyBytes, SecretError> {
        if let Some((at, k)) = self
            .inner
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(key_id)
            && at.elapsed() < KEY_TTL
        {
            return Ok(k.clone());
        }
        let db = &self.inner.db;
        let row = sqlx::query(sql!(db, "secret_key_get"))
            .bind(key_id)
            .bind(account)
            .fetch_optional(&db.pool)
            .await?
            .ok_or_else(|| SecretError::MissingKey {
                account: account.to_owned(),
                key: key_id.to_owned(),
            })?;
        let key_ref: String = row.try_get(0)?;
        let wrapped = b64()
            .decode(row.try_get::<String, _>(1)?)
            .map_err(|_| SecretError::Provider("a stored data key is not base64".into()))?;
        let key = self
            .unwrap_with_any(account, &key_ref, &wrapped)
            .await
            .map_err(|e| SecretError::Open {
                account: account.to_owned(),
                why: format!("its data key {key_id} does not unwrap: {e}"),
            })?;
        self.inner
            .keys
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(key_id.to_owned(), (Instant::now(), key.clone()));
        Ok(key)
    }

    /// The data key new secrets of `account` are sealed with: its newest, or a new one.
    async fn current_key(&self, account: &str) -> Result<DataKey, SecretError> {
        if let Some((at, dk)) = self
            .inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .get(account)
            && at.elapsed() < KEY_TTL
        {
            return Ok(dk.clone());
        }
        let db = &self.inner.db;
        let newest = sqlx::query(sql!(db, "secret_key_newest"))
            .bind(account)
            .fetch_optional(&db.pool)
            .await?;
        let dk = match newest {
            Some(row) => {
                let id: String = row.try_get(0)?;
                let key = self.key(account, &id).await?;
                DataKey { id, key }
            }
            None => {
                let (key, wrapped) = self.inner.provider.generate(account).await?;
                let id = crate::store::new_id("dk");
                sqlx::query(sql!(db, "secret_key_insert"))
                    .bind(&id)
                    .bind(account)
                    .bind(self.inner.provider.key_ref())
                    .bind(b64().encode(wrapped))
                    .bind(crate::store::now_ms())
                    .execute(&mut *db.acquire_write().await?)
                    .await?;
                self.inner
                    .keys
                    .lock()
                    .unwrap_or_else(PoisonError::into_inner)
                    .insert(id.clone(), (Instant::now(), key.clone()));
                DataKey { id, key }
            }
        };
        self.inner
            .current
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(account.to_owned(), (Instant::now(), dk.clone()));
        Ok(dk)
    }

    /// Re-wraps up to `batch` data keys not wrapped by the current provider; returns how many were found (0:
    /// done) and how many this call moved. Each key is updated only if nobody moved it meanwhile, so runs may
    /// overlap or be interrupted.
    pub async fn rotate_batch(&self, batch: u32) -> Result<(usize, u64), SecretError> {
        let db = &self.inner.db;
        let current = self.inner.provider.key_ref();
        let rows = sqlx::query(sql!(db, "secret_keys_to_rotate"))
            .bind(&current)
            .bind(i64::from(batch))
            .fetch_all(&db.pool)
            .await?;
        let mut moved = 0;
        let found = rows.len();
        for row in rows {
            let id: String = row.try_get(0)?;
            let account: String = row.try_get(1)?;
            let key_ref: String = row.try_get(2)?;
            let wrapped = b64()
                .decode(row.try_get::<String, _>(3)?)
                .map_err(|_| SecretError::Provider("a stored data key is not base64".into()))?;
            let key = self
                .unwrap_with_any(&account, &key_ref, &wrapped)
                .await
                .map_err(|e| {
                    SecretError::Provider(format!(
                        "data key {id} of account {account} ({key_ref}) does not unwrap: {e}"
                    ))
                })?;
            let rewrapped = self.inner.provider.wrap(&account, &key).await?;
            let done = sqlx::query(sql!(db, "secret_key_rewrap"))
                .bind(&id)
                .bind(&current)
                .bind(b64().encode(rewrapped))
                .bind(&key_ref)
                .execute(&mut *db.acquire_write().await?)
                .await?;
            moved += done.rows_affected();
        }
        Ok((found, moved))
    }

    /// Records the current provider as this database's (once every data key is wrapped by it).
    pub async fn finish_rotation(&self) -> Result<(), SecretError> {
        let db = &self.inner.db;
        sqlx::query(sql!(db, "secret_meta_set"))
            .bind(self.inner.provider.key_ref())
            .execute(&mut *db.acquire_write().await?)
            .await?;
        Ok(())
    }

    /// How many data keys are not wrapped by the current provider yet.
    pub async fn left_to_rotate(&self) -> Result<u64, SecretError> {
        let db = &self.inner.db;
        let n: i64 = sqlx::query_scalar(sql!(db, "secret_keys_left"))
            .bind(self.inner.provider.key_ref())
            .fetch_one(&db.pool)
            .await?;
        Ok(u64::try_from(n).unwrap_or(0))
    }
}

/// `klaxon secrets rotate`: re-wraps every data key under the current provider, `batch` at a time, then
/// records the provider as the database's. Logs its progress; run again after an interruption.
pub async fn rotate_all(secrets: &Secrets, batch: u32) -> Result<(), SecretError> {
    let target = secrets.key_ref();
    let total = secrets.left_to_rotate().await?;
    tracing::info!(
        to = target,
        data_keys = total,
        "Rotating: re-wrapping the data keys under the configured key."
    );
    let mut moved_total = 0;
    let mut idle = 0;
    loop {
        let (found, moved) = secrets.rotate_batch(batch).await?;
        if found == 0 {
            break;
        }
        // Keys found but moved by nobody, again and again: another rotation to another key is running.
        idle = if moved == 0 { idle + 1 } else { 0 };
        if idle > 20 {
            return Err(SecretError::Provider(
                "data keys keep moving to another key: is a rotation to a different key running?".into(),
            ));
        }
        moved_total += moved;
        tracing::info!(moved = moved_total, of = total, "Rotating.");
    }
    secrets.finish_rotation().await?;
    tracing::info!(
        to = target,
        moved = moved_total,
        "Every data key is wrapped by the configured key; the previous key is no longer needed by this database."
    );
    Ok(())
}

/// The provider of [`Secrets::unavailable`].
#[derive(Debug)]
struct Unavailable;

#[async_trait::async_trait]
impl KeyProvider for Unavailable {
    fn key_ref(&self) -> String {
        "none".to_owned()
    }

    async fn generate(&self, _: &str) -> Result<(KeyBytes, Vec<u8>), SecretError> {
        Err(SecretError::Provider("this command does not open the key".into()))
    }

    async fn wrap(&self, _: &str, _: &KeyBytes) -> Result<Vec<u8>, SecretError> {
        Err(SecretError::Provider("this command does not open the key".into()))
    }

    async fn unwrap(&self, _: &str, _: &str, _: &[u8]) -> Result<Option<KeyBytes>, SecretError> {
        Err(SecretError::Provider("this command does not open the key".into()))
    }
}

fn aead_key(k: &KeyBytes) -> Result<LessSafeKey, SecretError> {
    UnboundKey::new(&AES_256_GCM, &k.0)
        .map(LessSafeKey::new)
        .map_err(|_| SecretError::Provider("not an AES-256 key".into()))
}

/// The additional data a sealed value is bound to: its account and data key.
fn aad(account: &str, key_id: &str) -> String {
    format!("klaxon-secret|{account}|{key_id}")
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

/// A configuration secret: `value` (from the flag or variable `var`), or the content of the file named by
/// `<var>_FILE` (the container convention); a value `kms:<base64 ciphertext>` is decrypted with KMS, once, at
/// start-up (as the seed decrypted its configuration). Errors name `setting`.
pub async fn config_secret(
    setting: &'static str,
    var: &str,
    value: Option<&str>,
) -> Result<Option<String>, ConfigError> {
    let file_var = format!("{var}_FILE");
    let fail = |message: String| ConfigError { setting, message };
    let raw = match (value, std::env::var_os(&file_var)) {
        (Some(v), None) => v.to_owned(),
        (None, Some(path)) => std::fs::read_to_string(&path)
            .map_err(|e| {
                fail(format!(
                    "cannot read {file_var}={}: {e}",
                    PathBuf::from(&path).display()
                ))
            })?
            .trim_end_matches(['\n', '\r'])
            .to_owned(),
        (Some(_), Some(_)) => return Err(fail(format!("give {var} or {file_var}, not both"))),
        (None, None) => return Ok(None),
    };
    match raw.strip_prefix("kms:") {
        Some(ciphertext) => kms::decrypt_config(setting, ciphertext).await.map(Some),
        None => Ok(Some(raw)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn seal_and_open_bound_to_the_account() {
        let db = klaxon_db::testing::sqlite().await;
        crate::store::MIGRATOR.run(&db).await.unwrap_or_default();
        let s = Secrets::ephemeral(db);
        let sealed = s.seal("acct_a", "xoxb-secret").await.unwrap_or_default();
        assert!(sealed.starts_with(SEALED_PREFIX) && !sealed.contains("xoxb"));
        assert_eq!(
            s.open("acct_a", &sealed).await.ok().as_deref(),
            Some("xoxb-secret")
        );
        let e = s
            .open("acct_b", &sealed)
            .await
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert!(e.contains("acct_b"), "{e}");
        let mut tampered = sealed.clone();
        tampered.pop();
        tampered.push('A');
        assert!(s.open("acct_a", &tampered).await.is_err());
        assert_ne!(
            s.seal("acct_a", "xoxb-secret").await.unwrap_or_default(),
            sealed,
            "fresh nonce each time"
        );
    }
}
