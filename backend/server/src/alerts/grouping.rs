//! What a batch of events does to the alerts, decided without I/O.
//!
//! Ingest reads, in one statement, every alert the batch's events could touch (the open alerts of their
//! group keys and their recent notifications), lets [`plan`] walk the events in order over that snapshot, and
//! writes the result back in a few statements, whatever the batch size. Walking the events in memory is what
//! lets the fifth event of a burst join the alert the first one opened, before either is written.
//!
//! The rules (the contract of `alerts::ingest`):
//! - a resolved event closes every alert of its key that is not closed (auto-closed); with none, it is stored
//!   as a notification;
//! - an event joins the newest alert of its endpoint, key and kind first seen within the endpoint's window
//!   (an alert that is not closed, or any notification);
//! - otherwise it opens a new alert (escalation due at once) or stores a new notification (closed).

use std::collections::HashMap;

use super::{AlertKind, AlertStatus, Details, IngestAction, Ingested, StoredAlert};
use crate::{
    escalation::{Policy, Position},
    event::{Event, EventKind, EventStatus},
    store::IngestEndpoint,
};

/// An existing alert the batch changes: how many events joined it and whether a recovery closed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Change {
    /// The alert.
    pub id: String,
    /// Its account.
    pub account_id: String,
    /// Events that joined it (recoveries included).
    pub added: u64,
    /// A recovery event closed it (auto-closed).
    pub close: bool,
}

/// What a batch does.
#[derive(Debug, Default)]
pub(super) struct Plan {
    /// Each event's effect, in order, with the alert as that event left it.
    pub results: Vec<Ingested>,
    /// Alerts and notifications the batch opens, in their final state.
    pub inserts: Vec<StoredAlert>,
    /// Existing alerts the batch changes.
    pub changes: Vec<Change>,
}

impl Plan {
    /// Existing alerts a recovery closed: their pending timers are cancelled.
    pub(super) fn closed(&self) -> impl Iterator<Item = &str> {
        self.changes.iter().filter(|c| c.close).map(|c| c.id.as_str())
    }

    /// New alerts still open at the end of the batch: each gets its first escalation timer.
    pub(super) fn escalate(&self) -> impl Iterator<Item = &StoredAlert> {
        self.inserts
            .iter()
            .filter(|a| a.kind == AlertKind::Alert && a.status == AlertStatus::Open)
    }
}

/// One alert of the working set.
struct Slot {
    alert: StoredAlert,
    /// Opened by this batch (inserted at the end), as opposed to read from the store.
    new: bool,
    added: u64,
    close: bool,
}

/// Plans `events` (each with the endpoint that received it), in order, over `known` (the stored alerts of
/// their keys: every alert not closed, and the notifications of the notification window). `policies` maps
/// a policy id to the policy a new alert of an endpoint naming it escalates by (a missing one falls back to
/// the default chain, as a deleted policy does). `new_id` names new alerts.
pub(super) fn plan(
    events: &[(&IngestEndpoint, &Event)],
    known: Vec<StoredAlert>,
    policies: &HashMap<String, Policy>,
    now_ms: i64,
    mut new_id: impl FnMut() -> String,
) -> Plan {
    let mut slots: Vec<Slot> = Vec::with_capacity(known.len() + events.len());
    let mut by_key: HashMap<(String, String), Vec<usize>> = HashMap::new();
    for alert in known {
        by_key
            .entry((alert.endpoint_id.clone(), alert.group_key.clone()))
            .or_default()
            .push(slots.len());
        slots.push(Slot {
            alert,
            new: false,
            added: 0,
            close: false,
        });
    }

    let mut results = Vec::with_capacity(events.len());
    for (endpoint, event) in events {
        let ep = &endpoint.endpoint;
        let key = (ep.id.clone(), event.group_key.clone());
        let of_key = by_key.get(&key).cloned().unwrap_or_default();

        if event.status == EventStatus::Resolved {
            let open: Vec<usize> = of_key
                .iter()
                .copied()
                .filter(|&i| {
                    let a = &slots[i].alert;
                    a.kind == AlertKind::Alert && a.status != AlertStatus::Closed
                })
                .collect();
            for &i in &open {
                let slot = &mut slots[i];
                if !slot.new && slot.added == 0 {
                    slot.alert.version += 1; // once per batch, as `alert_change_many` bumps it
                }
                slot.alert.status = AlertStatus::Closed;
                slot.alert.closed_at_ms = Some(now_ms);
                slot.alert.auto_closed = true;
                slot.alert.next_escalation_at_ms = None;
                slot.alert.count += 1;
                slot.alert.last_seen_ms = now_ms;
                slot.added += 1;
                slot.close = true;
            }
            if let Some(&i) = open
                .iter()
                .max_by(|&&a, &&b| newest(&slots[a].alert, &slots[b].alert))
            {
                results.push(Ingested {
                    action: IngestAction::Resolved,
                    alert: slots[i].alert.clone(),
                });
                continue;
            }
        }

        let kind = match (event.status, event.kind) {
            (EventStatus::Firing, EventKind::Alert) => AlertKind::Alert,
            _ => AlertKind::Notification,
        };
        let window = match kind {
            AlertKind::Alert => ep.alert_grouping_minutes,
            AlertKind::Notification => ep.notification_grouping_minutes,
        };
        let since = now_ms.saturating_sub(i64::from(window).saturating_mul(60_000));
        let group = of_key
            .iter()
            .copied()
            .filter(|&i| {
                let a = &slots[i].alert;
                a.kind == kind
                    && a.first_seen_ms >= since
                    && (kind == AlertKind::Notification || a.status != AlertStatus::Closed)
            })
            .max_by(|&a, &b| newest(&slots[a].alert, &slots[b].alert));
        if let Some(i) = group {
            let slot = &mut slots[i];
            if !slot.new && slot.added == 0 {
                slot.alert.version += 1;
            }
            slot.alert.count += 1;
            slot.alert.last_seen_ms = now_ms;
            slot.added += 1;
            results.push(Ingested {
                action: IngestAction::Grouped,
                alert: slot.alert.clone(),
            });
            continue;
        }

        let policy = match (&ep.escalation_policy_id, kind) {
            (Some(id), AlertKind::Alert) => policies.get(id).cloned().unwrap_or_else(Policy::default_chain),
            _ => Policy::default_chain(),
        };
        let alert = open(endpoint, event, kind, policy, new_id(), now_ms);
        by_key.entry(key).or_default().push(slots.len());
        results.push(Ingested {
            action: IngestAction::Created,
            alert: alert.clone(),
        });
        slots.push(Slot {
            alert,
            new: true,
            added: 0,
            close: false,
        });
    }

    let mut plan = Plan {
        results,
        ..Plan::default()
    };
    for slot in slots {
        if slot.new {
            plan.inserts.push(slot.alert);
        } else if slot.added > 0 {
            plan.changes.push(Change {
                id: slot.alert.id,
                account_id: slot.alert.account_id,
                added: slot.added,
                close: slot.close,
            });
        }
    }
    plan
}

/// Orders alerts by first seen, then id (ids grow with creation time).
fn newest(a: &StoredAlert, b: &StoredAlert) -> std::cmp::Ordering {
    (a.first_seen_ms, &a.id).cmp(&(b.first_seen_ms, &b.id))
}

/// A new alert (open, its first step due now) or notification (closed at once) for `event`.
fn open(
    endpoint: &IngestEndpoint,
    event: &Event,
    kind: AlertKind,
    policy: Policy,
    id: String,
    now_ms: i64,
) -> StoredAlert {
    let (status, closed_at_ms, next_escalation_at_ms) = match kind {
        AlertKind::Alert => (AlertStatus::Open, None, Some(now_ms)),
        AlertKind::Notification => (AlertStatus::Closed, Some(now_ms), None),
    };
    StoredAlert {
        id,
        account_id: endpoint.account_id.clone(),
        endpoint_id: endpoint.endpoint.id.clone(),
        team_id: endpoint.endpoint.team_id.clone(),
        policy,
        group_key: event.group_key.clone(),
        kind,
        status,
        title: event.title.clone(),
        text: event.text.clone(),
        severity: event.severity.as_str().to_owned(),
        source: event.source.clone(),
        fields: event.fields.clone(),
        details: Details {
            account: event.account.clone(),
            region: event.region.clone(),
            resource: event.resource.clone(),
            link: event.link.clone(),
        },
        count: 1,
        first_seen_ms: now_ms,
        last_seen_ms: now_ms,
        acknowledged_by: None,
        acknowledged_at_ms: None,
        closed_by: None,
        closed_at_ms,
        auto_closed: false,
        position: Position::START,
        next_escalation_at_ms,
        notified: Vec::new(),
        delivering: None,
        version: 1,
        problem: None,
        slack_delivery: None,
        snoozed_until_ms: None,
        snoozed_by: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{event::Severity, store::StoredEndpoint};

    const NOW: i64 = 10_000_000;

    fn endpoint() -> IngestEndpoint {
        IngestEndpoint {
            account_id: "acc".into(),
            endpoint: StoredEndpoint {
                id: "ep".into(),
                team_id: "team".into(),
                escalation_policy_id: None,
                name: "e".into(),
                allowed_topic_arns: vec![],
                alert_grouping_minutes: 60,
                notification_grouping_minutes: 5,
                ingest_token: "t".into(),
            },
        }
    }

    fn event(key: &str, status: EventStatus) -> Event {
        Event {
            title: key.into(),
            text: String::new(),
            severity: Severity::Error,
            source: "webhook".into(),
            account: None,
            region: None,
            resource: None,
            link: None,
            group_key: key.into(),
            status,
            kind: EventKind::Alert,
            fields: Default::default(),
        }
    }

    fn run(events: &[Event], known: Vec<StoredAlert>) -> Plan {
        let ep = endpoint();
        let items: Vec<_> = events.iter().map(|e| (&ep, e)).collect();
        let mut n = 0;
        plan(&items, known, &HashMap::new(), NOW, || {
            n += 1;
            format!("alert_new{n}")
        })
    }

    fn actions(p: &Plan) -> Vec<(IngestAction, &str)> {
        p.results
            .iter()
            .map(|r| (r.action, r.alert.id.as_str()))
            .collect()
    }

    #[test]
    fn events_of_one_key_in_one_batch_make_one_alert() {
        let p = run(
            &[
                event("a", EventStatus::Firing),
                event("a", EventStatus::Firing),
                event("b", EventStatus::Firing),
            ],
            vec![],
        );
        assert_eq!(
            actions(&p),
            [
                (IngestAction::Created, "alert_new1"),
                (IngestAction::Grouped, "alert_new1"),
                (IngestAction::Created, "alert_new2")
            ]
        );
        assert_eq!(p.inserts.len(), 2);
        assert_eq!(
            p.inserts[0].count, 2,
            "the insert carries the count at the end of the batch"
        );
        assert_eq!(p.escalate().count(), 2);
        assert!(p.changes.is_empty() && p.closed().next().is_none());
    }

    #[test]
    fn a_recovery_in_the_same_batch_closes_the_new_alert_and_it_never_escalates() {
        let p = run(
            &[event("a", EventStatus::Firing), event("a", EventStatus::Resolved)],
            vec![],
        );
        assert_eq!(
            actions(&p),
            [
                (IngestAction::Created, "alert_new1"),
                (IngestAction::Resolved, "alert_new1")
            ]
        );
        let a = &p.inserts[0];
        assert_eq!(
            (a.status, a.auto_closed, a.count, a.next_escalation_at_ms),
            (AlertStatus::Closed, true, 2, None)
        );
        assert!(
            p.escalate().next().is_none(),
            "no timer for an alert closed before it was written"
        );
    }

    #[test]
    fn stored_alerts_are_joined_closed_and_their_timers_cancelled() {
        let mut stored = run(&[event("a", EventStatus::Firing)], vec![]).inserts.remove(0);
        stored.id = "alert_old".into();
        stored.first_seen_ms = NOW - 30 * 60_000; // inside the 60-minute window
        let p = run(
            &[event("a", EventStatus::Firing), event("a", EventStatus::Resolved)],
            vec![stored.clone()],
        );
        assert_eq!(
            actions(&p),
            [
                (IngestAction::Grouped, "alert_old"),
                (IngestAction::Resolved, "alert_old")
            ]
        );
        assert_eq!(
            p.changes,
            [Change {
                id: "alert_old".into(),
                account_id: "acc".into(),
                added: 2,
                close: true
            }]
        );
        assert_eq!(p.closed().collect::<Vec<_>>(), ["alert_old"]);
        assert!(p.inserts.is_empty());

        // Outside the window a firing event opens a new alert; a recovery still closes the old one.
        stored.first_seen_ms = NOW - 61 * 60_000;
        let p = run(
            &[event("a", EventStatus::Firing), event("a", EventStatus::Resolved)],
            vec![stored],
        );
        assert_eq!(
            actions(&p),
            [
                (IngestAction::Created, "alert_new1"),
                (IngestAction::Resolved, "alert_new1")
            ]
        );
        assert_eq!(
            p.closed().collect::<Vec<_>>(),
            ["alert_old"],
            "every open alert of the key is closed"
        );
    }

    #[test]
    fn a_recovery_with_nothing_open_is_a_notification_and_groups_with_the_next() {
        let p = run(
            &[
                event("a", EventStatus::Resolved),
                event("a", EventStatus::Resolved),
            ],
            vec![],
        );
        assert_eq!(
            actions(&p),
            [
                (IngestAction::Created, "alert_new1"),
                (IngestAction::Grouped, "alert_new1")
            ]
        );
        assert_eq!(p.inserts[0].kind, AlertKind::Notification);
        assert_eq!(p.inserts[0].status, AlertStatus::Closed);
        assert!(p.escalate().next().is_none());
    }
}
