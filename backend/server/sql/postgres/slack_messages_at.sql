-- The messages of account $1 recorded at channel $2 and ts $3 (a digest and the pages it holds).
SELECT id, account_id, alert_id, kind, ref, channel, ts, rendered_version, created_at_ms, updated_at_ms
FROM slack_messages WHERE account_id = $1 AND channel = $2 AND ts = $3 ORDER BY id
