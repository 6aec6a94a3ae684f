-- The unreleased holds of account $1's alerts among $2 (a JSON array of ids), for the API's view.
SELECT alert_id, window_id, until_ms FROM maintenance_holds
WHERE account_id = $1 AND released_at_ms IS NULL AND alert_id = ANY (ARRAY(SELECT json_array_elements_text($2::json)))
