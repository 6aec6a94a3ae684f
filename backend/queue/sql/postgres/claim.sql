-- Claims up to $4 jobs due at $3 and not before $5 for owner $1 with lease expiry $2. SKIP LOCKED lets
-- replicas claim side by side without waiting on each other's rows. A partitioned job is taken only when no
-- other job of its partition is running and none earlier in the partition is ready: one seek on
-- queue_jobs_partition per candidate (two separate NOT EXISTS let the planner hash every running row through
-- queue_jobs_lease instead, a walk over every dead entry that index has collected). A concurrent claimer that
-- locked the partition's head makes its later jobs fail this check, because in its snapshot the head is still
-- ready.
-- A job whose key lives only while it waits (Dedup::WhilePending, dedup_forever = 2) gives its key up here.
-- $5 is the runner's floor (see runner.rs): the scan of queue_jobs_due starts there instead of at the index's
-- left edge, where every job claimed since the last vacuum has left a dead entry to step over.
WITH picked AS (
    SELECT j.id
    FROM queue_jobs AS j
    WHERE j.state = 'ready'
      AND j.run_at <= $3
      AND j.run_at >= $5
      AND (j.partition_key IS NULL OR NOT EXISTS (
          SELECT 1
          FROM queue_jobs AS e
          WHERE e.partition_key = j.partition_key
            AND e.state IN ('ready', 'running')
            AND e.id <> j.id
            AND (e.state = 'running' OR e.order_at < j.order_at OR (e.order_at = j.order_at AND e.id < j.id))
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
    dedup_key = CASE WHEN q.dedup_forever = 2 THEN NULL ELSE q.dedup_key END,
    updated_at = $3
FROM picked
WHERE q.id = picked.id
RETURNING q.id, q.kind, q.payload, q.partition_key, q.attempts, q.fence, q.run_at, q.order_at
