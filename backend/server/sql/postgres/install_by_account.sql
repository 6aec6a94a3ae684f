-- The Slack install of account $1.
SELECT team_id, account_id, team_name, bot_user_id, bot_token, active, inactive_reason, installed_at_ms,
    updated_at_ms
FROM slack_installs WHERE account_id = $1
