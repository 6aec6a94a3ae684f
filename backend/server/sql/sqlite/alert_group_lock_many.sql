-- SQLite serialises all writers: taking the write lock at the start of the transaction (a write, with the
-- values unchanged) is enough, and means the transaction never has to upgrade a read lock, which SQLite may
-- refuse. ?1 (the keys, as on PostgreSQL) is not needed.
UPDATE accounts SET name = name WHERE id = '' AND ?1 IS NOT NULL
