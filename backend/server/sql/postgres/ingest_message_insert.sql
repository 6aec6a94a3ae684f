INSERT INTO ingest_messages (endpoint_id, message_id, received_at_ms) VALUES ($1, $2, $3)
ON CONFLICT (endpoint_id, message_id) DO NOTHING
