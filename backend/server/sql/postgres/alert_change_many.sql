-- Events of a batch joined stored alerts: $1 is a JSON array of {id, added: events joined, close: 1 when a
-- recovery closed it}; $2 is now. Closing applies only to an alert not closed meanwhile (by a person, whose
-- close stands). The `= ANY` finds the rows by primary key whatever the planner guesses of the JSON array and
-- the table (it hashed a scan of the whole table before the table's first analyze).
UPDATE alerts AS a SET
    event_count = a.event_count + c.added,
    version = a.version + 1,
    last_seen_ms = $2,
    updated_at_ms = $2,
    status = CASE WHEN c.close = 1 AND a.status <> 'closed' THEN 'closed' ELSE a.status END,
    closed_at_ms = CASE WHEN c.close = 1 AND a.status <> 'closed' THEN $2 ELSE a.closed_at_ms END,
    auto_closed = CASE WHEN c.close = 1 AND a.status <> 'closed' THEN 1 ELSE a.auto_closed END,
    next_escalation_at_ms = CASE WHEN c.close = 1 THEN NULL ELSE a.next_escalation_at_ms END
FROM json_to_recordset($1::json) AS c (id text, added bigint, close bigint)
WHERE a.id = c.id
  AND a.id = ANY (ARRAY(SELECT x.id FROM json_to_recordset($1::json) AS x (id text)))
