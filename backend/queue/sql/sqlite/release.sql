-- Gives a running job back (graceful shutdown): ready at once, and the attempt is not counted.
UPDATE queue_jobs
SET state = 'ready',
    attempts = attempts - 1,
    lease_owner = NULL,
    lease_expires_at = NULL,
    updated_at = ?3
WHERE id = ?1 AND fence = ?2 AND state = 'running'
