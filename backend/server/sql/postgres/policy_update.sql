UPDATE escalation_policies SET name = $1, steps = $2, repeat_count = $3, skip_inactive = $4, updated_at_ms = $5
WHERE account_id = $6 AND id = $7
RETURNING id, team_id, name, steps, repeat_count, skip_inactive
