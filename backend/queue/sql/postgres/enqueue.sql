-- One job; a job whose dedup_key is held by another row is not inserted (no row returned). An inserted job
-- also queues a NOTIFY, delivered when the caller's transaction commits (and never if it rolls back).
WITH ins AS (
    INSERT INTO queue_jobs
        (kind, payload, partition_key, dedup_key, dedup_forever, state, run_at, order_at, created_at, updated_at, tenant)
    VALUES ($1, $2, $3, $4, $5, 'ready', $6, $6, $7, $7, $8)
    ON CONFLICT (dedup_key) DO NOTHING
    RETURNING id
)
SELECT id, pg_notify('queue_jobs', '')::text AS woke FROM ins
