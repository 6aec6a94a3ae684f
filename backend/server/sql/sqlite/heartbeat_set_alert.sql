UPDATE heartbeats SET missed_alert_id = ? WHERE id = ? AND missed_at_ms IS NOT NULL
