SELECT id, team_id, name, steps, repeat_count, skip_inactive, remind_after_minutes FROM escalation_policies
WHERE account_id = ?1 AND (?2 IS NULL OR team_id = ?2) AND (?3 IS NULL OR name = ?3) AND id > ?4
ORDER BY id LIMIT ?5
