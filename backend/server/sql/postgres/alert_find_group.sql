-- The newest alert of endpoint $1 and group key $2 of kind $3 first seen at or after $4 that an event joins:
-- an alert that is not closed, or any notification.
SELECT id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering FROM alerts
WHERE endpoint_id = $1 AND group_key = $2 AND kind = $3 AND first_seen_ms >= $4
  AND (kind = 'notification' OR status <> 'closed')
ORDER BY first_seen_ms DESC, id DESC
LIMIT 1
