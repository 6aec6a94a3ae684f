-- The key provider of this database is now ?1 (a rotation finished).
UPDATE secret_meta SET value = ?1 WHERE name = 'key_ref'
