SELECT id, team_id, escalation_policy_id, name, allowed_topic_arns, alert_grouping_minutes, notification_grouping_minutes, ingest_token FROM endpoints WHERE account_id = ? AND id = ?
