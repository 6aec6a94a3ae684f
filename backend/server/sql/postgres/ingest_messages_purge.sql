-- Forgets up to $2 SNS message ids received before $1 (in chunks, so a first purge of a large table holds
-- locks only briefly).
DELETE FROM ingest_messages
WHERE (endpoint_id, message_id) IN (
    SELECT endpoint_id, message_id FROM ingest_messages
    WHERE received_at_ms < $1
    LIMIT $2
)
