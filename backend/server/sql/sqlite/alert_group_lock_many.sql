-- Not sent on SQLite: an ingest transaction begins with BEGIN IMMEDIATE (Database::begin_write), so it holds
-- the database's write lock, which serialises every writer, before it reads anything. This twin keeps the two
-- trees naming the same queries; it changes nothing if run.
SELECT ?1 IS NOT NULL
