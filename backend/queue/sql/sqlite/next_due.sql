-- The earliest run_at after ?1 among ready jobs: how long a worker may sleep.
SELECT MIN(run_at) AS next_run_at FROM queue_jobs INDEXED BY queue_jobs_due WHERE state = 'ready' AND run_at > ?1
