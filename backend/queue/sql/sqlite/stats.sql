SELECT state, COUNT(*) AS n FROM queue_jobs GROUP BY state
