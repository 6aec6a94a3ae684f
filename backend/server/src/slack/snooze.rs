//! Snooze and reminders in Slack: the menu on an open alert's channel message and escalation DMs
//! (`klaxon.snooze`, three choices: 1 h, 4 h, until 9:00 tomorrow), what a choice does (applied by the
//! `slack.press` job, as the person who chose), what the message and thread say about snoozes and reminders,
//! and the reminder DM (recorded as a DM of the alert, so the message sync keeps it showing the alert as it
//! is).
//!
//! "1 h" and "4 h" are 60 and 240 policy minutes (a shortened policy minute shortens them, as it does every
//! escalation wait). "Until 9:00 tomorrow" is 9:00 on the next calendar day in the chooser's time zone, as
//! Slack knows it (`users.info`: `user.tz`, an IANA name; `tz_offset` when the name is unknown; UTC when Slack
//! says neither), in real time.

use jiff::{
    Timestamp,
    tz::{Offset, TimeZone},
};
use serde_json::Value;

use super::{
    Slack,
    blocks::{self, Block, Element, MenuOption, Message, Text},
    client::Args,
    interactions::Press,
    render,
    store::{self, Kind},
};
use crate::{
    alerts::{self, AlertError, LogLine, StoredAlert},
    jobs::JobContext,
    notify::NotifyError,
};

/// The menu's `action_id`.
pub const ACTION_ID: &str = "klaxon.snooze";
/// The prefix of a snooze choice's [`Press::action`] (`snooze:<choice>`).
pub const ACTION_PREFIX: &str = "snooze:";

/// A snooze choice.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    /// This many policy minutes.
    Minutes(u32),
    /// Until 9:00 on the next day in the chooser's time zone.
    NineTomorrow,
}

impl Choice {
    /// The menu's choices, with their labels.
    pub const MENU: [(Choice, &'static str); 3] = [
        (Choice::Minutes(60), "Snooze 1 h"),
        (Choice::Minutes(240), "Snooze 4 h"),
        (Choice::NineTomorrow, "Snooze until 9:00 tomorrow"),
    ];

    /// The choice's name in option values and press actions (`60`, `240`, `tomorrow9`).
    pub fn name(self) -> String {
        match self {
            Self::Minutes(m) => m.to_string(),
            Self::NineTomorrow => "tomorrow9".to_owned(),
        }
    }

    /// The choice named `s`: one of the menu's, nothing else (a forged value snoozes no longer).
    pub fn parse(s: &str) -> Option<Self> {
        Self::MENU.iter().map(|(c, _)| *c).find(|c| c.name() == s)
    }
}

/// The snooze menu of an open alert.
pub fn menu(alert: &StoredAlert) -> Element {
    let options = Choice::MENU
        .iter()
        .filter_map(|(choice, label)| MenuOption::new(label, &format!("{}:{}", choice.name(), alert.id)))
        .collect();
    Element::menu("Snooze…", ACTION_ID, options)
}

/// The press action and alert id of a chosen option's value (`<choice>:<alert id>`).
pub fn parse_option(value: &str) -> Option<(String, String)> {
    let (choice, alert) = value.split_once(':')?;
    let choice = Choice::parse(choice)?;
    Some((format!("{ACTION_PREFIX}{}", choice.name()), alert.to_owned()))
}

/// The snooze line of an open alert's status ("Snoozed by <@U…> until <date>"), while it is snoozed.
pub fn status(alert: &StoredAlert) -> Option<String> {
    let until = alert
        .snoozed_until_ms
        .filter(|_| alert.status == alerts::AlertStatus::Open)?;
    let by = alert
        .snoozed_by
        .as_deref()
        .map(|u| format!(" by <@{u}>"))
        .unwrap_or_default();
    Some(format!(":zzz: *Snoozed*{by} until {}", render::date(until)))
}

/// The thread's line for the snooze and reminder history lines.
pub fn thread_text(line: &LogLine) -> Option<String> {
    Some(match line {
        LogLine::Snoozed { by, until_ms } => format!(
            ":zzz: Snoozed{} until {}: escalation waits until then.",
            by.as_deref().map(|u| format!(" by <@{u}>")).unwrap_or_default(),
            render::date(*until_ms)
        ),
        LogLine::SnoozeEnded { step: Some(step) } => format!(
            ":alarm_clock: The snooze ended: escalation goes on from step {}.",
            step + 1
        ),
        LogLine::SnoozeEnded { step: None } => ":alarm_clock: The snooze ended.".to_owned(),
        LogLine::Reminded { user, period } => format!(
            ":bell: Reminded <@{user}> by direct message that this alert is still open (reminder {period})."
        ),
        _ => return None,
    })
}

/// 9:00 on the calendar day after `now_ms`'s in `zone`, in Unix milliseconds. A 9:00 that a clock change
/// skips or repeats is read as Slack's clients read it (the earlier instant of a repeated time, the time
/// after a gap).
pub fn nine_tomorrow(now_ms: i64, zone: &TimeZone) -> Option<i64> {
    let now = Timestamp::from_millisecond(now_ms).ok()?.to_zoned(zone.clone());
    let tomorrow = now.date().tomorrow().ok()?;
    let at = tomorrow.at(9, 0, 0, 0).to_zoned(zone.clone()).ok()?;
    Some(at.timestamp().as_millisecond())
}

/// The time zone of a `users.info` answer: `user.tz` (IANA), else `user.tz_offset` (seconds east of UTC),
/// else UTC.
pub fn zone_of(users_info: &Value) -> TimeZone {
    let named = users_info
        .pointer("/user/tz")
        .and_then(Value::as_str)
        .and_then(|name| TimeZone::get(name).ok());
    if let Some(zone) = named {
        return zone;
    }
    users_info
        .pointer("/user/tz_offset")
        .and_then(Value::as_i64)
        .and_then(|secs| i32::try_from(secs).ok())
        .and_then(|secs| Offset::from_seconds(secs).ok())
        .map_or(TimeZone::UTC, TimeZone::fixed)
}

/// Applies snooze press `p` to `alert` (already checked to be of the workspace pressed in) at `now_ms`;
/// returns what to tell the chooser privately, when the choice changed nothing. An error is worth a retry.
pub async fn apply(
    ctx: &JobContext,
    p: &Press,
    alert: &StoredAlert,
    now_ms: i64,
) -> Result<Option<String>, klaxon_queue::JobError> {
    let Some(choice) = p.action.strip_prefix(ACTION_PREFIX).and_then(Choice::parse) else {
        return Ok(Some(
            "That is not a snooze Klaxon offers; nothing was changed.".into(),
        ));
    };
    let until_ms = match choice {
        Choice::Minutes(m) => now_ms.saturating_add(ctx.engine.minutes_ms(m)),
        Choice::NineTomorrow => {
            let zone = match &ctx.slack {
                Some(slack) => {
                    let info = slack
                        .call(
                            &alert.account_id,
                            "users.info",
                            Args::Query(vec![("user", p.user_id.clone())]),
                        )
                        .await;
                    match info {
                        Ok(v) => zone_of(&v),
                        Err(e) => {
                            // The chooser's zone decides the time: worth waiting for Slack to answer.
                            return Err(klaxon_queue::JobError::retryable(format!(
                                "users.info for the snooze's time zone: {e}"
                            )));
                        }
                    }
                }
                None => TimeZone::UTC,
            };
            nine_tomorrow(now_ms, &zone)
                .ok_or_else(|| klaxon_queue::JobError::fatal("9:00 tomorrow is out of the range of time"))?
        }
    };
    let snoozed = alerts::snooze::snooze(
        &ctx.store,
        &ctx.queue,
        ctx.engine,
        &alert.account_id,
        &alert.id,
        until_ms,
        Some(&p.user_id),
        now_ms,
    )
    .await;
    match snoozed {
        Ok(acted) if acted.changed => {
            tracing::info!(alert = %alert.id, by = %p.user_id, until = until_ms, "Alert snoozed from Slack.");
            Ok(None)
        }
        Ok(_) => Ok(Some(
            "You already snoozed this alert until then; nothing was changed.".into(),
        )),
        Err(AlertError::Conflict(message)) => Ok(Some(format!("Nothing was changed: {message}."))),
        Err(AlertError::NotFound) => Ok(Some("This alert no longer exists; nothing was changed.".into())),
        Err(e) => Err(klaxon_queue::JobError::retryable(e)),
    }
}

/// The reference of reminder `period`'s DM of `alert_id` (a DM of the alert, told apart from a step's DM,
/// `<alert>/<round>/<step>`, by its middle part).
pub fn reminder_ref(alert_id: &str, period: u32) -> String {
    format!("{alert_id}/remind/{period}")
}

/// The period of a DM's reference, when it is a reminder's.
pub fn reminder_period(reference: &str) -> Option<u32> {
    let mut parts = reference.split('/');
    let (_, kind, period) = (parts.next()?, parts.next()?, parts.next()?);
    (kind == "remind" && parts.next().is_none())
        .then(|| period.parse().ok())
        .flatten()
}

/// The reminder DM: the alert's DM (its message with the buttons), introduced as a reminder.
pub fn reminder_message(alert: &StoredAlert, recent: &render::Recent, period: u32) -> Message {
    let mut message = render::dm_message(alert, recent, 0);
    let intro = Block::context(vec![Text::mrkdwn(&format!(
        ":bell: *Reminder {period}: you acknowledged this alert and it is still open.* Close it once it is over."
    ))]);
    // The DM's first block is its introduction ("You are paged"): this one says why instead.
    if let Some(first) = message.blocks.first_mut() {
        *first = intro;
    }
    message.text = blocks::cut(&format!("Reminder: {}", alert.title), blocks::MAX_TEXT);
    message
}

/// DMs reminder `period` of `alert` to `user` at `now_ms` and records it, unless it was sent already.
pub async fn send_reminder(
    slack: &Slack,
    alert: &StoredAlert,
    user: &str,
    period: u32,
    now_ms: i64,
) -> Result<(), NotifyError> {
    let db = slack.store().database();
    let transient = |e: &dyn std::fmt::Display| NotifyError::Transient(e.to_string());
    let reference = reminder_ref(&alert.id, period);
    if store::get(db, &alert.account_id, Kind::Dm, &reference)
        .await
        .map_err(|e| transient(&e))?
        .is_some()
    {
        return Ok(());
    }
    let channel = slack.dm_channel(&alert.account_id, user).await?;
    let recent = render::Recent::load(db, &alert.id)
        .await
        .map_err(|e| transient(&e))?;
    let message = reminder_message(alert, &recent, period);
    // Reminders share the person's DM channel with their pages: they take its post slots like any other
    // post there, so a burst of reminders cannot run into Slack's per-channel limit and delay a page.
    super::pace_channel(slack, &alert.account_id, &channel).await?;
    let (ts, channel) = slack
        .post(&alert.account_id, &channel, &message, None, false)
        .await?;
    super::record(db, alert, Kind::Dm, &reference, &channel, &ts, now_ms).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(rfc3339: &str) -> i64 {
        rfc3339
            .parse::<Timestamp>()
            .map(|t| t.as_millisecond())
            .unwrap_or_default()
    }

    fn zone(name: &str) -> TimeZone {
        TimeZone::get(name).unwrap_or(TimeZone::UTC)
    }

    #[test]
    fn nine_tomorrow_is_in_the_choosers_zone() {
        // 08:00 UTC on 1 Dec is 09:00 in Paris and 03:00 in New York: tomorrow is 2 Dec in both.
        let now = ms("2026-12-01T08:00:00Z");
        assert_eq!(
            nine_tomorrow(now, &zone("Europe/Paris")),
            Some(ms("2026-12-02T08:00:00Z"))
        );
        assert_eq!(
            nine_tomorrow(now, &zone("America/New_York")),
            Some(ms("2026-12-02T14:00:00Z"))
        );
        assert_eq!(
            nine_tomorrow(now, &TimeZone::UTC),
            Some(ms("2026-12-02T09:00:00Z"))
        );
        // Half-hour zones, and a zone already in its next day (Auckland: 21:00 on 1 Dec, so 3 Dec).
        assert_eq!(
            nine_tomorrow(now, &zone("Asia/Kolkata")),
            Some(ms("2026-12-02T03:30:00Z"))
        );
        assert_eq!(
            nine_tomorrow(ms("2026-12-01T12:00:00Z"), &zone("Pacific/Auckland")),
            Some(ms("2026-12-02T20:00:00Z"))
        );
    }

    #[test]
    fn nine_tomorrow_across_a_clock_change() {
        // New York moves to summer time at 02:00 on 8 March 2026: the evening before is UTC-5, 9:00 the
        // next morning is UTC-4, so the snooze is 12 hours and not 13.
        let evening = ms("2026-03-08T01:00:00Z"); // 20:00 on 7 March, EST
        assert_eq!(
            nine_tomorrow(evening, &zone("America/New_York")),
            Some(ms("2026-03-08T13:00:00Z"))
        );
        // Berlin goes back to winter time on 25 October 2026: 9:00 on the 25th is UTC+1.
        let evening = ms("2026-10-24T18:00:00Z"); // 20:00 on 24 October, CEST
        assert_eq!(
            nine_tomorrow(evening, &zone("Europe/Berlin")),
            Some(ms("2026-10-25T08:00:00Z"))
        );
    }

    #[test]
    fn the_zone_comes_from_users_info() {
        let now = ms("2026-12-01T08:00:00Z");
        let at = |v: Value| nine_tomorrow(now, &zone_of(&v));
        assert_eq!(
            at(serde_json::json!({"ok": true, "user": {"tz": "Europe/Paris", "tz_offset": 3600}})),
            Some(ms("2026-12-02T08:00:00Z"))
        );
        // An unknown name: the offset; neither: UTC.
        assert_eq!(
            at(serde_json::json!({"ok": true, "user": {"tz": "Mars/Olympus", "tz_offset": -18000}})),
            Some(ms("2026-12-02T14:00:00Z"))
        );
        assert_eq!(
            at(serde_json::json!({"ok": true, "user": {}})),
            Some(ms("2026-12-02T09:00:00Z"))
        );
    }

    #[test]
    fn reminder_dms_are_told_apart_from_step_dms() {
        assert_eq!(reminder_period(&reminder_ref("alert_1", 3)), Some(3));
        assert_eq!(reminder_period("alert_1/0/2"), None);
        assert_eq!(reminder_period("alert_1/remind/x"), None);
        assert_eq!(reminder_period("alert_1/remind/2/9"), None);
    }

    #[test]
    fn only_the_menus_choices_are_read() {
        assert_eq!(
            parse_option("240:alert_1"),
            Some(("snooze:240".to_owned(), "alert_1".to_owned()))
        );
        assert_eq!(
            parse_option("tomorrow9:alert_1"),
            Some(("snooze:tomorrow9".to_owned(), "alert_1".to_owned()))
        );
        assert_eq!(parse_option("100000:alert_1"), None);
        assert_eq!(parse_option("alert_1"), None);
    }
}
