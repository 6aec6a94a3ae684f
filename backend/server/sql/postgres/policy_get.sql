SELECT id, team_id, name, steps, repeat_count, skip_inactive FROM escalation_policies WHERE account_id = $1 AND id = $2
