-- Wakes the workers of every replica (they LISTEN on queue_jobs); a hint only, polling stays the truth.
SELECT pg_notify('queue_jobs', '')::text AS woke
