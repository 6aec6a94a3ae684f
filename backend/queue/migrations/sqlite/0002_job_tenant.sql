-- A job may belong to a tenant: an opaque id its enqueuer gives (the server gives the account), so a
-- tenant's jobs are listed by one index seek instead of a walk over everyone's. Jobs without one (work
-- that belongs to nobody in particular) keep it NULL and stay out of the index.
ALTER TABLE queue_jobs ADD COLUMN tenant TEXT;

CREATE INDEX queue_jobs_tenant ON queue_jobs (tenant, state, id) WHERE tenant IS NOT NULL;

-- Jobs enqueued before the column existed named their tenant only in their payload, as `account_id` (the
-- one convention of the queue's users then): carry it over where a payload has it as a string.
UPDATE queue_jobs
SET tenant = json_extract(payload, '$.account_id')
WHERE CASE WHEN json_valid(payload) THEN json_type(payload, '$.account_id') = 'text' ELSE 0 END;
