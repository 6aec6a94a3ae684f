-- Records escalation steps' notifications as being delivered, and the members notified once they are sent:
-- ?1 is a JSON array of {id, delivering, notified, round, step} (delivering and notified as JSON text), ?2 is
-- now. Only while the alert is open, still at that step, and no delivery of it has begun: returns the ids
-- recorded; an alert acknowledged, closed, moved on, snoozed or taken by another attempt meanwhile matches
-- nothing.
UPDATE alerts SET delivering = b.delivering, notified = b.notified, updated_at_ms = ?2
FROM (
    SELECT json_extract(value, '$.id') AS id, json_extract(value, '$.delivering') AS delivering,
        json_extract(value, '$.notified') AS notified, json_extract(value, '$.round') AS round,
        json_extract(value, '$.step') AS step
    FROM json_each(?1)
) AS b
WHERE alerts.id = b.id AND alerts.status = 'open' AND alerts.esc_round = b.round AND alerts.esc_step = b.step
  AND alerts.delivering IS NULL AND (alerts.snoozed_until_ms IS NULL OR alerts.snoozed_until_ms <= ?2)
RETURNING alerts.id
