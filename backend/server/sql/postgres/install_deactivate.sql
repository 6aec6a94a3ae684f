-- Team $1 uninstalled Klaxon or revoked its token ($2, why) by an event of time $3: inactive, unless it was
-- (re)installed after the event.
UPDATE slack_installs SET active = 0, inactive_reason = $2, updated_at_ms = $3
WHERE team_id = $1 AND active = 1 AND updated_at_ms <= $3
