-- Alert ?1 moves from step (?2, ?3) to (?4, ?5), due at ?6 (NULL when the chain has ended) once delivered;
-- returns the status, as an action may have changed it meanwhile.
UPDATE alerts SET esc_round = ?4, esc_step = ?5, delivering = NULL,
    next_escalation_at_ms = CASE WHEN status = 'open' THEN ?6 ELSE NULL END, updated_at_ms = ?7
WHERE id = ?1 AND esc_round = ?2 AND esc_step = ?3 AND delivering IS NOT NULL
RETURNING status
