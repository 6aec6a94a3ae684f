//! The store: every read and write of Klaxon's own tables, on SQLite or PostgreSQL.
//!
//! One `Store` type serves both databases: the SQL of each query lives in `sql/sqlite/<name>.sql` and
//! `sql/postgres/<name>.sql` (same names), picked by the pool's dialect through [`sql!`]. Every query of an
//! account's objects takes the account id, so one account can never read or change another's.

pub(crate) mod accounts;
mod endpoints;
mod heartbeats;
mod ingest;
pub(crate) mod maintenance;
mod policies;
mod teams;
mod token_cache;

use std::sync::Arc;

use klaxon_db::{Database, Migration, Migrator};
use rand::RngCore;

pub use accounts::NewAccount;
pub use endpoints::{IngestEndpoint, StoredEndpoint};
pub use heartbeats::{Beaten, PingWriter, StoredHeartbeat};
pub use ingest::{MESSAGE_ID_RETENTION, MESSAGE_PURGE_EVERY, SubscriptionStatus};
pub use maintenance::StoredWindow;

/// The SQL text of a query for the store's dialect: `sql!(self, "team_get")`.
macro_rules! sql {
    ($store:expr, $name:literal) => {
        klaxon_db::sql_tree!($store.db.dialect, $name)
    };
}
pub(crate) use sql;

/// The server's migrations, oldest first (the queue has its own).
pub const MIGRATOR: Migrator = Migrator {
    component: "klaxon",
    migrations: &[
        Migration {
            name: "0001_core.sql",
            sqlite: include_str!("../../migrations/sqlite/0001_core.sql"),
            postgres: include_str!("../../migrations/postgres/0001_core.sql"),
        },
        Migration {
            name: "0002_alerts.sql",
            sqlite: include_str!("../../migrations/sqlite/0002_alerts.sql"),
            postgres: include_str!("../../migrations/postgres/0002_alerts.sql"),
        },
        Migration {
            name: "0003_ingest.sql",
            sqlite: include_str!("../../migrations/sqlite/0003_ingest.sql"),
            postgres: include_str!("../../migrations/postgres/0003_ingest.sql"),
        },
        Migration {
            name: "0004_slack.sql",
            sqlite: include_str!("../../migrations/sqlite/0004_slack.sql"),
            postgres: include_str!("../../migrations/postgres/0004_slack.sql"),
        },
        Migration {
            name: "0005_secrets_and_workspaces.sql",
            sqlite: include_str!("../../migrations/sqlite/0005_secrets_and_workspaces.sql"),
            postgres: include_str!("../../migrations/postgres/0005_secrets_and_workspaces.sql"),
        },
        Migration {
            name: "0006_ingest_message_age.sql",
            sqlite: include_str!("../../migrations/sqlite/0006_ingest_message_age.sql"),
            postgres: include_str!("../../migrations/postgres/0006_ingest_message_age.sql"),
        },
        Migration {
            name: "0007_policy_reminders.sql",
            sqlite: include_str!("../../migrations/sqlite/0007_policy_reminders.sql"),
            postgres: include_str!("../../migrations/postgres/0007_policy_reminders.sql"),
        },
        Migration {
            name: "0008_maintenance_windows.sql",
            sqlite: include_str!("../../migrations/sqlite/0008_maintenance_windows.sql"),
            postgres: include_str!("../../migrations/postgres/0008_maintenance_windows.sql"),
        },
        Migration {
            name: "0009_heartbeats.sql",
            sqlite: include_str!("../../migrations/sqlite/0009_heartbeats.sql"),
            postgres: include_str!("../../migrations/postgres/0009_heartbeats.sql"),
        },
        Migration {
            name: "0010_snooze.sql",
            sqlite: include_str!("../../migrations/sqlite/0010_snooze.sql"),
            postgres: include_str!("../../migrations/postgres/0010_snooze.sql"),
        },
    ],
};

/// What a store call can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// No such object in the caller's account.
    #[error("not found")]
    NotFound,
    /// The write contradicts a stored object (a duplicate name, a dependent object).
    #[error("{message}")]
    Conflict {
        /// What conflicts, as a sentence.
        message: String,
        /// The field of the request that conflicts, when one does.
        field: Option<&'static str>,
    },
    /// The request refers to an object that does not exist in the account (a team of another account
    /// included: it is not to be seen).
    #[error("{message}")]
    MissingReference {
        /// What is missing, as a sentence.
        message: String,
        /// The field that refers to it.
        field: &'static str,
    },
    /// The database failed.
    #[error("database error: {0}")]
    Db(#[from] sqlx::Error),
    /// A stored JSON document could not be read back.
    #[error("corrupt stored document: {0}")]
    Corrupt(#[from] serde_json::Error),
    /// A stored secret could not be sealed or opened.
    #[error(transparent)]
    Secret(crate::secrets::SecretError),
}

/// Klaxon's tables.
#[derive(Debug, Clone)]
pub struct Store {
    db: Database,
    /// What ingest tokens open, briefly (see `token_cache`); shared by clones.
    tokens: Arc<token_cache::TokenCache>,
    /// Alert changes are mirrored to Slack: each enqueues the sync of the alert's messages.
    slack_sync: bool,
    /// Seals and opens the secrets stored (ingest tokens, Slack bot tokens).
    secrets: crate::secrets::Secrets,
    /// The process's metrics: they travel with the store, the one handle every part of the service has.
    metrics: Arc<crate::metrics::Metrics>,
}

impl Store {
    /// A store over an open database (migrated or not), sealing secrets with `secrets`.
    pub fn new(db: Database, secrets: crate::secrets::Secrets) -> Self {
        Self {
            db,
            tokens: Arc::default(),
            slack_sync: false,
            secrets,
            metrics: Arc::default(),
        }
    }

    /// The process's metrics.
    pub fn metrics(&self) -> &Arc<crate::metrics::Metrics> {
        &self.metrics
    }

    /// Seals and opens the stored secrets.
    pub fn secrets(&self) -> &crate::secrets::Secrets {
        &self.secrets
    }

    /// This store, with alert changes mirrored to Slack (`true` when Slack is configured).
    #[must_use]
    pub fn with_slack_sync(mut self, on: bool) -> Self {
        self.slack_sync = on;
        self
    }

    /// Whether alert changes are mirrored to Slack.
    pub fn slack_sync(&self) -> bool {
        self.slack_sync
    }

    /// The database, for components that own tables of their own (the queue).
    pub fn database(&self) -> &Database {
        &self.db
    }

    /// Applies the server's migrations.
    pub async fn migrate(&self) -> Result<Vec<&'static str>, klaxon_db::Error> {
        MIGRATOR.run(&self.db).await
    }
}

/// A new server-assigned id: a short type prefix and a UUIDv7, so ids sort by creation time (the order lists
/// page in) and say what they are.
pub(crate) fn new_id(prefix: &str) -> String {
    format!("{prefix}_{}", uuid::Uuid::now_v7().simple())
}

/// A new secret token: 32 random bytes (256 bits) as URL-safe base64, after a readable prefix.
pub(crate) fn new_secret(prefix: &str) -> String {
    use base64::Engine as _;
    let mut bytes = [0u8; 32];
    rand::rng().fill_bytes(&mut bytes);
    format!(
        "{prefix}{}",
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
    )
}

/// The current time in Unix milliseconds.
pub(crate) fn now_ms() -> i64 {
    time::OffsetDateTime::now_utc()
        .unix_timestamp_nanos()
        .div_euclid(1_000_000)
        .try_into()
        .unwrap_or(i64::MAX)
}

/// Maps a unique-constraint or foreign-key violation to a conflict with a message, other errors unchanged.
pub(crate) fn conflict_on(
    err: sqlx::Error,
    unique: &str,
    unique_field: &'static str,
    referenced: &str,
) -> StoreError {
    if let sqlx::Error::Database(db) = &err {
        if db.is_unique_violation() {
            return StoreError::Conflict {
                message: unique.to_owned(),
                field: Some(unique_field),
            };
        }
        if db.is_foreign_key_violation() {
            return StoreError::Conflict {
                message: referenced.to_owned(),
                field: None,
            };
        }
    }
    StoreError::Db(err)
}

/// A delete that removed nothing found nothing: `NotFound`.
pub(crate) fn deleted(done: &sqlx::any::AnyQueryResult) -> Result<(), StoreError> {
    if done.rows_affected() == 0 {
        Err(StoreError::NotFound)
    } else {
        Ok(())
    }
}

/// Page bounds: the cursor (exclusive lower bound of ids) and the limit, plus one row to know whether a next
/// page exists.
pub(crate) fn page_bounds(cursor: Option<&str>, limit: u32) -> (String, i64) {
    (cursor.unwrap_or_default().to_owned(), i64::from(limit) + 1)
}

/// Cuts the extra row of [`page_bounds`] and derives the next cursor.
pub(crate) fn into_page<T>(mut items: Vec<T>, limit: u32, id: impl Fn(&T) -> &str) -> klaxon_api::Page<T> {
    let limit = usize::try_from(limit).unwrap_or(usize::MAX);
    let next_cursor = if items.len() > limit {
        items.truncate(limit);
        items.last().map(|t| id(t).to_owned())
    } else {
        None
    };
    klaxon_api::Page { items, next_cursor }
}

#[cfg(test)]
mod migration_list {
    /// A migration file that is not in [`super::MIGRATOR`] is never applied and its SQL fails at run time:
    /// every file of both trees is listed, in order.
    #[test]
    fn every_migration_file_is_listed_in_order() {
        let listed: Vec<&str> = super::MIGRATOR.migrations.iter().map(|m| m.name).collect();
        for db in ["sqlite", "postgres"] {
            let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("migrations")
                .join(db);
            let mut files: Vec<String> = std::fs::read_dir(&dir)
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .filter(|n| n.ends_with(".sql"))
                .collect();
            files.sort();
            assert_eq!(listed, files, "{}", dir.display());
        }
    }
}
