DELETE FROM endpoints WHERE account_id = ? AND id = ?
