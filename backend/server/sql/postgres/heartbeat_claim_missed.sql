-- The heartbeats overdue at $1 (no ping for interval + grace policy minutes of $2 ms since the later of the
-- last ping and the clock's start), marked missed in the same statement: of two sweepers only one opens each
-- alert, and a ping that lands meanwhile wins (the condition is checked again on the row as written). At most
-- $3 per statement.
UPDATE heartbeats SET missed_at_ms = $1
WHERE id IN (
    SELECT id FROM heartbeats
    WHERE paused = 0 AND missed_at_ms IS NULL
        AND GREATEST(COALESCE(last_beat_ms, clock_from_ms), clock_from_ms)
            + (interval_minutes + grace_minutes) * $2 < $1
    ORDER BY id LIMIT $3
) AND paused = 0 AND missed_at_ms IS NULL
    AND GREATEST(COALESCE(last_beat_ms, clock_from_ms), clock_from_ms)
        + (interval_minutes + grace_minutes) * $2 < $1
RETURNING account_id, id, team_id, escalation_policy_id, name, interval_minutes, grace_minutes, last_beat_ms,
    clock_from_ms
