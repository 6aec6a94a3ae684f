-- Extends to ?2 the leases of the claims a runner is still working on, given as a JSON array of [id, fence]
-- pairs. Only those: a job whose completion could not be recorded is no longer in flight, so its lease must run
-- out for another attempt to take it; extending every lease of the owner would keep it, and its partition,
-- stuck for as long as the process lives. NOT INDEXED: rows are found by id from the pairs.
UPDATE queue_jobs NOT INDEXED
SET lease_expires_at = ?2
FROM (
    SELECT json_extract(value, '$[0]') AS cid, json_extract(value, '$[1]') AS cfence FROM json_each(?1)
) AS c
WHERE queue_jobs.id = c.cid
  AND queue_jobs.fence = c.cfence
  AND queue_jobs.state = 'running'
