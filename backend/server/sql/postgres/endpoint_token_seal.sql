-- Endpoint $1's token, stored in clear as $4, replaced by its hash $2 and sealed copy $3.
UPDATE endpoints SET ingest_token = $2, ingest_token_sealed = $3
WHERE id = $1 AND ingest_token = $4 AND ingest_token_sealed IS NULL
