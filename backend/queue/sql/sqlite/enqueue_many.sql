-- A batch as one JSON array of {kind, payload, partition, dedup_key, forever, run_at}: one statement, one
-- fsync, whatever the batch size. Rows keep the array's order, so equal run_at values keep it in a partition.
INSERT INTO queue_jobs
    (kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, order_at, created_at, updated_at)
SELECT
    json_extract(value, '$.kind'),
    json_extract(value, '$.payload'),
    json_extract(value, '$.partition'),
    json_extract(value, '$.dedup_key'),
    json_extract(value, '$.forever'),
    'ready',
    json_extract(value, '$.run_at'),
    json_extract(value, '$.run_at'),
    ?2,
    ?2
FROM json_each(?1)
WHERE true
ORDER BY key
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
