SELECT h.alert_id, h.account_id, h.window_id, h.held_at_ms, h.until_ms, h.released_at_ms, a.team_id, a.endpoint_id
FROM maintenance_holds h JOIN alerts a ON a.id = h.alert_id
WHERE h.alert_id = ?1
