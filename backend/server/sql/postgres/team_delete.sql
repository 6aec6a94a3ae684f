DELETE FROM teams WHERE account_id = $1 AND id = $2
