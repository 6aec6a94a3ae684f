INSERT INTO heartbeats (id, account_id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, paused,
    ping_token, ping_token_sealed, clock_from_ms, created_at_ms, updated_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, paused, ping_token_sealed, last_beat_ms, missed_at_ms
