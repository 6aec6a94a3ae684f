DELETE FROM teams WHERE account_id = ? AND id = ?
