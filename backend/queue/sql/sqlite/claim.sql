-- Claims up to ?4 jobs due at ?3 and not before ?5 (the runner's floor, see runner.rs) for owner ?1 with
-- lease expiry ?2, in one statement (SQLite has one
-- writer, so the UPDATE is the lock). A partitioned job is taken only when no other job of its partition is
-- running and none earlier in the partition is ready; the check is a seek on queue_jobs_partition.
-- A job whose key lives only while it waits (Dedup::WhilePending, dedup_forever = 2) gives its key up here.
-- INDEXED BY: without statistics SQLite would rather walk every ready row by state and sort them.
UPDATE queue_jobs
SET state = 'running',
    attempts = attempts + 1,
    fence = fence + 1,
    lease_owner = ?1,
    lease_expires_at = ?2,
    dedup_key = CASE WHEN dedup_forever = 2 THEN NULL ELSE dedup_key END,
    updated_at = ?3
WHERE id IN (
    SELECT j.id
    FROM queue_jobs AS j INDEXED BY queue_jobs_due
    WHERE j.state = 'ready'
      AND j.run_at <= ?3
      AND j.run_at >= ?5
      AND (j.partition_key IS NULL OR (
          NOT EXISTS (
              SELECT 1
              FROM queue_jobs AS e INDEXED BY queue_jobs_partition
              WHERE e.partition_key = j.partition_key
                AND e.state IN ('ready', 'running')
                AND e.state = 'running'
          )
          AND NOT EXISTS (
              SELECT 1
              FROM queue_jobs AS e INDEXED BY queue_jobs_partition
              WHERE e.partition_key = j.partition_key
                AND e.state IN ('ready', 'running')
                AND e.state = 'ready'
                AND (e.order_at < j.order_at OR (e.order_at = j.order_at AND e.id < j.id))
          )
      ))
    ORDER BY j.run_at, j.id
    LIMIT ?4
)
RETURNING id, kind, payload, partition_key, attempts, fence, run_at, order_at
