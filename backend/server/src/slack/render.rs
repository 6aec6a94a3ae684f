//! What Klaxon's Slack messages say, as pure functions of the alert: the channel message (severity and
//! title, the source's important fields, count and first/last seen, a status line, the buttons while the
//! alert needs someone), the escalation DM (the same, introduced), the mention a channel step posts, the
//! lines of the thread, and a channel's digest during a storm. Every text from an alert is escaped and cut
//! to Slack's limits (see `blocks`).

use std::collections::BTreeMap;

use super::blocks::{self, Block, Element, Message, Style, Text, escape};
use crate::{
    alerts::{AlertKind, AlertStatus, LogLine, StoredAlert},
    escalation::Mention,
};

/// What the history adds to the status line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Recent {
    /// The person the latest escalation step paged.
    pub last_paged: Option<String>,
    /// Who passed the alert last, when it was passed.
    pub passed_by: Option<String>,
    /// While a maintenance window holds the alert, when the hold ends (Unix milliseconds).
    pub maintenance_until: Option<i64>,
}

impl Recent {
    /// The recent facts of alert `alert_id`'s history, read from the database.
    pub async fn load(db: &klaxon_db::Database, alert_id: &str) -> Result<Self, crate::alerts::AlertError> {
        let history = crate::alerts::log::since(db, alert_id, 0).await?;
        Ok(Self::of(history.iter().map(|e| &e.line)))
    }

    /// The recent facts of a history, oldest line first.
    pub fn of<'a>(lines: impl IntoIterator<Item = &'a LogLine>) -> Self {
        let mut recent = Self::default();
        for line in lines {
            match line {
                LogLine::Paged { user, .. } => recent.last_paged = Some(user.clone()),
                LogLine::Passed { by } => {
                    recent.passed_by = Some(by.clone().unwrap_or_default());
                    recent.last_paged = None;
                }
                LogLine::MaintenanceHeld { until_ms, .. } => recent.maintenance_until = Some(*until_ms),
                LogLine::MaintenanceEnded { .. } => recent.maintenance_until = None,
                _ => {}
            }
        }
        recent
    }
}

/// The alert's message in its team's channel.
pub fn channel_message(alert: &StoredAlert, recent: &Recent) -> Message {
    let blocks = alert_blocks(alert, recent);
    Message::new(&fallback_text(alert), blocks)
}

/// The direct message of an escalation step: the alert's message, introduced, with the same buttons.
pub fn dm_message(alert: &StoredAlert, recent: &Recent, step: u32) -> Message {
    let mut blocks = vec![Block::context(vec![Text::mrkdwn(&format!(
        ":bell: *You are paged for this alert* (escalation step {}). Acknowledge it to stop the escalation, or pass it on.",
        step + 1
    ))])];
    blocks.extend(alert_blocks(alert, recent));
    Message::new(&format!("You are paged: {}", fallback_text(alert)), blocks)
}

/// The post of a `here` or `channel` step (in the alert's thread, shown in the channel too).
pub fn mention_message(alert: &StoredAlert, mention: Mention, step: u32, fallback: Option<&str>) -> Message {
    let who = match mention {
        Mention::Here => "<!here>",
        Mention::Channel => "<!channel>",
    };
    let why = fallback
        .map(|f| format!(" ({}, so the channel is asked)", escape(f)))
        .unwrap_or_default();
    let text = format!(
        "{who} *{}* needs someone: escalation step {}{why}. Acknowledge it on the alert's message.",
        escape(&alert.title),
        step + 1
    );
    // The mention goes in `text` too: a mention only inside blocks may not notify on every client.
    Message::new(&text, vec![Block::section(&text)])
}

/// One line of the thread, for a history line (`None` for lines the thread shows otherwise: a mention step's
/// post is in the thread itself).
pub fn thread_line(alert: &StoredAlert, line: &LogLine) -> Option<Message> {
    let text = match line {
        LogLine::Acknowledged { by } => format!(":eyes: Acknowledged{}.", by_whom(by.as_deref())),
        LogLine::Closed { by } => format!(":white_check_mark: Closed{}.", by_whom(by.as_deref())),
        LogLine::AutoClosed => format!(":white_check_mark: Closed automatically: {}.", recovery(alert)),
        LogLine::Passed { by } => format!(
            ":arrow_right: Passed{} to the next escalation step.",
            by_whom(by.as_deref())
        ),
        LogLine::Paged { step, user, .. } => {
            format!(
                ":bell: Paged <@{user}> by direct message (escalation step {}).",
                step + 1
            )
        }
        LogLine::Mentioned { .. } => return None,
        LogLine::NotReached {
            step, who, reason, ..
        } => format!(
            ":warning: Escalation step {} could not reach {} ({}); the next step runs now.",
            step + 1,
            person(who),
            escape(reason)
        ),
        LogLine::NotDelivered { step, reason, .. } => format!(
            ":warning: Escalation step {} was not sent: the Slack workspace cannot be used ({}). Escalation goes on in Klaxon.",
            step + 1,
            escape(reason)
        ),
        LogLine::Snoozed { .. } | LogLine::SnoozeEnded { .. } | LogLine::Reminded { .. } => {
            crate::slack::snooze::thread_text(line)?
        }
        LogLine::MaintenanceHeld { .. } | LogLine::MaintenanceEnded { .. } => {
            crate::slack::maintenance::thread_text(line)?
        }
        LogLine::HeartbeatStoodDown { deleted: true } => {
            ":wastebasket: The heartbeat was deleted: nothing will ping it, so its alert is closed."
                .to_owned()
        }
        LogLine::HeartbeatStoodDown { deleted: false } => {
            ":double_vertical_bar: The heartbeat was paused: its alert is closed, and it watches again once \
             resumed."
                .to_owned()
        }
    };
    Some(Message::new(&text, vec![Block::section(&text)]))
}

/// A channel's digest: the alerts that arrived faster than the channel can show them, newest first, with
/// `total` of them in all.
pub fn digest(alerts: &[StoredAlert], total: usize) -> Message {
    /// Alerts listed with their own line; the rest are counted.
    const LISTED: usize = 40;
    let open = alerts.iter().filter(|a| a.status == AlertStatus::Open).count();
    let mut blocks = vec![
        Block::header(&format!(":rotating_light: {total} new alerts")),
        Block::context(vec![Text::mrkdwn(&format!(
            "They arrived faster than Slack shows messages in a channel (about one a second), so they are listed \
             here, newest first, and this message is kept up to date. Each one escalates as usual. {open} open."
        ))]),
    ];
    for alert in alerts.iter().take(LISTED) {
        let line = format!(
            "{} *{}*\n{}{}",
            emoji(alert),
            escape(&alert.title),
            status_word(alert),
            if alert.count > 1 {
                format!(" · {} events", alert.count)
            } else {
                String::new()
            }
        );
        blocks.push(if alert.status == AlertStatus::Open {
            Block::section_with(
                &line,
                Element::button("Acknowledge", "klaxon.ack", &alert.id, Some(Style::Primary)),
            )
        } else {
            Block::section(&line)
        });
    }
    if total > alerts.len().min(LISTED) {
        blocks.push(Block::context(vec![Text::mrkdwn(&format!(
            "+{} more; every alert is in Klaxon's API (`GET /v1/alerts?status=open`).",
            total - alerts.len().min(LISTED)
        ))]));
    }
    Message::new(&format!("{total} new alerts ({open} open)"), blocks)
}

/// A person's digest: the alerts they were paged for faster than Slack shows direct messages, newest first,
/// `total` in all.
pub fn dm_digest(alerts: &[StoredAlert], total: usize) -> Message {
    let mut m = digest(alerts, total);
    let open = alerts.iter().filter(|a| a.status == AlertStatus::Open).count();
    if let Some(first) = m.blocks.first_mut() {
        *first = Block::header(&format!(":bell: You are paged for {total} alerts"));
    }
    if let Some(second) = m.blocks.get_mut(1) {
        *second = Block::context(vec![Text::mrkdwn(&format!(
            "They came faster than Slack shows direct messages, so this one message lists them, newest first, \
             and is kept up to date. Acknowledge each one here or on its message. {open} open."
        ))]);
    }
    m.text = format!("You are paged for {total} alerts ({open} open)");
    m
}

/// The answer to "open alerts": the workspace's alerts that are not closed, newest first (`total` in all),
/// the open ones with an Acknowledge button.
pub fn open_alerts(alerts: &[StoredAlert], total: u64) -> Message {
    /// Alerts listed; the rest are counted.
    const LISTED: usize = 20;
    if total == 0 {
        return Message::new(
            "No open alerts.",
            vec![Block::section(
                ":white_check_mark: No open alerts: nothing is waiting for anyone.",
            )],
        );
    }
    let open = alerts.iter().filter(|a| a.status == AlertStatus::Open).count();
    let mut blocks = vec![Block::section(&format!(
        "*{total} alert{} not closed*, newest first:",
        if total == 1 { "" } else { "s" }
    ))];
    for alert in alerts.iter().take(LISTED) {
        let line = format!(
            "{} *{}*\n{} · since {}{}",
            emoji(alert),
            escape(&alert.title),
            status_word(alert),
            date(alert.first_seen_ms),
            if alert.count > 1 {
                format!(" · {} events", alert.count)
            } else {
                String::new()
            }
        );
        blocks.push(if alert.status == AlertStatus::Open {
            Block::section_with(
                &line,
                Element::button("Acknowledge", "klaxon.ack", &alert.id, Some(Style::Primary)),
            )
        } else {
            Block::section(&line)
        });
    }
    let listed = alerts.len().min(LISTED);
    if total > listed as u64 {
        blocks.push(Block::context(vec![Text::mrkdwn(&format!(
            "+{} more; every alert is in Klaxon's API (`GET /v1/alerts?status=open`).",
            total - listed as u64
        ))]));
    }
    Message::new(&format!("{total} alerts not closed ({open} open)"), blocks)
}

/// What Klaxon understands when spoken to as `how` (`@klaxon` or `/klaxon`); `unknown` is what was said
/// that it did not understand.
pub fn help(how: &str, unknown: Option<&str>) -> Message {
    let mut text = String::new();
    if let Some(said) = unknown {
        text.push_str(&format!(
            "I do not know \u{201c}{}\u{201d}. ",
            escape(&blocks::cut(said, 100))
        ));
    }
    text.push_str(&format!(
        "I understand:\n• `{how} open alerts`: the alerts that are not closed, newest first, with an Acknowledge \
         button\n• `{how} help`: this list\nAlerts are acknowledged, closed and passed with the buttons on their \
         messages."
    ));
    Message::new(&text, vec![Block::section(&text)])
}

/// A message of one paragraph.
pub fn notice(text: &str) -> Message {
    Message::new(text, vec![Block::section(text)])
}

/// A slash command's answer, seen only by who typed it.
pub fn ephemeral_message(message: &Message) -> serde_json::Value {
    serde_json::json!({
        "response_type": "ephemeral",
        "text": message.text,
        "blocks": message.blocks,
    })
}

/// A private answer to a press that changed nothing.
pub fn ephemeral(text: &str) -> serde_json::Value {
    serde_json::json!({
        "response_type": "ephemeral",
        "replace_original": false,
        "text": text,
    })
}

fn alert_blocks(alert: &StoredAlert, recent: &Recent) -> Vec<Block> {
    let mut blocks = vec![Block::header(&format!("{} {}", emoji(alert), alert.title))];
    let body = body_text(alert);
    if !body.is_empty() {
        blocks.push(Block::section(&escape(&body)));
    }
    let fields = fields(alert);
    if !fields.is_empty() {
        blocks.push(Block::fields(&fields));
    }
    let mut seen = vec![Text::mrkdwn(&format!("Source: `{}`", escape(&alert.source)))];
    if alert.count > 1 {
        seen.push(Text::mrkdwn(&format!(
            "*{} events* · first {} · last {}",
            alert.count,
            date(alert.first_seen_ms),
            date(alert.last_seen_ms)
        )));
    } else {
        seen.push(Text::mrkdwn(&format!("Seen {}", date(alert.first_seen_ms))));
    }
    blocks.push(Block::context(seen));
    blocks.push(Block::context(vec![Text::mrkdwn(&status_line(alert, recent))]));
    blocks.extend(super::maintenance::mark(alert, recent));
    let mut buttons = Vec::new();
    if alert.kind == AlertKind::Alert {
        match alert.status {
            AlertStatus::Open => {
                buttons.push(Element::button(
                    "Acknowledge",
                    "klaxon.ack",
                    &alert.id,
                    Some(Style::Primary),
                ));
                buttons.push(Element::button("Close", "klaxon.close", &alert.id, None));
                buttons.push(Element::button("Pass", "klaxon.pass", &alert.id, None));
                buttons.push(super::snooze::menu(alert));
            }
            AlertStatus::Acknowledged => {
                buttons.push(Element::button("Close", "klaxon.close", &alert.id, None));
            }
            AlertStatus::Closed => {}
        }
    }
    if let Some(link) = alert
        .details
        .link
        .as_deref()
        .and_then(|l| Element::link(link_label(alert), "klaxon.link", l))
    {
        buttons.push(link);
    }
    if !buttons.is_empty() {
        blocks.push(Block::actions("klaxon", buttons));
    }
    blocks
}

/// The notification text: severity, title and state.
fn fallback_text(alert: &StoredAlert) -> String {
    format!("[{}] {} ({})", alert.severity, alert.title, status_word(alert))
}

fn emoji(alert: &StoredAlert) -> &'static str {
    match (alert.kind, alert.status, alert.severity.as_str()) {
        (AlertKind::Notification, ..) => ":information_source:",
        (_, AlertStatus::Closed, _) => ":white_check_mark:",
        (_, AlertStatus::Acknowledged, _) => ":eyes:",
        (_, _, "critical") => ":rotating_light:",
        (_, _, "error") => ":red_circle:",
        (_, _, "warning") => ":large_orange_circle:",
        _ => ":large_blue_circle:",
    }
}

fn status_word(alert: &StoredAlert) -> String {
    match (alert.kind, alert.status) {
        (AlertKind::Notification, _) => "notification".to_owned(),
        (_, AlertStatus::Open) => "open".to_owned(),
        (_, AlertStatus::Acknowledged) => match &alert.acknowledged_by {
            Some(u) => format!("acknowledged by <@{u}>"),
            None => "acknowledged".to_owned(),
        },
        (_, AlertStatus::Closed) if alert.auto_closed => "closed automatically".to_owned(),
        (_, AlertStatus::Closed) => match &alert.closed_by {
            Some(u) => format!("closed by <@{u}>"),
            None => "closed".to_owned(),
        },
    }
}

fn status_line(alert: &StoredAlert, recent: &Recent) -> String {
    if alert.kind == AlertKind::Notification {
        return ":information_source: Notification: nothing to acknowledge.".to_owned();
    }
    match alert.status {
        AlertStatus::Open => {
            let mut s = ":bell: *Open*".to_owned();
            match (&recent.passed_by, &recent.last_paged) {
                (Some(by), Some(user)) => s.push_str(&format!(" — passed{} to <@{user}>", by_whom(Some(by)))),
                (Some(by), None) => s.push_str(&format!(" — passed{}", by_whom(Some(by)))),
                (None, Some(user)) => s.push_str(&format!(" — paged <@{user}>")),
                (None, None) => {}
            }
            if let Some(at) = alert.next_escalation_at_ms {
                s.push_str(&format!(" · next escalation {}", date(at)));
            }
            if let Some(snoozed) = super::snooze::status(alert) {
                s.push('\n');
                s.push_str(&snoozed);
            }
            if let Some(problem) = &alert.problem {
                s.push_str(&format!("\n:warning: {}", escape(problem)));
            }
            s
        }
        AlertStatus::Acknowledged => format!(
            ":eyes: *Acknowledged*{}{}",
            by_whom(alert.acknowledged_by.as_deref()),
            alert
                .acknowledged_at_ms
                .map(|t| format!(" {}", date(t)))
                .unwrap_or_default()
        ),
        AlertStatus::Closed if alert.auto_closed => format!(
            ":white_check_mark: *Closed automatically* {}: {}.",
            alert.closed_at_ms.map(date).unwrap_or_default(),
            recovery(alert)
        ),
        AlertStatus::Closed => format!(
            ":white_check_mark: *Closed*{}{}",
            by_whom(alert.closed_by.as_deref()),
            alert
                .closed_at_ms
                .map(|t| format!(" {}", date(t)))
                .unwrap_or_default()
        ),
    }
}

fn recovery(alert: &StoredAlert) -> &'static str {
    if alert.source == "aws.cloudwatch" {
        "the alarm returned to OK"
    } else if alert.source == crate::alerts::heartbeat::SOURCE {
        "the heartbeat is back (a ping arrived)"
    } else {
        "a recovery event arrived"
    }
}

fn by_whom(by: Option<&str>) -> String {
    match by {
        Some(u) if !u.is_empty() => format!(" by <@{u}>"),
        _ => String::new(),
    }
}

/// A user id as a mention, anything else (a channel) as it is.
fn person(who: &str) -> String {
    if crate::slack::is_user_id(who) {
        format!("<@{who}>")
    } else if who.starts_with('C') || who.starts_with('G') {
        format!("<#{who}>")
    } else {
        escape(who)
    }
}

/// A time Slack shows in each reader's own time zone, with UTC as the fallback.
pub(super) fn date(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let fallback = time::OffsetDateTime::from_unix_timestamp(secs)
        .ok()
        .and_then(|t| {
            t.format(&time::macros::format_description!(
                "[year]-[month]-[day] [hour]:[minute] UTC"
            ))
            .ok()
        })
        .unwrap_or_default();
    format!("<!date^{secs}^{{date_short_pretty}} {{time}}|{fallback}>")
}

/// The reason or description to show under the title.
fn body_text(alert: &StoredAlert) -> String {
    if alert.source == "aws.cloudwatch" {
        let f = &alert.fields;
        if let Some(reason) = f.get("NewStateReason").filter(|s| !s.is_empty()) {
            return reason.clone();
        }
    }
    alert.text.clone()
}

fn link_label(alert: &StoredAlert) -> &'static str {
    if alert.source.starts_with("aws.") {
        "Open in the AWS console"
    } else {
        "Open"
    }
}

/// The source's important fields as `*Name*\nvalue` pairs (at most ten).
fn fields(alert: &StoredAlert) -> Vec<String> {
    let f = &alert.fields;
    let d = &alert.details;
    let mut out: Vec<(String, String)> = Vec::new();
    let mut push = |name: &str, value: Option<String>| {
        if let Some(v) = value.filter(|v| !v.is_empty()) {
            out.push((name.to_owned(), v));
        }
    };
    let get = |k: &str| f.get(k).cloned();
    match alert.source.as_str() {
        "aws.cloudwatch" => {
            push("Alarm", get("AlarmName").or_else(|| get("detail.alarmName")));
            push(
                "State",
                match (get("OldStateValue"), get("NewStateValue")) {
                    (Some(old), Some(new)) => Some(format!("{old} → {new}")),
                    (None, new) => new.or_else(|| get("detail.state.value")),
                    (old, None) => old,
                },
            );
            push(
                "Metric",
                match (get("Trigger.Namespace"), get("Trigger.MetricName")) {
                    (Some(ns), Some(m)) => Some(format!("{ns} {m}")),
                    (None, m) => m,
                    (ns, None) => ns,
                },
            );
            push(
                "Threshold",
                get("Trigger.Threshold").map(|t| match get("Trigger.ComparisonOperator") {
                    Some(op) => format!("{op} {t}"),
                    None => t,
                }),
            );
            push("Resource", d.resource.clone());
            push("Account", d.account.clone());
            push("Region", d.region.clone());
        }
        "aws.health" => {
            push("Service", get("detail.service"));
            push("Event", get("detail.eventTypeCode"));
            push("Category", get("detail.eventTypeCategory"));
            push("Status", get("detail.statusCode"));
            push("Resource", d.resource.clone());
            push("Account", d.account.clone());
            push("Region", d.region.clone());
        }
        "aws.guardduty" => {
            push("Finding", get("detail.type"));
            push("Severity", get("detail.severity"));
            push("Resource", d.resource.clone());
            push("Account", d.account.clone());
            push("Region", d.region.clone());
        }
        s if s.starts_with("aws.") || s == "sns" => {
            push("Source", get("source"));
            push("Type", get("detail-type"));
            push("Resource", d.resource.clone());
            push("Account", d.account.clone());
            push("Region", d.region.clone());
        }
        _ => {
            push("Resource", d.resource.clone());
            for (k, v) in webhook_fields(f) {
                push(&k, Some(v));
            }
        }
    }
    out.truncate(if alert.source.starts_with("aws.") { 10 } else { 6 });
    out.into_iter()
        .map(|(name, value)| format!("*{}*\n{}", escape(&name), escape(&value)))
        .collect()
}

/// A webhook's own fields worth showing: not the ones Klaxon already reads (title, text, key, status,
/// severity), short values first in key order, at most six.
fn webhook_fields(fields: &BTreeMap<String, String>) -> Vec<(String, String)> {
    const READ: &[&str] = &[
        "title",
        "text",
        "message",
        "key",
        "status",
        "severity",
        "summary",
        "description",
    ];
    fields
        .iter()
        .filter(|(k, v)| !READ.contains(&k.to_ascii_lowercase().as_str()) && !v.is_empty())
        .take(6)
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::{
        alerts::Details,
        escalation::{Policy, Position},
        slack::blocks::{MAX_BLOCKS, MAX_FIELD, MAX_HEADER, MAX_SECTION},
    };

    pub(crate) fn alert(source: &str) -> StoredAlert {
        StoredAlert {
            id: "alert_1".into(),
            account_id: "acct".into(),
            endpoint_id: "ep".into(),
            team_id: "team".into(),
            policy: Policy::default_chain(),
            group_key: "k".into(),
            kind: AlertKind::Alert,
            status: AlertStatus::Open,
            title: "ALARM: api-5xx".into(),
            text: String::new(),
            severity: "error".into(),
            source: source.into(),
            fields: BTreeMap::new(),
            details: Details::default(),
            count: 1,
            first_seen_ms: 1_700_000_000_000,
            last_seen_ms: 1_700_000_000_000,
            acknowledged_by: None,
            acknowledged_at_ms: None,
            closed_by: None,
            closed_at_ms: None,
            auto_closed: false,
            position: Position::START,
            next_escalation_at_ms: None,
            notified: vec![],
            delivering: None,
            version: 1,
            problem: None,
            slack_delivery: None,
            snoozed_until_ms: None,
            snoozed_by: None,
        }
    }

    fn json(m: &Message) -> String {
        serde_json::to_string(m).unwrap_or_default()
    }

    #[test]
    fn a_cloudwatch_alarm_shows_its_fields_and_the_buttons() {
        let mut a = alert("aws.cloudwatch");
        for (k, v) in [
            ("AlarmName", "api-5xx"),
            ("OldStateValue", "OK"),
            ("NewStateValue", "ALARM"),
            (
                "NewStateReason",
                "Threshold Crossed: 1 datapoint [12.0] was greater than the threshold (5.0).",
            ),
            ("Trigger.Namespace", "AWS/ApplicationELB"),
            ("Trigger.MetricName", "HTTPCode_Target_5XX_Count"),
            ("Trigger.ComparisonOperator", "GreaterThanThreshold"),
            ("Trigger.Threshold", "5.0"),
        ] {
            a.fields.insert(k.into(), v.into());
        }
        a.details = Details {
            account: Some("111122223333".into()),
            region: Some("eu-west-1".into()),
            resource: Some("LoadBalancer=app/web/1".into()),
            link: Some("https://eu-west-1.console.aws.amazon.com/cloudwatch/home?region=eu-west-1#alarmsV2:alarm/api-5xx".into()),
        };
        let m = json(&channel_message(&a, &Recent::default()));
        for needle in [
            "OK → ALARM",
            "AWS/ApplicationELB HTTPCode_Target_5XX_Count",
            "GreaterThanThreshold 5.0",
            "111122223333",
            "eu-west-1",
            "Threshold Crossed",
            "klaxon.ack",
            "klaxon.close",
            "klaxon.pass",
            "Open in the AWS console",
        ] {
            assert!(m.contains(needle), "{needle} missing in {m}");
        }
    }

    #[test]
    fn the_status_line_follows_the_alert() {
        let mut a = alert("webhook");
        a.status = AlertStatus::Acknowledged;
        a.acknowledged_by = Some("U0AAAAAAA".into());
        let m = json(&channel_message(&a, &Recent::default()));
        assert!(
            m.contains("Acknowledged* by <@U0AAAAAAA>")
                && m.contains("klaxon.close")
                && !m.contains("klaxon.ack"),
            "{m}"
        );
        a.status = AlertStatus::Closed;
        a.auto_closed = true;
        let m = json(&channel_message(&a, &Recent::default()));
        assert!(
            m.contains("Closed automatically") && !m.contains("klaxon.close"),
            "{m}"
        );
        let mut a = alert("aws.cloudwatch");
        a.status = AlertStatus::Closed;
        a.auto_closed = true;
        assert!(json(&channel_message(&a, &Recent::default())).contains("the alarm returned to OK"));
        let recent = Recent::of(&[
            LogLine::Passed {
                by: Some("U0AAAAAAA".into()),
            },
            LogLine::Paged {
                round: 0,
                step: 1,
                user: "U0BBBBBBB".into(),
            },
        ]);
        let m = json(&channel_message(&alert("webhook"), &recent));
        assert!(m.contains("passed by <@U0AAAAAAA> to <@U0BBBBBBB>"), "{m}");
    }

    #[test]
    fn a_huge_alert_stays_within_every_limit() {
        let mut a = alert("webhook");
        a.title = "t".repeat(10_000);
        a.text = "x<&>".repeat(5_000);
        for i in 0..200 {
            a.fields.insert(format!("field{i:03}"), "v".repeat(5_000));
        }
        a.details.link = Some(format!("https://example.com/{}", "a".repeat(5_000)));
        let m = channel_message(&a, &Recent::default());
        assert!(m.blocks.len() <= MAX_BLOCKS);
        for b in &m.blocks {
            match b {
                Block::Header { text } => assert!(text.as_str().chars().count() <= MAX_HEADER),
                Block::Section { text, fields, .. } => {
                    assert!(
                        text.as_ref()
                            .is_none_or(|t| t.as_str().chars().count() <= MAX_SECTION)
                    );
                    assert!(fields.iter().all(|f| f.as_str().chars().count() <= MAX_FIELD));
                }
                _ => {}
            }
        }
        let many: Vec<StoredAlert> = (0..300).map(|_| alert("webhook")).collect();
        assert!(digest(&many, 300).blocks.len() <= MAX_BLOCKS);
    }

    #[test]
    fn thread_lines() {
        let a = alert("webhook");
        let t = |l: LogLine| thread_line(&a, &l).map(|m| m.text);
        assert_eq!(
            t(LogLine::Acknowledged {
                by: Some("U0AAAAAAA".into())
            })
            .as_deref(),
            Some(":eyes: Acknowledged by <@U0AAAAAAA>.")
        );
        assert_eq!(
            t(LogLine::Mentioned {
                round: 0,
                step: 2,
                mention: Mention::Here,
                fallback: None
            }),
            None
        );
        let nr = t(LogLine::NotReached {
            round: 0,
            step: 0,
            who: "U0AAAAAAA".into(),
            reason: "user_disabled".into(),
        });
        assert!(nr.is_some_and(|s| s.contains("could not reach <@U0AAAAAAA> (user_disabled)")));
    }
}
