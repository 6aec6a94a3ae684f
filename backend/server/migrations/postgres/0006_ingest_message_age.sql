-- SNS message ids are purged once no message of their age can be accepted (see store::ingest): the purge
-- finds old rows by this index instead of reading the whole table every hour.
CREATE INDEX ingest_messages_received ON ingest_messages (received_at_ms);
