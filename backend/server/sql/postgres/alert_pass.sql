-- Takes alert $2 of account $1 for a pass at $3 (the current step fires now); no row unless it is open.
-- A pass ends a snooze: the person hands the alert on now.
UPDATE alerts SET version = version + 1, next_escalation_at_ms = $3, updated_at_ms = $3,
    snoozed_until_ms = NULL, snoozed_by = NULL
WHERE account_id = $1 AND id = $2 AND kind = 'alert' AND status = 'open'
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
