UPDATE endpoints SET escalation_policy_id = $1, name = $2, allowed_topic_arns = $3,
    alert_grouping_minutes = $4, notification_grouping_minutes = $5, updated_at_ms = $6
WHERE account_id = $7 AND id = $8
RETURNING id, team_id, escalation_policy_id, name, allowed_topic_arns, alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed
