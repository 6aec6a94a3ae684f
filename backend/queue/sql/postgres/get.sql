SELECT id, kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, attempts, fence,
       lease_owner, lease_expires_at, last_error, created_at, updated_at, tenant
FROM queue_jobs
WHERE id = $1
