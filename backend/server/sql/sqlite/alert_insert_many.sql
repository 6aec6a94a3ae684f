-- The alerts and notifications a batch of events opens, in their state at the end of the batch: ?1 is a JSON
-- array of objects named like the columns (policy, fields and details as JSON text); ?2 is now.
INSERT INTO alerts (id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity,
    source, fields, details, event_count, first_seen_ms, last_seen_ms, closed_at_ms, auto_closed,
    next_escalation_at_ms, created_at_ms, updated_at_ms)
SELECT
    json_extract(value, '$.id'),
    json_extract(value, '$.account_id'),
    json_extract(value, '$.endpoint_id'),
    json_extract(value, '$.team_id'),
    json_extract(value, '$.policy'),
    json_extract(value, '$.group_key'),
    json_extract(value, '$.kind'),
    json_extract(value, '$.status'),
    json_extract(value, '$.title'),
    json_extract(value, '$.text'),
    json_extract(value, '$.severity'),
    json_extract(value, '$.source'),
    json_extract(value, '$.fields'),
    json_extract(value, '$.details'),
    json_extract(value, '$.event_count'),
    json_extract(value, '$.first_seen_ms'),
    json_extract(value, '$.last_seen_ms'),
    json_extract(value, '$.closed_at_ms'),
    json_extract(value, '$.auto_closed'),
    json_extract(value, '$.next_escalation_at_ms'),
    ?2,
    ?2
FROM json_each(?1)
