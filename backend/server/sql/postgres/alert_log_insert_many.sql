-- History lines: $1 is a JSON array of {alert_id, line} (line as JSON text), $2 is now; ids follow the array.
INSERT INTO alert_log (alert_id, at_ms, line)
SELECT e.v ->> 'alert_id', $2, e.v ->> 'line'
FROM json_array_elements($1::json) WITH ORDINALITY AS e (v, ord)
ORDER BY e.ord
