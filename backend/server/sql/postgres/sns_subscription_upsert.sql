INSERT INTO sns_subscriptions (endpoint_id, topic_arn, status, updated_at_ms) VALUES ($1, $2, $3, $4)
ON CONFLICT (endpoint_id, topic_arn) DO UPDATE SET status = excluded.status, updated_at_ms = excluded.updated_at_ms
