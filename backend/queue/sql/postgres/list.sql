-- One page of jobs in state $1 with id greater than the cursor $2, oldest first.
SELECT id, kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, attempts, fence,
       lease_owner, lease_expires_at, last_error, created_at, updated_at, tenant
FROM queue_jobs
WHERE state = $1 AND id > $2
ORDER BY id
LIMIT $3
