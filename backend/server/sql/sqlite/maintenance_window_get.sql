SELECT id, team_id, endpoint_ids, starts_at_ms, ends_at_ms, cron, duration_minutes, time_zone, description FROM maintenance_windows WHERE account_id = ?1 AND id = ?2
