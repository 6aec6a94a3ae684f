-- The alerts window $1 still holds.
SELECT alert_id, account_id, until_ms FROM maintenance_holds WHERE window_id = $1 AND released_at_ms IS NULL
ORDER BY alert_id
