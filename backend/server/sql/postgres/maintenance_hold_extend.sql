-- The window of held alert $1 still covers it: it is held until $2 instead.
UPDATE maintenance_holds SET until_ms = $2 WHERE alert_id = $1 AND released_at_ms IS NULL
