-- Extends to $2 the leases of the claims a runner is still working on, given as a JSON array of [id, fence]
-- pairs. Only those: a job whose completion could not be recorded is no longer in flight, so its lease must run
-- out for another attempt to take it; extending every lease of the owner would keep it, and its partition,
-- stuck for as long as the process lives.
-- `state || ''` keeps the planner off queue_jobs_state: it would hash every 'running' entry of that index,
-- dead ones included (every job ever claimed since the last vacuum), instead of finding the pairs by id.
UPDATE queue_jobs AS q
SET lease_expires_at = $2
FROM (
    SELECT (p ->> 0)::bigint AS cid, (p ->> 1)::bigint AS cfence FROM json_array_elements($1::json) AS p
) AS c
WHERE q.id = c.cid
  AND q.fence = c.cfence
  AND q.state || '' = 'running'
