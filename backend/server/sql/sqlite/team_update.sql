UPDATE teams SET name = ?, slack_channel = ?, members = ?, description = ?, updated_at_ms = ?
WHERE account_id = ? AND id = ?
RETURNING id, name, slack_channel, members, description
