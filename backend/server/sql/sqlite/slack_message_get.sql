-- The message of account ?1, kind ?2 and ref ?3.
SELECT id, account_id, alert_id, kind, ref, channel, ts, rendered_version, created_at_ms, updated_at_ms
FROM slack_messages WHERE account_id = ?1 AND kind = ?2 AND ref = ?3
