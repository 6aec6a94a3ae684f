-- One more event joined alert $1 at $2.
UPDATE alerts SET event_count = event_count + 1, last_seen_ms = $2, updated_at_ms = $2
WHERE id = $1
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering
