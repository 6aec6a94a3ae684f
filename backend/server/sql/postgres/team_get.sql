SELECT id, name, slack_channel, members, description FROM teams WHERE account_id = $1 AND id = $2
