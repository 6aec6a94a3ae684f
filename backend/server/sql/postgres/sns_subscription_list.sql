SELECT topic_arn, status FROM sns_subscriptions WHERE endpoint_id = $1 ORDER BY topic_arn
