-- The gauges of /metrics and CloudWatch at time ?1: alerts not closed, dead jobs, when the oldest due job
-- that a worker could take was due, jobs scheduled for later, and installed workspaces active and inactive.
SELECT
    (SELECT count(*) FROM alerts WHERE status <> 'closed'),
    (SELECT count(*) FROM queue_jobs WHERE state = 'dead'),
    -- Queue lag counts only jobs a worker could take now: a job waiting behind an earlier job of its
    -- partition (an alert's next message update behind one deferred to its channel's pace) is not late.
    (SELECT j.run_at FROM queue_jobs AS j
     WHERE j.state = 'ready' AND j.run_at <= ?1
       AND (j.partition_key IS NULL OR NOT EXISTS (
           SELECT 1 FROM queue_jobs AS e
           WHERE e.partition_key = j.partition_key
             AND e.state IN ('ready', 'running')
             AND (e.state = 'running' OR e.order_at < j.order_at OR (e.order_at = j.order_at AND e.id < j.id))))
     ORDER BY j.run_at, j.id
     LIMIT 1),
    (SELECT count(*) FROM queue_jobs WHERE state = 'ready' AND run_at > ?1),
    (SELECT count(*) FROM slack_installs WHERE active = 1),
    (SELECT count(*) FROM slack_installs WHERE active = 0)
