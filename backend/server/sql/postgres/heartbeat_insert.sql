INSERT INTO heartbeats (id, account_id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, paused,
    ping_token, ping_token_sealed, clock_from_ms, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)
RETURNING id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, paused, ping_token_sealed, last_beat_ms, missed_at_ms
