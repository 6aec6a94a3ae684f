INSERT INTO api_tokens (token_hash, account_id, created_at_ms) VALUES (?, ?, ?)
