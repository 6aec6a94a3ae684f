DELETE FROM escalation_policies WHERE account_id = ? AND id = ?
