-- Cancels the pending job holding a dedup key.
DELETE FROM queue_jobs WHERE dedup_key = ?1 AND state = 'ready'
