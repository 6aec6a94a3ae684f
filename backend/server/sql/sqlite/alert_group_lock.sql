-- Takes SQLite's write lock at the start of the transaction (a write, with the values unchanged), so events
-- are serialised and the transaction never has to upgrade a read lock, which SQLite may refuse.
UPDATE endpoints SET updated_at_ms = updated_at_ms WHERE id = ?1 AND ?2 IS NOT NULL
