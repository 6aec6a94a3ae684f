-- Extends every lease held by owner ?1 to ?2: one statement per process, however many jobs it runs.
UPDATE queue_jobs INDEXED BY queue_jobs_lease
SET lease_expires_at = ?2
WHERE state = 'running' AND lease_owner = ?1
