UPDATE endpoints SET escalation_policy_id = ?, name = ?, allowed_topic_arns = ?,
    alert_grouping_minutes = ?, notification_grouping_minutes = ?, updated_at_ms = ?
WHERE account_id = ? AND id = ?
RETURNING id, team_id, escalation_policy_id, name, allowed_topic_arns, alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed
