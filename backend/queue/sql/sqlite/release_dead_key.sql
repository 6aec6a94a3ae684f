-- The dead job holding dedup key ?1 gives it up at ?2 (the row stays, a dead letter to look at and retry).
UPDATE queue_jobs SET dedup_key = NULL, updated_at = ?2 WHERE dedup_key = ?1 AND state = 'dead'
