-- Cancels the pending jobs of partition ?1 whose kind starts with ?2 (compared literally, no LIKE escapes).
DELETE FROM queue_jobs INDEXED BY queue_jobs_partition
WHERE partition_key = ?1
  AND state IN ('ready', 'running')
  AND state = 'ready'
  AND substr(kind, 1, length(?2)) = ?2
