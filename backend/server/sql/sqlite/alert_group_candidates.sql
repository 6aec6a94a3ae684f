-- Every stored alert a batch of events could touch (see alerts::grouping). ?1 is a JSON array of
-- {e: endpoint id, k: group key, n: start of the endpoint's notification window}, each pair once: for each,
-- the alerts of that endpoint and key that are not closed (whatever their age: a recovery closes them all),
-- and its notifications first seen at or after n.
SELECT a.id, a.account_id, a.endpoint_id, a.team_id, a.policy, a.group_key, a.kind, a.status, a.title, a.text, a.severity, a.source, a.fields, a.details, a.event_count, a.first_seen_ms, a.last_seen_ms, a.acknowledged_by, a.acknowledged_at_ms, a.closed_by, a.closed_at_ms, a.auto_closed, a.esc_round, a.esc_step, a.next_escalation_at_ms, a.notified, a.delivering, a.version, a.problem, a.slack_delivery, a.snoozed_until_ms, a.snoozed_by
FROM json_each(?1) AS j
JOIN alerts AS a INDEXED BY alerts_group
  ON a.endpoint_id = json_extract(j.value, '$.e') AND a.group_key = json_extract(j.value, '$.k') AND a.kind = 'alert'
WHERE a.status <> 'closed'
UNION ALL
SELECT a.id, a.account_id, a.endpoint_id, a.team_id, a.policy, a.group_key, a.kind, a.status, a.title, a.text, a.severity, a.source, a.fields, a.details, a.event_count, a.first_seen_ms, a.last_seen_ms, a.acknowledged_by, a.acknowledged_at_ms, a.closed_by, a.closed_at_ms, a.auto_closed, a.esc_round, a.esc_step, a.next_escalation_at_ms, a.notified, a.delivering, a.version, a.problem, a.slack_delivery, a.snoozed_until_ms, a.snoozed_by
FROM json_each(?1) AS j
JOIN alerts AS a INDEXED BY alerts_group
  ON a.endpoint_id = json_extract(j.value, '$.e') AND a.group_key = json_extract(j.value, '$.k')
  AND a.kind = 'notification' AND a.first_seen_ms >= json_extract(j.value, '$.n')
