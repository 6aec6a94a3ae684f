//! The messages Klaxon posted (`slack_messages`): recorded when posted, found again to update them. Klaxon
//! never reads channel history; this table is how it knows where its messages are.

use klaxon_db::Database;
use sqlx::{Row, any::AnyRow};

/// What a message is for (see `0004_slack.sql`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// The alert's message in its team's channel (ref = alert id).
    Channel,
    /// An escalation step's direct message (ref = the step's delivery key).
    Dm,
    /// An `@here` / `@channel` step's post (ref = the step's delivery key).
    Mention,
    /// A history line in the alert's thread (ref = the history line's id).
    Reply,
    /// A channel's digest during a storm (ref = channel and hour).
    Digest,
}

impl Kind {
    /// The stored name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Channel => "channel",
            Self::Dm => "dm",
            Self::Mention => "mention",
            Self::Reply => "reply",
            Self::Digest => "digest",
        }
    }

    fn parse(s: &str) -> Option<Self> {
        [Self::Channel, Self::Dm, Self::Mention, Self::Reply, Self::Digest]
            .into_iter()
            .find(|k| k.as_str() == s)
    }
}

/// A message as recorded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Posted {
    /// Row id.
    pub id: i64,
    /// The account.
    pub account_id: String,
    /// The alert, for alert messages.
    pub alert_id: Option<String>,
    /// What it is for.
    pub kind: Kind,
    /// Its identity within the kind.
    pub reference: String,
    /// Where it is.
    pub channel: String,
    /// Its timestamp (Slack's message id).
    pub ts: String,
    /// The alert version it shows.
    pub rendered_version: u64,
    /// When it was last posted or updated, Unix milliseconds.
    pub updated_at_ms: i64,
}

macro_rules! sql {
    ($db:expr, $name:literal) => {
        klaxon_db::sql_tree!($db.dialect, $name)
    };
}

fn posted(row: &AnyRow) -> Result<Posted, sqlx::Error> {
    let kind: String = row.try_get(3)?;
    Ok(Posted {
        id: row.try_get(0)?,
        account_id: row.try_get(1)?,
        alert_id: row.try_get(2)?,
        kind: Kind::parse(&kind)
            .ok_or_else(|| sqlx::Error::Decode(format!("unknown message kind {kind:?}").into()))?,
        reference: row.try_get(4)?,
        channel: row.try_get(5)?,
        ts: row.try_get(6)?,
        rendered_version: u64::try_from(row.try_get::<i64, _>(7)?).unwrap_or(0),
        updated_at_ms: row.try_get(9)?,
    })
}

/// A message to record.
#[derive(Debug, Clone, Copy)]
pub struct NewPosted<'a> {
    /// The account.
    pub account_id: &'a str,
    /// The alert, for alert messages.
    pub alert_id: Option<&'a str>,
    /// What it is for.
    pub kind: Kind,
    /// Its identity within the kind.
    pub reference: &'a str,
    /// Where it is.
    pub channel: &'a str,
    /// Its timestamp.
    pub ts: &'a str,
    /// The alert version it shows.
    pub version: u64,
}

/// Records a posted message (a record of the same kind and ref keeps the first).
pub async fn record(db: &Database, m: NewPosted<'_>, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(sql!(db, "slack_message_insert"))
        .bind(m.account_id)
        .bind(m.alert_id)
        .bind(m.kind.as_str())
        .bind(m.reference)
        .bind(m.channel)
        .bind(m.ts)
        .bind(i64::try_from(m.version).unwrap_or(i64::MAX))
        .bind(now_ms)
        .execute(&mut *db.acquire_write().await?)
        .await?;
    Ok(())
}

/// The messages of an alert, oldest first.
pub async fn of_alert(db: &Database, alert_id: &str) -> Result<Vec<Posted>, sqlx::Error> {
    let rows = sqlx::query(sql!(db, "slack_messages_of_alert"))
        .bind(alert_id)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(posted).collect()
}

/// The message of an account with this kind and ref.
pub async fn get(
    db: &Database,
    account_id: &str,
    kind: Kind,
    reference: &str,
) -> Result<Option<Posted>, sqlx::Error> {
    let row = sqlx::query(sql!(db, "slack_message_get"))
        .bind(account_id)
        .bind(kind.as_str())
        .bind(reference)
        .fetch_optional(&db.pool)
        .await?;
    row.as_ref().map(posted).transpose()
}

/// Message `id` now shows `version`, as of `now_ms`.
pub async fn rendered(db: &Database, id: i64, version: u64, now_ms: i64) -> Result<(), sqlx::Error> {
    sqlx::query(sql!(db, "slack_message_rendered"))
        .bind(id)
        .bind(i64::try_from(version).unwrap_or(i64::MAX))
        .bind(now_ms)
        .execute(&mut *db.acquire_write().await?)
        .await?;
    Ok(())
}

/// Message `id` was posted again (Slack had lost the old one): now `ts` in `channel`, showing `version`.
pub async fn replaced(
    db: &Database,
    id: i64,
    channel: &str,
    ts: &str,
    version: u64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(sql!(db, "slack_message_replace"))
        .bind(id)
        .bind(channel)
        .bind(ts)
        .bind(i64::try_from(version).unwrap_or(i64::MAX))
        .bind(now_ms)
        .execute(&mut *db.acquire_write().await?)
        .await?;
    Ok(())
}

/// The messages of an account recorded at `channel` and `ts`: a digest and the pages it holds.
pub async fn at(
    db: &Database,
    account_id: &str,
    channel: &str,
    ts: &str,
) -> Result<Vec<Posted>, sqlx::Error> {
    let rows = sqlx::query(sql!(db, "slack_messages_at"))
        .bind(account_id)
        .bind(channel)
        .bind(ts)
        .fetch_all(&db.pool)
        .await?;
    rows.iter().map(posted).collect()
}
