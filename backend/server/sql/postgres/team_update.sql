UPDATE teams SET name = $1, slack_channel = $2, members = $3, description = $4, updated_at_ms = $5
WHERE account_id = $6 AND id = $7
RETURNING id, name, slack_channel, members, description
