-- Records escalation steps' notifications as being delivered, and the members notified once they are sent:
-- $1 is a JSON array of {id, delivering, notified, round, step} (delivering and notified as JSON text), $2 is
-- now. Only while the alert is open, still at that step, and no delivery of it has begun: returns the ids
-- recorded; an alert acknowledged, closed, moved on, snoozed or taken by another attempt meanwhile matches
-- nothing.
-- Rows are found by primary key (`= ANY`), whatever the planner guesses of the JSON array (see
-- alert_change_many).
UPDATE alerts AS a SET delivering = b.delivering, notified = b.notified, updated_at_ms = $2
FROM json_to_recordset($1::json) AS b (id text, delivering text, notified text, round bigint, step bigint)
WHERE a.id = b.id
  AND a.id = ANY (ARRAY(SELECT x.id FROM json_to_recordset($1::json) AS x (id text)))
  AND a.status = 'open' AND a.esc_round = b.round AND a.esc_step = b.step AND a.delivering IS NULL
  AND (a.snoozed_until_ms IS NULL OR a.snoozed_until_ms <= $2)
RETURNING a.id
