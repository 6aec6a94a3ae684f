UPDATE heartbeats SET missed_alert_id = $1 WHERE id = $2 AND missed_at_ms IS NOT NULL
