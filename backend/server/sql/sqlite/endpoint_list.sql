SELECT id, team_id, escalation_policy_id, name, allowed_topic_arns, alert_grouping_minutes, notification_grouping_minutes, ingest_token, ingest_token_sealed FROM endpoints
WHERE account_id = ?1 AND (?2 IS NULL OR team_id = ?2) AND (?3 IS NULL OR name = ?3) AND id > ?4
ORDER BY id LIMIT ?5
