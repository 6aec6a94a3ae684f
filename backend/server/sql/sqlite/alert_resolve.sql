-- A recovery event for endpoint ?1 and group key ?2 at ?3: every alert of that key not yet closed is closed
-- as auto-closed.
UPDATE alerts SET status = 'closed', closed_at_ms = ?3, auto_closed = 1, event_count = event_count + 1,
    last_seen_ms = ?3, next_escalation_at_ms = NULL, updated_at_ms = ?3
WHERE endpoint_id = ?1 AND group_key = ?2 AND kind = 'alert' AND status <> 'closed'
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering
