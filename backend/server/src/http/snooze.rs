//! `POST /v1/alerts/{id}/snooze`: pause an open alert's escalation until a time (the API twin of the Slack
//! snooze choices; see `alerts::snooze`).

use axum::{Json, body::Bytes, extract::State};
use klaxon_api::{ErrorBody, validate};
use serde::{Deserialize, Serialize};
use time::{OffsetDateTime, format_description::well_known::Rfc3339};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::{Account, AppError, AppPath, AppResult, AppState, parse_json};
use crate::alerts::{
    self, Alert,
    snooze::{self, MAX_SNOOZE_MS},
};

/// The most policy minutes a snooze takes (7 days).
pub(super) const MAX_SNOOZE_MINUTES: u32 = 10_080;

pub(super) fn routes() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(snooze_alert))
}

/// The body of `POST /v1/alerts/{id}/snooze`: how long (`minutes` or `until`, exactly one), and who.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub(super) struct SnoozeInput {
    /// Snooze for this many minutes of the escalation policy (a policy minute is a minute in production),
    /// 1 to 10080 (7 days). Give this or `until`.
    #[serde(default, deserialize_with = "klaxon_api::int::opt_u32")]
    pub minutes: Option<u32>,
    /// Snooze until this time (RFC 3339, e.g. `2026-12-02T09:00:00+01:00`): in the future and at most 7 days
    /// away. Give this or `minutes`.
    #[serde(default)]
    pub until: Option<String>,
    /// Who snoozes: a Slack user id, shown on the alert's message ("Snoozed by ...").
    #[serde(default)]
    pub by: Option<String>,
}

/// Snooze an open alert: its pending escalation step does not fire until the snooze ends, then fires at once
/// if the alert is still open (the thread says the snooze ended). Acknowledging, closing or passing the alert
/// ends the snooze; snoozing a snoozed alert replaces its end. An acknowledged alert is not escalating, so
/// it cannot be snoozed (409), nor can a closed alert or a notification (409).
#[utoipa::path(post, path = "/v1/alerts/{id}/snooze", tag = "alerts", operation_id = "snooze_alert",
    params(("id" = String, Path)),
    request_body = SnoozeInput,
    responses((status = 200, body = Alert, description = "The alert, snoozed."),
        (status = 409, body = ErrorBody,
            description = "The alert is acknowledged or closed, or is a notification: there is nothing to snooze.")),
    security(("bearer" = [])))]
pub(super) async fn snooze_alert(
    State(state): State<AppState>,
    Account(account): Account,
    AppPath(id): AppPath<String>,
    body: Bytes,
) -> AppResult<Json<Alert>> {
    // Another account's alert is not found, whatever the body says (it is not to be seen); the body is
    // read once the alert is known.
    alerts::get(&state.store, &account, &id).await?;
    let input: SnoozeInput = parse_json(&body)?;
    if let Some(by) = &input.by
        && !validate::is_user_id(by)
    {
        return Err(AppError::field("by", validate::user_id_message(by)));
    }
    let now = state.queue.now_ms();
    let until_ms = until_of(&input, now, state.engine.minutes_ms(1))?;
    let done = snooze::snooze(
        &state.store,
        &state.queue,
        state.engine,
        &account,
        &id,
        until_ms,
        input.by.as_deref(),
        now,
    )
    .await?;
    if done.changed {
        tracing::info!(alert = %id, by = input.by.as_deref().unwrap_or("-"), until = until_ms, "Alert snoozed.");
    }
    Ok(Json(super::alerts::view(&state, &account, &done.alert).await?))
}

/// When the snooze of `input` ends, in Unix milliseconds, checked; `minute_ms` is a policy minute.
fn until_of(input: &SnoozeInput, now_ms: i64, minute_ms: i64) -> Result<i64, AppError> {
    match (input.minutes, input.until.as_deref()) {
        (Some(_), Some(_)) => Err(AppError::field(
            "until",
            "give either `minutes` or `until`, not both",
        )),
        (None, None) => Err(AppError::field(
            "minutes",
            "say how long to snooze: `minutes` (1 to 10080) or `until` (an RFC 3339 time)",
        )),
        (Some(m), None) => {
            if !(1..=MAX_SNOOZE_MINUTES).contains(&m) {
                return Err(AppError::field(
                    "minutes",
                    format!("must be 1 to {MAX_SNOOZE_MINUTES} (7 days), not {m}"),
                ));
            }
            Ok(now_ms.saturating_add(minute_ms.saturating_mul(i64::from(m))))
        }
        (None, Some(text)) => {
            let at = OffsetDateTime::parse(text, &Rfc3339).map_err(|_| {
                AppError::field(
                    "until",
                    "must be an RFC 3339 time with its offset, e.g. 2026-12-02T09:00:00Z",
                )
            })?;
            let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).unwrap_or(i64::MAX);
            if ms <= now_ms {
                return Err(AppError::field("until", "must be in the future"));
            }
            if ms - now_ms > MAX_SNOOZE_MS {
                return Err(AppError::field("until", "must be at most 7 days away"));
            }
            Ok(ms)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 1_764_576_000_000; // 2025-12-01T08:00:00Z

    fn input(minutes: Option<u32>, until: Option<&str>) -> SnoozeInput {
        SnoozeInput {
            minutes,
            until: until.map(str::to_owned),
            by: None,
        }
    }

    fn field(r: Result<i64, AppError>) -> String {
        match r {
            Err(AppError::BadRequest { field, .. }) => field.unwrap_or_default(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn minutes_are_policy_minutes() {
        assert_eq!(
            until_of(&input(Some(60), None), NOW, 60_000).ok(),
            Some(NOW + 3_600_000)
        );
        assert_eq!(until_of(&input(Some(60), None), NOW, 50).ok(), Some(NOW + 3_000));
        assert_eq!(field(until_of(&input(Some(0), None), NOW, 60_000)), "minutes");
        assert_eq!(
            field(until_of(&input(Some(10_081), None), NOW, 60_000)),
            "minutes"
        );
        assert_eq!(field(until_of(&input(None, None), NOW, 60_000)), "minutes");
    }

    #[test]
    fn until_is_a_time_within_a_week() {
        let ok = until_of(&input(None, Some("2025-12-02T09:00:00+01:00")), NOW, 60_000);
        assert_eq!(ok.ok(), Some(NOW + 24 * 3_600_000));
        for bad in [
            "tomorrow",
            "2025-12-01T07:00:00Z",
            "2025-12-09T08:00:01Z",
            "2025-12-02T09:00:00",
        ] {
            assert_eq!(
                field(until_of(&input(None, Some(bad)), NOW, 60_000)),
                "until",
                "{bad}"
            );
        }
        assert_eq!(
            field(until_of(
                &input(Some(5), Some("2025-12-02T09:00:00Z")),
                NOW,
                60_000
            )),
            "until"
        );
    }
}
