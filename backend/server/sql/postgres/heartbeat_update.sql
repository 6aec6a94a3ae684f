-- Resuming a paused heartbeat restarts its clock: the time it was paused is not a miss.
UPDATE heartbeats SET escalation_policy_id = $1, name = $2, interval_minutes = $3, grace_minutes = $4,
    clock_from_ms = CASE WHEN paused <> 0 AND $5 = 0 THEN $6 ELSE clock_from_ms END,
    paused = $5, updated_at_ms = $6
WHERE account_id = $7 AND id = $8
RETURNING id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, paused, ping_token_sealed, last_beat_ms, missed_at_ms
