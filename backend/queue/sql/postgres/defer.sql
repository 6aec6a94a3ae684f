-- Gives a running job back to run again at $4 without counting the attempt (JobError::Defer: not a
-- failure, "not yet"). It keeps its place in its partition.
UPDATE queue_jobs
SET state = 'ready',
    attempts = attempts - 1,
    run_at = $4,
    lease_owner = NULL,
    lease_expires_at = NULL,
    updated_at = $3
WHERE id = $1 AND fence = $2 AND state = 'running'
