-- Up to ?2 data keys not wrapped by provider ?1.
SELECT id, account_id, key_ref, wrapped FROM secret_keys WHERE key_ref <> ?1 ORDER BY id LIMIT ?2
