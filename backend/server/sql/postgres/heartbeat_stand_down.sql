-- Heartbeat $2 of account $1 is paused or about to be deleted: its miss is taken back (a resumed heartbeat
-- starts a fresh clock; heartbeat_missed_alert read which alert to close first).
UPDATE heartbeats SET missed_at_ms = NULL, missed_alert_id = NULL
WHERE account_id = $1 AND id = $2 AND missed_at_ms IS NOT NULL
