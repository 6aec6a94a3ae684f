-- Releases held alert ?1 at ?2, once: no row when it was released before.
UPDATE maintenance_holds SET released_at_ms = ?2 WHERE alert_id = ?1 AND released_at_ms IS NULL
RETURNING alert_id
