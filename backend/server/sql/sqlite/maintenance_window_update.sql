UPDATE maintenance_windows SET team_id = ?3, endpoint_ids = ?4, starts_at_ms = ?5, ends_at_ms = ?6, cron = ?7,
    duration_minutes = ?8, time_zone = ?9, description = ?10, updated_at_ms = ?11
WHERE account_id = ?1 AND id = ?2
RETURNING id, team_id, endpoint_ids, starts_at_ms, ends_at_ms, cron, duration_minutes, time_zone, description
