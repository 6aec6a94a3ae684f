-- A reinstall of team $1: the new token $4 (sealed), active again; the account stays.
UPDATE slack_installs
SET team_name = $2, bot_user_id = $3, bot_token = $4, active = 1, inactive_reason = NULL, updated_at_ms = $5
WHERE team_id = $1
