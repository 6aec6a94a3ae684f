-- Moves alerts whose step was delivered from (round, step) to (to_round, to_step), next due at due (null when
-- the chain has ended): ?1 is a JSON array of {id, round, step, to_round, to_step, due, problem}, ?2 is now.
-- problem is why the step reached nobody (null when it did). Returns each alert moved and its status, as an
-- action may have changed it meanwhile. A step that finishes while its alert is snoozed leaves the next one due
-- when the snooze ends (see 0010_snooze.sql).
UPDATE alerts SET esc_round = f.to_round, esc_step = f.to_step, delivering = NULL, problem = f.problem,
    version = version + 1,
    next_escalation_at_ms = CASE WHEN status <> 'open' THEN NULL
        WHEN f.due IS NOT NULL AND snoozed_until_ms > f.due THEN snoozed_until_ms ELSE f.due END,
    updated_at_ms = ?2
FROM (
    SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.round') AS round,
        json_extract(value, '$.step') AS step, json_extract(value, '$.to_round') AS to_round,
        json_extract(value, '$.to_step') AS to_step, json_extract(value, '$.due') AS due,
        json_extract(value, '$.problem') AS problem
    FROM json_each(?1)
) AS f
WHERE alerts.id = f.id AND alerts.esc_round = f.round AND alerts.esc_step = f.step
  AND alerts.delivering IS NOT NULL
RETURNING alerts.id, alerts.status
