-- Data key $1 of account $2: its provider reference and wrapped bytes.
SELECT key_ref, wrapped FROM secret_keys WHERE id = $1 AND account_id = $2
