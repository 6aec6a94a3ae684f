SELECT id, team_id, name, steps, repeat_count, skip_inactive, remind_after_minutes FROM escalation_policies WHERE account_id = ? AND id = ?
