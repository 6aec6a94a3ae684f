-- Events of a batch joined stored alerts: ?1 is a JSON array of {id, added: events joined, close: 1 when a
-- recovery closed it}; ?2 is now. Closing applies only to an alert not closed meanwhile (by a person, whose
-- close stands).
UPDATE alerts SET
    event_count = event_count + c.added,
    version = version + 1,
    last_seen_ms = ?2,
    updated_at_ms = ?2,
    status = CASE WHEN c.close = 1 AND status <> 'closed' THEN 'closed' ELSE status END,
    closed_at_ms = CASE WHEN c.close = 1 AND status <> 'closed' THEN ?2 ELSE closed_at_ms END,
    auto_closed = CASE WHEN c.close = 1 AND status <> 'closed' THEN 1 ELSE auto_closed END,
    next_escalation_at_ms = CASE WHEN c.close = 1 THEN NULL ELSE next_escalation_at_ms END
FROM (
    SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.added') AS added,
        json_extract(value, '$.close') AS close
    FROM json_each(?1)
) AS c
WHERE alerts.id = c.id
