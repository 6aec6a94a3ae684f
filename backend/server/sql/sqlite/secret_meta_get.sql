-- The key provider of this database.
SELECT value FROM secret_meta WHERE name = 'key_ref'
