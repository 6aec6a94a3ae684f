INSERT INTO teams (id, account_id, name, slack_channel, members, description, created_at_ms, updated_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id, name, slack_channel, members, description
