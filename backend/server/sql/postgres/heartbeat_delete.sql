DELETE FROM heartbeats WHERE account_id = $1 AND id = $2
