INSERT INTO endpoints (id, account_id, team_id, escalation_policy_id, name, allowed_topic_arns,
    alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed, created_at_ms,
    updated_at_ms)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
RETURNING id, team_id, escalation_policy_id, name, allowed_topic_arns, alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed
