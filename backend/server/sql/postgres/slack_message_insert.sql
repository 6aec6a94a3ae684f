-- Records a message Klaxon posted (see 0004_slack.sql); a second record of the same (account, kind, ref)
-- keeps the first.
INSERT INTO slack_messages (account_id, alert_id, kind, ref, channel, ts, rendered_version, created_at_ms, updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $8)
ON CONFLICT (account_id, kind, ref) DO NOTHING
