-- Puts running jobs whose lease expired before ?1 back to ready; their attempt stays counted.
UPDATE queue_jobs INDEXED BY queue_jobs_lease
SET state = 'ready',
    last_error = 'lease of ' || COALESCE(lease_owner, '?') || ' expired',
    lease_owner = NULL,
    lease_expires_at = NULL,
    updated_at = ?1
WHERE state = 'running' AND lease_expires_at <= ?1
