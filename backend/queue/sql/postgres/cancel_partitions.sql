-- Cancels the pending jobs of the partitions of JSON array $1 whose kind starts with $2 (compared literally,
-- no LIKE escapes).
DELETE FROM queue_jobs
WHERE partition_key IN (SELECT json_array_elements_text($1::json))
  AND state = 'ready'
  AND substr(kind, 1, length($2)) = $2
