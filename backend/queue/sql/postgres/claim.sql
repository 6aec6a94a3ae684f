-- Claims up to $4 due jobs for owner $1 with lease expiry $2 at time $3. SKIP LOCKED lets replicas claim
-- side by side without waiting on each other's rows. A partitioned job is taken only when no other job of
-- its partition is running and none earlier in the partition is ready (a seek on queue_jobs_partition);
-- a concurrent claimer that locked the partition's head makes its later jobs fail this check, because in its
-- snapshot the head is still ready.
WITH picked AS (
    SELECT j.id
    FROM queue_jobs AS j
    WHERE j.state = 'ready'
      AND j.run_at <= $3
      AND (j.partition_key IS NULL OR (
          NOT EXISTS (
              SELECT 1
              FROM queue_jobs AS e
              WHERE e.partition_key = j.partition_key
                AND e.state IN ('ready', 'running')
                AND e.state = 'running'
          )
          AND NOT EXISTS (
              SELECT 1
              FROM queue_jobs AS e
              WHERE e.partition_key = j.partition_key
                AND e.state IN ('ready', 'running')
                AND e.state = 'ready'
                AND (e.order_at < j.order_at OR (e.order_at = j.order_at AND e.id < j.id))
          )
      ))
    ORDER BY j.run_at, j.id
    LIMIT $4
    FOR UPDATE OF j SKIP LOCKED
)
UPDATE queue_jobs AS q
SET state = 'running',
    attempts = q.attempts + 1,
    fence = q.fence + 1,
    lease_owner = $1,
    lease_expires_at = $2,
    updated_at = $3
FROM picked
WHERE q.id = picked.id
RETURNING q.id, q.kind, q.payload, q.partition_key, q.attempts, q.fence, q.run_at
