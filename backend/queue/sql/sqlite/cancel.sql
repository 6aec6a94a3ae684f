-- Cancels one pending job; a running, done or dead job is left alone.
DELETE FROM queue_jobs WHERE id = ?1 AND state = 'ready'
