-- Holds alert $1 (of account $2) for window $3 from $4 until $5; a second hold of the same alert is ignored.
INSERT INTO maintenance_holds (alert_id, account_id, window_id, held_at_ms, until_ms)
VALUES ($1, $2, $3, $4, $5)
ON CONFLICT (alert_id) DO NOTHING
