INSERT INTO accounts (id, name, created_at_ms) VALUES (?, ?, ?)
