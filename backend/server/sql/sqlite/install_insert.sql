-- A first install of team ?1 for the new account ?2 (nothing when the team was installed meanwhile).
INSERT INTO slack_installs (team_id, account_id, team_name, bot_user_id, bot_token, active, inactive_reason,
    installed_at_ms, updated_at_ms)
VALUES (?1, ?2, ?3, ?4, ?5, 1, NULL, ?6, ?6)
ON CONFLICT (team_id) DO NOTHING
