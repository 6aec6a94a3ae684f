-- Gives a dead job a fresh set of attempts, due at $2; it keeps its place in its partition.
UPDATE queue_jobs
SET state = 'ready',
    attempts = 0,
    run_at = $2,
    updated_at = $2
WHERE id = $1 AND state = 'dead'
