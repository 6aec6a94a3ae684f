-- Locks alert $1 for its step (round $2, step $3) at $4: only while it is open, still at that step, and no
-- delivery of it has begun, and not snoozed (see 0010_snooze.sql). Being a write, it also takes the lock that
-- orders this step against actions.
UPDATE alerts SET updated_at_ms = $4
WHERE id = $1 AND status = 'open' AND esc_round = $2 AND esc_step = $3 AND delivering IS NULL
  AND (snoozed_until_ms IS NULL OR snoozed_until_ms <= $4)
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
