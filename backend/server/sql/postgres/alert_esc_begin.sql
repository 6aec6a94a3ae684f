-- Records the notification about to be delivered for alert $1 (step $4, $5) and the members notified so far,
-- at $6: only while the alert is open, still at that step, and no delivery of it has begun (an action or
-- another attempt that came first makes this match nothing).
UPDATE alerts SET delivering = $2, notified = $3, updated_at_ms = $6
WHERE id = $1 AND status = 'open' AND esc_round = $4 AND esc_step = $5 AND delivering IS NULL
