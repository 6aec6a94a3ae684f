-- The pings of one group commit: ?2 is a JSON array of token hashes; one indexed write per heartbeat
-- (ping_token is unique), nothing else. The hash comes back so each ping gets its own heartbeat.
UPDATE heartbeats SET last_beat_ms = ?1 WHERE ping_token IN (SELECT value FROM json_each(?2))
RETURNING ping_token, account_id, id, team_id, escalation_policy_id, name, missed_at_ms, missed_alert_id
