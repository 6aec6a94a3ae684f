-- Remembers SNS message ids: ?1 is a JSON array of {e: endpoint id, m: message id}, each pair once; ?2 is now.
-- Returns the pairs that were new; the others were stored before (an SNS retry).
INSERT INTO ingest_messages (endpoint_id, message_id, received_at_ms)
SELECT json_extract(value, '$.e'), json_extract(value, '$.m'), ?2
FROM json_each(?1)
WHERE true
ON CONFLICT (endpoint_id, message_id) DO NOTHING
RETURNING endpoint_id, message_id
