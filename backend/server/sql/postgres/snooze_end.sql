-- Ends the snooze of alert $1 that was to end at $2, at $3: only that snooze (one replaced by a later snooze,
-- or ended by an action, leaves no row). An open alert whose chain has not ended is next due now.
UPDATE alerts SET snoozed_until_ms = NULL, snoozed_by = NULL,
    next_escalation_at_ms = CASE WHEN status = 'open' AND next_escalation_at_ms IS NOT NULL THEN $3
        ELSE next_escalation_at_ms END,
    version = version + 1, updated_at_ms = $3
WHERE id = $1 AND snoozed_until_ms = $2
RETURNING id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
