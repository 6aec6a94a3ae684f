-- Alert ?1 leaves maintenance at ?2: its messages are out of date (the mark goes), and when it is still open
-- and has not escalated yet (a pass during the window starts escalation early) its first step is due now.
UPDATE alerts SET version = version + 1, updated_at_ms = ?2,
    next_escalation_at_ms = CASE
        WHEN status = 'open' AND kind = 'alert' AND esc_round = 0 AND esc_step = 0 AND delivering IS NULL THEN ?2
        ELSE next_escalation_at_ms END
WHERE id = ?1
RETURNING status, kind, esc_round, esc_step, delivering
