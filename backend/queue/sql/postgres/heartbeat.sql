-- Extends to $2 the leases of the claims a runner is still working on, given as a JSON array of [id, fence]
-- pairs. Only those: a job whose completion could not be recorded is no longer in flight, so its lease must run
-- out for another attempt to take it; extending every lease of the owner would keep it, and its partition,
-- stuck for as long as the process lives.
-- The rows are found by primary key (`= ANY`): `state || ''` keeps the planner off queue_jobs_state, where it
-- would hash every 'running' entry, dead ones included (every job claimed since the last vacuum), and before
-- the table's first analyze it hashed a scan of the whole table instead.
UPDATE queue_jobs AS q
SET lease_expires_at = $2
FROM (
    SELECT (p ->> 0)::bigint AS cid, (p ->> 1)::bigint AS cfence FROM json_array_elements($1::json) AS p
) AS c
WHERE q.id = c.cid
  AND q.fence = c.cfence
  AND q.state || '' = 'running'
  AND q.id = ANY (ARRAY(SELECT (x ->> 0)::bigint FROM json_array_elements($1::json) AS x))
