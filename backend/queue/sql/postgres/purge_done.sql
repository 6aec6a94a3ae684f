-- Deletes up to $3 done jobs finished before $1 (those keeping their dedup key forever only when $2 = 1).
DELETE FROM queue_jobs
WHERE id IN (
    SELECT id FROM queue_jobs
    WHERE state = 'done' AND updated_at < $1 AND (dedup_forever <> 1 OR $2 = 1)
    LIMIT $3
)
