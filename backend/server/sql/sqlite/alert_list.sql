SELECT id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by FROM alerts
WHERE account_id = ?1 AND (?2 IS NULL OR status = ?2) AND id > ?3
ORDER BY id LIMIT ?4
