DELETE FROM maintenance_windows WHERE account_id = ?1 AND id = ?2
