-- A ping: one indexed write (ping_token is unique), nothing else unless the heartbeat was missed.
UPDATE heartbeats SET last_beat_ms = $1 WHERE ping_token = $2
RETURNING account_id, id, team_id, escalation_policy_id, name, missed_at_ms, missed_alert_id
