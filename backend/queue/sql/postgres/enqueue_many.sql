-- A batch as one JSON array of {kind, payload, partition, dedup_key, forever, run_at, tenant}: one statement
-- whatever the batch size. Rows keep the array's order, so equal run_at values keep it in a partition.
-- One pg_notify per statement, not per row: the uncorrelated subquery runs once, at the first row inserted, and
-- not at all when none was. The NOTIFY is delivered when the caller's transaction commits.
WITH ins AS (
    INSERT INTO queue_jobs
        (kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, order_at, created_at, updated_at, tenant)
    SELECT
        x.v ->> 'kind',
        x.v ->> 'payload',
        x.v ->> 'partition',
        x.v ->> 'dedup_key',
        (x.v ->> 'forever')::bigint,
        'ready',
        (x.v ->> 'run_at')::bigint,
        (x.v ->> 'run_at')::bigint,
        $2,
        $2,
        x.v ->> 'tenant'
    FROM json_array_elements($1::json) WITH ORDINALITY AS x (v, ord)
    ORDER BY x.ord
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id
)
SELECT id, (SELECT pg_notify('queue_jobs', ''))::text AS woke FROM ins
