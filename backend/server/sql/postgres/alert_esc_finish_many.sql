-- Moves alerts whose step was delivered from (round, step) to (to_round, to_step), next due at due (null when
-- the chain has ended): $1 is a JSON array of {id, round, step, to_round, to_step, due, problem}, $2 is now.
-- problem is why the step reached nobody (null when it did). Returns each alert moved and its status, as an
-- action may have changed it meanwhile. Rows are found by primary key (`= ANY`, see alert_change_many). A step
-- that finishes while its alert is snoozed leaves the next one due when the snooze ends (see 0010_snooze.sql).
UPDATE alerts AS a SET esc_round = f.to_round, esc_step = f.to_step, delivering = NULL, problem = f.problem,
    version = a.version + 1,
    next_escalation_at_ms = CASE WHEN a.status <> 'open' THEN NULL
        WHEN f.due IS NOT NULL AND a.snoozed_until_ms > f.due THEN a.snoozed_until_ms ELSE f.due END,
    updated_at_ms = $2
FROM json_to_recordset($1::json) AS f (id text, round bigint, step bigint, to_round bigint, to_step bigint, due bigint,
    problem text)
WHERE a.id = f.id
  AND a.id = ANY (ARRAY(SELECT x.id FROM json_to_recordset($1::json) AS x (id text)))
  AND a.esc_round = f.round AND a.esc_step = f.step AND a.delivering IS NOT NULL
RETURNING a.id, a.status
