-- The messages of alert ?1, oldest first.
SELECT id, account_id, alert_id, kind, ref, channel, ts, rendered_version, created_at_ms, updated_at_ms
FROM slack_messages WHERE alert_id = ?1 ORDER BY id
