INSERT INTO escalation_policies (id, account_id, team_id, name, steps, repeat_count, skip_inactive, remind_after_minutes, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)
RETURNING id, team_id, name, steps, repeat_count, skip_inactive, remind_after_minutes
