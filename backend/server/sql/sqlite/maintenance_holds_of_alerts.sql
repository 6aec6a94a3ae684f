-- The unreleased holds of account ?1's alerts among ?2 (a JSON array of ids), for the API's view.
SELECT alert_id, window_id, until_ms FROM maintenance_holds
WHERE account_id = ?1 AND released_at_ms IS NULL AND alert_id IN (SELECT value FROM json_each(?2))
