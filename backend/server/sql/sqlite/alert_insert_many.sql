-- The alerts and notifications a batch of events opens, in their state at the end of the batch: one row's
-- tuple, which the code repeats once per row (klaxon_db::values_rows): bound parameters, because SQLite's JSON
-- functions re-read an array element for every column taken from it (the PostgreSQL twin reads the JSON array
-- once). policy, fields and details are JSON text; the last two are now.
INSERT INTO alerts (id, account_id, endpoint_id, team_id, policy, group_key, kind, status, title, text, severity,
    source, fields, details, event_count, first_seen_ms, last_seen_ms, closed_at_ms, auto_closed,
    next_escalation_at_ms, created_at_ms, updated_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
