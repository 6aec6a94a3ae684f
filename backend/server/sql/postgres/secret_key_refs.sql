-- One data key of each provider reference in use (to check the configured keys open them).
SELECT key_ref, account_id, wrapped FROM secret_keys
WHERE id IN (SELECT min(id) FROM secret_keys GROUP BY key_ref)
