-- Message $1 was posted again (the old one was deleted in Slack): now at channel $2, ts $3, showing version
-- $4, as of $5.
UPDATE slack_messages SET channel = $2, ts = $3, rendered_version = $4, updated_at_ms = $5 WHERE id = $1
