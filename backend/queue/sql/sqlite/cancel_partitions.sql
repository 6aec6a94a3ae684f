-- Cancels the pending jobs of the partitions of JSON array ?1 whose kind starts with ?2 (compared literally,
-- no LIKE escapes). The state IN term lets SQLite use the partial index.
DELETE FROM queue_jobs INDEXED BY queue_jobs_partition
WHERE partition_key IN (SELECT value FROM json_each(?1))
  AND state IN ('ready', 'running')
  AND state = 'ready'
  AND substr(kind, 1, length(?2)) = ?2
