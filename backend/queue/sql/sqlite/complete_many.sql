-- Marks jobs done, given as a JSON array of [id, fence] pairs; a pair whose fence is stale matches nothing.
-- The dedup key is released unless the job asked to keep it forever. NOT INDEXED: rows are found by id
-- from the pairs, not by walking the running rows.
UPDATE queue_jobs NOT INDEXED
SET state = 'done',
    lease_owner = NULL,
    lease_expires_at = NULL,
    dedup_key = CASE WHEN dedup_forever = 1 THEN dedup_key ELSE NULL END,
    updated_at = ?2
FROM (
    SELECT json_extract(value, '$[0]') AS cid, json_extract(value, '$[1]') AS cfence FROM json_each(?1)
) AS c
WHERE queue_jobs.id = c.cid
  AND queue_jobs.fence = c.cfence
  AND queue_jobs.state = 'running'
RETURNING queue_jobs.id
