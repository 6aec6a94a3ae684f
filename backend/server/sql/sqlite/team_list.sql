SELECT id, name, slack_channel, members, description FROM teams
WHERE account_id = ?1 AND (?2 IS NULL OR name = ?2) AND id > ?3
ORDER BY id LIMIT ?4
