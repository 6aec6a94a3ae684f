-- The alerts and notifications a batch of events opens, in their state at the end of the batch: $1 is a JSON
-- array of objects named like the columns (policy, fields and details as JSON text); $2 is now.
INSERT INTO alerts (id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity,
    source, fields, details, event_count, first_seen_ms, last_seen_ms, closed_at_ms, auto_closed,
    next_escalation_at_ms, created_at_ms, updated_at_ms)
SELECT id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity,
    source, fields, details, event_count, first_seen_ms, last_seen_ms, closed_at_ms, auto_closed,
    next_escalation_at_ms, $2, $2
FROM json_to_recordset($1::json) AS x (id text, account_id text, endpoint_id text, team_id text, policy text,
    group_key text, kind text, status text, title text, text text, severity text, source text, fields text,
    details text, event_count bigint, first_seen_ms bigint, last_seen_ms bigint, closed_at_ms bigint,
    auto_closed bigint, next_escalation_at_ms bigint)
