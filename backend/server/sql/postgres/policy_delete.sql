DELETE FROM escalation_policies WHERE account_id = $1 AND id = $2
