-- The windows of account ?1 that may be in effect at ?2: one-off windows around ?2, and every recurring one
-- (whether an occurrence is in effect is decided in code, from the cron expression).
SELECT id, team_id, endpoint_ids, starts_at_ms, ends_at_ms, cron, duration_minutes, time_zone, description FROM maintenance_windows
WHERE account_id = ?1 AND (cron IS NOT NULL OR (starts_at_ms <= ?2 AND ?2 < ends_at_ms))
ORDER BY id
