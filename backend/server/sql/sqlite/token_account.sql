SELECT account_id FROM api_tokens WHERE token_hash = ?
