SELECT id, team_id, endpoint_ids, starts_at_ms, ends_at_ms, cron, duration_minutes, time_zone, description FROM maintenance_windows
WHERE account_id = ?1 AND (?2 IS NULL OR team_id = ?2) AND id > ?3
ORDER BY id LIMIT ?4
