-- The newest data key of account ?1.
SELECT id FROM secret_keys WHERE account_id = ?1 ORDER BY created_at_ms DESC, id DESC LIMIT 1
