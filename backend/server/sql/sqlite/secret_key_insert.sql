-- A new data key: id, account, provider reference, wrapped bytes (base64), now.
INSERT INTO secret_keys (id, account_id, key_ref, wrapped, created_at_ms) VALUES (?1, ?2, ?3, ?4, ?5)
