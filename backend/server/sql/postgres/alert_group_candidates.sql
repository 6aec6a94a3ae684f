-- Every stored alert a batch of events could touch (see alerts::grouping). $1 is a JSON array of
-- {e: endpoint id, k: group key, n: start of the endpoint's notification window}, each pair once: for each,
-- the alerts of that endpoint and key that are not closed (whatever their age: a recovery closes them all),
-- and its notifications first seen at or after n.
-- Each pair is looked up in alerts_group on its own (LATERAL, OFFSET 0 keeps the planner from flattening it
-- into a join): the planner guesses a JSON array at 100 rows, and before the table's first analyze it guesses
-- few rows per kind, so it hashed the batch and scanned the whole table instead (milliseconds per batch).
SELECT a.id, a.account_id, a.endpoint_id, a.team_id, a.policy, a.group_key, a.kind, a.status, a.title, a.text, a.severity, a.source, a.fields, a.details, a.event_count, a.first_seen_ms, a.last_seen_ms, a.acknowledged_by, a.acknowledged_at_ms, a.closed_by, a.closed_at_ms, a.auto_closed, a.esc_round, a.esc_step, a.next_escalation_at_ms, a.notified, a.delivering, a.version, a.problem, a.slack_delivery, a.snoozed_until_ms, a.snoozed_by
FROM json_to_recordset($1::json) AS j (e text, k text, n bigint)
CROSS JOIN LATERAL (
    SELECT * FROM alerts AS a
    WHERE a.endpoint_id = j.e AND a.group_key = j.k
      AND ((a.kind = 'alert' AND a.status <> 'closed') OR (a.kind = 'notification' AND a.first_seen_ms >= j.n))
    OFFSET 0
) AS a
