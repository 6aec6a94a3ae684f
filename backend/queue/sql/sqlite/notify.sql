-- SQLite wakes its workers in process; this statement is never sent (it exists to keep the trees twins).
SELECT NULL
