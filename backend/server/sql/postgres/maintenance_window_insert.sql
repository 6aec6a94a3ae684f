INSERT INTO maintenance_windows (id, account_id, team_id, endpoint_ids, starts_at_ms, ends_at_ms, cron,
    duration_minutes, time_zone, description, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)
RETURNING id, team_id, endpoint_ids, starts_at_ms, ends_at_ms, cron, duration_minutes, time_zone, description
