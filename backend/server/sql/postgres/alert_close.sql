-- Closes alert $2 of account $1 by $3 at $4; no row when it is closed already (or not an alert).
UPDATE alerts SET status = 'closed', closed_by = $3, closed_at_ms = $4, next_escalation_at_ms = NULL,
    snoozed_until_ms = NULL, snoozed_by = NULL,
    version = version + 1, updated_at_ms = $4
WHERE account_id = $1 AND id = $2 AND kind = 'alert' AND status <> 'closed'
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
