//! An alert's history: one line per change worth telling people (acknowledged, closed, passed, paged, not
//! reached). Lines are written in the transaction of the change and told in the alert's Slack thread by the
//! message sync, in order, each once.

use serde::{Deserialize, Serialize};
use sqlx::{AnyConnection, Row};

use super::{AlertError, db};
use crate::escalation::Mention;

/// One line of history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum LogLine {
    /// Someone took the alert.
    Acknowledged {
        /// Who (a Slack user id), when known.
        by: Option<String>,
    },
    /// Someone closed the alert.
    Closed {
        /// Who, when known.
        by: Option<String>,
    },
    /// A recovery event closed the alert (the alarm returned to OK).
    AutoClosed,
    /// Someone handed the alert to its next escalation step.
    Passed {
        /// Who, when known.
        by: Option<String>,
    },
    /// An escalation step sent a direct message.
    Paged {
        /// The step's round, from 0.
        round: u32,
        /// The step, from 0.
        step: u32,
        /// Who was paged.
        user: String,
    },
    /// An escalation step posted to the channel with a mention (the post is in the thread itself).
    Mentioned {
        /// The step's round.
        round: u32,
        /// The step.
        step: u32,
        /// `@here` or `@channel`.
        mention: Mention,
        /// Why a member step mentioned the channel instead of paging someone.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        fallback: Option<String>,
    },
    /// An escalation step could not reach its person (a deactivated user, a DM refused): the next step runs
    /// at once.
    NotReached {
        /// The step's round.
        round: u32,
        /// The step.
        step: u32,
        /// Who could not be reached (a user id, or the channel).
        who: String,
        /// Why (Slack's error).
        reason: String,
    },
    /// An escalation step was not delivered because the Slack workspace cannot be used (its token was
    /// revoked, the app uninstalled); escalation goes on in Klaxon.
    NotDelivered {
        /// The step's round.
        round: u32,
        /// The step.
        step: u32,
        /// Why.
        reason: String,
    },
    /// Someone snoozed the open alert: its pending escalation step waits until the snooze ends.
    Snoozed {
        /// Who, when known.
        by: Option<String>,
        /// When the snooze ends, Unix milliseconds.
        until_ms: i64,
    },
    /// The snooze ended with the alert still open: escalation goes on from the step it was at.
    SnoozeEnded {
        /// The step that fires now, from 0 (`None` when none is pending: the chain has ended, or a maintenance
        /// window holds the alert).
        step: Option<u32>,
    },
    /// The acknowledger of an alert still open was reminded by direct message (every `remind_after_minutes`
    /// of its policy).
    Reminded {
        /// Who was reminded.
        user: String,
        /// Which reminder, from 1.
        period: u32,
    },
    /// The alert opened while a maintenance window covered its team or endpoint: posted without paging
    /// anyone, and its escalation waits for the window's end (see `alerts::maintenance`).
    MaintenanceHeld {
        /// The window.
        window_id: String,
        /// When the hold ends, Unix milliseconds.
        until_ms: i64,
        /// The window's description.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        description: Option<String>,
    },
    /// The maintenance hold ended (the window ended, or was changed or deleted).
    MaintenanceEnded {
        /// The alert was still open: its escalation started from the first step.
        escalates: bool,
    },
    /// The heartbeat whose miss opened the alert was paused or deleted: nothing is expected to ping it, so
    /// its missed-alert is closed (see `alerts::heartbeat::stand_down`).
    HeartbeatStoodDown {
        /// Deleted (else paused).
        deleted: bool,
    },
}

/// A line as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogEntry {
    /// Its id: lines are told in this order.
    pub id: i64,
    /// The alert.
    pub alert_id: String,
    /// When it happened, Unix milliseconds.
    pub at_ms: i64,
    /// What happened.
    pub line: LogLine,
}

/// Appends `lines` (each with its alert) at `now_ms`, inside the caller's transaction, in one statement.
pub(super) async fn append_in(
    conn: &mut AnyConnection,
    db: &klaxon_db::Database,
    lines: &[(&str, LogLine)],
    now_ms: i64,
) -> Result<(), AlertError> {
    if lines.is_empty() {
        return Ok(());
    }
    let rows = lines
        .iter()
        .map(|(alert, line)| Ok(serde_json::json!({"alert_id": alert, "line": serde_json::to_string(line)?})))
        .collect::<Result<Vec<_>, serde_json::Error>>()?;
    db.batch_query(db::alert_sql!(db, "alert_log_insert_many"))
        .bind(serde_json::Value::Array(rows).to_string())
        .bind(now_ms)
        .execute(conn)
        .await?;
    Ok(())
}

/// The lines of `alert_id` after line `after` (0: all), oldest first.
pub async fn since(
    db: &klaxon_db::Database,
    alert_id: &str,
    after: i64,
) -> Result<Vec<LogEntry>, AlertError> {
    let rows = sqlx::query(db::alert_sql!(db, "alert_log_since"))
        .bind(alert_id)
        .bind(after)
        .fetch_all(&db.pool)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(LogEntry {
                id: r.try_get(0)?,
                alert_id: r.try_get(1)?,
                at_ms: r.try_get(2)?,
                line: serde_json::from_str(&r.try_get::<String, _>(3)?)?,
            })
        })
        .collect()
}
