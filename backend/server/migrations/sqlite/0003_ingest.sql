-- SNS delivers at least once and retries with the same MessageId: remembering the ids an endpoint stored
-- makes a retry harmless. Kept per endpoint; old rows can be purged after SNS's retry horizon (hours).
CREATE TABLE ingest_messages (
    endpoint_id TEXT NOT NULL,
    message_id TEXT NOT NULL,
    received_at_ms INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, message_id)
);

-- SNS subscriptions as Klaxon saw them: confirmed after a verified SubscriptionConfirmation, unsubscribed
-- after an UnsubscribeConfirmation.
CREATE TABLE sns_subscriptions (
    endpoint_id TEXT NOT NULL,
    topic_arn TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at_ms INTEGER NOT NULL,
    PRIMARY KEY (endpoint_id, topic_arn)
);
