-- The gauges of /metrics and CloudWatch at time ?1: alerts not closed, dead jobs, when the oldest due job
-- that waits was due, jobs scheduled for later, and installed workspaces active and inactive.
SELECT
    (SELECT count(*) FROM alerts WHERE status <> 'closed'),
    (SELECT count(*) FROM queue_jobs WHERE state = 'dead'),
    (SELECT min(run_at) FROM queue_jobs WHERE state = 'ready' AND run_at <= ?1),
    (SELECT count(*) FROM queue_jobs WHERE state = 'ready' AND run_at > ?1),
    (SELECT count(*) FROM slack_installs WHERE active = 1),
    (SELECT count(*) FROM slack_installs WHERE active = 0)
