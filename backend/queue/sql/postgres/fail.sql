-- Records a failed attempt: state $3 ('ready' to retry at $4, or 'dead'), error $5, fenced by $2.
UPDATE queue_jobs
SET state = $3,
    run_at = $4,
    last_error = $5,
    lease_owner = NULL,
    lease_expires_at = NULL,
    updated_at = $6
WHERE id = $1 AND fence = $2 AND state = 'running'
