-- The missed-alert heartbeat ? of account ? opened and no ping has taken back yet (locked until the miss is
-- taken back in the same transaction).
SELECT missed_alert_id FROM heartbeats
WHERE account_id = ? AND id = ? AND missed_at_ms IS NOT NULL
