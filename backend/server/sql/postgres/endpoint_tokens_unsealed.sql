-- Up to $1 endpoints whose ingest token is stored in clear (written before tokens were sealed).
SELECT account_id, id, ingest_token FROM endpoints WHERE ingest_token_sealed IS NULL ORDER BY id LIMIT $1
