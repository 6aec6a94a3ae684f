INSERT INTO endpoints (id, account_id, team_id, escalation_policy_id, name, allowed_topic_arns,
    alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed, created_at_ms,
    updated_at_ms)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
RETURNING id, team_id, escalation_policy_id, name, allowed_topic_arns, alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed
