-- Snoozes open alert $2 of account $1 until $3 by $4 at $5: its pending step (while the chain has not
-- ended) is next due when the snooze ends. No row unless it is an open alert.
UPDATE alerts SET snoozed_until_ms = $3, snoozed_by = $4,
    next_escalation_at_ms = CASE WHEN next_escalation_at_ms IS NULL THEN NULL ELSE $3 END,
    version = version + 1, updated_at_ms = $5
WHERE account_id = $1 AND id = $2 AND kind = 'alert' AND status = 'open'
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
