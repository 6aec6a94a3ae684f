-- The history lines of alert ?1 after id ?2, oldest first.
SELECT id, alert_id, at_ms, line FROM alert_log WHERE alert_id = ?1 AND id > ?2 ORDER BY id
