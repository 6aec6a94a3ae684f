//! What Slack shows of maintenance windows: the mark on the channel message of an alert held by a window,
//! and the lines of its thread when it is held and released (see `alerts::maintenance`).

use super::{
    blocks::{Block, Text, escape},
    render::{Recent, date},
};
use crate::alerts::{AlertStatus, LogLine, StoredAlert};

/// The mark of a held alert's channel message, while it is held, not closed, and not passed on (a pass
/// during the window starts its escalation: "nobody is paged" would no longer be true).
pub fn mark(alert: &StoredAlert, recent: &Recent) -> Option<Block> {
    let until = recent.maintenance_until?;
    if alert.status == AlertStatus::Closed || recent.passed_by.is_some() {
        return None;
    }
    Some(Block::context(vec![Text::mrkdwn(&format!(
        ":construction: *In maintenance* until {}: nobody is paged. If it is still open then, escalation \
         starts from the first step.",
        date(until)
    ))]))
}

/// The thread text of a maintenance history line; `None` for other lines.
pub fn thread_text(line: &LogLine) -> Option<String> {
    Some(match line {
        LogLine::MaintenanceHeld {
            until_ms,
            description,
            ..
        } => format!(
            ":construction: Opened during a maintenance window{}: posted without paging anyone until {}.",
            description
                .as_deref()
                .map(|d| format!(" ({})", escape(d)))
                .unwrap_or_default(),
            date(*until_ms)
        ),
        LogLine::MaintenanceEnded { escalates: true } => {
            ":bell: The maintenance window ended and the alert is still open: escalation starts from the first step."
                .to_owned()
        }
        // Acknowledged or closed meanwhile, or already escalating (passed during the window): nothing
        // starts.
        LogLine::MaintenanceEnded { escalates: false } => {
            ":construction: The maintenance window ended.".to_owned()
        }
        _ => return None,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_and_mark() {
        let held = LogLine::MaintenanceHeld {
            window_id: "mw_1".into(),
            until_ms: 1_800_000_000_000,
            description: Some("db <upgrade>".into()),
        };
        let text = thread_text(&held).unwrap();
        assert!(text.contains("maintenance window (db &lt;upgrade&gt;)"), "{text}");
        assert!(
            thread_text(&LogLine::MaintenanceEnded { escalates: true })
                .unwrap()
                .contains("escalation starts from the first step")
        );
        assert!(thread_text(&LogLine::AutoClosed).is_none());
        let recent = Recent::of([&held]);
        assert_eq!(recent.maintenance_until, Some(1_800_000_000_000));
        let ended = LogLine::MaintenanceEnded { escalates: false };
        assert_eq!(Recent::of([&held, &ended]).maintenance_until, None);
        let mut alert = crate::slack::render::tests::alert("webhook");
        assert!(mark(&alert, &recent).is_some());
        let passed = LogLine::Passed { by: None };
        assert!(mark(&alert, &Recent::of([&held, &passed])).is_none());
        alert.status = AlertStatus::Closed;
        assert!(mark(&alert, &recent).is_none());
    }
}
