//! The message shown in the docs and the README is the one Klaxon posts: `docs/slack/cloudwatch-alarm-message.json`
//! is rendered here from a real CloudWatch alarm (`UPDATE_DOCS=1` rewrites it).

#![allow(clippy::unwrap_used)] // Test code: a failed unwrap is a failed test.

use klaxon::{
    alerts::{AlertKind, AlertStatus, Details, StoredAlert},
    escalation::{Policy, Position},
    ingest::cloudwatch,
    slack::render::{self, Recent},
};
use serde_json::Value;

#[test]
fn the_documented_cloudwatch_message_is_what_klaxon_posts() {
    let envelope: Value = serde_json::from_str(include_str!(
        "fixtures/payloads/cw-alarm-ALARM.sns-http.cloudforet-2021-06-23.json"
    ))
    .unwrap();
    let message: Value = serde_json::from_str(envelope["Message"].as_str().unwrap()).unwrap();
    let event = cloudwatch::from_alarm(&message).unwrap();
    let first_seen = 1_624_437_666_622;
    let alert = StoredAlert {
        id: "alert_0190f2c4a1b27c3d8e9f001122334455".into(),
        account_id: "acct".into(),
        endpoint_id: "ep".into(),
        team_id: "team".into(),
        policy: Policy::default_chain(),
        group_key: event.group_key.clone(),
        kind: AlertKind::Alert,
        status: AlertStatus::Open,
        title: event.title.clone(),
        text: event.text.clone(),
        severity: event.severity.as_str().into(),
        source: event.source.clone(),
        fields: event.fields.clone(),
        details: Details {
            account: event.account.clone(),
            region: event.region.clone(),
            resource: event.resource.clone(),
            link: event.link,
        },
        count: 3,
        first_seen_ms: first_seen,
        last_seen_ms: first_seen + 600_000,
        acknowledged_by: None,
        acknowledged_at_ms: None,
        closed_by: None,
        closed_at_ms: None,
        auto_closed: false,
        position: Position { round: 0, step: 1 },
        next_escalation_at_ms: Some(first_seen + 300_000),
        notified: vec!["U0ALICE001".into()],
        delivering: None,
        version: 4,
        problem: None,
        slack_delivery: Some("posted".into()),
        snoozed_until_ms: None,
        snoozed_by: None,
    };
    let recent = Recent {
        last_paged: Some("U0ALICE001".into()),
        passed_by: None,
        maintenance_until: None,
    };
    let rendered = render::channel_message(&alert, &recent);
    let mut json = serde_json::to_string_pretty(&serde_json::json!({
        "text": rendered.text,
        "blocks": rendered.blocks,
    }))
    .unwrap();
    json.push('\n');
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/slack/cloudwatch-alarm-message.json"
    );
    if std::env::var_os("UPDATE_DOCS").is_some() {
        std::fs::write(path, &json).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == json,
        "docs/slack/cloudwatch-alarm-message.json is stale: run `UPDATE_DOCS=1 cargo test -p klaxon --test slack_message`"
    );
}
