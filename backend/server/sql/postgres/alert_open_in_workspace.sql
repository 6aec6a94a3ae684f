-- The alerts not closed of a Slack workspace, newest first, at most $2: of account $1 (an installed
-- workspace), or when $1 is NULL of every account without an install (the configured workspace).
SELECT id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
FROM alerts
WHERE kind = 'alert' AND status <> 'closed'
  AND (($1::text IS NOT NULL AND account_id = $1::text)
    OR ($1::text IS NULL AND account_id NOT IN (SELECT account_id FROM slack_installs)))
ORDER BY first_seen_ms DESC, id DESC
LIMIT $2
