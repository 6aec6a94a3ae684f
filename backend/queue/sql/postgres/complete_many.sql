-- Marks jobs done, given as a JSON array of [id, fence] pairs; a pair whose fence is stale matches nothing.
-- The dedup key is released unless the job asked to keep it forever.
-- The rows are found by primary key (`= ANY`): `state || ''` keeps the planner off queue_jobs_state, where it
-- would hash every 'running' entry, dead ones included (every job claimed since the last vacuum), and before
-- the table's first analyze it hashed a scan of the whole table instead.
UPDATE queue_jobs AS q
SET state = 'done',
    lease_owner = NULL,
    lease_expires_at = NULL,
    dedup_key = CASE WHEN q.dedup_forever = 1 THEN q.dedup_key ELSE NULL END,
    updated_at = $2
FROM (
    SELECT (p ->> 0)::bigint AS cid, (p ->> 1)::bigint AS cfence FROM json_array_elements($1::json) AS p
) AS c
WHERE q.id = c.cid
  AND q.fence = c.cfence
  AND q.state || '' = 'running'
  AND q.id = ANY (ARRAY(SELECT (x ->> 0)::bigint FROM json_array_elements($1::json) AS x))
RETURNING q.id
