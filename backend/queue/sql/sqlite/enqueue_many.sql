-- A batch of jobs in one statement: one row's tuple, which the code repeats once per job
-- (klaxon_db::values_rows), with kind, payload, partition, dedup key, forever flag, run_at twice, now
-- twice, then the tenant. Bound parameters, because SQLite's JSON functions re-read an array element for every column taken
-- from it (the PostgreSQL twin reads one JSON array). Rows are inserted in the order given, so equal run_at
-- values keep it in a partition.
INSERT INTO queue_jobs
    (kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, order_at, created_at, updated_at, tenant)
VALUES (?, ?, ?, ?, ?, 'ready', ?, ?, ?, ?, ?)
ON CONFLICT (dedup_key) DO NOTHING
RETURNING id
