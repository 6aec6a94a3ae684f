-- One table holds every job and timer. Times are Unix milliseconds.
--   run_at    when the job may next be claimed (moves forward on back-off).
--   order_at  the job's place in its partition (the first run_at; never moves), so a job waiting out a
--             back-off still holds back the later jobs of its partition.
--   attempts  attempts counted against the retry policy (a graceful release gives one back).
--   fence     incremented by every claim and never decremented: completion, failure and release must
--             present it, so a worker whose lease expired cannot write over a newer attempt.
--   dedup_key identity of the job; unique while the row holds it. Completion clears it unless
--             dedup_forever = 1, so "forever" keys fire at most once.
CREATE TABLE queue_jobs (
    id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    kind TEXT NOT NULL,
    payload TEXT NOT NULL,
    partition_key TEXT,
    dedup_key TEXT,
    dedup_forever BIGINT NOT NULL DEFAULT 0,
    state TEXT NOT NULL DEFAULT 'ready' CHECK (state IN ('ready', 'running', 'done', 'dead')),
    run_at BIGINT NOT NULL,
    order_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    fence BIGINT NOT NULL DEFAULT 0,
    lease_owner TEXT,
    lease_expires_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Claiming walks due ready jobs in run_at order and stops at the first one not yet due, so a million
-- future timers cost nothing until they are due.
CREATE INDEX queue_jobs_due ON queue_jobs (run_at, id) WHERE state = 'ready';

-- The partition check ("is an earlier job of this partition ready or running?") is one seek here; the index
-- holds only live jobs, so done and dead rows never slow it down.
CREATE INDEX queue_jobs_partition ON queue_jobs (partition_key, order_at, id) WHERE state IN ('ready', 'running');

-- Reclaiming expired leases and the heartbeat touch only running rows.
CREATE INDEX queue_jobs_lease ON queue_jobs (lease_expires_at) WHERE state = 'running';

-- Listing by state with an id cursor, and counting by state.
CREATE INDEX queue_jobs_state ON queue_jobs (state, id);

-- NULL keys never conflict, so jobs without identity are unaffected.
CREATE UNIQUE INDEX queue_jobs_dedup ON queue_jobs (dedup_key);

-- A queue table churns: every job's row is rewritten on claim and on completion, and the old index entries
-- of claimed jobs sit at the front of queue_jobs_due where every claim starts its scan. Vacuum it early and
-- without throttling so claims do not walk over them.
ALTER TABLE queue_jobs SET (
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_cost_delay = 0,
    autovacuum_analyze_scale_factor = 0.02
);
