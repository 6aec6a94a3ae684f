SELECT id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, paused, ping_token_sealed, last_beat_ms, missed_at_ms FROM heartbeats WHERE account_id = ? AND id = ?
