-- The first ping after a miss takes the miss back; of concurrent pings only one does.
UPDATE heartbeats SET missed_at_ms = NULL, missed_alert_id = NULL WHERE id = $1 AND missed_at_ms IS NOT NULL
