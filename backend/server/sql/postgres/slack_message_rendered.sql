-- Message $1 now shows version $2, as of $3.
UPDATE slack_messages SET rendered_version = $2, updated_at_ms = $3 WHERE id = $1
