-- The missed-alert heartbeat $2 of account $1 opened and no ping has taken back yet (locked until the miss is
-- taken back in the same transaction).
SELECT missed_alert_id FROM heartbeats
WHERE account_id = $1 AND id = $2 AND missed_at_ms IS NOT NULL
FOR UPDATE
