SELECT topic_arn, status FROM sns_subscriptions WHERE endpoint_id = ? ORDER BY topic_arn
