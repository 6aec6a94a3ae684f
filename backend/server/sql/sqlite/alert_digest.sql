-- The alerts of account ?1 in the digest of channel ?2 (of the teams posting there) first seen in
-- [?3, ?4), newest first, at most ?5.
SELECT id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity, source, fields, details, event_count, first_seen_ms, last_seen_ms, acknowledged_by, acknowledged_at_ms, closed_by, closed_at_ms, auto_closed, esc_round, esc_step, next_escalation_at_ms, notified, delivering, version, problem, slack_delivery, snoozed_until_ms, snoozed_by
FROM alerts
WHERE account_id = ?1 AND slack_delivery = 'digest'
  AND team_id IN (SELECT id FROM teams WHERE account_id = ?1 AND slack_channel = ?2)
  AND first_seen_ms >= ?3 AND first_seen_ms < ?4
ORDER BY id DESC
LIMIT ?5
