-- A new alert or notification.
INSERT INTO alerts (id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity,
    source, fields, details, event_count, first_seen_ms, last_seen_ms, closed_at_ms, next_escalation_at_ms,
    created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 1, $15, $15, $16, $17, $15, $15)
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering
