DELETE FROM heartbeats WHERE account_id = ? AND id = ?
