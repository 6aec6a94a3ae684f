-- History lines: ?1 is a JSON array of {alert_id, line} (line as JSON text), ?2 is now; ids follow the array.
INSERT INTO alert_log (alert_id, at_ms, line)
SELECT json_extract(value, '$.alert_id'), ?2, json_extract(value, '$.line')
FROM json_each(?1)
ORDER BY key
