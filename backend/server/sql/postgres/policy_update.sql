UPDATE escalation_policies SET name = $1, steps = $2, repeat_count = $3, skip_inactive = $4, remind_after_minutes = $5, updated_at_ms = $6
WHERE account_id = $7 AND id = $8
RETURNING id, team_id, name, steps, repeat_count, skip_inactive, remind_after_minutes
