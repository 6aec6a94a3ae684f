INSERT INTO teams (id, account_id, name, slack_channel, members, description, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
RETURNING id, name, slack_channel, members, description
