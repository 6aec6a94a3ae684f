-- Data key $1 re-wrapped by provider $2 (bytes $3), unless someone moved it from $4 meanwhile.
UPDATE secret_keys SET key_ref = $2, wrapped = $3 WHERE id = $1 AND key_ref = $4
