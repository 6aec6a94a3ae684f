UPDATE escalation_policies SET name = ?, steps = ?, repeat_count = ?, skip_inactive = ?, remind_after_minutes = ?, updated_at_ms = ?
WHERE account_id = ? AND id = ?
RETURNING id, team_id, name, steps, repeat_count, skip_inactive, remind_after_minutes
