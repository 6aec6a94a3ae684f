-- One page of tenant $1's jobs in state $2 with id greater than the cursor $3, oldest first: a seek on
-- queue_jobs_tenant, however many jobs other tenants have.
SELECT id, kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, attempts, fence,
       lease_owner, lease_expires_at, last_error, created_at, updated_at, tenant
FROM queue_jobs
WHERE tenant = $1 AND state = $2 AND id > $3
ORDER BY id
LIMIT $4
