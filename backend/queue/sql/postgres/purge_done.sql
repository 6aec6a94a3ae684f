-- Deletes done jobs finished before $1, except those keeping their dedup key forever.
DELETE FROM queue_jobs WHERE state = 'done' AND updated_at < $1 AND dedup_forever = 0
