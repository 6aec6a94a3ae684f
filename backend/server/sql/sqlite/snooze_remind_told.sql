-- Records reminder ?2 of alert ?1 as told at ?3: only while the alert is acknowledged and that reminder was not
-- told yet (no row otherwise).
UPDATE alerts SET reminded_period = ?2, updated_at_ms = ?3
WHERE id = ?1 AND status = 'acknowledged' AND reminded_period < ?2
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
